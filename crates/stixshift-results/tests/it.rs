//! Integration tests: spec examples (R1–R3), goldens over varied events for
//! both STIX versions, references property, streaming = in-memory.

use std::collections::HashMap;
use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{json, Value};
use stixshift_results::{
    default_to_stix_map, preprocess_event, render_json_with_warnings, render_values_with_warnings,
    translate_reader, translate_values, Config, FixedEnv, Format,
};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read(p: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(golden_dir().join(p)).unwrap()).unwrap()
}

fn identity() -> Value {
    read("spec/identity.json")
}

/// Where produced bundles go for the stix2-validator run.
fn bundle_dir() -> PathBuf {
    std::env::var_os("STIXSHIFT_BUNDLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stix-bundles"))
}

fn save_bundle(name: &str, stix_2_1: bool, text: &str) {
    let dir = bundle_dir().join(if stix_2_1 { "2.1" } else { "2.0" });
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.json")), text).unwrap();
}

/// Translate through the streaming path; returns the bundle text.
fn run(events: &Value, config: &Config) -> String {
    let text = serde_json::to_vec(events).unwrap();
    let (out, _) = stream(&identity(), &text, config, Format::Bundle);
    String::from_utf8(out).unwrap()
}

/// The streaming path on JSON text: the output and the warnings.
fn stream(
    identity: &Value,
    text: &[u8],
    config: &Config,
    format: Format,
) -> (Vec<u8>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    translate_reader(
        identity,
        text,
        config,
        FixedEnv::default(),
        &mut out,
        format,
        &mut |w| warnings.push(w.to_string()),
    )
    .unwrap();
    (out, warnings)
}

/// The reference's map: our default without the documented fixes (no
/// `ParentDirectory`, no IPv6 keys), and the 2.0 map even for STIX 2.1 (8.1.3).
fn reference_map() -> Value {
    let mut m = default_to_stix_map(false).clone();
    let o = m.as_object_mut().unwrap();
    o.remove("clientIpv6");
    o.remove("serverIpv6");
    o["content"]["fields"]["proc.exepath"][0]
        .as_object_mut()
        .unwrap()
        .remove("transformer");
    m
}

/// Replace random ids (bundle, observed-data, uuid4 objects) and times by
/// placeholders numbered by first appearance; UUIDv5 ids stay.
fn normalize(v: &Value, keep_v5: bool) -> Value {
    let mut seen: HashMap<String, String> = HashMap::new();
    fn walk(v: &Value, seen: &mut HashMap<String, String>, keep_v5: bool) -> Value {
        match v {
            Value::String(s) => {
                if let Some((ty, id)) = s.split_once("--") {
                    let v5 = id.len() == 36 && &id[14..15] == "5";
                    if !(ty.is_empty() || ty.contains(' ') || ty == "identity" || (keep_v5 && v5)) {
                        let n = seen.len();
                        return Value::String(
                            seen.entry(s.clone())
                                .or_insert_with(|| format!("{ty}--#{n}"))
                                .clone(),
                        );
                    }
                }
                Value::String(s.clone())
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, seen, keep_v5)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| {
                        let x = if k == "created" || k == "modified" {
                            json!("<now>")
                        } else {
                            walk(x, seen, keep_v5)
                        };
                        (k.clone(), x)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(v, &mut seen, keep_v5)
}

fn without_identity_times(mut v: Value) -> Value {
    // The identity's own created/modified are data, not translation times.
    if let Some(objs) = v["objects"].as_array_mut() {
        objs[0] = json!("identity");
    }
    v
}

#[test]
fn spec_examples_match_the_reference_in_reference_mode() {
    for (case, input, v21) in [
        ("r1", "r1.events.json", false),
        ("r2", "r2.events.json", false),
        ("r2", "r2.raw.json", false),
        ("r3", "r3.events.json", true),
        ("r3", "r3.raw.json", true),
    ] {
        let events = read(&format!("spec/{input}"));
        let config = Config {
            stix_2_1: v21,
            to_stix_map: Some(reference_map()),
            ..Config::default()
        };
        let ours: Value = serde_json::from_str(&run(&events, &config)).unwrap();
        let reference = read(&format!("spec/{case}.reference.json"));
        let keep_v5 = !v21; // 2.1 ids of file and network-traffic differ on purpose
        assert_eq!(
            without_identity_times(normalize(&ours, keep_v5)),
            without_identity_times(normalize(&reference, keep_v5)),
            "{input}"
        );
        if v21 {
            let text = serde_json::to_string(&ours).unwrap();
            for id in [
                "mac-addr--ed7da086-a026-5bbf-b0ea-e42d4a260880",
                "user-account--b736319a-6650-5966-aa36-c2b361e1d9cf",
                "ipv4-addr--9b2a70bf-92d9-5cd3-a61c-f06e7f0277c9",
                "ipv4-addr--a4a4c7b1-2b1f-5530-88d8-57fb20950502",
                "directory--fe15158a-0ab1-5aff-bb39-b5e4853c1d29",
            ] {
                assert!(text.contains(id), "{input}: {id}");
            }
        }
    }
}

/// Golden bundles of our default behaviour. `UPDATE_GOLDEN=1` rewrites them
/// (then review the diff by hand, see tests/golden/README.md).
fn check_golden(name: &str, events: &Value, v21: bool) {
    let config = Config {
        stix_2_1: v21,
        ..Config::default()
    };
    let text = run(events, &config);
    save_bundle(name, v21, &text);
    let path = golden_dir().join("bundles").join(format!(
        "{name}.{}.json",
        if v21 { "stix21" } else { "stix20" }
    ));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden {}", path.display()));
    assert_eq!(text, expected, "{name}");
    // In-memory path gives the same bundle.
    let arr: Vec<Value> = events.as_array().unwrap().clone();
    let v = translate_values(&identity(), &arr, &config, FixedEnv::default()).unwrap();
    assert_eq!(v, serde_json::from_str::<Value>(&text).unwrap());
}

#[test]
fn golden_spec_examples_default_mode() {
    for v21 in [false, true] {
        check_golden("r1", &read("spec/r1.events.json"), v21);
        check_golden("r2", &read("spec/r2.raw.json"), v21);
        check_golden("r3", &read("spec/r3.raw.json"), v21);
    }
}

#[test]
fn golden_varied_events() {
    let events = read("varied.events.json");
    for v21 in [false, true] {
        check_golden("varied", &events, v21);
    }
}

#[test]
fn raw_and_preprocessed_inputs_translate_the_same() {
    let raw = read("varied.events.json");
    let mut pre = raw.clone();
    for e in pre.as_array_mut().unwrap() {
        preprocess_event(e);
    }
    for v21 in [false, true] {
        let c = Config {
            stix_2_1: v21,
            ..Config::default()
        };
        assert_eq!(run(&raw, &c), run(&pre, &c));
        let off = Config {
            preprocess: false,
            ..c.clone()
        };
        assert_eq!(run(&pre, &off), run(&raw, &c));
    }
}

/// A key a `connect` event's pre-processing derives, which the event
/// already has (with another value), takes the derived value where it
/// stands, as a Python dict assignment does: the bundle is the one of the
/// event pre-processed at transmit time (`preprocess_event`, a separate
/// implementation) translated without pre-processing, and not the one with
/// the key appended at the end.
#[test]
fn a_derived_key_the_event_has_is_replaced_where_it_stands() {
    let event = |port: Option<&str>| {
        let mut e = serde_json::Map::new();
        if let Some(p) = port {
            e.insert("serverPort".into(), json!(p));
        }
        e.insert("severity".into(), json!(1));
        e.insert(
            "content".into(),
            json!({"fields": {"evt.type": "connect", "fd.name": "1.2.3.4:5->6.7.8.9:80", "proc.name": "nc"}}),
        );
        Value::Object(e)
    };
    for v21 in [false, true] {
        let c = Config {
            stix_2_1: v21,
            ..Config::default()
        };
        let off = Config {
            preprocess: false,
            ..c.clone()
        };
        let mut pre = event(Some("1"));
        preprocess_event(&mut pre);
        assert_eq!(pre["serverPort"], "80");
        let stale = run(&json!([event(Some("1"))]), &c);
        assert_eq!(stale, run(&json!([pre]), &off));
        assert!(stale.contains("\"dst_port\": 80"), "{stale}");
        assert_ne!(
            stale,
            run(&json!([event(None)]), &c),
            "the key's place shows"
        );
    }
}

/// Events given as the text of one array render as the same events given
/// as values: the same bundle, byte for byte, and the same warnings.
#[test]
fn rendering_json_text_equals_rendering_its_values() {
    let events = read("varied.events.json");
    let text = serde_json::to_vec(&events).unwrap();
    for v21 in [false, true] {
        let c = Config {
            stix_2_1: v21,
            ..Config::default()
        };
        let from_text =
            render_json_with_warnings(&identity(), &text, &c, FixedEnv::default()).unwrap();
        let from_values = render_values_with_warnings(
            &identity(),
            events.as_array().unwrap(),
            &c,
            FixedEnv::default(),
        )
        .unwrap();
        assert!(!from_text.1.is_empty(), "the events give warnings");
        assert_eq!(from_text, from_values);
    }
    assert!(render_json_with_warnings(
        &identity(),
        b"not json [",
        &Config::default(),
        FixedEnv::default()
    )
    .is_err());
}

#[test]
fn two_users_with_the_same_uid_stay_two_objects() {
    let events = json!([
        {"timestamp": "2023-11-01T17:15:14Z", "content": {"fields": {"user.uid": "0", "user.name": "root", "proc.name": "a"}}},
        {"timestamp": "2023-11-01T17:15:15Z", "content": {"fields": {"user.uid": "0", "user.name": "alice", "proc.name": "a"}}},
        {"timestamp": "2023-11-01T17:15:16Z", "content": {"fields": {"user.uid": "0", "user.name": "root", "proc.name": "b"}}}
    ]);
    let text = run(
        &events,
        &Config {
            stix_2_1: true,
            ..Config::default()
        },
    );
    save_bundle("same-uid", true, &text);
    let b: Value = serde_json::from_str(&text).unwrap();
    let users: Vec<&Value> = b["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "user-account")
        .collect();
    assert_eq!(users.len(), 2, "{text}");
    assert_ne!(users[0]["display_name"], users[1]["display_name"]);
}

#[test]
fn bad_input_errors_and_warnings() {
    let id = identity();
    let go = |text: &str| {
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        let r = translate_reader(
            &id,
            text.as_bytes(),
            &Config::default(),
            FixedEnv::default(),
            &mut out,
            Format::Bundle,
            &mut |w| warnings.push(w.to_string()),
        );
        (r.map_err(|e| e.message()), warnings, out)
    };
    let (r, _, out) = go("{\"a\": 1}");
    assert_eq!(r.unwrap_err(), "result translation error : Error when converting results to STIX: events must be a JSON array, found an object");
    assert!(out.is_empty());
    assert!(go("not json")
        .0
        .unwrap_err()
        .contains("events are not valid JSON"));
    assert!(go("[{\"a\": }]")
        .0
        .unwrap_err()
        .contains("event 0: invalid JSON"));
    assert!(go("[{},]").0.unwrap_err().contains("trailing comma"));
    let (r, w, _) = go("[1, {\"severity\": 1, \"content\": \"x\"}, {\"content\": {\"fields\": {\"evt.type\": \"connect\", \"fd.name\": \"[::1]:5->[::2]:80\"}}}]");
    let stats = r.unwrap();
    assert_eq!(
        (stats.events, stats.observed_data, stats.skipped),
        (3, 2, 1)
    );
    assert!(
        w.iter()
            .any(|w| w == "event 0: expected an object, found a number; event skipped"),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.starts_with("event 1: `content`: expected an object")),
        "{w:?}"
    );
    let missing = translate_values(
        &json!({"id": "identity--x"}),
        &[],
        &Config::default(),
        FixedEnv::default(),
    )
    .unwrap_err();
    assert_eq!(missing.code(), "results_translation_error");
    assert!(missing.message().contains("missing `name`"));
}

fn event_strategy() -> impl Strategy<Value = Value> {
    let s = || {
        prop_oneof![
            Just(json!("")),
            Just(json!("<NA>")),
            "[a-z0-9./-]{1,12}".prop_map(Value::from),
            (0u32..70000).prop_map(|n| json!(n.to_string()))
        ]
    };
    let keys = [
        "proc.name",
        "proc.exepath",
        "proc.pname",
        "proc.pid",
        "proc.ppid",
        "user.name",
        "user.uid",
        "user.loginname",
        "proc.aname[2]",
        "proc.aname[3]",
        "fd.name",
        "fd.l4proto",
        "falco.rule",
    ];
    let labels = [
        "host.mac",
        "kubernetes.cluster.name",
        "kubernetes.node.name",
        "container.name",
        "kubernetes.deployment.name",
        "host.hostName",
    ];
    (
        proptest::collection::vec((0..keys.len(), s()), 0..12),
        proptest::collection::vec((0..labels.len(), s()), 0..6),
        any::<bool>(),
        prop_oneof![
            Just(json!("1.2.3.4:5->6.7.8.9:10")),
            Just(json!("[::1]:5->[fe80::2]:6")),
            Just(json!("x")),
            s()
        ],
        proptest::option::of(0i64..9),
        any::<bool>(),
    )
        .prop_map(move |(fields, labs, connect, fd, sev, container)| {
            let mut f = serde_json::Map::new();
            if connect {
                f.insert("evt.type".into(), json!("connect"));
                f.insert("fd.name".into(), fd);
            }
            for (k, v) in fields {
                f.insert(keys[k].into(), v);
            }
            let mut l = serde_json::Map::new();
            for (k, v) in labs {
                l.insert(labels[k].into(), v);
            }
            let mut e = json!({"labels": l, "content": {"fields": f}});
            if let Some(s) = sev {
                e["severity"] = json!(s);
            }
            if container {
                e["containerId"] = json!("c1");
            }
            e
        })
}

fn check_refs(v: &Value, present: &dyn Fn(&str) -> bool) -> Result<(), TestCaseError> {
    if let Value::Object(o) = v {
        for (k, x) in o {
            if k.ends_with("_ref") {
                prop_assert!(present(x.as_str().unwrap_or("")), "dangling {k}: {x}");
            } else if k.ends_with("_refs") && k != "object_refs" {
                for r in x.as_array().unwrap() {
                    prop_assert!(present(r.as_str().unwrap_or("")), "dangling {k}: {r}");
                }
            } else {
                check_refs(x, present)?;
            }
        }
    }
    Ok(())
}

/// How many property-test cases have saved their bundles.
static SAVED_PROPERTY_CASES: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn every_reference_points_inside_its_observation(events in proptest::collection::vec(event_strategy(), 1..4)) {
        let id = identity();
        let b20 = translate_values(&id, &events, &Config::default(), FixedEnv::default()).unwrap();
        for od in b20["objects"].as_array().unwrap().iter().skip(1) {
            let objs = od["objects"].as_object().unwrap();
            prop_assert!(!objs.is_empty());
            let keys: Vec<usize> = objs.keys().map(|k| k.parse().unwrap()).collect();
            prop_assert_eq!(keys, (0..objs.len()).collect::<Vec<_>>(), "dense numbering");
            for o in objs.values() {
                check_refs(o, &|r| objs.contains_key(r))?;
            }
        }
        let b21 = translate_values(&id, &events, &Config { stix_2_1: true, ..Config::default() }, FixedEnv::default()).unwrap();
        // The first cases' bundles also go to the stix2-validator run.
        let case = SAVED_PROPERTY_CASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if case < 32 {
            save_bundle(&format!("property-{case:03}"), false, &serde_json::to_string_pretty(&b20).unwrap());
            save_bundle(&format!("property-{case:03}"), true, &serde_json::to_string_pretty(&b21).unwrap());
        }
        let all: Vec<&Value> = b21["objects"].as_array().unwrap().iter().collect();
        let ids: std::collections::HashSet<&str> = all.iter().filter_map(|o| o["id"].as_str()).collect();
        prop_assert_eq!(ids.len(), all.len(), "ids unique in the bundle");
        for od in all.iter().filter(|o| o["type"] == "observed-data") {
            let refs: std::collections::HashSet<&str> = od["object_refs"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
            prop_assert!(!refs.is_empty());
            for o in all.iter().filter(|o| refs.contains(o["id"].as_str().unwrap())) {
                check_refs(o, &|r| refs.contains(r))?;
            }
        }
    }
}

/// contract §6.5: with `unmapped_fallback`, every event key the map does not
/// know becomes a property of one `x-<identity name>` object (`_` → `-`),
/// dotted keys nesting and merging; mapped keys stay out of it.
#[test]
fn unmapped_fallback_collects_unmapped_keys() {
    let events = read("spec/r2.raw.json");
    let mut id = identity();
    id["name"] = json!("my_sysdig");
    for v21 in [false, true] {
        let config = Config {
            unmapped_fallback: true,
            stix_2_1: v21,
            ..Config::default()
        };
        let text = serde_json::to_vec(&events).unwrap();
        let (out, _) = stream(&id, &text, &config, Format::Bundle);
        let bundle: Value = serde_json::from_slice(&out).unwrap();
        let objects: Vec<Value> = if v21 {
            bundle["objects"].as_array().unwrap().clone()
        } else {
            bundle["objects"][1]["objects"]
                .as_object()
                .unwrap()
                .values()
                .cloned()
                .collect()
        };
        let custom: Vec<&Value> = objects
            .iter()
            .filter(|o| o["type"] == "x-my-sysdig")
            .collect();
        assert_eq!(custom.len(), 1, "one fallback object (STIX 2.1: {v21})");
        let mut c = custom[0].clone();
        let mut expected = json!({
            "type": "x-my-sysdig",
            "id": "12345678910",
            "cursor": "ABCDEFGHIJKLMN",
            "customerId": 10101010,
            "name": "sysdig custom",
            "machineId": "11:11:1b:11:11:11",
            "falsePositive": false,
            "container": {"id": "1010101010", "name": "curl-sample-app1"},
            "evt": {"res": "EINPROGRESS", "type": "connect"},
            "fd": {"name": "111.111.11.111:10000->101.101.101.101:10"},
            "group": {"gid": "0", "name": "root"},
            // `proc.aname[4]` is `<NA>`, pre-processed to "" and so left out.
            "proc": {"aname[2]": "containerd-shim", "aname[3]": "systemd"},
            "internalRuleName": "Contact",
            "matchedOnDefault": false,
            "origin": "Secure UI",
            "output": "Outbound connection",
            "ruleTags": ["network"]
        });
        if v21 {
            // The event's own `id` would meet the STIX id: it is `x_id`.
            assert!(c["id"].as_str().unwrap().starts_with("x-my-sysdig--"));
            assert_eq!(c["spec_version"], "2.1");
            let e = expected.as_object_mut().unwrap();
            let event_id = e.remove("id").unwrap();
            e.insert("x_id".into(), event_id);
            let o = c.as_object_mut().unwrap();
            o.remove("id");
            o.remove("spec_version");
        }
        assert_eq!(c, expected, "STIX 2.1: {v21}");
        assert_no_duplicate_keys(&out);
        // Every other object still comes from the map, as without the option.
        let plain = run(
            &events,
            &Config {
                stix_2_1: v21,
                ..Config::default()
            },
        );
        let plain: Value = serde_json::from_str(&plain).unwrap();
        let count = |b: &Value| -> usize {
            if v21 {
                b["objects"].as_array().unwrap().len()
            } else {
                b["objects"][1]["objects"].as_object().unwrap().len()
            }
        };
        assert_eq!(count(&bundle), count(&plain) + 1);
    }
    // The option off: no custom object at all.
    let text = run(&events, &Config::default());
    assert!(!text.contains("x-sysdig\""));
}

/// Fails if any object in the JSON text holds a key twice (a `Value`
/// keeps only the last, so this reads the text itself).
fn assert_no_duplicate_keys(text: &[u8]) {
    use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
    struct NoDup;
    impl<'de> serde::Deserialize<'de> for NoDup {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(NoDup)
        }
    }
    impl<'de> Visitor<'de> for NoDup {
        type Value = NoDup;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_i64<E>(self, _: i64) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_u64<E>(self, _: u64) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_f64<E>(self, _: f64) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_str<E>(self, _: &str) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_unit<E>(self) -> Result<NoDup, E> {
            Ok(NoDup)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<NoDup, A::Error> {
            while a.next_element::<NoDup>()?.is_some() {}
            Ok(NoDup)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<NoDup, A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(k) = a.next_key::<String>()? {
                if !seen.insert(k.clone()) {
                    return Err(serde::de::Error::custom(format!("duplicate key `{k}`")));
                }
                a.next_value::<NoDup>()?;
            }
            Ok(NoDup)
        }
    }
    if let Err(e) = serde_json::from_slice::<NoDup>(text) {
        panic!("{e}");
    }
}

/// Event keys named like the properties the writer adds itself (`type`;
/// STIX 2.1 `id` and `spec_version`) are renamed `x_<key>` in the fallback
/// object instead of being written twice.
#[test]
fn fallback_keys_never_duplicate_stix_properties() {
    let events = json!([{"id": "ev1", "type": "t", "spec_version": "9", "x_type": "kept",
        "severity": 3, "content": {"fields": {"proc.name": "curl"}}}]);
    for v21 in [false, true] {
        let config = Config {
            unmapped_fallback: true,
            stix_2_1: v21,
            ..Config::default()
        };
        let out = run(&events, &config);
        assert_no_duplicate_keys(out.as_bytes());
        let bundle: Value = serde_json::from_str(&out).unwrap();
        let custom = if v21 {
            bundle["objects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["type"] == "x-sysdig")
                .cloned()
                .unwrap()
        } else {
            bundle["objects"][1]["objects"]["0"].clone()
        };
        assert_eq!(custom["type"], "x-sysdig", "{out}");
        // `type` (renamed) and the event's own `x_type` end up with one
        // name: the first in the event wins, as for any repeated property.
        assert_eq!(custom["x_type"], "t");
        if v21 {
            assert_eq!(custom["x_id"], "ev1");
            assert_eq!(custom["x_spec_version"], "9");
            assert_eq!(custom["spec_version"], "2.1");
        } else {
            assert_eq!(custom["id"], "ev1");
            assert_eq!(custom["spec_version"], "9");
        }
    }
}

/// Values STIX cannot hold are dropped rather than written as invalid
/// objects: a MAC address not in `aa:bb:cc:dd:ee:ff` form, and (STIX 2.0,
/// where `user_id` is required) a user-account without `user_id`.
#[test]
fn invalid_mac_and_user_without_id_are_dropped() {
    let events = json!([{"timestamp": "2023-11-01T17:15:14.635115435Z",
        "content": {"fields": {"user.name": "alice", "proc.name": "curl"}},
        "labels": {"host.mac": "<NA>", "host.hostName": "h1"}}]);
    let b20: Value = serde_json::from_str(&run(&events, &Config::default())).unwrap();
    let objs = b20["objects"][1]["objects"].as_object().unwrap();
    let types: Vec<&str> = objs.values().map(|o| o["type"].as_str().unwrap()).collect();
    assert!(
        !types.contains(&"mac-addr") && !types.contains(&"user-account"),
        "{types:?}"
    );
    assert!(types.contains(&"process"));
    let text = serde_json::to_string(&b20).unwrap();
    assert!(
        !text.contains("creator_user_ref") && !text.contains("mac_refs"),
        "{text}"
    );
    let v21 = Config {
        stix_2_1: true,
        ..Config::default()
    };
    let b21: Value = serde_json::from_str(&run(&events, &v21)).unwrap();
    let users: Vec<&Value> = b21["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "user-account")
        .collect();
    assert_eq!(users.len(), 1, "STIX 2.1 keeps the user-account");
    assert_eq!(users[0]["display_name"], "alice");
    let (_, warnings) = stream(
        &identity(),
        &serde_json::to_vec(&events).unwrap(),
        &Config::default(),
        Format::Bundle,
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("user-account without user_id dropped")),
        "{warnings:?}"
    );
}

/// A process with nothing but custom properties is not valid STIX: dropped,
/// and the reference to it with it.
#[test]
fn process_with_only_custom_properties_is_dropped() {
    let events = json!([{"timestamp": "2023-11-01T17:15:14.635115435Z",
        "content": {"fields": {"proc.name": "curl", "proc.pid": "12", "proc.aname[2]": "containerd-shim"}}}]);
    for v21 in [false, true] {
        let config = Config {
            stix_2_1: v21,
            ..Config::default()
        };
        let text = run(&events, &config);
        assert!(
            !text.contains("containerd-shim") && !text.contains("parent_ref"),
            "{text}"
        );
        assert!(text.contains("\"curl\""), "{text}");
    }
}

/// The streaming reader (fast in-place parser, serde_json fallback) and the
/// in-memory `Value` path agree on awkward but valid input: escapes,
/// non-ASCII, floats, `-0`, big integers, deep unmapped values, whitespace,
/// events spanning the reader's 1 MiB chunks.
#[test]
fn streaming_agrees_with_values_on_awkward_input() {
    let base = json!({"timestamp": "2023-11-01T17:15:14.635115435Z", "severity": 3, "cursor": "c",
        "content": {"fields": {"proc.name": "curl", "proc.cwd": "/srv", "user.uid": "0", "user.name": "root"}},
        "labels": {"host.hostName": "h1", "host.mac": "0a:bb:cc:dd:0c:f0"}});
    let mut texts = Vec::new();
    let one = serde_json::to_string(&base).unwrap();
    for (from, to) in [
        ("/srv", "/s\\\"r\\\\v\\u00e9\\ud83d\\ude00\\n\\t\\/"),
        ("/srv", "/srv/é😀ü\u{7f}"),
        ("\"severity\":3", "\"severity\":3.5"),
        ("\"severity\":3", "\"severity\":-0"),
        ("\"severity\":3", "\"severity\":18446744073709551616"),
        ("\"severity\":3", "\"severity\":-9223372036854775808"),
        (
            "\"cursor\":\"c\"",
            "\"cursor\":[[[[{\"a\":[1,2.5e3,true,null]}]]]]",
        ),
        ("\"proc.name\":\"curl\"", "\"proc.name\" : \"cu\\u0072l\" "),
        // `connect` events: the derived keys are parts of `fd.name` and
        // `fd.l4proto`, borrowed from the input or (escaped there) copied.
        (
            "\"user.name\":\"root\"",
            "\"user.name\":\"root\",\"evt.type\":\"connect\",\"fd.name\":\"1.1.1.1:1\\u002d>[::1]:2\",\"fd.l4proto\":\"UDP\"",
        ),
        (
            "\"user.name\":\"root\"",
            "\"user.name\":\"root\",\"evt.type\":\"connect\",\"fd.name\":\"1.1.1.1:1->2.2.2.2:2\",\"fd.l4proto\":\"T\\u0043p, udp\"",
        ),
        (
            "\"user.name\":\"root\"",
            "\"user.name\":\"root\",\"evt.type\":\"connect\",\"fd.name\":\"1.1.1.1:1->2.2.2.2:2\",\"fd.l4proto\":\"Udp, tcp\"",
        ),
        // ParentDirectory and TimestampConversion on plain and escaped text.
        (
            "\"user.name\":\"root\"",
            "\"user.name\":\"root\",\"proc.exepath\":\"/usr/bin/curl\"",
        ),
        (
            "\"user.name\":\"root\"",
            "\"user.name\":\"root\",\"proc.exepath\":\"\\/usr\\/bin/curl\"",
        ),
        (
            "\"timestamp\":\"2023-11-01T17:15:14.635115435Z\"",
            "\"timestamp\":\"2023-11-01T17:15:14.635115435\\u005a\"",
        ),
        (
            "\"timestamp\":\"2023-11-01T17:15:14.635115435Z\"",
            "\"timestamp\":\"2023-11-01 17:15:14.635+02:00\"",
        ),
    ] {
        assert!(one.contains(from), "{from}");
        texts.push(format!("[{}]", one.replace(from, to)));
    }
    // ~3 MB of events with non-ASCII text: chunk boundaries fall inside events
    // and, somewhere, inside a multi-byte character.
    let wide = one.replace("/srv", &"/é".repeat(7));
    texts.push(format!("[{}]", vec![wide.as_str(); 1200].join(" ,\n ")));
    for text in &texts {
        let events: Vec<Value> = serde_json::from_str(text).unwrap();
        for v21 in [false, true] {
            let config = Config {
                stix_2_1: v21,
                ..Config::default()
            };
            let (out, _) = stream(&identity(), text.as_bytes(), &config, Format::Bundle);
            let streamed: Value = serde_json::from_slice(&out).unwrap();
            let in_memory =
                translate_values(&identity(), &events, &config, FixedEnv::default()).unwrap();
            assert_eq!(streamed, in_memory, "{}", &text[..text.len().min(300)]);
        }
    }
}

/// `BundleWriter::write_event_json` (events as JSON text, as `execute` hands
/// them over) writes exactly what the streaming reader writes.
#[test]
fn events_as_json_text_translate_like_the_reader() {
    for v21 in [false, true] {
        let config = Config {
            stix_2_1: v21,
            ..Config::default()
        };
        let mut events = read("varied.events.json").as_array().unwrap().clone();
        events.extend(read("spec/r1.events.json").as_array().unwrap().clone());
        let expected = run(&Value::Array(events.clone()), &config);
        let mut out = Vec::new();
        let mut writer = stixshift_results::BundleWriter::new(
            &mut out,
            &identity(),
            &config,
            FixedEnv::default(),
            Format::Bundle,
        )
        .unwrap();
        for e in &events {
            writer.write_event_json(&e.to_string()).unwrap();
        }
        writer.finish().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            expected,
            "stix_2.1 = {v21}"
        );
    }
    // Trailing text after an event is an error, not a second event.
    let mut out = Vec::new();
    let mut writer = stixshift_results::BundleWriter::new(
        &mut out,
        &identity(),
        &Config::default(),
        FixedEnv::default(),
        Format::Bundle,
    )
    .unwrap();
    assert!(writer.write_event_json(r#"{"severity": 1} x"#).is_err());
}

/// `--ndjson` writes the bundle's objects (without the identity), one per
/// line, in the bundle's order, each as Python's `json.dumps` would.
#[test]
fn ndjson_lines_are_the_bundle_objects() {
    let mut events = read("varied.events.json").as_array().unwrap().clone();
    events.extend(read("spec/r1.events.json").as_array().unwrap().clone());
    let text = serde_json::to_vec(&events).unwrap();
    for v21 in [false, true] {
        let config = Config {
            stix_2_1: v21,
            ..Config::default()
        };
        let bundle: Value =
            serde_json::from_str(&run(&Value::Array(events.clone()), &config)).unwrap();
        let (out, _) = stream(&identity(), &text, &config, Format::Ndjson);
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        let objects = &bundle["objects"].as_array().unwrap()[1..];
        assert_eq!(lines.len(), objects.len(), "STIX 2.1: {v21}");
        for (line, object) in lines.iter().zip(objects) {
            assert_eq!(
                *line,
                stixshift_results::pyjson::to_string_compact(object),
                "STIX 2.1: {v21}"
            );
        }
    }
}

/// Output text and warnings.
type Streamed = (Vec<u8>, Vec<String>);

/// Bundle and NDJSON text and warnings, with templates on and off.
fn with_and_without_templates(text: &[u8]) -> [(Streamed, Streamed); 2] {
    [Format::Bundle, Format::Ndjson].map(|format| {
        let on = stream(&identity(), text, &Config::default(), format);
        let off = Config {
            templates: false,
            ..Config::default()
        };
        (on, stream(&identity(), text, &off, format))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    /// STIX 2.0 observed-data written from templates are byte for byte what
    /// assembling each event writes, warnings included: every event is
    /// translated twice (the second time from the template the first made).
    #[test]
    fn templates_write_what_assembling_writes(events in proptest::collection::vec(event_strategy(), 1..6)) {
        let mut all = events.clone();
        all.extend(events.into_iter().rev());
        let text = serde_json::to_vec(&all).unwrap();
        for (on, off) in with_and_without_templates(&text) {
            prop_assert_eq!(String::from_utf8(on.0).unwrap(), String::from_utf8(off.0).unwrap());
            prop_assert_eq!(on.1, off.1);
        }
    }
}

/// The same on the varied golden events (odd values, drops, IPv6, missing
/// sections) and on values that merge (objects), which bypass templates.
#[test]
fn templates_agree_on_varied_events() {
    let Value::Array(mut events) = read("varied.events.json") else {
        panic!("varied.events.json is not an array");
    };
    let mut odd = events[0].clone();
    odd["content"]["fields"]["proc.name"] = json!({"nested": ["x", {"y": 1}]});
    events.push(odd);
    let twice: Vec<Value> = events.iter().chain(events.iter()).cloned().collect();
    let text = serde_json::to_vec(&twice).unwrap();
    for (on, off) in with_and_without_templates(&text) {
        assert!(!on.0.is_empty());
        assert_eq!(
            String::from_utf8(on.0).unwrap(),
            String::from_utf8(off.0).unwrap()
        );
        assert_eq!(on.1, off.1);
    }
}

/// With `unmapped_fallback`, an unmapped key's dots nest its value; a key of
/// thousands of dots nests 32 levels at most (it overflowed the stack), the
/// rest of the key staying one name, with a warning.
#[test]
fn fallback_nesting_of_dotted_keys_is_bounded() {
    let key = format!("{}end", "a.".repeat(5000));
    let events = json!([{"content": {"fields": {"proc.name": "x"}}, key.clone(): "v"}]);
    let config = Config {
        unmapped_fallback: true,
        ..Config::default()
    };
    for format in [Format::Bundle, Format::Ndjson] {
        let text = serde_json::to_vec(&events).unwrap();
        let (out, warnings) = stream(&identity(), &text, &config, format);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("more than 32 dotted parts")),
            "{warnings:?}"
        );
        let text = String::from_utf8(out).unwrap();
        let od: Value = match format {
            Format::Bundle => json_doc_objects(&text),
            Format::Ndjson => serde_json::from_str(text.lines().next().unwrap()).unwrap(),
        };
        let fallback = od["objects"]
            .as_object()
            .unwrap()
            .values()
            .find(|o| o["type"] == "x-sysdig")
            .unwrap();
        let (mut node, mut depth) = (&fallback["a"], 0);
        while let Some((k, v)) = node.as_object().and_then(|o| o.iter().next()) {
            depth += 1;
            if !v.is_object() {
                assert_eq!(k.len(), "a.".len() * (5000 - 31) + "end".len());
                assert_eq!(v, "v");
            }
            node = v;
        }
        assert_eq!(depth, 31);
    }
}

/// The observed-data of a one-event bundle.
fn json_doc_objects(text: &str) -> Value {
    let bundle: Value = serde_json::from_str(text).unwrap();
    bundle["objects"][1].clone()
}

/// An event of [`event_strategy`] with one section made awkward: not an
/// object where the reader descends (`content`, `content.fields`,
/// `labels`), a non-string `proc.aname[N]`, a mapped value that is an
/// object or an array, non-ASCII keys, or escapes in values (serde_json
/// writes keys' non-ASCII characters as they are: escaped keys are in
/// `writer::tests` and `keys_remembered_from_the_last_event_are_not_mistaken`).
fn awkward_event_strategy() -> impl Strategy<Value = Value> {
    (event_strategy(), 0usize..9).prop_map(|(mut e, how)| {
        match how {
            0 => e["content"] = json!("not an object"),
            1 => e["content"]["fields"] = json!([1, {"proc.name": "x"}]),
            2 => e["labels"] = json!(null),
            3 => e["content"]["fields"]["proc.aname[2]"] = json!(7),
            4 => e["content"]["fields"]["proc.name"] = json!({"a": ["b", 1, true]}),
            5 => e["content"]["fields"]["proc.cmdline"] = json!(["x", "y"]),
            6 => {
                e["content"]["fields"]["proc.n\u{e9}me"] = json!("q\"\\\n\u{e9}");
                e["content"]["fields"]["user.name"] = json!("r\u{f6}\u{f6}t\t");
            }
            7 => e["content"]["fields"]["evt.type"] = json!(false),
            _ => {}
        }
        e
    })
}

/// The bundle and warnings of the in-memory (`Value`) path.
fn in_memory(events: &[Value], config: &Config) -> (Value, Vec<String>) {
    let (out, warnings) = stixshift_results::render_values_with_warnings(
        &identity(),
        events,
        config,
        FixedEnv::default(),
    )
    .unwrap();
    let bundle = serde_json::from_slice(&out).unwrap();
    (bundle, warnings.iter().map(ToString::to_string).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    /// The streaming reader's direct parser (`FastDe::read_level`) and the
    /// serde visitors of the `Value` path make the same bundle and the
    /// same warnings, for both STIX versions and `unmapped_fallback`.
    #[test]
    fn direct_reader_agrees_with_serde_visitors(events in proptest::collection::vec(awkward_event_strategy(), 1..5)) {
        let text = serde_json::to_vec(&events).unwrap();
        for (stix_2_1, unmapped_fallback) in [(false, false), (true, false), (false, true)] {
            let config = Config { stix_2_1, unmapped_fallback, ..Config::default() };
            let (out, warnings) = stream(&identity(), &text, &config, Format::Bundle);
            let streamed: Value = serde_json::from_slice(&out).unwrap();
            let (in_memory, mem_warnings) = in_memory(&events, &config);
            prop_assert_eq!(streamed, in_memory);
            prop_assert_eq!(warnings, mem_warnings);
        }
    }
}

/// The fast reader recognises a key by comparing its bytes with the key
/// that followed the previous key last time, or with the keys it kept for
/// the level: a longer or shorter key, an escaped spelling of the same key,
/// another level at that place (`content` missing), keys in another order
/// or given twice must each be read as what it is.
#[test]
fn keys_remembered_from_the_last_event_are_not_mistaken() {
    let text = r#"[
        {"content": {"fields": {"proc.name": "a", "user.name": "u"}}, "labels": {"host.hostName": "h"}},
        {"content": {"fields": {"proc.nam\u0065": "c", "user.name": "w"}}, "labels": {"host.hostName": "h"}},
        {"content": {"fields": {"proc.name2": "b", "user.nam": "v"}}, "labels": {"host.hostName": "h"}},
        {"labels": {"proc.name": "x", "host.hostName": "g"}, "content": {"fields": {"host.hostName": "y"}}},
        {"content": {"fields": {"proc.name": "d", "user.name": "u2"}}, "labels": {"host.hostName": "h2"}},
        {"content": {"fields": {"user.name": "u3", "proc.name": "e"}}, "labels": {"host.hostName": "h3"}},
        {"content": {"fields": {"user.name": "u4", "user.name": "u5", "proc.name": "f", "proc.name": "g"}}},
        {"content": {"fields": {"proc.name": "h", "user.name": "u6"}}, "labels": {"host.hostName": "h4"}}
    ]"#;
    let events: Vec<Value> = serde_json::from_str(text).unwrap();
    for unmapped_fallback in [false, true] {
        let config = Config {
            unmapped_fallback,
            ..Config::default()
        };
        let (out, warnings) = stream(&identity(), text.as_bytes(), &config, Format::Bundle);
        let streamed: Value = serde_json::from_slice(&out).unwrap();
        let (in_memory, mem_warnings) = in_memory(&events, &config);
        assert_eq!(streamed, in_memory);
        assert_eq!(warnings, mem_warnings);
        let names: Vec<&str> = streamed["objects"]
            .as_array()
            .unwrap()
            .iter()
            .skip(1)
            .map(|od| {
                od["objects"]
                    .as_object()
                    .unwrap()
                    .values()
                    .find(|o| o["type"] == "process")
                    .and_then(|p| p["name"].as_str())
                    .unwrap_or("-")
            })
            .collect();
        assert_eq!(
            names,
            ["a", "c", "-", "-", "d", "e", "g", "h"],
            "{streamed}"
        );
    }
}
