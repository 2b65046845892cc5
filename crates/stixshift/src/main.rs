//! The `stixshift` binary.

use std::io::{self, Write};

fn main() {
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    let stdout = io::stdout();
    let mut stdout = io::BufWriter::new(stdout.lock());
    // Not locked for the whole run: worker threads (host, simulator, execute)
    // write warnings and logs to stderr too.
    let mut stderr = io::stderr();
    let code = {
        let mut io = stixshift::cli::Io {
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
            now_ms: stixshift::env::now_ms,
        };
        stixshift::cli::run(std::env::args_os(), &mut io)
    };
    let _ = stdout.flush();
    drop(stdout);
    std::process::exit(code);
}
