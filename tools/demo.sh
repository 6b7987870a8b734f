#!/usr/bin/env bash
# Streams audio into a local Socket.IO server (the official socket.io 4.8
# server of tests/server, started here on a free port) and prints live
# statistics every second (gst-socketio-send's status line), then what the
# server received.
#
#   tools/demo.sh [SECONDS]            (default 10; Ctrl-C stops early)
#   SOURCE=default tools/demo.sh       the default microphone instead of a tone
#   SOURCE=pulsesrc tools/demo.sh      any gst-socketio-send --source value
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$top/tools/setup.sh"

seconds=${1:-10}
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

node "$top/tests/server/server.js" --host 127.0.0.1 --port 0 --ignore-stdin \
  --ack-delay-ms 2 >"$work/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  grep -q '^LISTENING' "$work/server.out" && break
  sleep 0.1
done
port=$(awk '/^LISTENING/ {print $2}' "$work/server.out")
[ -n "$port" ] || { cat "$work/server.out"; echo "the server did not start" >&2; exit 1; }
url="http://127.0.0.1:$port"
echo "== socket.io server listening on $url; streaming for $seconds s"

export GST_PLUGIN_PATH="$top/build/gst/socketio${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
status=0
# the command-line tool (tools/cli), straight from the build tree
"$top/build/tools/cli/gst-socketio-send" --source "${SOURCE:-tone}" \
  --seconds "$seconds" "$url" || status=$?

echo "== what the server received"
node -e '
  fetch(process.argv[1] + "/control/stats").then(r => r.json()).then(s => {
    console.log(`events ${s.events}, audio bytes ${s.bytes}, acks ${s.acks}, ` +
      `seq errors ${s.seqErrors}, most acks outstanding ${s.maxPending}`);
    console.log(`last event: ${JSON.stringify(s.last)}`);
    console.log(`disconnects: ${JSON.stringify(s.disconnectReasons)}`);
  });' "$url"
exit $status
