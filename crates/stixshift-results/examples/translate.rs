//! `translate <identity> <events|@file|-> [options] [--ndjson]`: the
//! `stixshift translate sysdig results` command, for benchmarks and scripts.
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let ndjson = args.iter().any(|a| a == "--ndjson");
    args.retain(|a| a != "--ndjson");
    if args.len() < 2 {
        eprintln!("usage: translate <identity> <events|@file|-> [options] [--ndjson]");
        std::process::exit(1);
    }
    let code = stixshift_results::cli::translate_results(
        &args[0],
        &args[1],
        args.get(2).map(String::as_str),
        ndjson,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
