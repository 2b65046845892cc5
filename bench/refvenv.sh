# Sourced by the bench scripts: sets REF_PY (and REF_CLI) to a Python with
# stix-shifter 8.1.3 and its sysdig module: $REF_PY if given, /opt/refvenv if
# present, else a venv made under target/bench from PyPI.
REF_PY=${REF_PY:-}
if [ -z "$REF_PY" ]; then
  if [ -x /opt/refvenv/bin/python ]; then REF_PY=/opt/refvenv/bin/python; else
    python3 -m venv target/bench/refvenv
    target/bench/refvenv/bin/pip install -q stix-shifter==8.1.3 stix-shifter-utils==8.1.3 stix-shifter-modules-sysdig==8.1.3
    REF_PY=target/bench/refvenv/bin/python
  fi
fi
REF_CLI="$(dirname "$REF_PY")/stix-shifter"
