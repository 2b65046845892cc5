//! CLI behaviour beyond the reference's examples.

use serde_json::Value;

use crate::{json_doc, run_cli, scrub, translate_results};

const W: &str = "START t'2023-10-25T16:43:26.000Z' STOP t'2023-11-05T16:43:26.000Z'";

#[test]
fn batch_translates_one_pattern_per_line() {
    let input = format!(
        "[x-ibm-finding:name = 'a'] {W}\n[x-ibm-finding:foo = 'a'] {W}\n[mac-addr:value = '11:22:33:44:55:66'] {W}\n"
    );
    let (code, out, _) = run_cli(
        &["stixshift", "translate", "sysdig", "query", "{}", "--batch"],
        &input,
    );
    assert_eq!(code, 1, "one pattern failed");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        r#"{"queries": ["from=1698252206000000000&to=1699202606000000000&filter=(ruleName=\"a\")andsource!=\"auditTrail\""]}"#
    );
    assert_eq!(json_doc(lines[1])["code"], "mapping_error");
    assert!(lines[2].contains(r#"machineId=\"11:22:33:44:55:66\""#));

    let (code, out, _) = run_cli(
        &["stixshift", "translate", "sysdig", "query", "{}", "--batch"],
        &format!("[x-ibm-finding:name = 'a'] {W}\n"),
    );
    assert_eq!((code, out.lines().count()), (0, 1));
}

#[test]
fn empty_pattern_argument_reads_stdin() {
    let (code, out, _) = run_cli(
        &["stixshift", "translate", "sysdig", "query", "{}", ""],
        &format!("[x-ibm-finding:name = 'a']\n{W}\n"),
    );
    assert_eq!(code, 0);
    assert!(json_doc(&out)["queries"][0]
        .as_str()
        .unwrap()
        .starts_with("from=1698252206000000000&"));
}

#[test]
fn explain_names_fields_rules_and_windows() {
    let pattern = format!("[x-ibm-finding:severity > 50 OR x-ibm-finding:name = 'a\"b'] {W}");
    let (code, out, _) = run_cli(
        &[
            "stixshift",
            "translate",
            "sysdig",
            "query",
            "{}",
            &pattern,
            "--explain",
        ],
        "",
    );
    assert_eq!(code, 0);
    for needle in [
        "pattern: [x-ibm-finding:severity > 50 OR x-ibm-finding:name = 'a\"b'] START",
        "comparison 1: x-ibm-finding:severity > 50",
        "  field:  severity (int)",
        "STIX score > 50 holds exactly for Sysdig severity < 5",
        "  filter: severity<5",
        "comparison 2: x-ibm-finding:name = 'a\"b'",
        "  filter: ruleName=\"a\\\"b\"",
        "query 1: window [2023-10-25T16:43:26.000Z, 2023-11-05T16:43:26.000Z) (950400 s)",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn default_window_follows_the_clock_of_each_call() {
    let args = [
        "stixshift",
        "translate",
        "sysdig",
        "query",
        "{}",
        "[x-ibm-finding:name = 'a']",
        r#"{"time_range": 60}"#,
    ];
    let (_, out, _) = run_cli(&args, "");
    assert_eq!(
        json_doc(&out)["queries"][0],
        "from=1704063600000000000&to=1704067200000000000&filter=(ruleName=\"a\")andsource!=\"auditTrail\""
    );
}

#[test]
fn syntax_errors_show_a_caret_on_stderr() {
    let (code, out, err) = run_cli(
        &[
            "stixshift",
            "translate",
            "sysdig",
            "query",
            "{}",
            "[x-ibm-finding:name = 'a' ANDD x:y = 1]",
        ],
        "",
    );
    assert_eq!(code, 1);
    assert_eq!(json_doc(&out)["code"], "invalid_parameter");
    assert!(err.contains("^^^^"), "{err}");
}

#[test]
fn bad_arguments_are_usage_errors_without_stdout() {
    for args in [
        vec![
            "stixshift",
            "translate",
            "sysdig",
            "query",
            "{}",
            "[a:b = 1]",
            "{not json",
        ],
        vec![
            "stixshift",
            "translate",
            "sysdig",
            "query",
            "not json",
            "[a:b = 1]",
        ],
        vec!["stixshift", "translate", "sysdig", "nonsense", "{}", "x"],
        vec!["stixshift", "frobnicate"],
        vec!["stixshift"],
    ] {
        let (code, out, err) = run_cli(&args, "");
        assert_eq!(code, 2, "{args:?}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(!err.is_empty(), "{args:?}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, out, _) = run_cli(&["stixshift", "--help"], "");
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"));
}

#[test]
fn modules_dialects_and_languages() {
    let (code, out, _) = run_cli(
        &[
            "stixshift",
            "translate",
            "sysdig:foo",
            "query",
            "{}",
            "[a:b = 1]",
        ],
        "",
    );
    assert_eq!(code, 1);
    assert_eq!(
        json_doc(&out)["error"],
        "sysdig connector error => unknown dialect : foo"
    );
    let (code, out, _) = run_cli(
        &[
            "stixshift",
            "translate",
            "sysdig:default",
            "query",
            "{}",
            &format!("[x-ibm-finding:name = 'a'] {W}"),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}");

    let (_, out, _) = run_cli(&["stixshift", "modules"], "");
    assert_eq!(json_doc(&out)["sysdig"]["default"]["language"], "stix");
    let (_, out, _) = run_cli(&["stixshift", "configs", "sysdig"], "");
    let v = json_doc(&out);
    assert_eq!(v["sysdig"]["connection"]["port"]["default"], 443);
    assert_eq!(
        v["sysdig"]["configuration"]["auth"]["token"]["type"],
        "password"
    );
    let (_, out, _) = run_cli(&["stixshift", "mapping", "sysdig"], "");
    let v = json_doc(&out);
    assert_eq!(
        v["from_stix_map"]["mac-addr"]["fields"]["value"][0],
        "machineId"
    );
    assert_eq!(v["operators"]["ObservationOperators.And"], "or");
    assert_eq!(v["config_map"]["mac_supported_fields"][0], "machineId");
}

#[test]
fn stix_2_1_uses_the_2_1_map_and_mapping_overrides_apply() {
    let p = format!("[x-ibm-finding:x_severity >= 70] {W}");
    let (code, out, _) = run_cli(
        &[
            "stixshift",
            "translate",
            "sysdig",
            "query",
            "{}",
            &p,
            r#"{"stix_2.1": true}"#,
        ],
        "",
    );
    assert_eq!(code, 0, "{out}");
    assert!(json_doc(&out)["queries"][0]
        .as_str()
        .unwrap()
        .contains("filter=(severity<=3)"));

    let (code, out, _) = run_cli(&["stixshift", "translate", "sysdig", "query", "{}", &p], "");
    assert_eq!(code, 1);
    assert_eq!(json_doc(&out)["code"], "mapping_error");

    let bad = r#"{"mapping": {"operators": {"Nope": "x"}}}"#;
    let (code, out, _) = run_cli(
        &["stixshift", "translate", "sysdig", "query", "{}", &p, bad],
        "",
    );
    assert_eq!(code, 1);
    assert_eq!(json_doc(&out)["code"], "mapping_error");
    assert!(json_doc(&out)["error"]
        .as_str()
        .unwrap()
        .contains("`operators` at `/Nope`"));
}

#[test]
fn the_binary_reports_errors_as_json_and_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_stixshift");
    let out = std::process::Command::new(bin)
        .args([
            "translate",
            "sysdig",
            "query",
            "{}",
            "[x-ibm-finding:foo = 'a']",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_doc(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(v["success"], false);
    assert_eq!(v["code"], "mapping_error");

    let out = std::process::Command::new(bin)
        .args([
            "translate",
            "sysdig",
            "query",
            "{}",
            &format!("[x-ibm-finding:name = 'a'] {W}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("{\n    \"queries\": [\n"));
}

/// Sections of examples.md: the first and second ```json blocks after `### <id>`.
fn results_example(id: &str) -> (Value, Value) {
    let text = include_str!("../data/examples.md");
    let section = text
        .split("\n### ")
        .find(|s| s.starts_with(id))
        .expect("section");
    let blocks: Vec<&str> = section
        .split("```json\n")
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap())
        .collect();
    (json_doc(blocks[0]), json_doc(blocks[blocks.len() - 1]))
}

const IDENTITY: &str = r#"{"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig", "identity_class": "events", "created": "2023-08-01T06:06:52.305Z", "modified": "2023-08-02T06:06:52.305Z"}"#;

#[test]
fn results_r1_through_the_cli_equals_the_reference() {
    let (events, expected) = results_example("R1");
    let (code, out, err) = translate_results(IDENTITY, &events.to_string(), &[], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(scrub(json_doc(&out)), scrub(expected));
    // The layout is the reference CLI's (json.dumps indent=4).
    assert!(out.starts_with("{\n    \"type\": \"bundle\",\n    \"id\": \"bundle--"));
}

#[test]
fn results_read_files_stdin_and_write_ndjson() {
    let (events, _) = results_example("R1");
    let dir = std::env::temp_dir().join(format!("stixshift-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.json");
    std::fs::write(&file, events.to_string()).unwrap();
    let at = format!("@{}", file.display());
    let (code, from_file, _) = translate_results(IDENTITY, &at, &[], "");
    assert_eq!(code, 0);
    let (code, from_stdin, _) = translate_results(IDENTITY, "-", &[], &events.to_string());
    assert_eq!(code, 0);
    assert_eq!(scrub(json_doc(&from_file)), scrub(json_doc(&from_stdin)));

    let (code, nd, _) = translate_results(IDENTITY, &at, &["--ndjson"], "");
    assert_eq!(code, 0);
    let lines: Vec<Value> = nd.lines().map(json_doc).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["type"], "observed-data");

    let (code, out, _) = translate_results(IDENTITY, "@/nonexistent/x.json", &[], "");
    assert_eq!((code, out.as_str()), (2, ""));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn results_errors_are_results_envelopes() {
    for (events, needle) in [
        ("[1, 2", "events are not valid JSON"),
        (r#"{"a": 1}"#, "events must be a JSON array"),
    ] {
        let (code, out, _) = translate_results(IDENTITY, events, &[], "");
        assert_eq!(code, 1);
        let v = json_doc(&out);
        assert_eq!(v["code"], "results_translation_error");
        assert!(
            v.get("connector").is_none(),
            "results errors carry no connector key"
        );
        assert!(v["error"].as_str().unwrap().contains(needle), "{v}");
    }
    let (code, out, _) = translate_results(r#"{"type": "identity"}"#, "[]", &[], "");
    assert_eq!(code, 1);
    assert!(json_doc(&out)["error"]
        .as_str()
        .unwrap()
        .contains("missing `id`"));
}

/// An error after part of the bundle is out: the bundle so far on stdout,
/// the error document on stderr, exit 1.
#[test]
fn results_error_after_output_began_goes_to_stderr() {
    let events = r#"[{"severity": 1, "content": {"fields": {"proc.name": "a"}}}, {"severity": "#;
    let (code, out, err) = translate_results(IDENTITY, "-", &[], events);
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("{\n    \"type\": \"bundle\""), "{out}");
    assert!(out.contains("\"observed-data\""), "{out}");
    let doc = err
        .lines()
        .find_map(|l| l.strip_prefix("error: output is incomplete: "))
        .unwrap_or_else(|| panic!("{err}"));
    let doc: Value = serde_json::from_str(doc).unwrap();
    assert_eq!(doc["code"], "results_translation_error");
    assert!(doc["error"].as_str().unwrap().contains("event 1"), "{doc}");
}

#[test]
fn results_timing_line_only_when_asked() {
    let (events, _) = results_example("R1");
    let bin = env!("CARGO_BIN_EXE_stixshift");
    let run = |timing: Option<&str>| {
        let mut cmd = std::process::Command::new(bin);
        cmd.args([
            "translate",
            "sysdig",
            "results",
            IDENTITY,
            &events.to_string(),
        ]);
        cmd.env_remove("STIXSHIFT_TIMING");
        if let Some(t) = timing {
            cmd.env("STIXSHIFT_TIMING", t);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (plain, quiet) = run(None);
    assert_eq!(quiet, "");
    assert_eq!(run(Some("0")).1, "");
    let (timed, line) = run(Some("1"));
    // The bundle is the same; the line counts the events and gives seconds.
    assert_eq!(scrub(json_doc(&timed)), scrub(json_doc(&plain)));
    let n = events.as_array().unwrap().len();
    let rest = line
        .strip_prefix(&format!("stixshift: translated {n} events in "))
        .unwrap_or_else(|| panic!("{line}"));
    let secs: f64 = rest.trim_end().strip_suffix(" s").unwrap().parse().unwrap();
    assert!(secs > 0.0 && secs < 60.0, "{secs}");
}
