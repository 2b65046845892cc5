//! `stixshift simulate`: run the simulator from the command line.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::generate::{generate, seed_examples};
use crate::server::{AppState, Clock, Config, FaultPlan, StatusFault, DEFAULT_TOKEN};
use crate::time::{format_rfc3339_nanos, parse_rfc3339_nanos, NANOS_PER_DAY};

/// Serve a simulated Sysdig Secure Events API (legacy `/api/v1/secureEvents`
/// and v1 `/secure/events/v1/events`).
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the bound address is printed).
    #[arg(long, default_value_t = 8443)]
    pub port: u16,
    /// Serve HTTPS with a freshly generated CA and server certificate.
    #[arg(long)]
    pub tls: bool,
    /// Write the CA certificate (PEM) here [default with --tls: a file in the temp dir].
    #[arg(long, value_name = "PATH")]
    pub cert_out: Option<PathBuf>,
    /// The bearer token to accept.
    #[arg(long, default_value = DEFAULT_TOKEN)]
    pub token: String,
    /// A token to answer with 403 (no events permission).
    #[arg(long, value_name = "TOKEN")]
    pub forbidden_token: Option<String>,
    /// Generate N events [default: 1000 when no --events is given].
    #[arg(long, value_name = "N")]
    pub generate: Option<usize>,
    /// Seed for --generate.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Load events from a JSON file (an array, one event, or an API answer
    /// `{"data": [...]}`) or from every `*.json` file of a directory. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub events: Vec<PathBuf>,
    /// Leave out the seed document's example events (2023 timestamps).
    #[arg(long)]
    pub no_examples: bool,
    /// Start of the generated events' time range: RFC 3339 or Unix ns [default: end - 7 days].
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// End (exclusive) of the generated events' time range: RFC 3339, Unix ns or `now` [default: now].
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// Make cursor pages stop at the `from` of the query they continue
    /// (by default they run on into older events, as the real API may).
    #[arg(long)]
    pub bounded_cursors: bool,
    /// Answer the first K requests with 429.
    #[arg(long, value_name = "K")]
    pub fail_429: Option<u32>,
    /// `Retry-After` seconds for --fail-429.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub retry_after: u64,
    /// Answer K requests with STATUS (e.g. `503:2`); repeatable, applied in order.
    #[arg(long, value_name = "STATUS:K")]
    pub fail: Vec<String>,
    /// Delay requests by MS milliseconds (see --delay-count).
    #[arg(long, value_name = "MS")]
    pub delay_ms: Option<u64>,
    /// How many requests --delay-ms applies to.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub delay_count: u32,
    /// Cut the bodies of the first K responses in half.
    #[arg(long, value_name = "K")]
    pub truncate: Option<u32>,
    /// Reset the connection of the first K requests.
    #[arg(long, value_name = "K")]
    pub reset: Option<u32>,
    /// Make the first event of the first K event pages text that is not JSON.
    #[arg(long, value_name = "K")]
    pub corrupt_event: Option<u32>,
    /// Fail the first cursor request that comes after N event pages (HTTP 500).
    #[arg(long, value_name = "N")]
    pub fail_cursor_after: Option<u32>,
    /// Allow at most R requests per second (429 beyond).
    #[arg(long, value_name = "R")]
    pub rate_limit: Option<u32>,
    /// Do not log requests on stderr.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_time(text: &str, now: i64) -> anyhow::Result<i64> {
    if text == "now" {
        return Ok(now);
    }
    if let Ok(ns) = text.parse::<i64>() {
        return Ok(ns);
    }
    parse_rfc3339_nanos(text)
        .with_context(|| format!("`{text}` is neither RFC 3339, Unix nanoseconds nor `now`"))
}

fn events_from_value(v: Value, origin: &Path) -> anyhow::Result<Vec<Value>> {
    match v {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) => match map.remove("data") {
            Some(Value::Array(items)) => Ok(items),
            Some(_) => bail!("{}: `data` is not an array", origin.display()),
            None => Ok(vec![Value::Object(map)]),
        },
        _ => bail!(
            "{}: expected an event, an array of events or {{\"data\": [...]}}",
            origin.display()
        ),
    }
}

/// Reads events from a file or a directory of `*.json` files (sorted by name).
pub fn load_events(path: &Path) -> anyhow::Result<Vec<Value>> {
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in
            std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?
        {
            let p = entry?.path();
            if p.extension().is_some_and(|e| e == "json") {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut out = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
        let v: Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", f.display()))?;
        out.extend(events_from_value(v, &f)?);
    }
    Ok(out)
}

/// Turns the arguments into a [`Config`] (without binding anything).
pub fn config(args: &SimulateArgs) -> anyhow::Result<(Config, Option<(i64, i64)>)> {
    let now = Clock::system().now_ns();
    let mut events = Vec::new();
    for p in &args.events {
        events.extend(load_events(p)?);
    }
    let count = match (args.generate, args.events.is_empty()) {
        (Some(n), _) => n,
        (None, true) => 1000,
        (None, false) => 0,
    };
    let mut range = None;
    if count > 0 {
        let end = match &args.end {
            Some(t) => parse_time(t, now)?,
            None => now,
        };
        let start = match &args.start {
            Some(t) => parse_time(t, now)?,
            None => end - 7 * NANOS_PER_DAY,
        };
        if start >= end {
            bail!("--start must be before --end");
        }
        events.extend(generate(count, args.seed, start, end));
        range = Some((start, end));
    }
    if !args.no_examples {
        events.extend(seed_examples());
    }
    let mut faults = FaultPlan {
        too_many_requests: args.fail_429.unwrap_or(0),
        retry_after_secs: args.retry_after,
        truncate: args.truncate.unwrap_or(0),
        reset: args.reset.unwrap_or(0),
        rate_limit: args.rate_limit,
        corrupt_event: args.corrupt_event.unwrap_or(0),
        ..FaultPlan::default()
    };
    for f in &args.fail {
        let (status, k) = f.split_once(':').unwrap_or((f, "1"));
        let status: u16 = status
            .parse()
            .with_context(|| format!("--fail {f}: bad status"))?;
        let count: u32 = k
            .parse()
            .with_context(|| format!("--fail {f}: bad count"))?;
        if !(100..=599).contains(&status) {
            bail!("--fail {f}: status must be 100..=599");
        }
        faults.statuses.push_back(StatusFault { status, count });
    }
    if let Some(ms) = args.delay_ms {
        faults.delay = Duration::from_millis(ms);
        faults.delay_count = args.delay_count;
    }
    if let Some(n) = args.fail_cursor_after {
        faults.cursor_failure = Some(crate::server::CursorFailure {
            after_pages: n,
            status: 500,
        });
    }
    let loopback = ["127.0.0.1", "localhost", "::1"];
    let config = Config {
        token: args.token.clone(),
        forbidden_token: args.forbidden_token.clone(),
        events,
        cursor_bounded_by_window: args.bounded_cursors,
        faults,
        tls: args.tls,
        tls_names: if loopback.contains(&args.host.as_str()) {
            Vec::new()
        } else {
            vec![args.host.clone()]
        },
        log_to_stderr: !args.quiet,
        ..Config::default()
    };
    Ok((config, range))
}

/// Runs the simulator until Ctrl-C.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let (config, range) = config(&args)?;
    let token = config.token.clone();
    let state = AppState::new(config)?;
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    let scheme = if args.tls { "https" } else { "http" };
    let shown_host = if addr.ip().is_loopback() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    eprintln!(
        "stixshift simulator: {} events at {scheme}://{shown_host}:{} (bearer token `{token}`; Ctrl-C stops)",
        state.event_count(),
        addr.port()
    );
    if let Some((start, end)) = range {
        eprintln!(
            "  generated events span {} .. {}",
            format_rfc3339_nanos(start),
            format_rfc3339_nanos(end)
        );
    }
    if let Some(pem) = state.cert_pem() {
        let path = args.cert_out.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("stixshift-simulator-{}.pem", addr.port()))
        });
        std::fs::write(&path, &pem).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("  CA certificate written to {}", path.display());
        let connection = serde_json::json!({
            "host": if addr.ip().is_loopback() { "localhost".to_owned() } else { shown_host.clone() },
            "port": addr.port(),
            "selfSignedCert": pem,
        });
        let auth = serde_json::json!({"auth": {"token": token}});
        let (from, to) = match range {
            Some((start, end)) => (
                end.saturating_sub(crate::server::MAX_WINDOW_NS).max(start),
                end,
            ),
            None => (0, 0),
        };
        eprintln!("  point stix-shifter at it:");
        eprintln!("    stix-shifter transmit sysdig '{connection}' '{auth}' ping");
        if range.is_some() {
            eprintln!(
                "    stix-shifter transmit sysdig '{connection}' '{auth}' results 'from={from}&to={to}&filter=(severity<4)andsource!=\"auditTrail\"' 0 10"
            );
        }
    } else {
        eprintln!(
            "  plain HTTP: stix-shifter always uses HTTPS, start with --tls to point it here"
        );
    }
    serve_until_ctrl_c(listener, state).await
}

async fn serve_until_ctrl_c(listener: TcpListener, state: AppState) -> anyhow::Result<()> {
    crate::server::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    eprintln!("stixshift simulator: stopped");
    Ok(())
}
