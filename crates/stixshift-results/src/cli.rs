//! `stixshift translate sysdig results '<identity>' '<events>' ['<options>']`
//! as a function the binary calls: argument parsing rules, output and exit
//! status as stix-shifter's CLI.

use std::fs::File;
use std::io::{Read, Write};

use serde_json::Value;

use crate::env::SystemEnv;
use crate::error::ResultsError;
use crate::reader::translate_reader;
use crate::writer::{Config, Format};

const USAGE: &str =
    "usage: stixshift translate sysdig results <identity> <events|@file|-> [options] [--ndjson]\n";

/// Run the command. `events` is JSON text, `@path`, or `-` (read `stdin`).
/// Returns the exit status: 0 whenever a JSON document (bundle or error) was
/// printed; 1 for an identity or options argument that is not JSON, inline
/// events that are not JSON (usage on stderr, as stix-shifter), or a failure
/// after output had started (error JSON on stderr).
pub fn translate_results(
    identity: &str,
    events: &str,
    options: Option<&str>,
    ndjson: bool,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let Ok(identity) = serde_json::from_str::<Value>(identity) else {
        let _ = stderr.write_all(USAGE.as_bytes());
        let _ = writeln!(stderr, "error: the data source identity is not JSON");
        return 1;
    };
    let options: Value = match options {
        None => Value::Object(Default::default()),
        Some(o) => match serde_json::from_str(o) {
            Ok(v) => v,
            Err(e) => {
                let _ = writeln!(stderr, "error: options are not JSON: {e}");
                return 1;
            }
        },
    };
    let config = match Config::from_options(&options) {
        Ok(c) => c,
        Err(e) => return print_error(stdout, &e),
    };
    let format = if ndjson {
        Format::Ndjson
    } else {
        Format::Bundle
    };
    let mut warn = |w: &crate::Warning| {
        let _ = writeln!(stderr_sink(), "warning: {w}");
    };
    let mut out = CountingWriter {
        inner: std::io::BufWriter::with_capacity(1 << 16, &mut *stdout),
        written: 0,
    };
    let result = if let Some(path) = events.strip_prefix('@') {
        match File::open(path) {
            Ok(f) => translate_reader(
                &identity, f, &config, SystemEnv, &mut out, format, &mut warn,
            ),
            Err(e) => {
                drop(out);
                let _ = writeln!(stderr, "error: cannot read `{path}`: {e}");
                return 1;
            }
        }
    } else if events == "-" {
        translate_reader(
            &identity, stdin, &config, SystemEnv, &mut out, format, &mut warn,
        )
    } else {
        if serde_json::from_str::<serde::de::IgnoredAny>(events).is_err() {
            drop(out);
            let _ = stderr.write_all(USAGE.as_bytes());
            let _ = writeln!(stderr, "error: the events are not JSON");
            return 1;
        }
        translate_reader(
            &identity,
            events.as_bytes(),
            &config,
            SystemEnv,
            &mut out,
            format,
            &mut warn,
        )
    };
    let started = out.written > 0;
    let flushed = out.inner.flush();
    drop(out);
    match result {
        Ok(_) => match flushed {
            Ok(()) => 0,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
            Err(_) => 1,
        },
        Err(ResultsError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) if !started => print_error(stdout, &e),
        Err(e) => {
            let _ = writeln!(stderr, "{}", crate::pyjson::to_string_pretty(&e.to_json()));
            1
        }
    }
}

fn stderr_sink() -> std::io::Stderr {
    std::io::stderr()
}

fn print_error(stdout: &mut dyn Write, e: &ResultsError) -> i32 {
    let _ = writeln!(stdout, "{}", crate::pyjson::to_string_pretty(&e.to_json()));
    0
}

struct CountingWriter<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
