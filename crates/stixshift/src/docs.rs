//! `docs/sysdig_supported_stix.md`, generated from the embedded mapping
//! (a test keeps the committed file current).

use std::fmt::Write as _;

use stixshift_translate::mapping::QueryMapping;

/// The document's text.
pub fn supported_stix_markdown() -> String {
    let mut out = String::new();
    out.push_str(
        "# Sysdig: supported STIX\n\n\
Generated from the embedded mapping by `cargo test -p stixshift` \
(`STIXSHIFT_UPDATE_DOCS=1` rewrites it). Do not edit by hand.\n\n\
## Operators\n\n\
| STIX operator | Sysdig filter text |\n|---|---|\n",
    );
    let m = QueryMapping::default_for(false);
    let mut ops: Vec<(&String, &String)> = m.operators.iter().collect();
    ops.sort();
    for (k, v) in ops {
        let _ = writeln!(out, "| `{k}` | `{v}` |");
    }
    out.push_str(
        "\nNot mapped (a pattern using only these is a `mapping_error`): `LIKE`, `MATCHES`, \
`ISSUBSET`, `ISSUPERSET`, `EXISTS`. `FOLLOWEDBY` is rejected (`not_implemented`).\n\n\
## Searchable STIX properties\n\n\
| STIX object | STIX property | Sysdig field | Field type |\n|---|---|---|---|\n",
    );
    for (label, v21) in [("STIX 2.0", false), ("STIX 2.1", true)] {
        let m = QueryMapping::default_for(v21);
        let mut rows: Vec<(String, String, String, &'static str)> = Vec::new();
        for (ty, props) in &m.from_stix {
            for (prop, fields) in props {
                rows.push((
                    ty.clone(),
                    prop.clone(),
                    fields.join(", "),
                    m.field_type(&fields[0]).name(),
                ));
            }
        }
        rows.sort();
        if v21 {
            let _ = writeln!(
                out,
                "\n{label} (`stix_2.1: true`) differs only where listed:\n"
            );
            out.push_str(
                "| STIX object | STIX property | Sysdig field | Field type |\n|---|---|---|---|\n",
            );
            let base = QueryMapping::default_for(false);
            for (ty, prop, fields, t) in rows {
                if base.fields(&ty, &prop).is_none() {
                    let _ = writeln!(out, "| {ty} | {prop} | {fields} | {t} |");
                }
            }
        } else {
            for (ty, prop, fields, t) in rows {
                let _ = writeln!(out, "| {ty} | {prop} | {fields} | {t} |");
            }
        }
    }
    out
}
