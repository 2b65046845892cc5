//! `cargo run --release --example gen_events -- N > events.json`: N varied
//! raw Sysdig events (about 2.3 KB each), deterministic.
#[path = "common/events.rs"]
mod events;

fn main() -> std::io::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    events::write_events(&mut out, n)?;
    std::io::Write::flush(&mut out)
}
