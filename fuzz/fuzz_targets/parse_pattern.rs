//! Parse arbitrary text as a STIX pattern. Oracle: no panic, no stack
//! overflow; whatever parses prints to text that parses back to the same
//! tree; whatever parses also translates (to queries or a clean error).

#![no_main]

use libfuzzer_sys::fuzz_target;
use stixshift_pattern::{parse, Version};
use stixshift_translate::mapping::QueryMapping;
use stixshift_translate::query::{translate, QueryConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for version in [Version::V20, Version::V21] {
        if let Ok(tree) = parse(text, version) {
            let printed = tree.to_string();
            let again = parse(&printed, version).expect("printed pattern parses");
            assert_eq!(again, tree, "round trip of {printed:?}");
        }
    }
    let config = QueryConfig {
        mapping: QueryMapping::default_for(false),
        time_range_minutes: Some(5),
        now_ms: 1_700_000_000_000,
        explain: false,
    };
    let _ = translate(text, &config);
});
