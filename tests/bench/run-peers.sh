#!/bin/bash
# Runs each peer client against each test server and prints one JSON line per
# run (the client's line plus the server's view: "server", "srv_events",
# "srv_sha256_ok", "srv_max_pending").
#   tests/bench/run-peers.sh [EVENTS] [SIZE] [IN_FLIGHT] [ACK_DELAY_MS]
# Needs `npm ci` in tests/server first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
srvdir=$here/../server
events=${1:-20000} size=${2:-2048} inflight=${3:-32} delay=${4:-0}

for server in js py; do
  case $server in
    js) cmd=(node "$srvdir/server.js") ;;
    py) cmd=(/usr/bin/python3 "$srvdir/server.py") ;;
  esac
  out=$(mktemp)
  # The server's stdin is a pipe held by fd 3: closing it (or our death) ends it.
  exec 3> >(exec "${cmd[@]}" --ack-delay-ms "$delay" >"$out" 2>&1)
  for _ in $(seq 100); do grep -q '^LISTENING' "$out" && break; sleep 0.05; done
  port=$(awk '/^LISTENING/{print $2}' "$out")
  [ -n "$port" ] || { echo "server $server did not start:" >&2; cat "$out" >&2; exit 1; }
  for client in node python; do
    case $client in
      node) ccmd=(node "$here/node-client.js") ;;
      python) ccmd=(/usr/bin/python3 "$here/python-client.py") ;;
    esac
    curl -sf "http://127.0.0.1:$port/control/reset" >/dev/null
    line=$("${ccmd[@]}" --url "http://127.0.0.1:$port" --events "$events" \
           --size "$size" --in-flight "$inflight")
    stats=$(curl -sf "http://127.0.0.1:$port/control/stats")
    /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1]); s = json.loads(sys.argv[2])
r.update(server=sys.argv[3], srv_events=s["events"],
         srv_sha256_ok=s["sha256"] == r["sha256"], srv_max_pending=s["maxPending"])
print(json.dumps(r))' "$line" "$stats" "$server"
  done
  exec 3>&-
  rm -f "$out"
done
