//! Pages/s of 999-event pages from a 100k-event store, over real HTTP on
//! loopback, following `page.prev` as the reference connector does.
//!
//! `cargo bench -p stixshift-simulator --bench paging` (release build).

#![allow(clippy::print_stdout)]

use std::time::Instant;

use serde::de::IgnoredAny;
use serde::Deserialize;
use stixshift_simulator::generate::generate;
use stixshift_simulator::{spawn, Config, DEFAULT_TOKEN};

#[derive(Deserialize)]
struct Answer {
    data: Vec<IgnoredAny>,
    page: Page,
}

#[derive(Deserialize)]
struct Page {
    prev: Option<String>,
}

const EVENTS: usize = 100_000;
const FROM: i64 = 1_700_000_000_000_000_000;
const TO: i64 = FROM + 7 * 86_400 * 1_000_000_000;

async fn pass(client: &reqwest::Client, base: &str, filter: &str) -> (usize, usize, f64) {
    let enc: String = filter
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let start = Instant::now();
    let mut pages = 0;
    let mut events = 0;
    let mut url = format!("{base}/api/v1/secureEvents?from={FROM}&to={TO}&filter={enc}&limit=999");
    for _ in 0..(EVENTS / 999 + 2) {
        let bytes = client
            .get(&url)
            .bearer_auth(DEFAULT_TOKEN)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let answer: Answer = serde_json::from_slice(&bytes).unwrap();
        pages += 1;
        events += answer.data.len();
        if answer.data.len() < 999 {
            break;
        }
        let prev = answer.page.prev.unwrap();
        url = format!("{base}/api/v1/secureEvents?&cursor={prev}&filter={enc}&limit=999");
    }
    (pages, events, start.elapsed().as_secs_f64())
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let t = Instant::now();
        let events = generate(EVENTS, 1, FROM, TO);
        let run = spawn(Config { events, ..Config::default() }).await;
        println!("store: {EVENTS} events generated and loaded in {:.2} s", t.elapsed().as_secs_f64());
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        for filter in ["", r#"source!="auditTrail""#, r#"(severity<4 or ruleName="Terminal shell in container")andsource!="auditTrail""#] {
            // The first pass computes and caches the filter's match list.
            let (pages, events, secs) = pass(&client, &run.base_url(), filter).await;
            println!("filter {filter:?}: first pass {pages} pages / {events} events in {secs:.2} s = {:.1} pages/s", pages as f64 / secs);
            let (pages, events, secs) = pass(&client, &run.base_url(), filter).await;
            println!("filter {filter:?}: second pass {pages} pages / {events} events in {secs:.2} s = {:.1} pages/s", pages as f64 / secs);
        }
        run.shutdown().await;
    });
}
