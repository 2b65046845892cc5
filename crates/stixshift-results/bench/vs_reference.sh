#!/usr/bin/env bash
# Results translation speed, all measured in one run on the same generated
# events (examples/gen_events, deterministic):
#   * stixshift: `stixshift translate sysdig results '<identity>' @FILE`
#     (the release binary, whole process: start-up, reading, writing), on
#     all CPUs (the default) and on one (STIXSHIFT_THREADS=1); and, from the
#     same runs, the time inside the process that STIXSHIFT_TIMING reports
#     (options read to last byte written: reading and parsing the file
#     included, exec and start-up not), the counterpart of the reference's
#     in-process timer, which also leaves out interpreter start-up and
#     loading the JSON;
#   * the naive baseline: serde_json parsing the same file into a `Value` and
#     writing it back pretty-printed (examples/serde_roundtrip);
#   * the reference: stix-shifter 8.1.3's in-process `translate` call on the
#     parsed events (bench/ref_translate.py; its own timer, JSON loading
#     excluded, as its CLI parses the events before calling translate).
# Output goes to /dev/null. Times are medians of RUNS runs (reference: REF_RUNS;
# the Rust programs' runs half before the reference's and half after it),
# wall clock of the whole process for the two Rust programs (bash's
# EPOCHREALTIME around /usr/bin/time, so they include its fork/exec); peak RSS
# is /usr/bin/time's %M of the same runs (median).
#
# usage: bench/vs_reference.sh [SIZES...]      (default: 1000 10000 100000)
# env:   RUNS (default 3), REF_RUNS (default 1),
#        REF_MAX: largest size the reference runs on (default 100000: about
#          40 s and 2 GiB for 100k events); above it the reference column is
#          extrapolated from the largest measured size and labelled so,
#        REF_PYTHON: interpreter with stix-shifter 8.1.3 (default
#          /opt/refvenv/bin/python, else a venv made under the target dir by
#          scripts/refvenv.sh),
#        CARGO_TARGET_DIR (default: <workspace>/target).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
crate=$(dirname "$here")
root=$(cd "$crate/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
sizes=${*:-1000 10000 100000}
runs=${RUNS:-3}
ref_runs=${REF_RUNS:-1}
ref_max=${REF_MAX:-100000}

py=${REF_PYTHON:-/opt/refvenv/bin/python}
if [ ! -x "$py" ]; then
    . "$root/scripts/refvenv.sh"
    # Named by version: a venv an earlier version of this script made at
    # $CARGO_TARGET_DIR/refvenv (without the marker) is not in the way.
    ensure_refvenv "$CARGO_TARGET_DIR/refvenv-$REFVENV_VERSION"
    py=$CARGO_TARGET_DIR/refvenv-$REFVENV_VERSION/bin/python
fi

# The stixshift binary: the PGO build unless PGO=0 (bench/binary.sh).
cd "$root"
. bench/binary.sh
bin=$BIN
cargo build --release -q -p stixshift-results --example gen_events --example serde_roundtrip
examples=$CARGO_TARGET_DIR/release/examples
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
id='{"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig", "identity_class": "events"}'

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# timed FILE N CMD...: N more runs of CMD, one line each appended to FILE:
# elapsed seconds, peak RSS (KiB), and the in-process time the command
# reported on stderr (stixshift's STIXSHIFT_TIMING line; "-" without one).
timed() {
    local file=$1 n=$2 i
    shift 2
    for ((i = 0; i < n; i++)); do
        local t0=$EPOCHREALTIME
        STIXSHIFT_TIMING=1 /usr/bin/time -f "%M" -o "$work/t" "$@" > /dev/null 2> "$work/err"
        local t1=$EPOCHREALTIME
        local inproc
        inproc=$(sed -n 's/^stixshift: translated [0-9]* events in \([0-9.]*\) s$/\1/p' "$work/err")
        echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') $(tail -1 "$work/t") ${inproc:--}" >> "$file"
    done
}

# summary FILE: median elapsed seconds, median peak RSS, median in-process time.
summary() {
    local inproc_med=-
    if ! grep -q -- ' -$' "$1"; then
        inproc_med=$(awk '{print $3}' "$1" | median)
    fi
    echo "$(awk '{print $1}' "$1" | median) $(awk '{print $2}' "$1" | median) $inproc_med"
}

# The Rust programs' runs, half before the reference's and half after: this
# machine's speed drifts over seconds, and a run of the reference lasts up to
# half a minute, so runs on one side of it only measured another moment.
rust_runs() {
    timed "$work/ours" "$1" "$bin" translate sysdig results "$id" "@$work/ev.json"
    STIXSHIFT_THREADS=1 timed "$work/one" "$1" "$bin" translate sysdig results "$id" "@$work/ev.json"
    timed "$work/serde" "$1" "$examples/serde_roundtrip" "$work/ev.json"
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN {if (s < 0.0001) s = 0.0001; printf "%.0f", n / s}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f×", a / b}'; }

rows=()
ref_rate_last=""
for n in $sizes; do
    "$examples/gen_events" "$n" > "$work/ev.json"
    mb=$(awk -v b="$(stat -c %s "$work/ev.json")" 'BEGIN {printf "%.1f", b / 1048576}')
    : > "$work/ours"
    : > "$work/one"
    : > "$work/serde"
    rust_runs $(((runs + 1) / 2))
    if [ "$n" -le "$ref_max" ]; then
        : > "$work/ref"
        for ((i = 0; i < ref_runs; i++)); do
            /usr/bin/time -f "%M" -o "$work/refrss" "$py" "$here/ref_translate.py" "$work/ev.json" \
                2> "$work/referr" | tail -1 | awk '{print $2}' >> "$work/ref" ||
                { cat "$work/referr" >&2; exit 1; }
            tail -1 "$work/refrss" >> "$work/refrsses"
        done
        ref_s=$(median < "$work/ref")
        ref_rate_last=$(rate "$n" "$ref_s")
        ref_col="$ref_rate_last ($ref_s s, $(mib "$(median < "$work/refrsses")"))"
        rm -f "$work/refrsses"
    elif [ -n "$ref_rate_last" ]; then
        ref_col="not run; extrapolated: $ref_rate_last"
    else
        ref_col="not run"
    fi
    rust_runs $((runs / 2))
    read -r ours_s ours_rss in_s < <(summary "$work/ours")
    read -r one_s one_rss _ < <(summary "$work/one")
    read -r serde_s serde_rss _ < <(summary "$work/serde")
    ours=$(rate "$n" "$ours_s")
    inproc=$(rate "$n" "$in_s")
    one=$(rate "$n" "$one_s")
    serde=$(rate "$n" "$serde_s")
    if [ -n "$ref_rate_last" ]; then
        extra=""
        [ "$n" -le "$ref_max" ] || extra=" (extrapolated)"
        ratio_ref="$(ratio "$ours" "$ref_rate_last")$extra"
        ratio_in="$(ratio "$inproc" "$ref_rate_last")$extra"
    else
        ratio_ref="-"
        ratio_in="-"
    fi
    rows+=("| $n | $mb | $ours ($ours_s s, $(mib "$ours_rss")) | $inproc ($in_s s) | $one ($one_s s, $(mib "$one_rss")) | $serde ($serde_s s, $(mib "$serde_rss")) | $ref_col | $ratio_ref | $ratio_in | $(ratio "$ours" "$serde") |")
done

echo
echo "Events/s (median seconds, median peak RSS); $(nproc) CPUs, $(uname -m), runs: $runs (reference: $ref_runs); stixshift binary: $BIN_KIND"
echo
echo "| events | input MB | stixshift translate (all CPUs) | the same runs, in-process time | stixshift, STIXSHIFT_THREADS=1 | serde_json Value round trip | stix-shifter 8.1.3 in-process | stixshift / stix-shifter | in-process / stix-shifter | stixshift / serde_json |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
