//! Pattern parsing and query translation throughput.
//!
//! `cargo bench -p stixshift-translate`. The comparison with stix-shifter
//! itself is `bench/vs_reference.sh` (figures in BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use stixshift_pattern::{parse, Version};
use stixshift_translate::mapping::QueryMapping;
use stixshift_translate::query::{translate, QueryConfig};

const SHORT: &str = "[x-sysdig-cluster:name != 'dummycluster'] START t'2023-10-25T16:43:26.000Z' STOP t'2023-11-05T16:43:26.003Z'";

/// Deterministic varied patterns over the Sysdig mapping (a small LCG).
fn varied(n: usize) -> Vec<String> {
    let mut state: u64 = 42;
    let mut next = move |m: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % m
    };
    let strings = [
        "x-oca-asset:hostname",
        "x-oca-asset:extensions.'x-oca-container-ext'.name",
        "x-oca-asset:extensions.'x-oca-pod-ext'.pod_name",
        "x-ibm-finding:name",
        "x-sysdig-cluster:name",
        "x-sysdig-deployment:name",
        "x-cloud-provider:region",
    ];
    let ints = [
        "x-sysdig-policy:policy_id",
        "x-ibm-finding:x_agent_id",
        "x-sysdig-policy:rule_type",
    ];
    let words = [
        "prod",
        "Launch Privileged Container",
        "kube-system",
        "nginx",
        "a\"b\\c",
    ];
    (0..n)
        .map(|_| {
            let mut obs = Vec::new();
            for _ in 0..1 + next(2) {
                let mut parts = Vec::new();
                for i in 0..1 + next(4) {
                    if i > 0 {
                        parts.push(if next(2) == 0 { "AND" } else { "OR" }.to_owned());
                    }
                    parts.push(match next(5) {
                        0 | 1 => format!(
                            "{} = '{}'",
                            strings[next(7) as usize],
                            words[next(5) as usize].replace('\\', "\\\\")
                        ),
                        2 => format!("{} >= {}", ints[next(3) as usize], next(100_000)),
                        3 => format!("x-ibm-finding:severity > {}", 1 + next(100)),
                        _ => format!(
                            "{} IN ('{}', '{}')",
                            strings[next(7) as usize],
                            words[next(4) as usize],
                            words[next(4) as usize]
                        ),
                    });
                }
                obs.push(format!("[{}]", parts.join(" ")));
            }
            let day = 1 + next(14);
            format!(
                "{} START t'2023-10-{day:02}T00:00:00.000Z' STOP t'2023-10-{:02}T12:30:00.250Z'",
                obs.join(" AND "),
                day + next(14)
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let config = QueryConfig {
        mapping: QueryMapping::default_for(false),
        time_range_minutes: Some(5),
        now_ms: 1_700_000_000_000,
        explain: false,
    };
    let long = format!("[{}]", vec!["x-ibm-finding:name = 'a'"; 500].join(" OR "));
    let deep = format!(
        "[{}x-ibm-finding:name = 'a'{}]",
        "(".repeat(60),
        ")".repeat(60)
    );

    let mut g = c.benchmark_group("parse");
    g.bench_function("short", |b| b.iter(|| parse(SHORT, Version::V21).unwrap()));
    g.bench_function("long_500_comparisons", |b| {
        b.iter(|| parse(&long, Version::V21).unwrap())
    });
    g.bench_function("deep_60_groups", |b| {
        b.iter(|| parse(&deep, Version::V21).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("translate");
    g.bench_function("short", |b| b.iter(|| translate(SHORT, &config).unwrap()));
    let patterns = varied(10_000);
    g.throughput(Throughput::Elements(patterns.len() as u64));
    g.sample_size(10);
    g.bench_function("varied_10k", |b| {
        b.iter_batched(
            || (),
            |_| {
                patterns
                    .iter()
                    .filter(|p| translate(p, &config).is_ok())
                    .count()
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
