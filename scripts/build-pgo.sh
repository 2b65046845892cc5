#!/usr/bin/env bash
# The release binary of scripts/build-static.sh (static, non-PIE), optimised
# with a profile of its own runs (profile-guided optimisation):
#   target/pgo/x86_64-unknown-linux-gnu/release/stixshift   (printed last)
#
# 1. An instrumented build (target/pgo-gen).
# 2. Training, a few seconds: `translate sysdig results` of 20,000 generated
#    events (examples/gen_events, seed 7: not the benchmarks' events) to STIX
#    2.0, 2.1 and NDJSON; the simulator (seed 7; the benchmark's is seed 3)
#    serving `execute` of 20,000 events over TLS; `demo`.
# 3. The profile merged by llvm-profdata (Debian's llvm-19 is installed when
#    none of LLVM 19 or later is found: rustc 1.95 (LLVM 22) writes raw
#    profiles that llvm-19's llvm-profdata reads), then the optimised build.
#
# Building takes two release builds (about four minutes on two CPUs). When no
# llvm-profdata can merge the profile, the script says so and exits 2; the
# benchmark scripts then use build-static.sh's binary and say which one they
# measured.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
triple=x86_64-unknown-linux-gnu
gen_dir=$root/target/pgo-gen
use_dir=$root/target/pgo
prof=$root/target/pgo-profile
quiet=${PGO_QUIET:+-q}

# Every llvm-profdata here, newest LLVM first (an older one cannot read a
# newer rustc's raw profiles: Debian's default llvm-14 cannot).
profdatas() {
  ls -1 /usr/lib/llvm-*/bin/llvm-profdata 2>/dev/null | sort -rV
  command -v llvm-profdata 2>/dev/null || true
}
if ! profdatas | grep -q 'llvm-\(19\|[2-9][0-9]\)/' && command -v apt-get >/dev/null 2>&1; then
  echo "build-pgo: installing llvm-19 (llvm-profdata)" >&2
  { apt-get install -y -qq llvm-19 || { apt-get update -qq && apt-get install -y -qq llvm-19; }; } >/dev/null 2>&1 || true
fi
if [ -z "$(profdatas)" ]; then
  echo "build-pgo: no llvm-profdata found; use scripts/build-static.sh" >&2
  exit 2
fi

echo "build-pgo: instrumented build" >&2
rm -rf "$prof"
mkdir -p "$prof/raw"
RUSTFLAGS="-Cprofile-generate=$prof/raw" bash scripts/build-static.sh $quiet --target-dir "$gen_dir" >/dev/null
cargo build --release --locked $quiet -p stixshift-results --example gen_events
gen=$gen_dir/$triple/release/stixshift

echo "build-pgo: training" >&2
work=$(mktemp -d)
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
id='{"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig", "identity_class": "events"}'
# Seed 7: other events than the benchmarks' (seed 0), of the same kinds.
"${CARGO_TARGET_DIR:-$root/target}/release/examples/gen_events" 20000 7 > "$work/events.json"
"$gen" translate sysdig results "$id" "@$work/events.json" > /dev/null
"$gen" translate sysdig results "$id" "@$work/events.json" '{"stix_2.1": true}' > /dev/null
"$gen" translate sysdig results "$id" "@$work/events.json" --ndjson > /dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$gen" simulate --generate 40000 --seed 7 --port "$port" --tls --cert-out "$work/ca.pem" \
  --start 2023-11-01T00:00:00Z --end 2023-11-08T00:00:00Z --no-examples --quiet >/dev/null 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
conn=$(python3 -c 'import json, sys; print(json.dumps({"host": "localhost", "port": int(sys.argv[1]), "selfSignedCert": open(sys.argv[2]).read(), "options": {"result_limit": 20000}}))' "$port" "$work/ca.pem")
pattern="[x-sysdig-cluster:name != 'dummycluster'] START t'2023-11-01T00:00:00Z' STOP t'2023-11-08T00:00:00Z'"
"$gen" execute sysdig sysdig "$id" "$conn" '{"auth": {"token": "stixshift-demo-token"}}' "$pattern" -r 20000 > /dev/null
# The simulator writes its profile when it exits on Ctrl-C.
kill -INT "$sim_pid"
wait "$sim_pid" || true
sim_pid=
"$gen" demo > /dev/null 2>&1

merged=
for profdata in $(profdatas); do
  if "$profdata" merge -o "$prof/merged.profdata" "$prof"/raw/*.profraw 2>/dev/null; then
    merged=$profdata
    break
  fi
done
if [ -z "$merged" ]; then
  echo "build-pgo: no llvm-profdata here reads this rustc's profile ($(profdatas | tr '\n' ' ')); use scripts/build-static.sh" >&2
  exit 2
fi
echo "build-pgo: profile merged by $merged" >&2

echo "build-pgo: optimised build" >&2
RUSTFLAGS="-Cprofile-use=$prof/merged.profdata" bash scripts/build-static.sh $quiet --target-dir "$use_dir" >/dev/null
echo "$use_dir/$triple/release/stixshift"
