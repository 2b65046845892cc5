//! Properties: any tree prints to text that parses back to the same tree;
//! no text makes the parser panic.

use proptest::prelude::*;
use stixshift_pattern::*;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,8}",
        "[A-Za-z0-9' \\\\-]{0,6}",
        Just("AND".to_owned()),
        Just("x-oca-container-ext".to_owned()),
    ]
}

fn path() -> impl Strategy<Value = ObjectPath> {
    (
        "[a-z][a-z0-9-]{0,10}",
        key(),
        prop::collection::vec(
            prop_oneof![
                key().prop_map(PathStep::Key),
                (-5i64..100).prop_map(|n| PathStep::Index(n.to_string())),
                Just(PathStep::AnyIndex),
            ],
            0..3,
        ),
    )
        .prop_map(|(object_type, first, rest)| {
            let mut steps = vec![PathStep::Key(first)];
            steps.extend(rest);
            ObjectPath { object_type, steps }
        })
        // `hashes` paths carry a value-format rule: keep generated paths clear of it.
        .prop_filter("no hashes", |p| {
            !p.steps
                .iter()
                .any(|s| matches!(s, PathStep::Key(k) if k == "hashes"))
        })
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (
        1000u32..9999,
        1u32..=12,
        1u32..=31,
        0u32..24,
        0u32..60,
        0u32..=60,
        prop::option::of("[0-9]{1,9}"),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac)| Timestamp {
            text: format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{}Z",
                frac.map(|f| format!(".{f}")).unwrap_or_default()
            ),
        })
}

fn constant(orderable: bool) -> BoxedStrategy<Constant> {
    let mut options = vec![
        any::<i64>()
            .prop_map(|n| Constant::Int(n.to_string()))
            .boxed(),
        "[0-9]{20,30}"
            .prop_map(|d| Constant::Int(d.trim_start_matches('0').to_owned()))
            .prop_filter(
                "non-empty",
                |c| !matches!(c, Constant::Int(s) if s.is_empty()),
            )
            .boxed(),
        (-1.0e6f64..1.0e6).prop_map(Constant::Float).boxed(),
        any::<String>().prop_map(Constant::String).boxed(),
        timestamp().prop_map(Constant::Timestamp).boxed(),
        "([0-9a-fA-F]{2}){0,4}".prop_map(Constant::Hex).boxed(),
        "([A-Za-z0-9+/]{4}){1,2}".prop_map(Constant::Binary).boxed(),
    ];
    if !orderable {
        options.push(any::<bool>().prop_map(Constant::Bool).boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

fn comparison() -> impl Strategy<Value = Comparison> {
    let op = prop_oneof![
        Just(ComparisonOp::Equal),
        Just(ComparisonOp::NotEqual),
        Just(ComparisonOp::LessThan),
        Just(ComparisonOp::GreaterThanOrEqual),
        Just(ComparisonOp::In),
        Just(ComparisonOp::Like),
        Just(ComparisonOp::Matches),
        Just(ComparisonOp::IsSubset),
        Just(ComparisonOp::Exists),
    ];
    (path(), any::<bool>(), op)
        .prop_flat_map(|(path, negated, op)| {
            let operand: BoxedStrategy<Operand> = match op {
                ComparisonOp::Equal | ComparisonOp::NotEqual => {
                    constant(false).prop_map(Operand::Constant).boxed()
                }
                ComparisonOp::In => prop::collection::vec(constant(false), 0..4)
                    .prop_map(Operand::Set)
                    .boxed(),
                ComparisonOp::Exists => Just(Operand::None).boxed(),
                ComparisonOp::Like | ComparisonOp::Matches | ComparisonOp::IsSubset => {
                    any::<String>()
                        .prop_map(|s| Operand::Constant(Constant::String(s)))
                        .boxed()
                }
                _ => constant(true).prop_map(Operand::Constant).boxed(),
            };
            (Just(path), Just(negated), Just(op), operand)
        })
        .prop_map(|(path, negated, op, operand)| Comparison {
            path,
            negated,
            op,
            operand,
            span: Span::default(),
        })
}

fn comparison_expr() -> impl Strategy<Value = ComparisonExpr> {
    comparison()
        .prop_map(ComparisonExpr::Comparison)
        .prop_recursive(4, 12, 2, |inner| {
            (
                prop_oneof![Just(BoolOp::And), Just(BoolOp::Or)],
                inner.clone(),
                inner,
            )
                .prop_map(|(op, l, r)| ComparisonExpr::Binary {
                    op,
                    left: Box::new(l),
                    right: Box::new(r),
                })
        })
}

fn qualifier() -> impl Strategy<Value = Qualifier> {
    prop_oneof![
        (timestamp(), timestamp())
            .prop_map(|(start, stop)| QualifierKind::StartStop { start, stop }),
        (0u32..1000).prop_map(|n| QualifierKind::Within(n.to_string())),
        "[0-9]{1,3}\\.[0-9]{1,3}".prop_map(QualifierKind::Within),
        (0u32..1000).prop_map(|n| QualifierKind::Repeats(n.to_string())),
    ]
    .prop_map(|kind| Qualifier {
        kind,
        span: Span::default(),
    })
}

fn observation_expr() -> impl Strategy<Value = ObservationExpr> {
    comparison_expr()
        .prop_map(|comparison| {
            ObservationExpr::Observation(Observation {
                comparison,
                span: Span::default(),
            })
        })
        .prop_recursive(4, 10, 2, |inner| {
            prop_oneof![
                (
                    prop_oneof![
                        Just(ObservationOp::And),
                        Just(ObservationOp::Or),
                        Just(ObservationOp::FollowedBy)
                    ],
                    inner.clone(),
                    inner.clone(),
                )
                    .prop_map(|(op, l, r)| ObservationExpr::Binary {
                        op,
                        left: Box::new(l),
                        right: Box::new(r),
                    }),
                (inner, qualifier()).prop_map(|(e, q)| ObservationExpr::Qualified {
                    expr: Box::new(e),
                    qualifier: q,
                }),
            ]
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn printed_trees_parse_back_to_themselves(expr in observation_expr()) {
        let tree = Pattern { expr };
        let text = tree.to_string();
        let again = parse(&text, Version::V21);
        prop_assert!(again.is_ok(), "{text:?}: {:?}", again.err());
        let again = again.unwrap();
        prop_assert_eq!(&again, &tree, "{}", text);
        prop_assert_eq!(again.to_string(), text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
        let _ = parse(&text, Version::V21);
        let _ = parse(&text, Version::V20);
    }

    #[test]
    fn mutated_valid_patterns_never_panic(
        cut in 0usize..60,
        insert in "[\\[\\]()'\\\\ a-zA-Z0-9=<>!:.,*-]{0,3}",
    ) {
        let base = "[x-a:v = 'a' AND (y:w[0] IN (1, 2.5, t'2020-01-01T00:00:00Z')] START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'";
        let at = cut.min(base.len());
        let text = format!("{}{}{}", &base[..at], insert, &base[at..]);
        if let Ok(p) = parse(&text, Version::V21) {
            prop_assert_eq!(parse(&p.to_string(), Version::V21).ok(), Some(p));
        }
    }
}

#[test]
fn nesting_and_size_are_bounded() {
    let deep = format!("{}[a:b = 1]{}", "(".repeat(10_000), ")".repeat(10_000));
    let err = parse(&deep, Version::V21).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::LimitExceeded { .. }), "{err}");

    let deep_cmp = format!("[{}a:b = 1{}]", "(".repeat(10_000), ")".repeat(10_000));
    assert!(matches!(
        parse(&deep_cmp, Version::V21).unwrap_err().kind,
        ErrorKind::LimitExceeded { .. }
    ));

    let wide = format!("[{}]", vec!["a:b = 1"; 5000].join(" AND "));
    assert!(matches!(
        parse(&wide, Version::V21).unwrap_err().kind,
        ErrorKind::LimitExceeded {
            what: "comparisons",
            ..
        }
    ));

    // At the limits, parsing, printing and dropping work on a test thread's stack.
    let at_limit = format!(
        "[{}]",
        vec!["a:b = 1"; stixshift_pattern::limits::MAX_COMPARISONS].join(" AND ")
    );
    let p = parse(&at_limit, Version::V21).unwrap();
    assert_eq!(p.to_string(), at_limit);
}

#[test]
fn errors_point_at_the_offending_token() {
    let check = |pattern: &str, start: usize, message: &str| {
        let err = parse(pattern, Version::V21).unwrap_err();
        assert_eq!(err.span.start, start, "{pattern}: {err}");
        assert_eq!(err.kind.to_string(), message, "{pattern}");
    };
    check(
        "[x-ibm-finding:name = 'a'",
        25,
        "expected `AND`, `OR` or `]`, found end of pattern",
    );
    check(
        "[x-a:v = 1]]",
        11,
        "expected `AND`, `OR`, `FOLLOWEDBY`, a qualifier or the end of the pattern, found `]`",
    );
    check(
        "[x-a:v like 'a%']",
        7,
        "expected a comparison operator, found identifier `like`",
    );
    check(
        "[x-a:v > true]",
        9,
        "expected a literal other than a boolean, found `true`",
    );
    check(
        "[x-a:v = 1] WITHIN -5 SECONDS",
        19,
        "expected a non-negative number, found integer `-5`",
    );
    check(
        "[x-a:v = 'bad\\escape']",
        13,
        "invalid escape `\\e` in a string (only `\\'` and `\\\\` exist)",
    );
    check(
        "[x-a:v = 1] WITHIN 5 SECONDS WITHIN 6 SECONDS",
        29,
        "duplicate qualifier type encountered: WITHIN",
    );
    check(
        "[file:hashes.'SHA-256' = 'zz']",
        1,
        "'zz' is not a valid SHA-256 hash",
    );
    check(
        "garbage",
        0,
        "expected `[` or `(`, found identifier `garbage`",
    );
}

#[test]
fn caret_rendering_marks_the_span() {
    let pattern = "[x-ibm-finding:name = 'a' ANDD x:y = 1]";
    let err = parse(pattern, Version::V21).unwrap_err();
    assert_eq!(
        err.render(pattern),
        "expected `AND`, `OR` or `]`, found identifier `ANDD` at line 1, column 27\n  [x-ibm-finding:name = 'a' ANDD x:y = 1]\n                            ^^^^"
    );
    assert_eq!(
        err.validator_line(pattern),
        "FAIL: Error found at line 1:26. expected `AND`, `OR` or `]`, found identifier `ANDD`"
    );
}
