#!/usr/bin/env bash
# The project's test command: every Rust test, then the checks that need
# Python packages from PyPI (the OASIS STIX validator over every bundle the
# tests wrote).
set -euo pipefail
cd "$(dirname "$0")/.."

export STIXSHIFT_BUNDLE_DIR="${STIXSHIFT_BUNDLE_DIR:-$PWD/target/stix-bundles}"
rm -rf "$STIXSHIFT_BUNDLE_DIR"
cargo test --workspace --locked

if [ -x crates/stixshift-results/scripts/validate-bundles.sh ] && [ -d "$STIXSHIFT_BUNDLE_DIR" ]; then
  echo "== stix2-validator over $STIXSHIFT_BUNDLE_DIR"
  bash crates/stixshift-results/scripts/validate-bundles.sh "$STIXSHIFT_BUNDLE_DIR"
fi

# stix-shifter 8.1.3's real proxy client (from PyPI) against `stixshift host`
# and the simulator, compared with stixshift's own answers.
echo "== interop: stix-shifter proxy client -> stixshift host"
bash scripts/interop-proxy.sh
