#!/usr/bin/env bash
# A statically linked release binary (glibc, crt-static):
#   target/x86_64-unknown-linux-gnu/release/stixshift
# The explicit --target keeps build scripts and proc-macros dynamically linked.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked -p stixshift --target x86_64-unknown-linux-gnu "$@"
file target/x86_64-unknown-linux-gnu/release/stixshift 2>/dev/null || true
