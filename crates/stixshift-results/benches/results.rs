//! Criterion: our translation (streaming, bundle layout, both STIX versions)
//! vs the naive baseline, serde_json parsing the same input into a `Value`
//! and writing it back pretty-printed, on the events of examples/gen_events.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use stixshift_results::{translate_reader, Config, FixedEnv, Format};

#[path = "../examples/common/events.rs"]
mod events;

/// Output sink counting bytes (both sides produce all their text; none is
/// kept, so the figures are not about filling fresh memory).
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let identity = json!({"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig", "identity_class": "events"});
    let mut g = c.benchmark_group("results");
    g.sample_size(10);
    for n in [1_000usize, 10_000] {
        let input = events::events_json(n);
        g.throughput(Throughput::Elements(n as u64));
        for (name, v21) in [("stix20", false), ("stix21", true)] {
            let config = Config {
                stix_2_1: v21,
                ..Config::default()
            };
            g.bench_function(format!("translate_{name}_{n}"), |b| {
                b.iter(|| {
                    let mut out = Counter(0);
                    translate_reader(
                        &identity,
                        input.as_slice(),
                        &config,
                        FixedEnv::default(),
                        &mut out,
                        Format::Bundle,
                        &mut |_| {},
                    )
                    .unwrap();
                    out.0
                })
            });
        }
        g.bench_function(format!("serde_json_value_roundtrip_{n}"), |b| {
            b.iter(|| {
                let v: Value = serde_json::from_slice(&input).unwrap();
                let mut out = std::io::BufWriter::with_capacity(1 << 16, Counter(0));
                let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
                let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
                serde::Serialize::serialize(&v, &mut ser).unwrap();
                std::io::Write::flush(&mut out).unwrap();
                out.get_ref().0
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
