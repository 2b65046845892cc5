//! The search id (the translator's query text `from=<ns>&to=<ns>&filter=<filter>`)
//! and the query strings of the events requests built from it.

use std::fmt;
use std::str::FromStr;

use crate::error::TransmitError;

/// One translated query: a half-open window `[from, to)` in Unix
/// nanoseconds and a Sysdig filter.
///
/// Its text form is what `translate query` emits and what stix-shifter
/// passes around as the search id:
///
/// ```
/// use stixshift_transmit::SearchId;
/// let id = SearchId::parse(r#"from=1&to=2&filter=(ruleName="a&b")andsource!="auditTrail""#).unwrap();
/// assert_eq!((id.from_ns(), id.to_ns()), (1, 2));
/// assert_eq!(id.filter(), r#"(ruleName="a&b")andsource!="auditTrail""#);
/// assert_eq!(SearchId::parse(&id.to_string()).unwrap(), id);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SearchId {
    from: i64,
    to: i64,
    filter: String,
}

const FROM: &str = "from=";
const TO: &str = "&to=";
const FILTER: &str = "&filter=";

impl SearchId {
    /// A search id from its parts.
    pub fn new(from_ns: i64, to_ns: i64, filter: impl Into<String>) -> SearchId {
        SearchId {
            from: from_ns,
            to: to_ns,
            filter: filter.into(),
        }
    }

    /// Parses `from=<ns>&to=<ns>&filter=<filter>`.
    ///
    /// `from` and `to` are decimal integers (an optional `-`, then ASCII
    /// digits) that fit in an `i64`. The filter is everything after the
    /// first `&filter=`, taken verbatim (it may hold `&`, `=`, quotes; it may
    /// be empty). The text is not percent-decoded: it is the translator's
    /// output, not a URL.
    pub fn parse(text: &str) -> Result<SearchId, TransmitError> {
        let invalid = |reason: String| TransmitError::InvalidSearchId { reason };
        let rest = text.strip_prefix(FROM).ok_or_else(|| {
            invalid("expected `from=<nanoseconds>&to=<nanoseconds>&filter=<filter>`".to_owned())
        })?;
        let (head, filter) = rest
            .split_once(FILTER)
            .ok_or_else(|| invalid("no `&filter=` parameter".to_owned()))?;
        let (from, to) = head
            .split_once(TO)
            .ok_or_else(|| invalid("expected `&to=` after `from`".to_owned()))?;
        Ok(SearchId {
            from: parse_ns("from", from)?,
            to: parse_ns("to", to)?,
            filter: filter.to_owned(),
        })
    }

    /// The window's start (inclusive), Unix nanoseconds.
    pub fn from_ns(&self) -> i64 {
        self.from
    }

    /// The window's end (exclusive), Unix nanoseconds.
    pub fn to_ns(&self) -> i64 {
        self.to
    }

    /// The Sysdig filter text.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The query string of the first page: `from`, `to`, `filter`, `limit`,
    /// each value percent-encoded.
    pub(crate) fn first_page_query(&self, limit: u64) -> String {
        format!(
            "from={}&to={}&filter={}&limit={limit}",
            self.from,
            self.to,
            encode_component(&self.filter)
        )
    }

    /// The query string of a continuation page: `cursor`, `filter`, `limit`
    /// (no `from`/`to`: the API takes either a window or a cursor).
    pub(crate) fn cursor_query(&self, cursor: &str, limit: u64) -> String {
        format!(
            "cursor={}&filter={}&limit={limit}",
            encode_component(cursor),
            encode_component(&self.filter)
        )
    }
}

fn parse_ns(name: &str, text: &str) -> Result<i64, TransmitError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TransmitError::InvalidSearchId {
            reason: format!("`{name}` is not an integer: `{}`", shorten(text)),
        });
    }
    text.parse::<i64>()
        .map_err(|_| TransmitError::InvalidSearchId {
            reason: format!(
                "`{name}` is out of range for a 64-bit nanosecond timestamp: `{}`",
                shorten(text)
            ),
        })
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

impl fmt::Display for SearchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{FROM}{}{TO}{}{FILTER}{}",
            self.from, self.to, self.filter
        )
    }
}

impl FromStr for SearchId {
    type Err = TransmitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SearchId::parse(s)
    }
}

/// Percent-encodes a query parameter value: every byte except the RFC 3986
/// unreserved set (`A-Z a-z 0-9 - . _ ~`) becomes `%XX` (upper-case hex),
/// so `&`, `=`, `+`, `%`, space and quotes arrive as themselves.
///
/// ```
/// use stixshift_transmit::encode_component;
/// assert_eq!(encode_component(r#"a="x+y&z""#), "a%3D%22x%2By%26z%22");
/// assert_eq!(encode_component("é ~"), "%C3%A9%20~");
/// ```
pub fn encode_component(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reason(text: &str) -> String {
        match SearchId::parse(text) {
            Err(TransmitError::InvalidSearchId { reason }) => reason,
            other => panic!("{text}: expected an invalid search id, got {other:?}"),
        }
    }

    #[test]
    fn parses_translator_output() {
        let id = SearchId::parse(
            r#"from=1698252206000000000&to=1699202606003000064&filter=(ruleName="a")andsource!="auditTrail""#,
        )
        .unwrap();
        assert_eq!(id.from_ns(), 1_698_252_206_000_000_000);
        assert_eq!(id.to_ns(), 1_699_202_606_003_000_064);
        assert_eq!(id.filter(), r#"(ruleName="a")andsource!="auditTrail""#);
    }

    #[test]
    fn filter_is_everything_after_the_first_filter_param() {
        let id = SearchId::parse(r#"from=-5&to=0&filter=a="x&filter=y"&limit=1"#).unwrap();
        assert_eq!(id.from_ns(), -5);
        assert_eq!(id.filter(), r#"a="x&filter=y"&limit=1"#);
        let empty = SearchId::parse("from=1&to=2&filter=").unwrap();
        assert_eq!(empty.filter(), "");
    }

    #[test]
    fn rejects_malformed_ids() {
        let cases = [
            (
                "",
                "expected `from=<nanoseconds>&to=<nanoseconds>&filter=<filter>`",
            ),
            (
                "to=1&from=2&filter=x",
                "expected `from=<nanoseconds>&to=<nanoseconds>&filter=<filter>`",
            ),
            ("from=1&to=2", "no `&filter=` parameter"),
            ("from=1&filter=x", "expected `&to=` after `from`"),
            ("from=&to=2&filter=x", "`from` is not an integer: ``"),
            ("from=1.5&to=2&filter=x", "`from` is not an integer: `1.5`"),
            ("from=+1&to=2&filter=x", "`from` is not an integer: `+1`"),
            ("from=1&to= 2&filter=x", "`to` is not an integer: ` 2`"),
            ("from=1&to=-&filter=x", "`to` is not an integer: `-`"),
            ("from=1&to=²&filter=x", "`to` is not an integer: `²`"),
            (
                "from=9223372036854775808&to=2&filter=x",
                "`from` is out of range for a 64-bit nanosecond timestamp: `9223372036854775808`",
            ),
            (
                "from=1&to=-9223372036854775809&filter=x",
                "`to` is out of range for a 64-bit nanosecond timestamp: `-9223372036854775809`",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(reason(text), expected, "{text}");
        }
        assert_eq!(
            SearchId::parse("from=1&to=2").unwrap_err().to_string(),
            "invalid search id: no `&filter=` parameter"
        );
    }

    #[test]
    fn extreme_values() {
        let id = SearchId::parse(&format!("from={}&to={}&filter=x", i64::MIN, i64::MAX)).unwrap();
        assert_eq!((id.from_ns(), id.to_ns()), (i64::MIN, i64::MAX));
    }

    #[test]
    fn query_strings_encode_every_value() {
        let id = SearchId::new(1, 2, r#"(ruleName="a+b&limit=1 %")andsource!="auditTrail""#);
        assert_eq!(
            id.first_page_query(999),
            "from=1&to=2&filter=%28ruleName%3D%22a%2Bb%26limit%3D1%20%25%22%29andsource%21%3D%22auditTrail%22&limit=999"
        );
        assert_eq!(
            id.cursor_query("c/+=", 7),
            "cursor=c%2F%2B%3D&filter=%28ruleName%3D%22a%2Bb%26limit%3D1%20%25%22%29andsource%21%3D%22auditTrail%22&limit=7"
        );
    }

    fn decode(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn encoding_round_trips_and_is_unreserved_only(s in any::<String>()) {
            let e = encode_component(&s);
            prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            prop_assert_eq!(decode(&e), s.as_bytes());
        }

        #[test]
        fn display_parse_round_trip(from in any::<i64>(), to in any::<i64>(), filter in any::<String>()) {
            let id = SearchId::new(from, to, filter);
            prop_assert_eq!(SearchId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = SearchId::parse(&s);
        }
    }
}
