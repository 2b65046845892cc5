//! `results` from the command line, to compare request sequences with the
//! reference against the simulator:
//!
//! ```text
//! cargo run -p stixshift-transmit --example results -- \
//!     <host> <port> <ca.pem|-> <search_id> <offset> <length> [metadata-json]
//! ```
//!
//! The token is read from `STIXSHIFT_TOKEN`. Prints the number of events,
//! the first and last `id`, and the metadata.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use stixshift_transmit::{Client, Connection, Metadata, SearchId, Token};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 6 {
        eprintln!(
            "usage: results <host> <port> <ca.pem|-> <search_id> <offset> <length> [metadata-json]"
        );
        std::process::exit(2);
    }
    let cert =
        (args[2] != "-").then(|| std::fs::read_to_string(&args[2]).expect("read the CA file"));
    let conn = Connection {
        port: args[1].parse().expect("port"),
        self_signed_cert: cert,
        ..Connection::new(args[0].as_str())
    };
    let token = Token::new(std::env::var("STIXSHIFT_TOKEN").unwrap_or_default());
    let run = async {
        let client = Client::new(&conn, token)?;
        let search = SearchId::parse(&args[3])?;
        let metadata = match args.get(6) {
            Some(text) => Some(Metadata::from_value(
                &serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.clone())),
            )?),
            None => None,
        };
        let offset = args[4].parse().expect("offset");
        let length = args[5].parse().expect("length");
        client
            .results(&search, offset, length, metadata.as_ref())
            .await
    };
    match run.await {
        Ok(page) => {
            let id = |v: Option<&serde_json::Value>| v.and_then(|e| e.get("id")).cloned();
            println!(
                "{}",
                serde_json::json!({
                    "events": page.events.len(),
                    "first": id(page.events.first()),
                    "last": id(page.events.last()),
                    "metadata": page.metadata.map(|m| m.to_value()),
                })
            );
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({"code": e.code(), "error": e.to_string()})
            );
            std::process::exit(1);
        }
    }
}
