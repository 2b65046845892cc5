//! Spans end at the last token of what they cover, not at the next token.

use stixshift_pattern::{parse, ComparisonExpr, ObservationExpr, Version};

#[test]
fn spans_end_at_their_last_token() {
    let src = "[a:b = 'x'   /* c */ ] WITHIN 5 SECONDS  ";
    let p = parse(src, Version::V21).unwrap();
    let ObservationExpr::Qualified { expr, qualifier } = p.expr else {
        panic!("{:?}", p.expr)
    };
    assert_eq!(
        &src[qualifier.span.start..qualifier.span.end],
        "WITHIN 5 SECONDS"
    );
    let ObservationExpr::Observation(o) = *expr else {
        panic!("{expr:?}")
    };
    let ComparisonExpr::Comparison(c) = o.comparison else {
        panic!("{:?}", o.comparison)
    };
    assert_eq!(&src[c.span.start..c.span.end], "a:b = 'x'");
}
