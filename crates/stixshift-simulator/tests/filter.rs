//! The filter language: accepted and rejected inputs, every query of the
//! spec's examples, and properties against an independent oracle.
//! (No server needed: also runs with `--no-default-features`.)

use proptest::prelude::*;
use serde_json::{json, Value};
use stixshift_simulator::filter::{parse, Expr, FilterErrorKind, MAX_DEPTH};

/// `input` parses and prints canonically as `canonical`, which re-parses to the same tree.
#[track_caller]
fn check_ok(input: &str, canonical: &str) {
    let expr = parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
    assert_eq!(expr.to_string(), canonical, "canonical form of {input:?}");
    assert_eq!(
        parse(canonical).as_ref(),
        Ok(&expr),
        "re-parse of {canonical:?}"
    );
}

/// `input` is rejected at byte `pos` with `message`.
#[track_caller]
fn check_err(input: &str, pos: usize, message: &str) {
    let err = parse(input).expect_err(input);
    assert_eq!(
        (err.pos, err.to_string().as_str()),
        (pos, message),
        "{input:?}"
    );
}

#[test]
fn accepted_filters() {
    let table: &[(&str, &str)] = &[
        (r#"a="x""#, r#"a="x""#),
        (r#"a = "x""#, r#"a="x""#),
        (r#"a!="x""#, r#"a!="x""#),
        ("a<1", "a<1"),
        ("a <= -2.5", "a<=-2.5"),
        ("a>10", "a>10"),
        (r#"a >= "7""#, r#"a>="7""#),
        (r#"a in ("x","y")"#, r#"a in ("x", "y")"#),
        (r#"a in("x" , 1 ,"z")"#, r#"a in ("x", 1, "z")"#),
        ("a in ()", "a in ()"),
        (r#"a not in ("x")"#, r#"a not in ("x")"#),
        (r#"a NOT IN ("x")"#, r#"a not in ("x")"#),
        ("a exists", "a exists"),
        ("a not exists", "a not exists"),
        (r#"a contains "b""#, r#"a contains "b""#),
        (r#"a startsWith "b""#, r#"a startsWith "b""#),
        (r#"a starts with "b""#, r#"a startsWith "b""#),
        (r#"freeText="needle""#, r#"freeText="needle""#),
        (r#"not a="x""#, r#"not a="x""#),
        (r#"not(a="x")"#, r#"not a="x""#),
        (r#"not not a="x""#, r#"not not a="x""#),
        (r#"not (a="x" or b="y")"#, r#"not (a="x" or b="y")"#),
        // precedence: and binds tighter than or
        (r#"a="1" or b="2" and c="3""#, r#"a="1" or b="2" and c="3""#),
        (
            r#"(a="1" or b="2") and c="3""#,
            r#"(a="1" or b="2") and c="3""#,
        ),
        (
            r#"a="1" and (b="2" or c="3")"#,
            r#"a="1" and (b="2" or c="3")"#,
        ),
        (
            r#"a="1" or (b="2" or c="3")"#,
            r#"a="1" or (b="2" or c="3")"#,
        ),
        (r#"((a="1"))"#, r#"a="1""#),
        // the reference's unspaced forms
        (
            r#"(a="x")andsource!="auditTrail""#,
            r#"a="x" and source!="auditTrail""#,
        ),
        (r#"x="a"andy="z""#, r#"x="a" and y="z""#),
        (r#"a="x"orb="y""#, r#"a="x" or b="y""#),
        ("agentId<200andagentId>=100", "agentId<200 and agentId>=100"),
        (
            "policyId!=10orruleSubType<=1",
            "policyId!=10 or ruleSubType<=1",
        ),
        (r#"a="x" OR b="y""#, r#"a="x" or b="y""#),
        (r#"a="x" And b="y""#, r#"a="x" and b="y""#),
        (r#"a="x"andnot b="y""#, r#"a="x" and not b="y""#),
        // escapes: only \" and \\
        (r#"a="say \"hi\"""#, r#"a="say \"hi\"""#),
        (r#"a="back\\slash""#, r#"a="back\\slash""#),
        (r#"a="""#, r#"a="""#),
        (r#"a="ünïcödé ✓""#, r#"a="ünïcödé ✓""#),
        // field names with dots, brackets, dashes and slashes
        (r#"proc.aname[2]="bash""#, r#"proc.aname[2]="bash""#),
        (
            r#"container.label.io.kubernetes.pod.name="p""#,
            r#"container.label.io.kubernetes.pod.name="p""#,
        ),
        (r#"k8s.io/name-x="v""#, r#"k8s.io/name-x="v""#),
        ("  a=1  ", "a=1"),
        ("a=\t1\n", "a=1"),
        // a field may look like a keyword where no keyword can stand
        (r#"in="x""#, r#"in="x""#),
        (r#"notes="x""#, r#"notes="x""#),
        (r#"order="x""#, r#"order="x""#),
        (r#"index in ("x")"#, r#"index in ("x")"#),
    ];
    for (input, canonical) in table {
        check_ok(input, canonical);
    }
}

#[test]
fn rejected_filters() {
    let table: &[(&str, usize, &str)] = &[
        ("", 0, "empty filter at byte 0"),
        ("   ", 3, "empty filter at byte 3"),
        ("a", 1, "expected an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `contains`, `startsWith`, `exists`, `not exists`), found end of filter at byte 1"),
        (r#"a=="x""#, 2, "expected a quoted string or a number, found `=` at byte 2"),
        ("a=x", 2, "expected a quoted string or a number, found `x` at byte 2"),
        ("a='x'", 2, "expected a quoted string or a number, found `'` at byte 2"),
        ("a=true", 2, "expected a quoted string or a number, found `true` at byte 2"),
        (r#"a="x"#, 2, "unterminated string at byte 2"),
        (r#"a="x\"#, 2, "unterminated string at byte 2"),
        (r#"a="O\'Brien""#, 4, r#"invalid escape `\'` (only `\"` and `\\` are allowed) at byte 4"#),
        (r#"a="\n""#, 3, r#"invalid escape `\n` (only `\"` and `\\` are allowed) at byte 3"#),
        (r#"a="x" b="y""#, 6, "expected `and`, `or` or the end of the filter, found `b` at byte 6"),
        (r#"a="x")"#, 5, "expected `and`, `or` or the end of the filter, found `)` at byte 5"),
        (r#"(a="x""#, 6, "expected `)`, `and` or `or`, found end of filter at byte 6"),
        (r#"a="x" and"#, 9, "expected a field name, `(` or `not`, found end of filter at byte 9"),
        // `or` where a field must stand is a field name, so the error comes later
        (r#"a="x" or or b="y""#, 12, "expected an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `contains`, `startsWith`, `exists`, `not exists`), found `b` at byte 12"),
        (r#"and a="x""#, 4, "expected an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `contains`, `startsWith`, `exists`, `not exists`), found `a` at byte 4"),
        (r#"="x""#, 0, "expected a field name, `(` or `not`, found `=` at byte 0"),
        (r#"1="x""#, 0, "expected a field name, `(` or `not`, found `1` at byte 0"),
        (r#"a in "x""#, 5, "expected `(`, found `\"` at byte 5"),
        (r#"a in ("x" "y")"#, 10, "expected `,` or `)`, found `\"` at byte 10"),
        (r#"a in ("x",)"#, 10, "expected a quoted string or a number, found `)` at byte 10"),
        (r#"ain ("x")"#, 4, "expected an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `contains`, `startsWith`, `exists`, `not exists`), found `(` at byte 4"),
        (r#"a not ("x")"#, 6, "expected an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `contains`, `startsWith`, `exists`, `not exists`), found `(` at byte 6"),
        ("a contains 1", 11, "expected a quoted string, found `1` at byte 11"),
        (r#"freeText<"x""#, 8, "`freeText` supports only `=` and `!=` at byte 8"),
        (r#"freeText in ("x")"#, 9, "`freeText` supports only `=` and `!=` at byte 9"),
        ("a=1.", 3, "expected `and`, `or` or the end of the filter, found `.` at byte 3"),
        ("a=1e5", 3, "expected `and`, `or` or the end of the filter, found `e5` at byte 3"),
        ("a=-", 2, "expected a quoted string or a number, found `-` at byte 2"),
        ("a=1x", 3, "expected `and`, `or` or the end of the filter, found `x` at byte 3"),
        // the reference's broken outputs (examples.md Q36, Q37, Q39)
        (r#"(ruleName="a"b\c")andsource!="auditTrail""#, 13, "expected `)`, `and` or `or`, found `b` at byte 13"),
        (r#"(ruleName="x") or (severity=0")andsource!="auditTrail""#, 29, "expected `)`, `and` or `or`, found `\"` at byte 29"),
        (r#"(ruleName="a )andsource!="auditTrail""#, 26, "expected `)`, `and` or `or`, found `auditTrail` at byte 26"),
        // not NUL-safe tricks: control characters are just characters
        ("a=\u{0}", 2, "expected a quoted string or a number, found `\u{0}` at byte 2"),
    ];
    for (input, pos, message) in table {
        check_err(input, *pos, message);
    }
}

#[test]
fn limits() {
    let deep = format!(
        "{}a=1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(matches!(
        parse(&deep).unwrap_err().kind,
        FilterErrorKind::TooDeep { .. }
    ));
    let ok = format!("{}a=1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let nots = format!("{}a=1", "not ".repeat(MAX_DEPTH + 1));
    assert!(matches!(
        parse(&nots).unwrap_err().kind,
        FilterErrorKind::TooDeep { .. }
    ));
    let long = format!("a in ({})", vec!["\"x\""; 20_000].join(","));
    assert!(matches!(
        parse(&long).unwrap_err().kind,
        FilterErrorKind::TooLong { .. }
    ));
    // A long flat chain is not deep: no recursion per `and`.
    let chain = vec!["a=1"; 5000].join(" and ");
    assert!(parse(&chain).is_ok());
}

/// Every translated query in `../shared/spec/examples.md` (copied to
/// `tests/data/examples_filters.tsv`) parses, except the reference's known
/// broken outputs: Q36 (unescaped `"`), Q37 (filter injection), Q38 (`\'`
/// is not an escape), Q39 (a value cut by `filter=`).
#[test]
fn every_example_query_parses() {
    let data = include_str!("data/examples_filters.tsv");
    let broken = ["Q36", "Q37", "Q38", "Q39"];
    let mut parsed = 0;
    for line in data
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (id, filter) = line.split_once('\t').expect("id TAB filter");
        let result = parse(filter);
        if broken.contains(&id) {
            assert!(result.is_err(), "{id} should be rejected: {filter}");
        } else {
            let expr = result.unwrap_or_else(|e| panic!("{id}: {filter}: {e}"));
            assert_eq!(parse(&expr.to_string()), Ok(expr), "{id} round trip");
            parsed += 1;
        }
    }
    assert_eq!(parsed, 42);
}

fn event() -> Value {
    json!({
        "id": "e1",
        "source": "syscall",
        "severity": 3,
        "agentId": 150,
        "nothing": null,
        "flag": true,
        "content": {
            "ruleName": "Contact EC2",
            "policyId": 123,
            "ruleTags": ["network", "aws"],
            "fields": {
                "proc.name": "curl",
                "proc.pid": "12345",
                "user.loginuid": "-1",
                "container.name": "from-fields",
                "evt.type": "connect",
                "quote": "say \"hi\"",
                "path": "C:\\temp"
            }
        },
        "labels": {
            "host.hostName": "ip-10-0-0-1.ec2.internal",
            "aws.accountId": "845120736915",
            "container.name": "from-labels",
            "kubernetes.cluster.name": "prod"
        }
    })
}

#[test]
fn evaluation_table() {
    let ev = event();
    let table: &[(&str, bool)] = &[
        // resolution: top level, content, labels, content.fields
        (r#"source="syscall""#, true),
        (r#"ruleName="Contact EC2""#, true),
        (r#"ruleName="contact EC2""#, false),
        (r#"host.hostName="ip-10-0-0-1.ec2.internal""#, true),
        (r#"proc.name="curl""#, true),
        (r#"container.name="from-labels""#, true),
        // missing fields: false for every operator
        (r#"nope="x""#, false),
        (r#"nope!="x""#, false),
        (r#"nope in ("x")"#, false),
        (r#"nope not in ("x")"#, false),
        ("nope<1", false),
        (r#"not nope="x""#, true),
        ("nope exists", false),
        ("nope not exists", true),
        (r#"nothing="x""#, false),
        ("nothing exists", false),
        // numbers: JSON numbers and digit strings compare numerically
        ("severity=3", true),
        (r#"severity="3""#, true),
        ("severity=3.0", true),
        ("severity!=3", false),
        ("severity<4", true),
        ("severity>=4", false),
        ("severity in (0,1,2,3)", true),
        (r#"severity in ("0","1")"#, false),
        ("severity not in (0,1)", true),
        ("proc.pid>100", true),
        ("proc.pid=12345", true),
        ("user.loginuid<0", true),
        ("aws.accountId=845120736915", true),
        ("policyId=123", true),
        ("agentId<200 and agentId>=100", true),
        // strings: exact, case-sensitive, byte order
        (r#"proc.pid="012345""#, false),
        (r#"proc.name>"cur""#, true),
        (r#"proc.name<"d""#, true),
        ("proc.name=1", false),
        ("proc.name!=1", true),
        (r#"quote="say \"hi\"""#, true),
        (r#"path="C:\\temp""#, true),
        (r#"flag="true""#, true),
        // arrays: any element
        (r#"ruleTags="aws""#, true),
        (r#"ruleTags!="aws""#, false),
        (r#"ruleTags!="k8s""#, true),
        (r#"ruleTags in ("k8s","network")"#, true),
        // contains / startsWith / freeText
        (r#"ruleName contains "EC2""#, true),
        (r#"ruleName contains "ec2""#, false),
        (r#"host.hostName startsWith "ip-""#, true),
        (r#"freeText="ec2 internal""#, false),
        (r#"freeText="EC2.INTERNAL""#, true),
        (r#"freeText!="nowhere""#, true),
        // boolean structure
        (r#"source="x" or severity=3 and proc.name="curl""#, true),
        (r#"(source="x" or severity=3) and proc.name="nope""#, false),
        (r#"not (source="x" or severity=3)"#, false),
        ("severity in ()", false),
        ("severity not in ()", true),
        (
            r#"(kubernetes.cluster.name!="dummycluster")andsource!="auditTrail""#,
            true,
        ),
    ];
    for (filter, expected) in table {
        let expr = parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(expr.matches(&ev), *expected, "{filter}");
    }
}

// ---------------------------------------------------------------------------
// Properties. The oracle below is written from the README's semantics table,
// separately from src/filter/eval.rs.

#[derive(Debug, Clone)]
enum Lit {
    S(String),
    N(f64, String),
}

#[derive(Debug, Clone)]
enum T {
    Or(Box<T>, Box<T>),
    And(Box<T>, Box<T>),
    Not(Box<T>),
    Cmp(&'static str, &'static str, Lit),
    In(&'static str, bool, Vec<Lit>),
    Exists(&'static str, bool),
}

const FIELDS: &[&str] = &[
    "source",
    "severity",
    "ruleName",
    "policyId",
    "proc.pid",
    "host.hostName",
    "ruleTags",
    "missing",
];
const OPS: &[&str] = &["=", "!=", "<", "<=", ">", ">="];

fn lit() -> impl Strategy<Value = Lit> {
    prop_oneof![
        prop::sample::select(vec![
            "a",
            "b",
            "12",
            "-3",
            "2.5",
            "",
            "x\"y",
            "back\\slash",
            "syscall"
        ])
        .prop_map(|s| Lit::S(s.to_owned())),
        prop::sample::select(vec![
            (0.0, "0"),
            (1.0, "1"),
            (12.0, "12"),
            (-3.0, "-3"),
            (2.5, "2.5"),
            (5.0, "5.0")
        ])
        .prop_map(|(n, t)| Lit::N(n, t.to_owned())),
    ]
}

fn tree() -> impl Strategy<Value = T> {
    let field = prop::sample::select(FIELDS.to_vec());
    let leaf = prop_oneof![
        (field.clone(), prop::sample::select(OPS.to_vec()), lit())
            .prop_map(|(f, o, l)| T::Cmp(f, o, l)),
        (
            field.clone(),
            any::<bool>(),
            prop::collection::vec(lit(), 0..4)
        )
            .prop_map(|(f, n, v)| T::In(f, n, v)),
        (field, any::<bool>()).prop_map(|(f, n)| T::Exists(f, n)),
    ];
    leaf.prop_recursive(5, 40, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| T::Or(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| T::And(Box::new(a), Box::new(b))),
            inner.prop_map(|a| T::Not(Box::new(a))),
        ]
    })
}

fn ev_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "a", "b", "12", "-3", "2.5", "", "x\"y", "syscall", "5"
        ])
        .prop_map(|s| Some(json!(s))),
        prop::sample::select(vec![0i64, 1, 5, 12, -3]).prop_map(|n| Some(json!(n))),
        Just(Some(json!(2.5))),
        Just(Some(json!(["a", 12]))),
        Just(Some(Value::Null)),
    ]
}

fn events() -> impl Strategy<Value = Value> {
    prop::collection::vec(ev_value(), FIELDS.len()).prop_map(|vals| {
        let mut top = serde_json::Map::new();
        let mut content = serde_json::Map::new();
        let mut fields = serde_json::Map::new();
        let mut labels = serde_json::Map::new();
        for (f, v) in FIELDS.iter().zip(vals) {
            let Some(v) = v else { continue };
            let target = match *f {
                "source" | "severity" | "missing" => &mut top,
                "ruleName" | "policyId" | "ruleTags" => &mut content,
                "proc.pid" => &mut fields,
                _ => &mut labels,
            };
            target.insert((*f).to_owned(), v);
        }
        content.insert("fields".to_owned(), Value::Object(fields));
        top.insert("content".to_owned(), Value::Object(content));
        top.insert("labels".to_owned(), Value::Object(labels));
        Value::Object(top)
    })
}

fn oracle_resolve<'a>(ev: &'a Value, f: &str) -> Option<&'a Value> {
    let candidates = [
        ev.get(f),
        ev["content"].get(f),
        ev["labels"].get(f),
        ev["content"]["fields"].get(f),
    ];
    candidates
        .into_iter()
        .flatten()
        .next()
        .filter(|v| !v.is_null())
}

fn numeric_text(s: &str) -> Option<f64> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let mut parts = body.splitn(2, '.');
    let int = parts.next()?;
    let ok_int = !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit());
    let ok_frac = parts
        .next()
        .is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    (ok_int && ok_frac).then(|| s.parse().ok()).flatten()
}

fn oracle_cmp(e: &Value, l: &Lit) -> Option<std::cmp::Ordering> {
    match (e, l) {
        (Value::Number(n), Lit::N(x, _)) => n.as_f64()?.partial_cmp(x),
        (Value::Number(n), Lit::S(s)) => n.as_f64()?.partial_cmp(&numeric_text(s)?),
        (Value::String(s), Lit::N(x, _)) => numeric_text(s)?.partial_cmp(x),
        (Value::String(s), Lit::S(t)) => Some(s.as_bytes().cmp(t.as_bytes())),
        _ => None,
    }
}

fn oracle(t: &T, ev: &Value) -> bool {
    use std::cmp::Ordering::*;
    let elems = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        }
    };
    match t {
        T::Or(a, b) => oracle(a, ev) || oracle(b, ev),
        T::And(a, b) => oracle(a, ev) && oracle(b, ev),
        T::Not(a) => !oracle(a, ev),
        T::Exists(f, neg) => oracle_resolve(ev, f).is_some() != *neg,
        T::In(f, neg, lits) => match oracle_resolve(ev, f) {
            None => false,
            Some(v) => {
                let hit = elems(v)
                    .iter()
                    .any(|e| lits.iter().any(|l| oracle_cmp(e, l) == Some(Equal)));
                hit != *neg
            }
        },
        T::Cmp(f, op, l) => match oracle_resolve(ev, f) {
            None => false,
            Some(v) => {
                let orders: Vec<_> = elems(v).iter().map(|e| oracle_cmp(e, l)).collect();
                let any = |ok: &[std::cmp::Ordering]| {
                    orders.iter().any(|o| o.is_some_and(|o| ok.contains(&o)))
                };
                match *op {
                    "=" => any(&[Equal]),
                    "!=" => !any(&[Equal]),
                    "<" => any(&[Less]),
                    "<=" => any(&[Less, Equal]),
                    ">" => any(&[Greater]),
                    _ => any(&[Greater, Equal]),
                }
            }
        },
    }
}

fn render_lit(l: &Lit) -> String {
    match l {
        Lit::N(_, t) => t.clone(),
        Lit::S(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

/// Renders with the fewest parentheses precedence allows, in one of several
/// spellings: `style & 1` glues `and`/`or` to a preceding value or `)`,
/// `style & 2` upper-cases keywords, `style & 4` adds spaces around operators.
fn render(t: &T, style: u8) -> String {
    let kw = |k: &str| {
        if style & 2 != 0 {
            k.to_uppercase()
        } else {
            k.to_owned()
        }
    };
    let sp = if style & 4 != 0 { " " } else { "" };
    let join = |l: String, k: &str, r: String| {
        // Gluing is only allowed after a quote, a `)` or a number.
        let glue = style & 1 != 0
            && (l.ends_with('"') || l.ends_with(')') || l.ends_with(|c: char| c.is_ascii_digit()));
        if glue {
            format!("{l}{}{r}", kw(k))
        } else {
            format!("{l} {} {r}", kw(k))
        }
    };
    let paren = |s: String| format!("({s})");
    match t {
        T::Or(a, b) => join(render(a, style), "or", render(b, style)),
        T::And(a, b) => {
            let wrap = |x: &T| match x {
                T::Or(..) => paren(render(x, style)),
                _ => render(x, style),
            };
            join(wrap(a), "and", wrap(b))
        }
        T::Not(a) => match **a {
            T::Or(..) | T::And(..) => format!("{} {}", kw("not"), paren(render(a, style))),
            _ => format!("{} {}", kw("not"), render(a, style)),
        },
        T::Cmp(f, op, l) => format!("{f}{sp}{op}{sp}{}", render_lit(l)),
        T::In(f, neg, lits) => format!(
            "{f} {}{} ({})",
            if *neg {
                format!("{} ", kw("not"))
            } else {
                String::new()
            },
            kw("in"),
            lits.iter().map(render_lit).collect::<Vec<_>>().join(",")
        ),
        T::Exists(f, neg) => format!(
            "{f} {}{}",
            if *neg {
                format!("{} ", kw("not"))
            } else {
                String::new()
            },
            kw("exists")
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Evaluating the parsed text of a generated tree equals evaluating the
    /// tree directly, for every spelling; and the canonical print re-parses
    /// to the same tree.
    #[test]
    fn parsed_evaluation_equals_direct_evaluation(t in tree(), style in 0u8..8, evs in prop::collection::vec(events(), 6)) {
        let text = render(&t, style);
        let expr = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        for ev in &evs {
            prop_assert_eq!(expr.matches(ev), oracle(&t, ev), "filter {} on {}", text, ev);
        }
        let canonical = expr.to_string();
        prop_assert_eq!(parse(&canonical), Ok(expr.clone()));
    }

    /// Arbitrary text never panics the parser.
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,64}") {
        let _ = parse(&s);
    }

    /// Filter-shaped noise never panics and errors point inside the input.
    #[test]
    fn filterish_noise(s in "[a-z\"()=!<> ,.\\\\0-9-]{0,48}") {
        if let Err(e) = parse(&s) {
            prop_assert!(e.pos <= s.len());
        }
    }
}

#[test]
fn display_is_stable_for_built_trees() {
    // Right-nested `or` keeps its parentheses so the tree survives printing.
    let e: Expr = parse(r#"a="1" or (b="2" or c="3")"#).unwrap();
    assert!(matches!(e, Expr::Or(_, ref r) if matches!(**r, Expr::Or(..))));
    assert_eq!(parse(&e.to_string()), Ok(e));
}
