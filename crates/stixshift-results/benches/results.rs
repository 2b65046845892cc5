//! Criterion: our translation vs serde_json parsing the same input into a
//! `Value` and writing it back (pretty), on generated events.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use stixshift_results::{translate_reader, Config, FixedEnv, Format};

fn events(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        v.push(json!({"id": format!("{i:016x}"), "timestamp": "2023-11-22T11:16:28.101680299Z", "originator": "policy",
            "category": "runtime", "source": "syscall", "severity": i % 8, "agentId": 111111, "containerId": "1010101010",
            "description": "Notable Events policy",
            "content": {"fields": {"evt.type": if i.is_multiple_of(3) { "connect" } else { "execve" },
                "fd.name": format!("10.0.{}.{}:{}->172.16.0.1:443", i % 250, i % 200, 30000 + i % 30000),
                "proc.aname[2]": "containerd-shim", "proc.aname[3]": "systemd", "proc.cmdline": "curl -s http://x",
                "proc.cwd": "/", "proc.exepath": "/usr/bin/curl", "proc.name": "curl", "proc.pcmdline": "sh",
                "proc.pid": "12345", "proc.pname": "sh", "proc.ppid": "11111", "proc.sid": "1", "user.loginname": "<NA>",
                "user.loginuid": "-1", "user.name": "root", "user.uid": "0", "container.id": "1010101010"},
                "output": "Outbound connection", "policyId": 10000000, "ruleName": "Contact EC2", "ruleSubType": 0,
                "ruleTags": ["network"], "ruleType": 6},
            "labels": {"aws.accountId": "12345", "aws.region": "us-east-1", "cloudProvider.name": "aws",
                "container.name": "curl-sample-app1", "host.hostName": "ip-111-111-11-111.ec2.internal",
                "host.mac": "11:aa:bb:dd:11:00", "kubernetes.cluster.name": "c", "kubernetes.node.name": "ip-10-0-1-23.ec2.internal"}}));
    }
    serde_json::to_vec(&v).unwrap()
}

fn bench(c: &mut Criterion) {
    let identity = json!({"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig"});
    let mut g = c.benchmark_group("results");
    g.sample_size(10);
    for n in [1_000usize, 10_000] {
        let input = events(n);
        g.throughput(Throughput::Elements(n as u64));
        for (name, v21) in [("stix20", false), ("stix21", true)] {
            let config = Config {
                stix_2_1: v21,
                ..Config::default()
            };
            g.bench_function(format!("translate_{name}_{n}"), |b| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(input.len() * 3);
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
                    out.len()
                })
            });
        }
        g.bench_function(format!("serde_json_value_roundtrip_{n}"), |b| {
            b.iter(|| {
                let v: Value = serde_json::from_slice(&input).unwrap();
                let mut out = Vec::with_capacity(input.len() * 2);
                serde_json::to_writer_pretty(&mut out, &v).unwrap();
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
