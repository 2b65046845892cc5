//! End-to-end tests of the `stixshift` CLI, in process.

mod cli;
mod examples;

/// Run the CLI in process with a fixed clock; returns (exit code, stdout, stderr).
pub(crate) fn run_cli(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut input = std::io::Cursor::new(stdin.as_bytes().to_vec());
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = {
        let mut io = stixshift::cli::Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
            now_ms: || examples::NOW_MS,
        };
        stixshift::cli::run(args.iter().copied(), &mut io)
    };
    (
        code,
        String::from_utf8(out).expect("stdout is UTF-8"),
        String::from_utf8(err).expect("stderr is UTF-8"),
    )
}
