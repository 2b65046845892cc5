#!/usr/bin/env bash
# Latency of `stixshift host` under load: the load test of
# crates/stixshift/tests/it/host.rs (`load_200_concurrent_clients`) built in
# release and run with more rounds. 200 concurrent TLS clients (keep-alive,
# one connection each per round) against the real binary on loopback, each
# sending a query translation, a status and a health check; every fourth also
# fetches 20 events from the in-process Sysdig simulator. Prints p50/p99
# latency, throughput and the server's RSS after each round.
#
#   bash bench/host_load.sh                 # 200 clients, 5 rounds
#   STIXSHIFT_LOAD_CLIENTS=500 STIXSHIFT_LOAD_ROUNDS=10 bash bench/host_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export STIXSHIFT_LOAD_CLIENTS=${STIXSHIFT_LOAD_CLIENTS:-200}
export STIXSHIFT_LOAD_ROUNDS=${STIXSHIFT_LOAD_ROUNDS:-5}
cargo test --release --locked -p stixshift --test it host::load_200_concurrent_clients \
  -- --exact --nocapture 2>&1 | grep -E '^host load:|^test result|panicked' 
