//! The event pre-processing stix-shifter's Sysdig connector does at transmit
//! time (sysdig-connector.md §7.3), tolerant per event. The rules live here;
//! [`preprocess_event`] applies them to a `serde_json::Value` (the transmit
//! layer), and the streaming translator applies the same functions while it
//! reads an event.

use serde_json::{Map, Value};

use crate::error::Warning;

pub(crate) const NA: &str = "<NA>";
pub(crate) const FINDING_TYPE: &str = "finding_type";
pub(crate) const THREAT: &str = "threat";
pub(crate) const ANAMES: &str = "proc.anames";

/// Whether a `fields` key feeds `proc.anames` (`proc.aname[N]`, not the list
/// itself).
pub(crate) fn is_aname_key(key: &str) -> bool {
    // `str::contains` with a `&str` needle sets up a two-way searcher per
    // call, which costs more than this scan on keys of a few bytes (this runs
    // for every key of `content.fields` the fast reader does not recognise
    // from the previous event, and for every one on the serde_json path).
    const NEEDLE: &[u8] = b"proc.aname";
    key.as_bytes().windows(NEEDLE.len()).any(|w| w == NEEDLE) && key != ANAMES
}

/// `fields["fd.l4proto"]` if non-empty, else `tcp`.
pub(crate) fn l4protocol(l4proto: Option<&str>) -> &str {
    match l4proto {
        Some(p) if !p.is_empty() => p,
        _ => "tcp",
    }
}

/// One endpoint of `fd.name` (parts of its text: the streaming reader
/// borrows them from the input without a copy).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Endpoint<'a> {
    pub(crate) addr: &'a str,
    pub(crate) port: Option<&'a str>,
    pub(crate) ipv6: bool,
}

fn endpoint(s: &str) -> Result<Endpoint<'_>, String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("unterminated `[` in `{s}`"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected `{after}` after `]`")),
        };
        return Ok(Endpoint {
            addr,
            port,
            ipv6: true,
        });
    }
    let (addr, port) = match s.rsplit_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    if addr.is_empty() {
        return Err(format!("no address in `{s}`"));
    }
    Ok(Endpoint {
        addr,
        port,
        ipv6: addr.contains(':'),
    })
}

/// The event keys a `connect` event gains ([`connect_derived`]): client
/// IPv4, IPv6 and port, the same for the server, then `l4protocol`.
pub(crate) const CONNECT_KEYS: [&str; 7] = [
    "clientIpv4",
    "clientIpv6",
    "clientPort",
    "serverIpv4",
    "serverIpv6",
    "serverPort",
    L4PROTOCOL,
];

const L4PROTOCOL: &str = "l4protocol";

/// `fd.name` of a `connect` event (`a:p->b:q`, IPv6 as `[a]:p` or split at
/// the last colon) as the event keys to set, in the reference's order:
/// client address, client port, server address, server port. IPv6 addresses
/// go to `clientIpv6` / `serverIpv6`.
pub(crate) fn connect_keys(fd_name: &str) -> Result<Vec<(&'static str, &str)>, String> {
    let mut parts = fd_name.split("->");
    let (Some(src), Some(dst), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("expected one `->` in `{fd_name}`"));
    };
    let (src, dst) = (endpoint(src)?, endpoint(dst)?);
    // Room for `l4protocol` too (connect_derived).
    let mut out = Vec::with_capacity(5);
    let [c4, c6, cp, s4, s6, sp, _] = CONNECT_KEYS;
    for (e, [v4, v6, port]) in [(src, [c4, c6, cp]), (dst, [s4, s6, sp])] {
        out.push((if e.ipv6 { v6 } else { v4 }, e.addr));
        if let Some(p) = e.port {
            out.push((port, p));
        }
    }
    Ok(out)
}

const FD_NAME_FIELD: &str = "content.fields.fd.name";

/// What a `connect` event gains from its `fd.name` and `fd.l4proto`: the
/// client and server address and port keys, then `l4protocol`; or why it
/// gains nothing. One rule for the pre-processing here and the one the
/// engine applies while reading.
pub(crate) fn connect_derived<'a>(
    fd_name: Option<&'a str>,
    l4proto: Option<&'a str>,
) -> Result<Vec<(&'static str, &'a str)>, Warning> {
    let Some(fd_name) = fd_name else {
        return Err(Warning::new(
            Some(FD_NAME_FIELD),
            "`connect` event without a string `fd.name`; no network objects",
        ));
    };
    let mut keys = connect_keys(fd_name)
        .map_err(|e| Warning::new(Some(FD_NAME_FIELD), format!("{e}; no network objects")))?;
    keys.push((L4PROTOCOL, l4protocol(l4proto)));
    Ok(keys)
}

/// Apply the transmit-time pre-processing to one event, in place:
/// `<NA>` field values → `""`; `finding_type: "threat"` (appended if absent);
/// for `connect` events, client/server address and port and `l4protocol`
/// from `fd.name`; `fields["proc.anames"]` from the `proc.aname[N]` values.
///
/// Idempotent: applying it to an already pre-processed event changes nothing
/// (an existing `proc.anames` is kept as it is). Never fails: problems are
/// returned as warnings and the event keeps what could be derived.
pub fn preprocess_event(event: &mut Value) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let Value::Object(ev) = event else {
        warnings.push(Warning::new(
            None,
            "event is not an object; not pre-processed",
        ));
        return warnings;
    };
    let mut connect: Option<Option<String>> = None;
    let mut l4proto: Option<String> = None;
    match ev.get_mut("content").map(|c| (c.is_object(), c)) {
        None => warnings.push(Warning::new(
            Some("content"),
            "missing; event has no `content.fields`",
        )),
        Some((false, c)) => warnings.push(Warning::new(
            Some("content"),
            format!("expected an object, found {}", kind(c)),
        )),
        Some((true, content)) => match content.get_mut("fields") {
            None => warnings.push(Warning::new(Some("content.fields"), "missing")),
            Some(Value::Object(fields)) => {
                fields_pass(fields, &mut warnings);
                if fields.get("evt.type").and_then(Value::as_str) == Some("connect") {
                    connect = Some(
                        fields
                            .get("fd.name")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    );
                    l4proto = fields
                        .get("fd.l4proto")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                }
            }
            Some(other) => warnings.push(Warning::new(
                Some("content.fields"),
                format!("expected an object, found {}", kind(other)),
            )),
        },
    }
    if !ev.contains_key(FINDING_TYPE) {
        ev.insert(FINDING_TYPE.to_owned(), Value::String(THREAT.to_owned()));
    }
    if let Some(fd_name) = connect {
        match connect_derived(fd_name.as_deref(), l4proto.as_deref()) {
            Ok(keys) => {
                for (k, v) in keys {
                    ev.insert(k.to_owned(), Value::String(v.to_owned()));
                }
            }
            Err(w) => warnings.push(w),
        }
    }
    warnings
}

fn fields_pass(fields: &mut Map<String, Value>, warnings: &mut Vec<Warning>) {
    let mut anames = Vec::new();
    for (k, v) in fields.iter_mut() {
        if v.as_str() == Some(NA) {
            *v = Value::String(String::new());
        }
        if is_aname_key(k) {
            match v {
                Value::String(s) if !s.is_empty() => anames.push(v.clone()),
                Value::String(_) | Value::Null => {}
                other => warnings.push(Warning::new(
                    Some(&format!("content.fields.{k}")),
                    format!(
                        "expected a string, found {}; not added to `proc.anames`",
                        kind(other)
                    ),
                )),
            }
        }
    }
    if !fields.contains_key(ANAMES) {
        fields.insert(ANAMES.to_owned(), Value::Array(anames));
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fd_name_forms() {
        let k = |s: &str| {
            connect_keys(s).map(|v| {
                v.into_iter()
                    .map(|(a, b)| format!("{a}={b}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        };
        assert_eq!(
            k("111.111.11.111:10000->101.101.101.101:10").unwrap(),
            "clientIpv4=111.111.11.111 clientPort=10000 serverIpv4=101.101.101.101 serverPort=10"
        );
        assert_eq!(
            k("[::1]:5000->[fe80::1]:443").unwrap(),
            "clientIpv6=::1 clientPort=5000 serverIpv6=fe80::1 serverPort=443"
        );
        assert_eq!(
            k("::1:5000->2001:db8::2:443").unwrap(),
            "clientIpv6=::1 clientPort=5000 serverIpv6=2001:db8::2 serverPort=443"
        );
        assert!(k("1.2.3.4:1").is_err());
        assert!(k("a->b->c").is_err());
    }

    #[test]
    fn reference_example_and_idempotence() {
        let mut ev = json!({"content": {"fields": {"evt.type": "connect", "fd.name": "1.1.1.1:1->2.2.2.2:2",
            "proc.aname[2]": "a", "proc.aname[3]": "<NA>", "proc.aname[4]": "b", "user.name": "<NA>"}}, "labels": {"x": "<NA>"}});
        assert!(preprocess_event(&mut ev).is_empty());
        let expected = json!({"content": {"fields": {"evt.type": "connect", "fd.name": "1.1.1.1:1->2.2.2.2:2",
            "proc.aname[2]": "a", "proc.aname[3]": "", "proc.aname[4]": "b", "user.name": "", "proc.anames": ["a", "b"]}},
            "labels": {"x": "<NA>"}, "finding_type": "threat", "clientIpv4": "1.1.1.1", "clientPort": "1",
            "serverIpv4": "2.2.2.2", "serverPort": "2", "l4protocol": "tcp"});
        assert_eq!(
            crate::pyjson::to_string_compact(&ev),
            crate::pyjson::to_string_compact(&expected)
        );
        let before = ev.clone();
        preprocess_event(&mut ev);
        assert_eq!(
            crate::pyjson::to_string_compact(&ev),
            crate::pyjson::to_string_compact(&before)
        );
    }

    #[test]
    fn odd_events_warn_instead_of_failing() {
        for ev in [
            json!({}),
            json!({"content": 1}),
            json!({"content": {}}),
            json!({"content": {"fields": {"evt.type": "connect"}}}),
            json!({"content": {"fields": {"evt.type": "connect", "fd.name": "x"}}}),
            json!({"content": {"fields": {"proc.aname[1]": 5}}}),
        ] {
            let mut e = ev.clone();
            let w = preprocess_event(&mut e);
            assert_eq!(w.len(), 1, "{ev}: {w:?}");
            assert_eq!(e["finding_type"], "threat");
        }
    }
}
