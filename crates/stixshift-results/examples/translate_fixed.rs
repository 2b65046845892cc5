//! `translate_fixed FILE [2.1] [ndjson] [fallback] > bundle.json`: translate
//! with the deterministic test environment (fixed clock, counting UUIDs), so
//! that two builds can be compared byte for byte on large inputs.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: translate_fixed FILE [2.1] [ndjson] [fallback]")?;
    let flags: Vec<String> = args.collect();
    let has = |f: &str| flags.iter().any(|a| a == f);
    let config = stixshift_results::Config {
        stix_2_1: has("2.1"),
        unmapped_fallback: has("fallback"),
        ..stixshift_results::Config::default()
    };
    let format = if has("ndjson") {
        stixshift_results::Format::Ndjson
    } else {
        stixshift_results::Format::Bundle
    };
    let identity = serde_json::json!({"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
        "name": "sysdig", "identity_class": "events"});
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let stats = stixshift_results::translate_reader(
        &identity,
        std::fs::File::open(path)?,
        &config,
        stixshift_results::FixedEnv::default(),
        out,
        format,
        &mut |_| {},
    )?;
    eprintln!("{stats:?}");
    Ok(())
}
