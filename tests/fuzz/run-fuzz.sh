#!/usr/bin/env bash
# Builds the codec's libFuzzer target (fuzz-protocol.c + sio-protocol.c)
# with clang, ASan and UBSan, and runs it for SECONDS (default 60) from the
# seed corpus in tests/fuzz/corpus/. Fails on any crash, leak, UB report or
# broken invariant; the failing input is left in the build directory.
#
#   tests/fuzz/run-fuzz.sh [SECONDS]
#
# FUZZ_DIR (default build/fuzz) holds the binary, the corpus the fuzzer
# grows (the committed seeds are only read) and the log. Needs clang and
# libFuzzer (Debian: clang, libclang-rt-14-dev; tools/setup.sh installs
# them). A reproducer runs alone: build/fuzz/fuzz-protocol FILE.
set -euo pipefail

seconds=${1:-60}
case $seconds in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${FUZZ_DIR:-$top/build/fuzz}
seeds=$top/tests/fuzz/corpus
mkdir -p "$dir/corpus" "$dir/artifacts"

# Only the codec is instrumented; GLib and json-glib are the system's.
echo "== building $dir/fuzz-protocol"
# shellcheck disable=SC2046  # pkg-config prints several words on purpose
clang -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -Werror -Wno-unused-parameter \
  -I"$top/gst/socketio" $(pkg-config --cflags glib-2.0 json-glib-1.0) \
  "$top/tests/fuzz/fuzz-protocol.c" "$top/gst/socketio/sio-protocol.c" \
  $(pkg-config --libs glib-2.0 json-glib-1.0) \
  -o "$dir/fuzz-protocol"

log=$dir/fuzz.log
echo "== fuzzing for ${seconds}s from $(find "$seeds" -type f | wc -l) seeds" \
  "(log: $log)"
status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
G_SLICE=always-malloc \
  "$dir/fuzz-protocol" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" "$seeds" >"$log" 2>&1 || status=$?

# the last status line: "#N DONE cov: C ft: F corp: U/SIZE ..."
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
coverage=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
features=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
peak_rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")

echo "== summary"
echo "executions:   ${executions:-?} (${per_second:-?}/s)"
echo "coverage:     ${coverage:-?} edges, ${features:-?} features"
echo "corpus:       ${corpus:-?} inputs/bytes" \
  "($(find "$dir/corpus" -type f | wc -l) in $dir/corpus)"
echo "peak RSS:     ${peak_rss:-?} MB"

# libFuzzer exits non-zero on a crash, a leak, a timeout or an out-of-memory;
# the grep catches a sanitizer report that did not stop it
if [ "$status" -ne 0 ] ||
   grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz-protocol: ' "$log"; then
  echo "== FAILED (exit $status): the report is in $log" >&2
  grep -E 'ERROR:|runtime error:|fuzz-protocol: |Test unit written to' "$log" | head -n 20 >&2
  exit 1
fi
echo "== no crash, leak or undefined behaviour"
