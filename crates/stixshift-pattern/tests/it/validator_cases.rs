//! The 164 OASIS validator verdicts: the parser agrees with every one.

use serde_json::Value;
use stixshift_pattern::{parse, Version};

fn cases() -> Vec<Value> {
    let text = include_str!("../data/stix-pattern-validator-cases.json");
    let doc: Value = serde_json::from_str(text).expect("fixture is JSON");
    doc["cases"].as_array().expect("cases array").clone()
}

#[test]
fn agrees_with_every_validator_verdict() {
    let cases = cases();
    assert_eq!(cases.len(), 164);
    let mut disagreements = Vec::new();
    for case in &cases {
        let pattern = case["pattern"].as_str().unwrap();
        for (key, version) in [("v2.0", Version::V20), ("v2.1", Version::V21)] {
            let verdict = case[key].as_str().unwrap();
            let ours = parse(pattern, version);
            let agree = match verdict {
                "VALID" => ours.is_ok(),
                "INVALID" => ours.is_err(),
                // The validator raises on a negative index; we accept it.
                "CRASH" => ours.is_ok(),
                other => panic!("unknown verdict {other}"),
            };
            if !agree {
                disagreements.push(format!("{key} {verdict}: {pattern:?} -> {ours:?}"));
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn valid_cases_print_and_reparse_to_the_same_tree() {
    for case in cases() {
        let pattern = case["pattern"].as_str().unwrap();
        for version in [Version::V20, Version::V21] {
            if let Ok(tree) = parse(pattern, version) {
                let printed = tree.to_string();
                let again = parse(&printed, version)
                    .unwrap_or_else(|e| panic!("{printed:?} (from {pattern:?}): {e}"));
                assert_eq!(again, tree, "{pattern:?} printed as {printed:?}");
                assert_eq!(again.to_string(), printed);
            }
        }
    }
}
