#!/usr/bin/env bash
# Runs the whole test suite: unit and integration tests (against the real
# socket.io and python-socketio servers, which the tests start themselves),
# again under GStreamer's leaks tracer, the unit tests under valgrind, and
# the codec's fuzzer for 60 s.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$top/tools/setup.sh"
set +e

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
  local name=$1
  shift
  echo "== $name"
  meson test -C "$top/build" --print-errorlogs "$@" 2>&1 | tee "$log"
  local ok fail
  ok=$(awk '/^Ok:/ {print $2}' "$log")
  fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$log")
  [ -n "$ok" ] || fail=$((fail + 1))   # meson itself failed
  passed=$((passed + ${ok:-0}))
  failed=$((failed + fail))
}

run "tests" --num-processes 1
# The soak is left out here: it exists to watch memory over minutes, which
# the tracer does not add to, and every path it takes is in the tests above.
# So is the cluster: its pipelines reconnect and replay as in recovery,
# hostile and state-cycles, which the tracer watches; what it adds is the
# servers' side, and 100 s.
run "tests under the leaks tracer" --setup leaks --num-processes 1 \
  --no-suite soak --no-suite cluster
run "unit tests under valgrind" --setup valgrind --suite unit

# The codec's libFuzzer target (clang, ASan, UBSan) from the seed corpus.
echo "== fuzzing the codec for ${FUZZ_SECONDS:-60} s"
if bash "$top/tests/fuzz/run-fuzz.sh" "${FUZZ_SECONDS:-60}"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

# Servers are children of the tests; none may outlive them.
servers="$top/(tests/server/(server\.(js|py)|hostile\.js|cluster-node\.js)|examples/python/server_)"
if pgrep -f "$servers" >/dev/null; then
  echo "== a test server was left running:"
  pgrep -af "$servers"
  pkill -f "$servers"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
