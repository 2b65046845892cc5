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
    if let Some(detail) = e.detail() {
        writeln!(io.stderr, "error: {detail}")?;
    }
    print_json(io.stdout, &e.to_json())?;
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
        Command::Configs { module } => {
            if let Some(m) = &module {
                if let Err(e) = connector::check_module(m) {
                    return fail(io, &e);
                }
            }
            print_json(io.stdout, &connector::configs_json())?;
            Ok(EXIT_OK)
        }
        Command::Modules { module } => {
            if let Some(m) = &module {
                if let Err(e) = connector::check_module(m) {
                    return fail(io, &e);
                }
            }
            print_json(io.stdout, &connector::modules_json())?;
            Ok(EXIT_OK)
        }
    }
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
    if let Err(msg) = parse_json_arg("data source", &args.data_source) {
        return usage(io, &msg);
    }
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
            let identity = match parse_json_arg("data source", &args.data_source) {
                Ok(v) => v,
                Err(msg) => return usage(io, &msg),
            };
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
        match std::fs::File::open(path) {
            Ok(f) => stixshift_results::translate_reader(
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
    let started = out.written > 0;
    out.flush()?;
    drop(out);
    match result {
        Ok(_) => Ok(EXIT_OK),
        Err(stixshift_results::ResultsError::Io(e)) => Err(e),
        Err(e) => {
            let e = Error::from(e);
            if started {
                // Part of the bundle is already out: the error goes to stderr.
                writeln!(io.stdout)?;
                writeln!(
                    io.stderr,
                    "error: output is incomplete: {}",
                    stixshift_results::pyjson::to_string_compact(&e.to_json())
                )?;
                Ok(EXIT_FAILED)
            } else {
                fail(io, &e)
            }
        }
    }
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
    let config = stixshift_translate::query::QueryConfig {
        mapping: &mapping,
        time_range_minutes: options.time_range,
        now_ms: now,
        explain: false,
    };
    let mut status = EXIT_OK;
    let mut line = String::new();
    let mut out = io::BufWriter::new(&mut *io.stdout);
    loop {
        line.clear();
        if io.stdin.read_line(&mut line)? == 0 {
            break;
        }
        let pattern = line.trim_end_matches(['\n', '\r']);
        let doc = match stixshift_translate::query::translate(pattern, &config) {
            Ok(t) => connector::queries_json(&t),
            Err(e) => {
                status = EXIT_FAILED;
                Error::from(e).to_json()
            }
        };
        out.write_all(stixshift_results::pyjson::to_string_compact(&doc).as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(status)
}
