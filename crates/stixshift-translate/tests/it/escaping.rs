//! No value can change a filter's structure: for arbitrary strings, the
//! emitted filter parses (with the simulator's independent filter parser)
//! into exactly the comparison tree the pattern describes, with the value
//! intact as one literal.

use proptest::prelude::*;
use stixshift_simulator::filter::{self, CompareOp, Expr, Literal};
use stixshift_translate::mapping::QueryMapping;
use stixshift_translate::query::{translate, QueryConfig};

const W: &str = "START t'2023-10-25T16:43:26.000Z' STOP t'2023-11-05T16:43:26.000Z'";

fn stix_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn config() -> QueryConfig<'static> {
    QueryConfig {
        mapping: QueryMapping::default_for(false),
        time_range_minutes: Some(5),
        now_ms: 1_700_000_000_000,
        explain: false,
    }
}

/// The filter of the only query, parsed; the `source!="auditTrail"` suffix checked and removed.
fn filter_of(pattern: &str) -> Expr {
    let t = translate(pattern, &config()).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    assert_eq!(t.queries.len(), 1);
    let (_, filter) = t.queries[0].split_once("&filter=").unwrap();
    let expr = filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    match expr {
        Expr::And(inner, suffix) => {
            assert_eq!(
                *suffix,
                Expr::Compare {
                    field: "source".into(),
                    op: CompareOp::Ne,
                    value: Literal::String("auditTrail".into())
                }
            );
            *inner
        }
        other => panic!("no suffix: {other:?}"),
    }
}

fn eq(field: &str, value: &str) -> Expr {
    Expr::Compare {
        field: field.into(),
        op: CompareOp::Eq,
        value: Literal::String(value.into()),
    }
}

fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"\\\\'&+% ()=a-z]{0,12}",
        Just("x\") or (severity=0".to_owned()),
        Just("a filter=b".to_owned()),
        Just("from x or y".to_owned()),
        Just("\\".to_owned()),
        Just("\"".to_owned()),
        Just("é😀\u{0}\n".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_string_value_stays_one_literal(v in tricky()) {
        let pattern = format!("[x-ibm-finding:name = {}] {W}", stix_literal(&v));
        prop_assert_eq!(filter_of(&pattern), eq("ruleName", &v));
    }

    #[test]
    fn values_keep_their_place_in_and_or_trees(a in tricky(), b in tricky(), c in tricky()) {
        // A AND (B OR C): stix-shifter prints operands right to left.
        let pattern = format!(
            "[x-ibm-finding:name = {} AND (x-ibm-finding:x_category = {} OR x-sysdig-cluster:name = {})] {W}",
            stix_literal(&a), stix_literal(&b), stix_literal(&c)
        );
        let expected = Expr::And(
            Box::new(Expr::Or(
                Box::new(eq("kubernetes.cluster.name", &c)),
                Box::new(eq("category", &b)),
            )),
            Box::new(eq("ruleName", &a)),
        );
        prop_assert_eq!(filter_of(&pattern), expected);
    }

    #[test]
    fn set_members_stay_separate(items in prop::collection::vec(tricky(), 1..5)) {
        let set = items.iter().map(|s| stix_literal(s)).collect::<Vec<_>>().join(", ");
        let pattern = format!("[x-ibm-finding:name NOT IN ({set})] {W}");
        prop_assert_eq!(
            filter_of(&pattern),
            Expr::In {
                field: "ruleName".into(),
                negated: true,
                values: items.into_iter().map(Literal::String).collect(),
            }
        );
    }

    #[test]
    fn observations_join_with_or(a in tricky(), b in tricky()) {
        let pattern = format!(
            "([x-ibm-finding:name = {}] AND [x-sysdig-deployment:name = {}]) {W}",
            stix_literal(&a), stix_literal(&b)
        );
        prop_assert_eq!(
            filter_of(&pattern),
            Expr::Or(Box::new(eq("ruleName", &a)), Box::new(eq("kubernetes.deployment.name", &b)))
        );
    }
}
