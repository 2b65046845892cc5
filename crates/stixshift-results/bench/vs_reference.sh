#!/usr/bin/env bash
# Events/s of stixshift vs stix-shifter 8.1.3 (in-process translate) on
# 1k/10k/100k generated events, plus our peak RSS on 100k.
# usage: bench/vs_reference.sh [SIZES...]   (default: 1000 10000 100000)
# REF_MAX caps the sizes the (slow) reference is run on (default 10000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
crate=$(dirname "$here")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$crate/../../target-results}
sizes=${*:-1000 10000 100000}
ref_max=${REF_MAX:-10000}
py=/opt/refvenv/bin/python
if [ ! -x "$py" ]; then
    venv=${REF_VENV:-$crate/../../target-results/refvenv}
    [ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install --quiet stix-shifter==8.1.3 stix-shifter-utils==8.1.3 stix-shifter-modules-sysdig==8.1.3; }
    py=$venv/bin/python
fi
cargo build --release -q -p stixshift-results --examples
bin=$CARGO_TARGET_DIR/release/examples
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
id='{"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig", "identity_class": "events"}'
echo "| events | input MB | stix-shifter ev/s | stixshift ev/s | ratio | stixshift peak RSS |"
echo "|---|---|---|---|---|---|"
for n in $sizes; do
    "$bin/gen_events" "$n" > "$work/ev.json"
    mb=$(awk -v b="$(stat -c %s "$work/ev.json")" 'BEGIN{printf "%.1f", b/1048576}')
    /usr/bin/time -f "%e %M" -o "$work/t" "$bin/translate" "$id" "@$work/ev.json" > /dev/null
    read -r secs rss < "$work/t"
    ours=$(awk -v n="$n" -v s="$secs" 'BEGIN{if (s < 0.01) s = 0.01; printf "%.0f", n/s}')
    if [ "$n" -le "$ref_max" ]; then
        read -r _ rsecs < <("$py" "$here/ref_translate.py" "$work/ev.json" 2>/dev/null | tail -1)
        ref=$(awk -v n="$n" -v s="$rsecs" 'BEGIN{printf "%.0f", n/s}')
        ratio=$(awk -v a="$ours" -v b="$ref" 'BEGIN{printf "%.0fx", a/b}')
    else
        ref="(skipped)"; ratio="-"
    fi
    echo "| $n | $mb | $ref | $ours | $ratio | $((rss / 1024)) MiB |"
done
