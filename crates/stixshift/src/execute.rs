//! `execute`: translate a pattern, fetch every query's events page by page,
//! and stream them into one STIX bundle.

use std::collections::HashSet;
use std::io::Write;
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::Value;

use crate::connection::ConnectionConfig;
use crate::error::Error;

/// What an `execute` run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecuteStats {
    /// Queries the pattern translated to.
    pub queries: usize,
    /// Pages fetched.
    pub pages: usize,
    /// Events received from the API.
    pub events: usize,
    /// observed-data objects written.
    pub observed_data: usize,
}

/// How `execute` runs.
pub struct ExecuteConfig<'a> {
    /// The STIX identity object.
    pub identity: &'a Value,
    /// The data source.
    pub connection: &'a ConnectionConfig,
    /// The pattern.
    pub pattern: &'a str,
    /// Most events fetched per query (also capped by `result_limit`).
    pub per_query: u64,
    /// "Now", for the default query window.
    pub now_ms: i64,
    /// Where to report progress (events, pages, rate), if anywhere.
    pub progress: Option<&'a mut dyn Write>,
    /// Receives each event's translation warnings (event numbers count
    /// the events written, in order).
    pub warn: &'a mut dyn FnMut(&stixshift_results::Warning),
}

/// Threads that translate pages when `STIXSHIFT_THREADS` does not say: one
/// per CPU but the one the fetching task (TLS, the page split) keeps busy.
/// On two CPUs that is one: a second translating thread only took turns
/// with the fetch, and its start and hand-over per page cost more CPU than
/// it saved (measured in BENCHMARKS.md, seventh session).
fn translation_threads() -> usize {
    stixshift_results::available_cpus().saturating_sub(1).max(1)
}

/// Run it, writing the bundle to `out`. Nothing is written before the first
/// event arrives (or the end), so an early error leaves `out` empty.
pub async fn run(cfg: ExecuteConfig<'_>, out: &mut dyn Write) -> Result<ExecuteStats, Error> {
    let ExecuteConfig {
        identity,
        connection,
        pattern,
        per_query,
        now_ms,
        mut progress,
        warn,
    } = cfg;
    let translation =
        crate::connector::translate_query(pattern, &connection.options, now_ms, false)?;
    let client = crate::transmit::client(connection)?;
    let mut config = crate::connector::results_config(&connection.options);
    if config.threads == 0 {
        config.threads = translation_threads();
    }
    let mut writer = stixshift_results::BundleWriter::new(
        out,
        identity,
        &config,
        stixshift_results::SystemEnv,
        stixshift_results::Format::Bundle,
    )?;
    let mut stats = ExecuteStats {
        queries: translation.queries.len(),
        ..ExecuteStats::default()
    };
    let mut seen: HashSet<String> = HashSet::new();
    let started = Instant::now();
    let limit = per_query.min(connection.options.result_limit);
    let searches = translation
        .queries
        .iter()
        .map(|q| stixshift_transmit::SearchId::parse(q))
        .collect::<Result<Vec<_>, _>>()?;
    // Only two queries (windows) can return the same event: with one, no
    // ids are read or kept.
    let dedup = searches.len() > 1;
    // Fetch on another task while this one translates: at most two pages
    // wait in the channel, so memory stays flat (apart from the ids seen,
    // when de-duplicating).
    // Each page with its events' `id`s (read on the fetching task, which
    // has time to spare), when de-duplicating.
    type IdPage = (stixshift_transmit::RawPage, Vec<Option<String>>);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<IdPage, Error>>(2);
    let fetcher = tokio::spawn(async move {
        for search in &searches {
            // Events stay JSON text until the bundle writer parses them once.
            let mut pages = client.raw_pages(search, limit);
            while let Some(page) = pages.next().await {
                let failed = page.is_err();
                let page = page.map_err(Error::from).map(|events| {
                    let ids = if dedup {
                        events
                            .iter()
                            .map(|e| stixshift_transmit::peek::field::<String>(e, "id"))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    (events, ids)
                });
                if tx.send(page).await.is_err() || failed {
                    return;
                }
            }
        }
    });
    while let Some(page) = rx.recv().await {
        let (events, mut ids) = page?;
        stats.pages += 1;
        stats.events += events.len();
        // The bundle writer applies the connector's pre-processing itself
        // (`Config::preprocess`, idempotent): no separate pass here.
        let mut texts: Vec<&str> = Vec::with_capacity(events.len());
        for (k, event) in events.iter().enumerate() {
            // Two queries (windows) can return the same event: keep it once.
            if let Some(id) = ids.get_mut(k).and_then(Option::take) {
                if !seen.insert(id) {
                    continue;
                }
            }
            texts.push(event);
        }
        // The page's events are translated on all cores (STIX 2.0), in order.
        for w in writer.write_events_json(&texts)? {
            warn(&w);
        }
        if let Some(p) = progress.as_deref_mut() {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            let _ = write!(
                p,
                "\rstixshift: {} events, {} pages, {:.0} events/s   ",
                stats.events,
                stats.pages,
                stats.events as f64 / secs
            );
            let _ = p.flush();
        }
    }
    // The channel also ends when the fetching task panicked: that must not
    // pass for the end of the results.
    if let Err(e) = fetcher.await {
        return Err(Error::Internal(format!(
            "the task fetching events failed: {e}"
        )));
    }
    if let Some(p) = progress {
        let _ = writeln!(p);
    }
    stats.observed_data = writer.finish()?.observed_data;
    Ok(stats)
}
