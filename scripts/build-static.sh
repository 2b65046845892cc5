#!/usr/bin/env bash
# A statically linked, non-PIE release binary (glibc, crt-static; no start-up
# relocations, which cost ~2 ms for a binary of this size as static-pie):
#   target/x86_64-unknown-linux-gnu/release/stixshift
# The explicit --target keeps build scripts and proc-macros dynamically linked.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static" \
  cargo build --release --locked -p stixshift --target x86_64-unknown-linux-gnu "$@"
file target/x86_64-unknown-linux-gnu/release/stixshift 2>/dev/null || true
