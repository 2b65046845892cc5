# Sourced by the bench scripts (from the repository root): sets REF_PY (and
# REF_CLI) to a Python with stix-shifter 8.1.3 and its modules: $REF_PY if
# given, /opt/refvenv if present, else a venv made under target/bench
# (scripts/refvenv.sh).
REF_PY=${REF_PY:-}
if [ -z "$REF_PY" ]; then
  if [ -x /opt/refvenv/bin/python ]; then REF_PY=/opt/refvenv/bin/python; else
    . scripts/refvenv.sh
    # Named by version: a venv an earlier script made under target/bench/refvenv
    # (without the marker) is not in the way.
    ensure_refvenv "target/bench/refvenv-$REFVENV_VERSION"
    REF_PY=target/bench/refvenv-$REFVENV_VERSION/bin/python
  fi
fi
REF_CLI="$(dirname "$REF_PY")/stix-shifter"
