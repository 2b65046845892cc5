//! The command line: stix-shifter's argument shapes, stix-shifter's JSON on
//! stdout, messages on stderr. The only module that knows exit codes.
//!
//! Exit codes:
//! * `0` — success (a result document was printed);
//! * `1` — the operation failed; a stix-shifter error document is on stdout;
//! * `2` — bad usage (unknown command, missing or malformed argument); the
//!   reason is on stderr, stdout is empty.

use std::io::{self, BufRead, Write};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::connector;
use crate::error::Error;
use crate::options::{self, Options};

mod explain;

/// Exit status: success.
pub const EXIT_OK: i32 = 0;
/// Exit status: an error document was printed.
pub const EXIT_FAILED: i32 = 1;
/// Exit status: bad usage.
pub const EXIT_USAGE: i32 = 2;

/// The process's standard streams, injectable for tests.
pub struct Io<'a> {
    /// Standard input.
    pub stdin: &'a mut dyn BufRead,
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error.
    pub stderr: &'a mut dyn Write,
    /// "Now" in milliseconds since the epoch (the default query window ends here).
    pub now_ms: fn() -> i64,
}

#[derive(Parser, Debug)]
#[command(
    name = "stixshift",
    version,
    about = "A native drop-in replacement for stix-shifter's Sysdig connector",
    long_about = "A native drop-in replacement for stix-shifter's Sysdig connector: the same \
commands, arguments and JSON as `stix-shifter`, in one static binary.\n\n\
Exit codes: 0 success; 1 the operation failed (a stix-shifter error document \
is on stdout); 2 bad usage (message on stderr)."
)]
struct Cli {
    /// Raise log verbosity (accepted for stix-shifter compatibility).
    #[arg(short, long, global = false)]
    debug: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Translate a STIX pattern to Sysdig queries, or Sysdig events to a STIX bundle.
    Translate(TranslateArgs),
    /// Print the embedded mapping files of a module.
    Mapping {
        /// The module (`sysdig`).
        module: String,
    },
    /// Print the configuration schema (connection, configuration, options).
    Configs {
        /// The module (`sysdig`); all modules when omitted.
        module: Option<String>,
    },
    /// List the modules and their dialects.
    Modules {
        /// The module (`sysdig`); all modules when omitted.
        module: Option<String>,
    },
    /// Talk to the Sysdig Secure API: ping, query, status, results, results_stix, delete, is_async.
    Transmit(TransmitArgs),
    /// Translate a pattern, fetch the events of every query and print one STIX bundle.
    Execute(ExecuteArgs),
    /// Run `execute` against a built-in simulator: a demo that needs no Sysdig tenant.
    Demo(DemoArgs),
    /// Serve stix-shifter's proxy endpoints over HTTPS (the old `stix-shifter host`).
    Host(HostArgs),
    /// Run a Sysdig Secure Events API simulator (for demos and tests).
    Simulate(stixshift_simulator::cli::SimulateArgs),
}

#[derive(Args, Debug)]
#[command(after_help = "Operations and their arguments:\n  \
ping\n  query <query>\n  status <search_id> [metadata]\n  \
results <search_id> <offset> <length> [metadata]\n  \
results_stix <search_id> <offset> <length> <data_source> [metadata]\n  \
delete <search_id>\n  is_async\n\n\
Example:\n  stixshift transmit sysdig '{\"host\": \"us2.app.sysdig.com\"}' '{\"auth\": {\"token\": \"...\"}}' ping")]
struct TransmitArgs {
    /// The module: `sysdig`.
    module: String,
    /// The connection object (JSON): `host`, `port`, `selfSignedCert`, `options`.
    connection: String,
    /// The configuration object (JSON): `{"auth": {"token": "..."}}`.
    configuration: String,
    /// The operation and its arguments.
    #[arg(num_args = 1.., required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    operation: Vec<String>,
}

#[derive(Args, Debug)]
struct ExecuteArgs {
    /// The transmission module: `sysdig`.
    transmission_module: String,
    /// The translation module: `sysdig`.
    translation_module: String,
    /// The STIX identity object (JSON) for the bundle.
    data_source: String,
    /// The connection object (JSON).
    connection: String,
    /// The configuration object (JSON).
    configuration: String,
    /// The STIX pattern.
    pattern: String,
    /// Events to fetch per query (stix-shifter fetched one fewer).
    #[arg(short = 'r', long = "results", default_value_t = 10)]
    results: u64,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Events the built-in simulator holds.
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Seed of the generated events.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The pattern to run (default: high-severity events of one production cluster over the simulated week).
    #[arg(long)]
    pattern: Option<String>,
    /// Events to fetch per query.
    #[arg(short = 'r', long = "results", default_value_t = 25)]
    results: u64,
}

#[derive(Args, Debug)]
#[command(after_help = "Point stix-shifter's proxy connector at it:\n  \
stixshift host '' 127.0.0.1:5000 --ca-out /tmp/stixshift-host-ca.pem\n  \
stix-shifter transmit proxy '{\"options\": {\"proxy_host\": \"127.0.0.1\", \"proxy_port\": 5000, \"proxy_cert\": \"<PEM>\", \"destination\": {...}}}' '{\"auth\": {}}' ping")]
struct HostArgs {
    /// The STIX identity object used for results bundles (`''`: take each request's).
    data_source: String,
    /// Address to listen on, `host:port`.
    listen: String,
    /// Certificate chain (PEM file); with the key, serve it instead of a generated one.
    cert: Option<String>,
    /// Private key (PEM file).
    key: Option<String>,
    /// Certificate chain (PEM file), as a flag.
    #[arg(long = "cert", id = "cert_flag")]
    cert_flag: Option<String>,
    /// Private key (PEM file), as a flag.
    #[arg(long = "key", id = "key_flag")]
    key_flag: Option<String>,
    /// Without a certificate, a CA is generated: where to write its PEM (the client's `proxy_cert`).
    #[arg(long)]
    ca_out: Option<std::path::PathBuf>,
    /// Serve plain HTTP (no TLS). stix-shifter's proxy client always uses HTTPS.
    #[arg(long)]
    plain: bool,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = crate::host::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// Seconds one request may take.
    #[arg(long, default_value_t = crate::host::DEFAULT_REQUEST_TIMEOUT.as_secs())]
    request_timeout: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TranslateKind {
    /// A STIX pattern to Sysdig filter queries.
    Query,
    /// Sysdig events to a STIX bundle.
    Results,
    /// A STIX pattern (as a JSON string) to its comparisons and time range.
    Parse,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
stixshift translate sysdig query '{}' \"[x-ibm-finding:name = 'a'] START t'2023-10-25T16:43:26Z' STOP t'2023-11-05T16:43:26Z'\"\n  \
printf '%s\\n' \"[x-ibm-finding:name = 'a']\" | stixshift translate sysdig query '{}' --batch")]
struct TranslateArgs {
    /// The module: `sysdig` or `sysdig:default`.
    module: String,
    /// What to translate.
    #[arg(value_enum)]
    kind: TranslateKind,
    /// The data source: `'{}'` for queries; the STIX identity object for results.
    data_source: String,
    /// The pattern (query), the JSON event array (results; `@file` or `-` for stdin),
    /// or the pattern as a JSON string (parse). An empty string reads stdin.
    data: Option<String>,
    /// The options object (JSON), e.g. `{"time_range": 10}`.
    options: Option<String>,
    /// Accepted for stix-shifter compatibility (Python's recursion limit); no effect.
    recursion_limit: Option<u32>,
    /// Explain a query translation: the parsed pattern, its windows and, per
    /// comparison, the Sysdig field and the rule applied.
    #[arg(long)]
    explain: bool,
    /// Read patterns from stdin, one per line; write one JSON result per line.
    #[arg(long)]
    batch: bool,
    /// Results: write one observed-data object per line (NDJSON) instead of a bundle.
    #[arg(long)]
    ndjson: bool,
    /// Accepted for stix-shifter compatibility; no effect.
    #[arg(short = 'x', long = "stix-validator")]
    stix_validator: bool,
}

/// Write a document as stix-shifter's CLI prints it.
fn print_json(out: &mut dyn Write, v: &Value) -> io::Result<()> {
    stixshift_results::pyjson::to_writer_pretty(&mut *out, v)?;
    out.write_all(b"\n")
}

/// Print an error document (and its long form on stderr); exit status 1.
fn fail(io: &mut Io<'_>, e: &Error) -> io::Result<i32> {
    fail_in(io, e, e.stage())
}

/// [`fail`] while serving an operation of `stage` ([`Error::to_json_in`]).
fn fail_in(io: &mut Io<'_>, e: &Error, stage: crate::error::Stage) -> io::Result<i32> {
    if let Some(detail) = e.detail() {
        writeln!(io.stderr, "error: {detail}")?;
    }
    print_json(io.stdout, &e.to_json_in(stage))?;
    Ok(EXIT_FAILED)
}

fn parse_json_arg(what: &str, text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("the {what} argument is not JSON: {e}"))
}

/// Run the CLI with `args` (including the program name); returns the exit status.
pub fn run<I, T>(args: I, io: &mut Io<'_>) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let text = e.render().to_string();
            let _ = if e.use_stderr() {
                io.stderr.write_all(text.as_bytes())
            } else {
                io.stdout.write_all(text.as_bytes())
            };
            return code;
        }
    };
    match dispatch(cli, io) {
        Ok(code) => code,
        // A closed stdout (`| head`) is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            EXIT_FAILED
        }
    }
}

fn usage(io: &mut Io<'_>, message: &str) -> io::Result<i32> {
    writeln!(io.stderr, "error: {message}")?;
    Ok(EXIT_USAGE)
}

fn dispatch(cli: Cli, io: &mut Io<'_>) -> io::Result<i32> {
    match cli.command {
        Command::Translate(args) => translate(args, io),
        Command::Mapping { module } => match connector::check_module(&module) {
            Ok(()) => {
                print_json(io.stdout, &connector::mapping_json())?;
                Ok(EXIT_OK)
            }
            Err(e) => fail(io, &e),
        },
        Command::Configs { module } => listing(io, module.as_deref(), connector::configs_json),
        Command::Host(args) => host(args, io),
        Command::Transmit(args) => transmit(args, io),
        Command::Execute(args) => execute(args, io),
        Command::Demo(args) => demo(args, io),
        Command::Simulate(args) => {
            let runtime = runtime()?;
            match runtime.block_on(stixshift_simulator::cli::run(args)) {
                Ok(()) => Ok(EXIT_OK),
                Err(e) => usage(io, &format!("{e:#}")),
            }
        }
        Command::Modules { module } => listing(io, module.as_deref(), connector::modules_json),
    }
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn host(args: HostArgs, io: &mut Io<'_>) -> io::Result<i32> {
    let identity = match args.data_source.trim() {
        "" => None,
        text => match parse_json_arg("data source", text) {
            Ok(v) => Some(v),
            Err(msg) => return usage(io, &msg),
        },
    };
    // Literal addresses and `name:port` alike.
    let addr = match std::net::ToSocketAddrs::to_socket_addrs(&args.listen).map(|mut a| a.next()) {
        Ok(Some(a)) => a,
        _ => {
            return usage(
                io,
                &format!("`{}` is not a `host:port` address", args.listen),
            )
        }
    };
    let cert = args.cert_flag.or(args.cert);
    let key = args.key_flag.or(args.key);
    let tls = if args.plain {
        None
    } else {
        match (&cert, &key) {
            (Some(c), Some(k)) => match crate::host::tls::from_pem_files(c, k) {
                Ok(a) => Some(a),
                Err(e) => return usage(io, &e.to_string()),
            },
            (None, None) => match crate::host::tls::generate(&[addr.ip().to_string()]) {
                Ok((acceptor, ca_pem)) => {
                    let path = args.ca_out.clone().unwrap_or_else(|| {
                        std::env::temp_dir().join(format!("stixshift-host-ca-{}.pem", addr.port()))
                    });
                    std::fs::write(&path, ca_pem)?;
                    writeln!(
                        io.stderr,
                        "stixshift host: generated a certificate; clients trust the CA in {} (stix-shifter: options.proxy_cert)",
                        path.display()
                    )?;
                    Some(acceptor)
                }
                Err(e) => return usage(io, &e.to_string()),
            },
            _ => return usage(io, "give both a certificate and a key, or neither"),
        }
    };
    let config = crate::host::HostConfig {
        identity,
        body_limit: args.body_limit,
        request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
        now_ms: io.now_ms,
    };
    let runtime = runtime()?;
    let listener = match runtime.block_on(tokio::net::TcpListener::bind(addr)) {
        Ok(l) => l,
        Err(e) => return usage(io, &format!("cannot listen on {addr}: {e}")),
    };
    let bound = listener.local_addr()?;
    writeln!(
        io.stderr,
        "stixshift host: listening on {}://{bound}",
        if tls.is_some() { "https" } else { "http" }
    )?;
    io.stderr.flush()?;
    let router = crate::host::app(config);
    runtime.block_on(crate::host::serve(
        listener,
        router,
        tls,
        crate::host::shutdown_signal(),
    ))?;
    writeln!(io.stderr, "stixshift host: stopped")?;
    Ok(EXIT_OK)
}

/// `configs` / `modules`: a document, after checking the optional module.
fn listing(io: &mut Io<'_>, module: Option<&str>, doc: fn() -> Value) -> io::Result<i32> {
    if let Some(Err(e)) = module.map(connector::check_module) {
        return fail(io, &e);
    }
    print_json(io.stdout, &doc())?;
    Ok(EXIT_OK)
}

fn read_stdin(io: &mut Io<'_>) -> io::Result<String> {
    let mut lines = Vec::new();
    for line in io.stdin.lines() {
        lines.push(line?);
    }
    Ok(lines.join("\n"))
}

fn translate(args: TranslateArgs, io: &mut Io<'_>) -> io::Result<i32> {
    if let Err(e) = connector::check_module(&args.module) {
        return fail(io, &e);
    }
    let identity = match parse_json_arg("data source", &args.data_source) {
        Ok(v) => v,
        Err(msg) => return usage(io, &msg),
    };
    let options_value = match args.options.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(text) => match parse_json_arg("options", text) {
            Ok(v) => Some(v),
            Err(msg) => return usage(io, &msg),
        },
        None => None,
    };
    let options = match options::parse(options_value.as_ref()) {
        Ok(o) => o,
        Err(e) => return fail(io, &e),
    };
    match args.kind {
        TranslateKind::Query if args.batch => batch_query(&options, io),
        TranslateKind::Query => {
            let pattern = match args.data {
                Some(p) if !p.is_empty() => p,
                _ => read_stdin(io)?,
            };
            let now = (io.now_ms)();
            match connector::translate_query(&pattern, &options, now, args.explain) {
                Ok(t) if args.explain => {
                    io.stdout.write_all(explain::render(&t).as_bytes())?;
                    Ok(EXIT_OK)
                }
                Ok(t) => {
                    print_json(io.stdout, &connector::queries_json(&t))?;
                    Ok(EXIT_OK)
                }
                Err(e) => fail(io, &e),
            }
        }
        TranslateKind::Parse => {
            let data = match args.data {
                Some(p) if !p.is_empty() => p,
                _ => read_stdin(io)?,
            };
            let pattern = match parse_json_arg("data", &data) {
                Ok(Value::String(p)) => p,
                Ok(_) => return usage(io, "the data argument of `parse` must be a JSON string"),
                Err(msg) => return usage(io, &msg),
            };
            match connector::parse_pattern(&pattern, &options, (io.now_ms)()) {
                Ok(v) => {
                    print_json(io.stdout, &v)?;
                    Ok(EXIT_OK)
                }
                Err(e) => fail(io, &e),
            }
        }
        TranslateKind::Results => {
            let events = args.data.unwrap_or_else(|| "-".to_owned());
            results(&identity, &events, &options, args.ndjson, io)
        }
    }
}

/// `translate sysdig results`: events (JSON text, `@file` or `-` for stdin)
/// to a bundle, streamed.
fn results(
    identity: &Value,
    events: &str,
    options: &Options,
    ndjson: bool,
    io: &mut Io<'_>,
) -> io::Result<i32> {
    let started = std::time::Instant::now();
    let config = connector::results_config(options);
    let format = if ndjson {
        stixshift_results::Format::Ndjson
    } else {
        stixshift_results::Format::Bundle
    };
    let stderr = &mut *io.stderr;
    let mut warn = |w: &stixshift_results::Warning| {
        let _ = writeln!(stderr, "warning: {w}");
    };
    let mut out = CountingWriter {
        inner: io::BufWriter::with_capacity(1 << 16, &mut *io.stdout),
        written: 0,
    };
    let env = stixshift_results::SystemEnv;
    let result = if let Some(path) = events.strip_prefix('@') {
        // The read calls overlap translating (stixshift_results::open_file).
        match std::fs::File::open(path).and_then(|f| stixshift_results::open_file(f, &config)) {
            Ok(f) => stixshift_results::translate_blocks(
                identity, f, &config, env, &mut out, format, &mut warn,
            ),
            Err(e) => {
                drop(out);
                return usage(io, &format!("cannot read `{path}`: {e}"));
            }
        }
    } else if events == "-" || events.is_empty() {
        stixshift_results::translate_reader(
            identity,
            &mut *io.stdin,
            &config,
            env,
            &mut out,
            format,
            &mut warn,
        )
    } else {
        stixshift_results::translate_reader(
            identity,
            events.as_bytes(),
            &config,
            env,
            &mut out,
            format,
            &mut warn,
        )
    };
    let wrote = out.written > 0;
    out.flush()?;
    drop(out);
    match result {
        Ok(stats) => {
            if crate::env::timing() {
                writeln!(
                    io.stderr,
                    "stixshift: translated {} events in {:.6} s",
                    stats.events,
                    started.elapsed().as_secs_f64()
                )?;
            }
            Ok(EXIT_OK)
        }
        Err(stixshift_results::ResultsError::Io(e)) => Err(e),
        Err(e) => fail_streamed(io, &Error::from(e), wrote),
    }
}

/// An error after streaming output began (`started`) or before: once part
/// of a bundle is out, the error document goes to stderr, not into it.
fn fail_streamed(io: &mut Io<'_>, e: &Error, started: bool) -> io::Result<i32> {
    if !started {
        return fail(io, e);
    }
    writeln!(io.stdout)?;
    writeln!(
        io.stderr,
        "error: output is incomplete: {}",
        stixshift_results::pyjson::to_string_compact(&e.to_json())
    )?;
    Ok(EXIT_FAILED)
}

/// Counts bytes written, to know whether output has started.
struct CountingWriter<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `--batch`: one pattern per input line, one compact JSON result per line.
fn batch_query(options: &Options, io: &mut Io<'_>) -> io::Result<i32> {
    let now = (io.now_ms)();
    let mapping = match connector::query_mapping(options) {
        Ok(m) => m,
        Err(e) => return fail(io, &e),
    };
    let config = connector::query_config(&mapping, options, now, false);
    let mut status = EXIT_OK;
    let mut line = String::new();
    let mut out = io::BufWriter::new(&mut *io.stdout);
    loop {
        line.clear();
        if io.stdin.read_line(&mut line)? == 0 {
            break;
        }
        let pattern = line.trim_end_matches(['\n', '\r']);
        match stixshift_translate::query::translate(pattern, &config) {
            // Written straight from the queries, without building a document.
            Ok(t) => {
                stixshift_results::pyjson::to_writer_compact(&mut out, &connector::Queries::of(&t))?
            }
            Err(e) => {
                status = EXIT_FAILED;
                stixshift_results::pyjson::to_writer_compact(&mut out, &Error::from(e).to_json())?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(status)
}

/// Print a transmission result: stix-shifter's document, or its error in
/// transmission shape.
fn print_result(
    io: &mut Io<'_>,
    result: Result<crate::transmit::Answer, Error>,
) -> io::Result<i32> {
    match result {
        Ok(answer) => {
            answer.write_pretty(&mut *io.stdout)?;
            io.stdout.write_all(b"\n")?;
            Ok(EXIT_OK)
        }
        Err(e) => fail_in(io, &e, crate::error::Stage::Transmission),
    }
}

fn parse_connection(
    io: &mut Io<'_>,
    connection: &str,
    configuration: &str,
) -> io::Result<Result<crate::connection::ConnectionConfig, i32>> {
    let conn = match parse_json_arg("connection", connection) {
        Ok(v) => v,
        Err(m) => return usage(io, &m).map(Err),
    };
    let config = match parse_json_arg("configuration", configuration) {
        Ok(v) => v,
        Err(m) => return usage(io, &m).map(Err),
    };
    match crate::connection::parse(&conn, &config) {
        Ok(c) => Ok(Ok(c)),
        Err(e) => fail(io, &e).map(Err),
    }
}

fn transmit(args: TransmitArgs, io: &mut Io<'_>) -> io::Result<i32> {
    use crate::transmit::Operation;
    if let Err(e) = connector::check_module(&args.module) {
        return fail(io, &e);
    }
    let conn = match parse_connection(io, &args.connection, &args.configuration)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (name, rest) = args
        .operation
        .split_first()
        .map_or(("", &[][..]), |(n, r)| (n.as_str(), r));
    let arg = |i: usize| rest.get(i).cloned();
    let number =
        |i: usize, what: &str| crate::transmit::parse_count(what, &arg(i).unwrap_or_default());
    // Metadata text is parsed (as JSON) by the transmit layer, as the host's.
    let meta = |i: usize| arg(i).filter(|m| !m.trim().is_empty()).map(Value::String);
    let offset_length = || Ok::<_, Error>((number(1, "offset")?, number(2, "length")?));
    let need = |n: usize| rest.len() >= n;
    let op = match name {
        "ping" => Operation::Ping,
        "is_async" => Operation::IsAsync,
        "query" if need(1) => Operation::Query(rest[0].clone()),
        "status" if need(1) => Operation::Status(rest[0].clone()),
        "delete" if need(1) => Operation::Delete(rest[0].clone()),
        "results" if need(3) => {
            let (offset, length) = match offset_length() {
                Ok(ol) => ol,
                Err(e) => return print_result(io, Err(e)),
            };
            Operation::Results {
                search_id: rest[0].clone(),
                offset,
                length,
                metadata: meta(3),
            }
        }
        "results_stix" if need(4) => {
            let (offset, length) = match offset_length() {
                Ok(ol) => ol,
                Err(e) => return print_result(io, Err(e)),
            };
            let identity = match parse_json_arg("data source", &rest[3]) {
                Ok(v) => v,
                Err(m) => return usage(io, &m),
            };
            Operation::ResultsStix {
                search_id: rest[0].clone(),
                offset,
                length,
                identity,
                metadata: meta(4),
            }
        }
        "query" | "status" | "delete" | "results" | "results_stix" => {
            return usage(
                io,
                &format!("`{name}` is missing arguments (see `stixshift transmit --help`)"),
            )
        }
        other => return usage(io, &format!("unknown transmit operation `{other}`")),
    };
    let stderr = &mut *io.stderr;
    let mut warn = |w: &str| {
        let _ = writeln!(stderr, "warning: {w}");
    };
    // One request: no worker threads needed.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(crate::transmit::run(&conn, op, &mut warn));
    print_result(io, result)
}

fn execute(args: ExecuteArgs, io: &mut Io<'_>) -> io::Result<i32> {
    for module in [&args.transmission_module, &args.translation_module] {
        if let Err(e) = connector::check_module(module) {
            return fail(io, &e);
        }
    }
    let identity = match parse_json_arg("data source", &args.data_source) {
        Ok(v) => v,
        Err(m) => return usage(io, &m),
    };
    let conn = match parse_connection(io, &args.connection, &args.configuration)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let now = (io.now_ms)();
    // The fetch is one task (pages one after another): one worker thread
    // runs it, while this thread translates.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    run_execute(
        io,
        &runtime,
        &identity,
        &conn,
        &args.pattern,
        args.results,
        now,
    )
    .map(|(code, _)| code)
}

/// Run `execute` with progress on stderr when it is a terminal.
fn run_execute(
    io: &mut Io<'_>,
    runtime: &tokio::runtime::Runtime,
    identity: &Value,
    conn: &crate::connection::ConnectionConfig,
    pattern: &str,
    per_query: u64,
    now_ms: i64,
) -> io::Result<(i32, Option<crate::execute::ExecuteStats>)> {
    use std::io::IsTerminal;
    let mut terminal = io::stderr();
    let progress: Option<&mut dyn Write> = if io::stderr().is_terminal() {
        Some(&mut terminal)
    } else {
        None
    };
    let mut out = CountingWriter {
        inner: io::BufWriter::with_capacity(1 << 16, &mut *io.stdout),
        written: 0,
    };
    let stderr = &mut *io.stderr;
    let mut warn = |w: &stixshift_results::Warning| {
        let _ = writeln!(stderr, "warning: {w}");
    };
    let config = crate::execute::ExecuteConfig {
        identity,
        connection: conn,
        pattern,
        per_query,
        now_ms,
        progress,
        warn: &mut warn,
    };
    let result = runtime.block_on(crate::execute::run(config, &mut out));
    let started = out.written > 0;
    out.flush()?;
    drop(out);
    match result {
        Ok(stats) => {
            io.stdout.write_all(b"\n")?;
            Ok((EXIT_OK, Some(stats)))
        }
        Err(e) => fail_streamed(io, &e, started).map(|c| (c, None)),
    }
}

fn demo(args: DemoArgs, io: &mut Io<'_>) -> io::Result<i32> {
    use stixshift_translate::time::format_millis;
    let day_ms = 86_400_000;
    let to_ms = (io.now_ms)().div_euclid(day_ms) * day_ms;
    let from_ms = to_ms - 7 * day_ms;
    let runtime = runtime()?;
    let mut sim_config =
        stixshift_simulator::Config::with_events(stixshift_simulator::generate::generate(
            args.events,
            args.seed,
            from_ms * 1_000_000,
            to_ms * 1_000_000,
        ));
    sim_config.tls = true;
    let sim = match runtime.block_on(stixshift_simulator::try_spawn(sim_config)) {
        Ok(s) => s,
        Err(e) => return usage(io, &format!("cannot start the simulator: {e}")),
    };
    let pattern = args.pattern.unwrap_or_else(|| {
        format!(
            "[x-sysdig-cluster:name = 'prod-eks-use1' AND x-ibm-finding:severity >= 70] START t'{}' STOP t'{}'",
            format_millis(from_ms),
            format_millis(to_ms)
        )
    });
    writeln!(
        io.stderr,
        "stixshift demo: simulator with {} events at {} (TLS); pattern: {pattern}",
        args.events,
        sim.base_url()
    )?;
    let connection = serde_json::json!({
        "host": "localhost",
        "port": sim.port(),
        "selfSignedCert": sim.cert_pem().unwrap_or_default(),
    });
    let configuration = serde_json::json!({"auth": {"token": stixshift_simulator::DEFAULT_TOKEN}});
    let conn = match crate::connection::parse(&connection, &configuration) {
        Ok(c) => c,
        Err(e) => return fail(io, &e),
    };
    let identity = serde_json::json!({
        "type": "identity",
        "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
        "name": "sysdig",
        "identity_class": "events",
    });
    let started = std::time::Instant::now();
    // The simulator keeps serving on `runtime`'s worker threads meanwhile.
    let now = (io.now_ms)();
    let (code, stats) = run_execute(io, &runtime, &identity, &conn, &pattern, args.results, now)?;
    runtime.block_on(sim.shutdown());
    if let Some(s) = stats {
        writeln!(
            io.stderr,
            "stixshift demo: {} quer{}, {} page{}, {} events over HTTPS -> a bundle of {} observed-data in {:.0} ms",
            s.queries,
            if s.queries == 1 { "y" } else { "ies" },
            s.pages,
            if s.pages == 1 { "" } else { "s" },
            s.events,
            s.observed_data,
            started.elapsed().as_secs_f64() * 1e3
        )?;
    }
    Ok(code)
}
