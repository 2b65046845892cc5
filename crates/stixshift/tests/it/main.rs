//! End-to-end tests of the `stixshift` CLI, in process.

mod cli;
mod examples;
mod host;
mod transmit;

/// The STIX identity the tests translate with.
pub(crate) const IDENTITY: &str = r#"{"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig", "identity_class": "events"}"#;

/// A bundle without what is random or clock-dependent: the ids of the
/// bundle and of the observed-data objects, their created/modified times,
/// and the times of `results_stix`'s `stats`.
pub(crate) fn scrub(mut bundle: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    bundle["id"] = Value::Null;
    if let Some(stats) = bundle.get_mut("stats").and_then(Value::as_array_mut) {
        for s in stats {
            s["time"] = Value::Null;
        }
    }
    if let Some(objects) = bundle.get_mut("objects").and_then(Value::as_array_mut) {
        for o in objects {
            if o["type"] == "observed-data" {
                o["id"] = Value::Null;
                o["created"] = Value::Null;
                o["modified"] = Value::Null;
            }
        }
    }
    bundle
}

/// The JSON document a command printed (a test failure naming the text if
/// it is not JSON).
pub(crate) fn json_doc(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// Run the CLI in process with a fixed clock; returns (exit code, stdout, stderr).
pub(crate) fn run_cli(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut input = std::io::Cursor::new(stdin.as_bytes().to_vec());
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = {
        let mut io = stixshift::cli::Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
            now_ms: || examples::NOW_MS,
        };
        stixshift::cli::run(args.iter().copied(), &mut io)
    };
    (
        code,
        String::from_utf8(out).expect("stdout is UTF-8"),
        String::from_utf8(err).expect("stderr is UTF-8"),
    )
}

/// `stixshift translate sysdig results <identity> <events> [rest...]`, with
/// `stdin`; returns (exit code, stdout, stderr).
pub(crate) fn translate_results(
    identity: &str,
    events: &str,
    rest: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    let mut args = vec![
        "stixshift",
        "translate",
        "sysdig",
        "results",
        identity,
        events,
    ];
    args.extend_from_slice(rest);
    run_cli(&args, stdin)
}

mod docs {
    /// The committed `docs/sysdig_supported_stix.md` is what the mapping generates.
    #[test]
    fn supported_stix_doc_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/sysdig_supported_stix.md"
        );
        let generated = stixshift::docs::supported_stix_markdown();
        if std::env::var_os("STIXSHIFT_UPDATE_DOCS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/sysdig_supported_stix.md is stale: run `STIXSHIFT_UPDATE_DOCS=1 cargo test -p stixshift --test it docs`"
        );
    }
}
