//! The naive baseline of the benchmarks: `serde_roundtrip FILE > out.json`
//! parses the whole input into a `serde_json::Value` and writes it back
//! pretty-printed (4-space indent), doing no translation at all.
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: serde_roundtrip FILE")?;
    let input = std::fs::read(&path)?;
    let value: serde_json::Value = serde_json::from_slice(&input)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&value, &mut ser)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
