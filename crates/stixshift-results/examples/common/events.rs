//! The generated events of the benchmarks (examples/gen_events, benches/results.rs):
//! varied raw Sysdig events of about 2.3 KB each, deterministic.
use std::io::Write;

/// Write a JSON array of `n` events.
pub(crate) fn write_events(out: &mut dyn Write, n: usize) -> std::io::Result<()> {
    write_events_seeded(out, n, 0)
}

/// Write a JSON array of `n` events drawn with `seed` (0: the benchmarks'
/// events; another seed gives other events of the same kinds, for the
/// profile of scripts/build-pgo.sh).
pub(crate) fn write_events_seeded(out: &mut dyn Write, n: usize, seed: u64) -> std::io::Result<()> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    out.write_all(b"[")?;
    for i in 0..n {
        if i > 0 {
            out.write_all(b",")?;
        }
        let ev = stixshift_results_bench_event(i, &mut rnd);
        out.write_all(ev.as_bytes())?;
    }
    out.write_all(b"]\n")
}

/// The same array in memory.
#[allow(dead_code)]
pub(crate) fn events_json(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * 2400);
    write_events(&mut v, n).expect("writing to memory");
    v
}

fn stixshift_results_bench_event(i: usize, rnd: &mut dyn FnMut() -> u64) -> String {
    let r = rnd();
    let connect = r.is_multiple_of(3);
    let (a, b) = ((r >> 8) % 250 + 1, (r >> 16) % 250 + 1);
    let fd = if (r >> 24).is_multiple_of(10) {
        format!(
            "[fe80::{a:x}]:{}->[2001:db8::{b:x}]:443",
            30000 + (r >> 32) % 30000
        )
    } else {
        format!(
            "10.0.{a}.{b}:{}->172.16.{b}.{a}:{}",
            30000 + (r >> 32) % 30000,
            [80, 443, 53, 8080][(r >> 40) as usize % 4]
        )
    };
    let procs = ["curl", "bash", "sh", "python3", "nginx", "java"];
    let p = procs[(r >> 44) as usize % procs.len()];
    let users = ["root", "alice", "bob", "www-data"];
    let u = (r >> 48) as usize % users.len();
    format!(
        r#"{{"id":"{id:016x}","cursor":"CUR{i}","timestamp":"2023-11-{d:02}T{h:02}:{m:02}:{s:02}.{ns:09}Z","customerId":10101010,"originator":"policy","category":"runtime","source":"syscall","name":"Sysdig Runtime Notable Events","description":"Notable Events policy {pol}","severity":{sev},"agentId":{agent},"containerId":"c{cid:08x}","machineId":"11:11:1b:11:11:{mid:02x}","content":{{"falsePositive":false,"fields":{{"container.id":"c{cid:08x}","container.name":"app-{cid}","evt.res":"SUCCESS","evt.type":"{evt}","falco.rule":"Rule {pol}","fd.name":"{fd}","group.gid":"0","group.name":"root","proc.aname[2]":"containerd-shim","proc.aname[3]":"systemd","proc.aname[4]":"<NA>","proc.cmdline":"{p} -s http://example.com/{i}","proc.cwd":"/srv","proc.exepath":"/usr/bin/{p}","proc.name":"{p}","proc.pcmdline":"sh -c {p}","proc.pid":"{pid}","proc.pname":"sh","proc.ppid":"{ppid}","proc.sid":"1","user.loginname":"<NA>","user.loginuid":"-1","user.name":"{user}","user.uid":"{uid}"}},"internalRuleName":"Rule {pol}","matchedOnDefault":false,"origin":"Secure UI","output":"Notable event from {p} in container app-{cid} (user {user}) with a reasonably long output text to resemble real Sysdig events {i}","policyId":{pol},"ruleName":"Rule {pol}","ruleSubType":0,"ruleTags":["network","MITRE","MITRE_TA0011_command_and_control"],"ruleType":6}},"labels":{{"aws.accountId":"123456789012","aws.instanceId":"i-0{cid:08x}","aws.region":"us-east-1","cloudProvider.account.id":"123456789012","cloudProvider.name":"aws","cloudProvider.region":"us-east-1","container.image.digest":"sha256:{dig:016x}","container.image.id":"{img:x}","container.image.repo":"docker.io/library/{p}","container.image.tag":"v1.{t}","container.label.io.kubernetes.container.name":"app-{cid}","container.label.io.kubernetes.pod.name":"app-{cid}-pod","container.label.io.kubernetes.pod.namespace":"ns{ns}","container.name":"app-{cid}","host.hostName":"ip-10-0-{a}-{b}.ec2.internal","host.mac":"0a:bb:cc:dd:{a:02x}:{b:02x}","kubernetes.cluster.name":"cluster-{ns}","kubernetes.daemonSet.name":"ds-{ns}","kubernetes.namespace.name":"ns{ns}","kubernetes.deployment.name":"deploy-{cid}","kubernetes.node.name":"ip-10-0-{a}-{b}.ec2.internal","kubernetes.pod.name":"app-{cid}-pod","kubernetes.workload.name":"deploy-{cid}","kubernetes.workload.type":"deployment"}}}}"#,
        id = r,
        d = 1 + (r >> 3) % 28,
        h = (r >> 5) % 24,
        m = (r >> 7) % 60,
        s = (r >> 9) % 60,
        ns = (r >> 11) % 1_000_000_000,
        pol = 1000 + (r >> 13) % 50,
        sev = (r >> 17) % 8,
        agent = 100000 + (r >> 19) % 1000,
        cid = (r >> 21) % 5000,
        mid = (r >> 23) % 256,
        evt = if connect { "connect" } else { "execve" },
        pid = 1000 + (r >> 27) % 60000,
        ppid = 1 + (r >> 29) % 1000,
        user = users[u],
        uid = [0, 1000, 1001, 33][u],
        dig = rnd(),
        img = (r >> 31) % 100000,
        t = (r >> 33) % 20,
    )
}
