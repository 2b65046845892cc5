//! Every query and error example of `examples.md` (the reference's recorded
//! outputs), run through the CLI entry point. Output must be byte-identical
//! to the reference's, except the divergences below, each documented in
//! `docs/compatibility.md` (the number after `D` is its entry).

use serde_json::{json, Value};

use crate::run_cli;

/// "Now" for every example: 2024-01-01T00:00:00.000Z.
pub(crate) const NOW_MS: i64 = 1_704_067_200_000;
const DEFAULT_TO: &str = "1704067200000000000";
const DEFAULT_FROM: &str = "1704066900000000000";

struct Example {
    id: String,
    pattern: String,
    options: Option<String>,
    output: String,
}

/// Pull `### Qnn`/`### Enn` sections out of examples.md: the pattern block,
/// an optional options block, and the output block.
fn examples() -> Vec<Example> {
    let text = include_str!("../data/examples.md");
    let mut out = Vec::new();
    for section in text.split("\n### ").skip(1) {
        let id = section
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        if !(id.starts_with('Q') || id.starts_with('E')) {
            continue;
        }
        let block_after = |label: &str| -> Option<String> {
            let at = section.find(label)?;
            let rest = &section[at..];
            let open = rest.find("```")?;
            let body_start = open + rest[open..].find('\n')? + 1;
            let close = body_start + rest[body_start..].find("\n```")?;
            Some(rest[body_start..close].to_owned())
        };
        let pattern = block_after("Pattern:").expect("pattern block");
        let options = block_after("Options:");
        let output = block_after("Output").expect("output block");
        out.push(Example {
            id,
            pattern,
            options,
            output: output
                .replace("<DEFAULT_FROM>", DEFAULT_FROM)
                .replace("<DEFAULT_TO>", DEFAULT_TO),
        });
    }
    out
}

const W: &str = "from=1698252206000000000&to=1699202606000000000";

fn q(filter_and_window: &str) -> String {
    format!("{filter_and_window}andsource!=\"auditTrail\"")
}

/// What we print instead of the reference, where the reference is wrong.
fn divergence(id: &str) -> Option<Value> {
    let queries = |qs: Vec<String>| Some(json!({ "queries": qs }));
    let error = |code: &str, message: &str| {
        Some(
            json!({"success": false, "connector": "sysdig", "code": code,
                    "error": format!("sysdig connector error => {message}")}),
        )
    };
    // The list is rendered as Python does: double quotes when the text holds a `'`.
    let syntax = |at: &str, message: &str| {
        let line = format!("FAIL: Error found at line 1:{at}. {message}");
        let item = if line.contains('\'') {
            format!("\"{line}\"")
        } else {
            format!("'{line}'")
        };
        error(
            "invalid_parameter",
            &format!("stix validation error : The STIX pattern has the following errors: [{item}]"),
        )
    };
    match id {
        // D1: exact nanoseconds, no float artefact.
        "Q01" => queries(vec![q("from=1698252206000000000&to=1699202606003000000&filter=(kubernetes.cluster.name!=\"dummycluster\")")]),
        "Q14" => queries(vec![q("from=1698252206000000000&to=1699202606003000000&filter=(severity!=0)")]),
        // D2: ordering operators on MAC fields are rejected like on strings.
        "Q04" => error("not_implemented", "wrong parameter : > operator is not supported for mac type input"),
        // D3: severity inequalities inverted (score > 50 <=> severity < 5).
        "Q16" => queries(vec![q(&format!("{W}&filter=(severity<5)"))]),
        // D4: an `or` under an `and` is parenthesised.
        "Q23" => queries(vec![q(&format!("{W}&filter=((source=\"c\"orcategory=\"b\")andruleName=\"a\")"))]),
        // D5: windows longer than 14 days split into consecutive windows.
        "Q32" => {
            let day = 86_400_000_000_000i128;
            let (from, to) = (1_672_531_200_000_000_000i128, 1_703_980_800_000_000_000i128);
            let mut qs = Vec::new();
            let mut f = from;
            while f < to {
                let t = (f + 14 * day).min(to);
                qs.push(q(&format!("from={f}&to={t}&filter=(ruleName=\"a\")")));
                f = t;
            }
            assert_eq!(qs.len(), 26);
            queries(qs)
        }
        // D6: `"` and `\` escaped inside values; values never change the filter's structure.
        "Q36" => queries(vec![q(&format!("{W}&filter=(ruleName=\"a\\\"b\\\\c\")"))]),
        "Q37" => queries(vec![q(&format!("{W}&filter=(ruleName=\"x\\\") or (severity=0\")"))]),
        "Q39" => queries(vec![q(&format!("{W}&filter=(ruleName=\"a filter=b\")"))]),
        "E21" => queries(vec![q(&format!("{W}&filter=(ruleName=\"from x or y\")"))]),
        // D7: `\'` in a STIX string is a quote.
        "Q38" => queries(vec![q(&format!("{W}&filter=(ruleName=\"O'Brien\")"))]),
        // D8: several fields of one attribute joined with the filter language's lower-case `or`.
        "Q42" => queries(vec![q(&format!("{W}&filter=(ruleName in (\"a\",\"b\") or category in (\"a\",\"b\"))"))]),
        // D9: NOT != is =.
        "E13" => queries(vec![q(&format!("{W}&filter=(ruleName=\"a\")"))]),
        // D10: only a comparison selecting source auditTrail is rejected.
        "E15" => queries(vec![q(&format!("{W}&filter=(ruleName=\"my auditTrailx\")"))]),
        // D11: up to nanosecond precision is exact; more digits round up.
        "E17" => queries(vec![q("from=1698252206123456700&to=1699202606000000000&filter=(ruleName=\"a\")")]),
        // D12: strict parsing: every syntax error is invalid_parameter with its position.
        "E19" => syntax("33", "invalid timestamp (expected `t'YYYY-MM-DDTHH:MM:SS[.s]Z'`)"),
        "E22" | "E23" => syntax("25", "expected `AND`, `OR` or `]`, found end of pattern"),
        "E24" => syntax("0", "expected `[` or `(`, found identifier `garbage`"),
        // D13: clearer messages, same codes.
        "E25" => error("translation_error", "STIX translation error: option `time_range` is null, but an observation has no START/STOP qualifier"),
        "E30" => error("translation_error", "STIX translation error: boolean literal `true` cannot be compared with Sysdig field `ruleName`"),
        // D14: only ASCII digits are digits.
        "E29" => error("not_implemented", "wrong parameter : string type input - \u{b2} is not supported for integer type fields"),
        _ => None,
    }
}

#[test]
fn every_query_and_error_example() {
    let examples = examples();
    assert_eq!(examples.len(), 72, "42 query and 30 error examples");
    let mut failures = Vec::new();
    for ex in &examples {
        let mut args = vec![
            "stixshift",
            "translate",
            "sysdig",
            "query",
            "{}",
            ex.pattern.as_str(),
        ];
        if let Some(o) = &ex.options {
            args.push(o.as_str());
        }
        let (code, stdout, _stderr) = run_cli(&args, "");
        let ok = match divergence(&ex.id) {
            None => stdout.trim_end() == ex.output.trim_end(),
            Some(expected) => serde_json::from_str::<Value>(&stdout).ok() == Some(expected),
        };
        let is_error = stdout.contains("\"success\": false");
        let code_ok = code == if is_error { 1 } else { 0 };
        if !ok || !code_ok {
            failures.push(format!(
                "{} (exit {code}):\n  pattern: {}\n  got:      {}\n  spec:     {}",
                ex.id,
                ex.pattern,
                stdout.replace('\n', ""),
                ex.output.replace('\n', "")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
