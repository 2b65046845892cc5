#!/usr/bin/env bash
# Query translation speed, stixshift vs stix-shifter 8.1.3, measured in one run.
#   bash bench/vs_reference.sh            (REF_PY=/path/to/python to reuse a venv)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench; mkdir -p "$out"

. bench/refvenv.sh

bash scripts/build-static.sh -q >/dev/null
OURS=target/x86_64-unknown-linux-gnu/release/stixshift   # the static binary
python3 bench/gen_patterns.py 10000 > "$out/patterns.txt"
P="[x-sysdig-cluster:name != 'dummycluster'] START t'2023-10-25T16:43:26.000Z' STOP t'2023-11-05T16:43:26.003Z'"

python3 - "$OURS" "$REF_CLI" "$REF_PY" "$out/patterns.txt" "$P" <<'PY'
import subprocess, sys, time, statistics
ours, ref_cli, ref_py, patterns, p = sys.argv[1:]

def cli_time(cmd, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)

# One after the other in the same run (not interleaved: the load can still
# differ between them, which is why BENCHMARKS.md lists every run).
ref_cli_t = cli_time([ref_cli, "translate", "sysdig", "query", "{}", p], 5)
our_cli_t = cli_time([ours, "translate", "sysdig", "query", "{}", p], 50)
floor_t = cli_time(["/bin/true"], 50)

t = time.perf_counter()
res = subprocess.run([ours, "translate", "sysdig", "query", "{}", "--batch"], stdin=open(patterns),
                     stdout=subprocess.PIPE, check=False)
our_batch_t = time.perf_counter() - t
n = len(open(patterns).read().splitlines())
ok = sum('"queries"' in line for line in res.stdout.decode().splitlines())

ref_n, ref_ok, ref_t = subprocess.run([ref_py, "bench/ref_translate.py", patterns, "2000"], check=True,
                                      stdout=subprocess.PIPE).stdout.decode().split()
ref_rate = int(ref_n) / float(ref_t)
our_rate = n / our_batch_t

print("| measure | stix-shifter 8.1.3 | stixshift | ratio |")
print("|---|---|---|---|")
print("| one CLI call of `translate sysdig query` (median) | %.3f s | %.2f ms | %.0f× |" % (ref_cli_t, our_cli_t * 1e3, ref_cli_t / our_cli_t))
print("| varied patterns translated per second (reference in-process on %s patterns; ours `--batch`, one process, %d patterns incl. start-up) | %.0f /s | %.0f /s | %.0f× |" % (ref_n, n, ref_rate, our_rate, our_rate / ref_rate))
print("| a bare process spawn (`/bin/true`, same harness: the floor) | | %.2f ms | |" % (floor_t * 1e3))
print("| patterns that translated | %s of %s | %d of %d | |" % (ref_ok, ref_n, ok, n))
PY
