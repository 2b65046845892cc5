#!/usr/bin/env bash
# Validate every bundle the tests produced with the OASIS stix2-validator.
# usage: validate-bundles.sh DIR   (DIR/2.0/*.json and DIR/2.1/*.json)
# The venv is $STIX2_VALIDATOR_VENV, else DIR/../.venv-stix2-validator.
set -euo pipefail
dir=${1:?usage: validate-bundles.sh DIR}
venv=${STIX2_VALIDATOR_VENV:-$dir/../.venv-stix2-validator}
if [ ! -x "$venv/bin/stix2_validator" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet stix2-validator
fi
status=0
count=0
for version in 2.0 2.1; do
    [ -d "$dir/$version" ] || continue
    while IFS= read -r -d '' f; do
        count=$((count + 1))
        if ! out=$("$venv/bin/stix2_validator" --version "$version" "$f" 2>&1); then
            echo "$out" | grep -v '\[!\] Warning' >&2
            status=1
        fi
    done < <(find "$dir/$version" -name '*.json' -print0 | sort -z)
done
echo "validated $count bundle(s) under $dir: $([ $status = 0 ] && echo ok || echo FAILED)"
exit $status
