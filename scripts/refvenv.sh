# Sourced: `ensure_refvenv DIR` makes DIR a virtualenv holding the reference,
# stix-shifter 8.1.3 with its sysdig and proxy modules, from PyPI, unless it
# already holds exactly those versions. A DIR that exists and was not made
# here is left alone (an error). Used by the interop check and the benches.
REFVENV_VERSION=8.1.3

refvenv_pinned() {
  [ -x "$1/bin/python" ] && "$1/bin/python" - "$REFVENV_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
want = sys.argv[1]
for pkg in ("stix-shifter", "stix-shifter-utils", "stix-shifter-modules-proxy", "stix-shifter-modules-sysdig"):
    assert version(pkg) == want, pkg
PY
}

ensure_refvenv() {
  local dir=$1
  refvenv_pinned "$dir" && return 0
  if [ -e "$dir" ] && [ ! -e "$dir/.stixshift-refvenv" ] && [ ! -e "$dir/.stixshift-interop" ]; then
    echo "$dir exists and was not made by stixshift's scripts: not touching it" >&2
    return 1
  fi
  rm -rf "$dir"
  python3 -m venv "$dir"
  touch "$dir/.stixshift-refvenv"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
    "stix-shifter==$REFVENV_VERSION" \
    "stix-shifter-utils==$REFVENV_VERSION" \
    "stix-shifter-modules-proxy==$REFVENV_VERSION" \
    "stix-shifter-modules-sysdig==$REFVENV_VERSION"
  refvenv_pinned "$dir" || { echo "cannot install stix-shifter $REFVENV_VERSION in $dir" >&2; return 1; }
}
