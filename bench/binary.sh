# Sourced by the bench scripts (from the repository root): sets BIN to the
# stixshift binary measured and BIN_KIND to how it was built. The release
# binary is the PGO build (scripts/build-pgo.sh) unless PGO=0 or it cannot be
# built here; then the static release build (scripts/build-static.sh).
mkdir -p target/bench
BIN=
BIN_KIND=
if [ "${PGO:-1}" != 0 ]; then
  if BIN=$(PGO_QUIET=1 bash scripts/build-pgo.sh 2>target/bench/build-pgo.log | tail -1) && [ -x "$BIN" ]; then
    BIN_KIND="static, profile-guided (scripts/build-pgo.sh)"
  else
    BIN=
    echo "bench: no PGO build (target/bench/build-pgo.log); measuring the static build" >&2
  fi
fi
if [ -z "$BIN" ]; then
  bash scripts/build-static.sh -q >/dev/null
  BIN=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/stixshift
  BIN_KIND="static (scripts/build-static.sh)"
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
