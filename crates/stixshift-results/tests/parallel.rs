//! Translation on several threads writes what one thread writes: the same
//! bundle (apart from the random ids), the same warnings with the same event
//! numbers, the same error at the same event, on input built to mislead the
//! splitting of a window (nested arrays of objects that look like events,
//! strings holding what looks like an event, events the fast parser leaves
//! to serde_json, elements that are not objects, pretty-printed input).

use serde_json::{json, Value};
use stixshift_results::{
    open_file, translate_blocks, translate_reader, Blocks, BundleWriter, Config, Env, FixedEnv,
    Format, Plain, ReadAhead, Warning,
};

/// A fixed clock and random ids, and forkable: translation may go parallel.
struct ForkingEnv;

impl Env for ForkingEnv {
    fn now(&mut self) -> String {
        FixedEnv::default().now
    }
    fn uuid4(&mut self) -> String {
        stixshift_results::SystemEnv.uuid4()
    }
    fn fork(&self) -> Option<Box<dyn Env + Send>> {
        Some(Box::new(ForkingEnv))
    }
}

fn identity() -> Value {
    json!({"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
           "name": "sysdig", "identity_class": "events"})
}

/// Replace the 36 characters after each `observed-data--` and `bundle--`.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = ["observed-data--", "bundle--"]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
            .min();
        let Some((i, len)) = next else { break };
        out.push_str(&rest[..i + len]);
        out.push_str("<uuid>");
        rest = &rest[(i + len + 36).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

fn event(i: usize) -> Value {
    let mut e = json!({
        "id": format!("ev{i}"),
        "timestamp": format!("2023-11-01T17:{:02}:14.635115435Z", i % 60),
        "severity": i % 8,
        "name": "Notable",
        "content": {"fields": {
            "proc.name": format!("p{i}"), "proc.cwd": "/srv", "proc.exepath": "/usr/bin/p",
            "proc.pid": format!("{}", 100 + i), "user.uid": "0", "user.name": "root",
            "proc.aname[2]": "bash", "proc.aname[3]": "<NA>",
            "evt.type": if i.is_multiple_of(3) { "connect" } else { "open" },
            "fd.name": if i.is_multiple_of(5) { "[fe80::1]:40000->[2001:db8::2]:443".to_owned() }
                       else { format!("10.0.0.{}:5000->172.16.0.1:80", i % 250) },
        }},
        "labels": {"host.hostName": "h1", "host.mac": "0a:bb:cc:dd:0c:f0",
                   "kubernetes.cluster.name": "c1"}
    });
    let o = e.as_object_mut().unwrap();
    match i % 7 {
        // Arrays of objects whose first key is the events' first key: a cut
        // may land inside them.
        1 => {
            o.insert(
                "extra".into(),
                json!([{"id": "nested-1", "x": 1}, {"id": "nested-2"}, {"id": "n3"}]),
            );
        }
        // Strings holding an event's opening bytes (escaped quotes).
        2 => {
            o.insert("description".into(), json!("a,{\"id\": \"fake\"},{\"id\""));
        }
        // A float and a surrogate pair: left to serde_json.
        3 => {
            o.insert("severity".into(), json!(3.5));
            o["content"]["fields"]["proc.cwd"] = json!("/srv/\u{1F600}");
        }
        _ => {}
    }
    e
}

/// The events as one JSON text, with some elements that are not objects.
fn events_text(n: usize, pretty: bool) -> String {
    let mut items: Vec<Value> = (0..n).map(event).collect();
    for i in (50..n).step_by(97) {
        items[i] = json!(["not", "an", "event"]);
    }
    if pretty {
        serde_json::to_string_pretty(&items).unwrap()
    } else {
        serde_json::to_string(&items).unwrap()
    }
}

struct Run {
    output: String,
    warnings: Vec<Warning>,
    result: Result<stixshift_results::Stats, String>,
}

impl Run {
    /// A translation's output (ids normalised), warnings and outcome.
    fn of(
        out: &[u8],
        warnings: Vec<Warning>,
        result: Result<stixshift_results::Stats, stixshift_results::ResultsError>,
    ) -> Run {
        Run {
            output: normalize(std::str::from_utf8(out).unwrap()),
            warnings,
            result: result.map_err(|e| e.to_string()),
        }
    }
}

/// Settings for `threads` threads and batches of `batch_bytes`.
fn config(threads: usize, batch_bytes: usize) -> Config {
    Config {
        threads,
        batch_bytes,
        ..Config::default()
    }
}

/// The fixed environment on one thread (it cannot fork), else [`ForkingEnv`].
fn env_for(threads: usize) -> Box<dyn Env> {
    if threads == 1 {
        Box::new(FixedEnv::default())
    } else {
        Box::new(ForkingEnv)
    }
}

fn read_with(text: &str, threads: usize, batch_bytes: usize) -> Run {
    read_as(text, threads, batch_bytes, Format::Bundle)
}

/// [`read_with`] from a file, as `translate … @file` reads it (its length
/// known: `open_file`).
fn read_file_with(text: &str, threads: usize, batch_bytes: usize) -> Run {
    let path = std::env::temp_dir().join(format!(
        "stixshift-parallel-{}-{threads}-{batch_bytes}",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    let config = config(threads, batch_bytes);
    let blocks = open_file(std::fs::File::open(&path).unwrap(), &config).unwrap();
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let result = translate_blocks(
        &identity(),
        blocks,
        &config,
        env_for(threads),
        &mut out,
        Format::Bundle,
        &mut |w| warnings.push(w.clone()),
    );
    std::fs::remove_file(&path).unwrap();
    Run::of(&out, warnings, result)
}

fn read_as(text: &str, threads: usize, batch_bytes: usize, format: Format) -> Run {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let result = translate_reader(
        &identity(),
        text.as_bytes(),
        &config(threads, batch_bytes),
        env_for(threads),
        &mut out,
        format,
        &mut |w| warnings.push(w.clone()),
    );
    Run::of(&out, warnings, result)
}

fn assert_same(a: &Run, b: &Run, what: &str) {
    match (&a.result, &b.result) {
        (Ok(sa), Ok(sb)) => {
            let one = stixshift_results::Stats {
                parallel_events: 0,
                ..*sb
            };
            assert_eq!(*sa, one, "{what}: stats");
            // More than a third of the events were translated in later parts
            // of their batch, apart from the events before them: the
            // elements left to serde_json (one in seven) and those that are
            // not objects do not end a part. (Pages of 37 events make two
            // parts, so about half of them.)
            assert!(sb.parallel_events * 3 > sb.events, "{what}: {sb:?}");
        }
        _ => assert_eq!(a.result, b.result, "{what}: result"),
    }
    assert_eq!(a.warnings, b.warnings, "{what}: warnings");
    if a.output != b.output {
        let at = a
            .output
            .bytes()
            .zip(b.output.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(a.output.len().min(b.output.len()));
        let from = at.saturating_sub(200);
        panic!(
            "{what}: output differs at byte {at} (lengths {} and {}):\n{}\n---\n{}",
            a.output.len(),
            b.output.len(),
            &a.output[from..(at + 200).min(a.output.len())],
            &b.output[from..(at + 200).min(b.output.len())]
        );
    }
}

#[test]
fn parallel_reader_writes_what_one_thread_writes() {
    for pretty in [false, true] {
        let text = events_text(700, pretty);
        let serial = read_with(&text, 1, 1 << 20);
        assert!(serial.result.is_ok(), "{:?}", serial.result);
        let stats = serial.result.as_ref().unwrap();
        assert_eq!(stats.events, 700);
        assert!(stats.skipped >= 6, "{stats:?}");
        for (threads, batch) in [(2, 40_000), (3, 20_000), (4, 7_000), (8, 3_000)] {
            let par = read_with(&text, threads, batch);
            assert_same(
                &serial,
                &par,
                &format!("pretty {pretty}, {threads} threads, batch {batch}"),
            );
        }
    }
}

#[test]
fn parallel_ndjson_writes_what_one_thread_writes() {
    let text = events_text(400, false);
    let serial = read_as(&text, 1, 1 << 20, Format::Ndjson);
    assert_eq!(serial.output.lines().count(), 400 - 4);
    let par = read_as(&text, 3, 10_000, Format::Ndjson);
    assert_same(&serial, &par, "ndjson");
}

#[test]
fn parallel_reader_fails_at_the_same_event() {
    let good = events_text(600, false);
    // Break event 401 (no closing of its `labels` value).
    let items: Vec<Value> = serde_json::from_str(&good).unwrap();
    let mut texts: Vec<String> = items.iter().map(Value::to_string).collect();
    texts[401] = texts[401].replacen("\"labels\":{", "\"labels\":{\"x\" 1,", 1);
    let bad = format!("[{}]", texts.join(","));
    let serial = read_with(&bad, 1, 1 << 20);
    assert!(
        serial.result.as_ref().unwrap_err().contains("event 401"),
        "{:?}",
        serial.result
    );
    for (threads, batch) in [(2, 1 << 20), (4, 9_000)] {
        let par = read_with(&bad, threads, batch);
        assert_same(&serial, &par, &format!("{threads} threads, batch {batch}"));
    }
    // Truncated input.
    let cut = &good[..good.len() * 2 / 3];
    let serial = read_with(cut, 1, 1 << 20);
    assert!(serial.result.is_err());
    let par = read_with(cut, 4, 9_000);
    assert_same(&serial, &par, "truncated");
}

fn write_texts_with(texts: &[&str], threads: usize, per_call: usize) -> Run {
    let config = config(threads, Config::default().batch_bytes);
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let result = (|| {
        let mut w = BundleWriter::new(
            &mut out,
            &identity(),
            &config,
            env_for(threads),
            Format::Bundle,
        )?;
        for chunk in texts.chunks(per_call) {
            warnings.extend(w.write_events_json(chunk)?);
        }
        w.finish()
    })();
    Run::of(&out, warnings, result)
}

#[test]
fn parallel_pages_write_what_one_thread_writes() {
    let items: Vec<Value> = serde_json::from_str(&events_text(500, false)).unwrap();
    let texts: Vec<String> = items.iter().map(Value::to_string).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let serial = write_texts_with(&refs, 1, 999);
    assert!(serial.result.is_ok());
    for (threads, per_call) in [(2, 999), (3, 100), (4, 37)] {
        let par = write_texts_with(&refs, threads, per_call);
        assert_same(
            &serial,
            &par,
            &format!("{threads} threads, {per_call} a call"),
        );
    }
    // A bad event: the same error, at the same index, after the same output.
    let mut bad = texts.clone();
    bad[333] = "{\"severity\": 1} trailing".to_owned();
    let refs: Vec<&str> = bad.iter().map(String::as_str).collect();
    let serial = write_texts_with(&refs, 1, 999);
    assert!(
        serial.result.as_ref().unwrap_err().contains("event 333"),
        "{:?}",
        serial.result
    );
    for threads in [2, 4] {
        let par = write_texts_with(&refs, threads, 999);
        assert_same(&serial, &par, &format!("bad event, {threads} threads"));
    }
}

/// Input none of whose windows can be split (every element has a first key
/// of its own, so no later element start can be recognised) is translated
/// one event at a time, with the same output. (Each event used to search
/// the whole window again: 10,000 such events took 3.97 s on two threads
/// against 0.06 s on one; now 0.09 s, measured by hand.)
#[test]
fn unsplittable_input_writes_what_one_thread_writes() {
    let items: Vec<Value> = (0..300)
        .map(|i| {
            let mut e = serde_json::Map::new();
            e.insert(format!("k{i}"), json!(i));
            e.extend(event(i).as_object().unwrap().clone());
            Value::Object(e)
        })
        .collect();
    let text = serde_json::to_string(&items).unwrap();
    let serial = read_with(&text, 1, 1 << 20);
    let par = read_with(&text, 2, 20_000);
    let (one, two) = (serial.result.unwrap(), par.result.unwrap());
    assert_eq!(one.events, 300);
    assert_eq!(two.parallel_events, 0, "{two:?}");
    assert_eq!(one, two);
    assert_eq!(serial.warnings, par.warnings);
    assert!(serial.output == par.output, "outputs differ");
}

/// Ids made on several threads (each forked `SystemEnv` keys its own
/// generator) are all distinct version-4 UUIDs.
#[test]
fn ids_made_on_several_threads_are_distinct() {
    let text = events_text(700, false);
    let mut out = Vec::new();
    let stats = translate_reader(
        &identity(),
        text.as_bytes(),
        &config(4, 20_000),
        stixshift_results::SystemEnv,
        &mut out,
        Format::Ndjson,
        &mut |_| {},
    )
    .unwrap();
    assert!(stats.parallel_events * 3 > stats.events, "{stats:?}");
    let ids: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), stats.observed_data);
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());
    for id in &ids {
        let uuid = id.strip_prefix("observed-data--").unwrap();
        let u = uuid::Uuid::parse_str(uuid).unwrap();
        assert_eq!(u.get_version_num(), 4, "{id}");
    }
}

/// Input read in blocks of any size, in line or on a reading thread: each
/// block's unfinished event (longer than the block's gap, for one of them),
/// characters cut by a block's end, and invalid UTF-8 after many blocks
/// give the output, warnings and error that one block gives.
#[test]
fn blocks_of_any_size_give_what_one_block_gives() {
    let mut items: Vec<Value> = (0..150).map(event).collect();
    // Longer than the 64 KiB a block keeps for the unfinished event.
    items[70]["output"] = json!(format!("long é {}", "x".repeat(100_000)));
    items[71]["output"] = json!("€".repeat(5_000));
    let text = serde_json::to_string(&items).unwrap();
    let mut broken = text.clone().into_bytes();
    let at = text.find("\"p140\"").unwrap();
    broken[at + 2] = 0xff;
    for input in [text.into_bytes(), broken] {
        let run = |threads: usize, block: usize, thread: bool| {
            let (mut out, mut warnings) = (Vec::new(), Vec::new());
            let mut warn = |w: &Warning| warnings.push(w.clone());
            let blocks: Box<dyn Blocks + '_> = if thread {
                let cursor = std::io::Cursor::new(input.clone());
                Box::new(ReadAhead::with_block(cursor, block).unwrap())
            } else {
                Box::new(Plain::with_block(&input[..], block))
            };
            let result = translate_blocks(
                &identity(),
                blocks,
                &config(threads, 9_000),
                env_for(threads),
                &mut out,
                Format::Bundle,
                &mut warn,
            );
            Run::of(&out, warnings, result)
        };
        let whole = run(1, 1 << 30, false);
        for (threads, block, thread) in [
            (1, 97, false),
            (1, 777, false),
            (1, 4_096, true),
            (2, 5_000, false),
            (2, 20_011, true),
            (3, 100_003, false),
        ] {
            let got = run(threads, block, thread);
            let what = format!("{threads} threads, blocks of {block}, thread {thread}");
            // Counted apart from the events translated in later parts.
            let serial = got.result.map(|s| stixshift_results::Stats {
                parallel_events: 0,
                ..s
            });
            assert_eq!(serial, whole.result, "{what}");
            assert_eq!(got.warnings, whole.warnings, "{what}");
            assert!(got.output == whole.output, "{what}: output differs");
        }
    }
}

/// An input smaller than four batches is translated on one thread (the
/// other threads would cost more than they save); a larger one on several.
#[test]
fn an_input_smaller_than_four_batches_stays_on_one_thread() {
    let text = events_text(300, false);
    let small = read_with(&text, 2, text.len() / 4 + 1);
    let large = read_with(&text, 2, text.len() / 5);
    assert_eq!(small.result.as_ref().unwrap().parallel_events, 0);
    assert!(large.result.as_ref().unwrap().parallel_events > 0);
    assert_same(
        &read_with(&text, 1, 1 << 20),
        &large,
        "a quarter of the input per batch",
    );
    assert_eq!(small.output, large.output);
    // A file, its length known before it is read: the same rule.
    let small_file = read_file_with(&text, 2, text.len() / 4 + 1);
    let large_file = read_file_with(&text, 2, text.len() / 5);
    assert_eq!(small_file.result.as_ref().unwrap().parallel_events, 0);
    assert!(large_file.result.as_ref().unwrap().parallel_events > 0);
    assert_eq!(small_file.output, small.output);
    assert_eq!(large_file.output, large.output);
    assert_eq!(
        (&small_file.warnings, &large_file.warnings),
        (&small.warnings, &large.warnings)
    );
}
