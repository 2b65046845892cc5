//! `cargo run --release --example gen_events -- N [SEED] > events.json`: N
//! varied raw Sysdig events (about 2.3 KB each), deterministic (SEED 0, the
//! default, gives the benchmarks' events).
#[path = "common/events.rs"]
mod events;

fn main() -> std::io::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let seed: u64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    events::write_events_seeded(&mut out, n, seed)?;
    std::io::Write::flush(&mut out)
}
