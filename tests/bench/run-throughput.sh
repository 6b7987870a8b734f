#!/bin/bash
# socketiosink against the peer clients, same server, same run:
#   tests/bench/run-throughput.sh [EVENTS (50000)] [ROUNDS (3)]
#
# Starts ONE Node test server (tests/server/server.js) and, each round, runs
# bench-sink, node-client.js and python-client.py against it (2048-byte
# events, 32 acks in flight; the order rotates from round to round),
# resetting the server's stats before each run and checking afterwards that
# the server got every event, byte and ack, in order, with the sha256 the
# client reports. Then prints the medians and the target ratios, each
# computed per round (same server, same minutes) and then medianed:
#   sink cpu/MB / node cpu/MB     <= 0.5
#   sink cpu/MB / python cpu/MB   <= 0.2
#   sink events/s / node events/s >= 1.0
# then the same rounds over HTTP long-polling (sink transports=polling,
# socket.io-client transports ['polling'], same server), where the targets
# are the same two against Node:
#   sink cpu/MB / node cpu/MB     <= 0.5
#   sink events/s / node events/s >= 1.0
# and one round against the Python server (server.py) for information.
#
# Needs `npm ci` in tests/server, and bench-sink: built by meson into
# BUILD_DIR/tests/bench (BUILD_DIR defaults to the source tree's build/),
# or BENCH_SINK=/path/to/bench-sink; failing both it is compiled into a
# temporary directory with cc and pkg-config. The plugin is taken from
# BUILD_DIR/gst/socketio (build it first: ninja -C build).
# Every run's JSON line (client + server view) goes to $RESULTS if set.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srvdir=$here/../server
build=${BUILD_DIR:-$here/../../build}
events=${1:-50000}
rounds=${2:-3}
size=2048
inflight=32
client_timeout=120

tmp=$(mktemp -d)
srv_pid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -f "$build/gst/socketio/libgstsocketio.so" ] ||
  { echo "no plugin in $build/gst/socketio: run ninja -C $build" >&2; exit 1; }
export GST_PLUGIN_PATH=$build/gst/socketio
export GST_PLUGIN_PATH_1_0=$build/gst/socketio
export GST_REGISTRY_1_0=$tmp/registry.bin

sink_bin=${BENCH_SINK:-$build/tests/bench/bench-sink}
if [ ! -x "$sink_bin" ]; then
  echo "# $sink_bin not built (tests/bench not in the meson build yet):" \
       "compiling bench-sink.c with cc" >&2
  sink_bin=$tmp/bench-sink
  cc -O2 -g -o "$sink_bin" "$here/bench-sink.c" \
    $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-app-1.0)
fi

# The server's stdin is a pipe held by fd 3: closing it (or our death) ends it.
start_server() {
  local out=$tmp/server.out
  : >"$out"
  exec 3> >(exec "$@" --port 0 >"$out" 2>&1)
  srv_pid=$!
  for _ in $(seq 200); do grep -q '^LISTENING' "$out" && break; sleep 0.05; done
  port=$(awk '/^LISTENING/{print $2}' "$out")
  [ -n "$port" ] || { echo "server did not start: $*" >&2; cat "$out" >&2; exit 1; }
}

stop_server() {
  exec 3>&-
  kill "$srv_pid" 2>/dev/null || true
  wait "$srv_pid" 2>/dev/null || true
  srv_pid=
}

# run_client SERVER_NAME ROUND CLIENT [TRANSPORT]: one run, one JSON line
# into $tmp/runs
run_client() {
  local server=$1 round=$2 client=$3 transport=${4:-} cmd line stats
  case $client in
    sink) cmd=("$sink_bin") ;;
    node) cmd=(node "$here/node-client.js")
          # server.py accepts permessage-deflate, which the sink never offers
          [ "$server" = py ] && cmd+=(--no-deflate) ;;
    python) cmd=(/usr/bin/python3 "$here/python-client.py") ;;
  esac
  [ -n "$transport" ] && cmd+=(--transports "$transport")
  curl -sf "http://127.0.0.1:$port/control/reset" >/dev/null
  if ! line=$(timeout $((client_timeout + 30)) "${cmd[@]}" \
        --url "http://127.0.0.1:$port" --events "$events" --size "$size" \
        --in-flight "$inflight" --timeout "$client_timeout"); then
    echo "FAILED: $client against $server (round $round)" >&2
    exit 1
  fi
  # a file, not an argument: with the request log it can exceed ARG_MAX
  curl -sf "http://127.0.0.1:$port/control/stats" >"$tmp/stats.json"
  /usr/bin/python3 - "$line" "$tmp/stats.json" "$server" "$round" >>"$tmp/runs" <<'EOF'
import json, sys
r = json.loads(sys.argv[1]); s = json.load(open(sys.argv[2]))
r.update(server=sys.argv[3], round=int(sys.argv[4]), srv_events=s["events"],
         srv_bytes=s["bytes"], srv_acks=s["acks"],
         srv_sha256_ok=s["sha256"] == r["sha256"],
         srv_seq_errors=s["seqErrors"], srv_max_pending=s["maxPending"])
bad = [k for k, ok in (("events", s["events"] == r["events"]),
                       ("bytes", s["bytes"] == r["bytes"]),
                       ("acks", s["acks"] == r["events"]),
                       ("sha256", r["srv_sha256_ok"]),
                       ("seq", s["seqErrors"] == 0)) if not ok]
if r["client"] == "socketiosink" and r["sink_acked"] != r["events"]:
    bad.append("sink_acked")
if bad:
    sys.exit("server/client mismatch (%s): %s" % (", ".join(bad), json.dumps(r)))
print(json.dumps(r))
EOF
  tail -n1 "$tmp/runs" >&2
}

echo "# $events events of $size bytes, $inflight in flight, $rounds rounds;" \
     "$(nproc) CPUs; $(node --version), $(/usr/bin/python3 --version)" >&2
echo "# bench-sink: $sink_bin" >&2

clients=(sink node python)
start_server node "$srvdir/server.js"
# warm the server's JIT up (with both kinds of client) before anything is
# measured: a cold server.js is several times slower for ~50k events
curl -sf "http://127.0.0.1:$port/control/reset" >/dev/null
node "$here/node-client.js" --url "http://127.0.0.1:$port" --events 20000 \
  --size "$size" --in-flight "$inflight" >/dev/null
"$sink_bin" --url "http://127.0.0.1:$port" --events 20000 \
  --size "$size" --in-flight "$inflight" >/dev/null
for round in $(seq 1 "$rounds"); do
  for k in 0 1 2; do
    run_client js "$round" "${clients[$(( (k + round - 1) % 3 ))]}"
  done
done
# long-polling: the same server, sink and socket.io-client in turn
node "$here/node-client.js" --url "http://127.0.0.1:$port" --events 5000 \
  --size "$size" --in-flight "$inflight" --transports polling >/dev/null
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then order=(sink node); else order=(node sink); fi
  for client in "${order[@]}"; do
    run_client jspoll "$round" "$client" polling
  done
done
stop_server

start_server /usr/bin/python3 "$srvdir/server.py"
for client in "${clients[@]}"; do
  run_client py 1 "$client"
done
stop_server

[ -n "${RESULTS:-}" ] && cp "$tmp/runs" "$RESULTS"

/usr/bin/python3 - "$tmp/runs" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
names = {"socketiosink": "socketiosink", "node": "node (socket.io-client 4.8)",
         "python": "python (python-socketio 5.7)"}
med = statistics.median

def table(server, clients=("socketiosink", "node", "python")):
    rs = [r for r in runs if r["server"] == server]
    rounds = sorted({r["round"] for r in rs})
    by = {(r["client"], r["round"]): r for r in rs}
    print("%-30s %10s %12s %8s %8s %10s" % ("client", "events/s", "cpu_s/MB",
                                           "wall_s", "cpu_s", "rss_kb"))
    for c in clients:
        cr = [by[(c, n)] for n in rounds]
        print("%-30s %10.0f %12.5f %8.3f %8.3f %10d" % (
            names[c], med(r["events_per_s"] for r in cr),
            med(r["cpu_s_per_mb"] for r in cr), med(r["wall_s"] for r in cr),
            med(r["cpu_s"] for r in cr), med(r["max_rss_kb"] for r in cr)))
    def ratio(label, num, den, key, target, le):
        per = [by[(num, n)][key] / by[(den, n)][key] for n in rounds]
        m = med(per)
        ok = m <= target if le else m >= target
        print("%-34s %6.3f  (target %s %.1f) %s   per round: %s" % (
            label, m, "<=" if le else ">=", target, "PASS" if ok else "FAIL",
            " ".join("%.3f" % p for p in per)))
        return ok
    results = [ratio("sink cpu/MB / node cpu/MB", "socketiosink", "node",
                     "cpu_s_per_mb", 0.5, True)]
    if "python" in clients:
        results.append(ratio("sink cpu/MB / python cpu/MB", "socketiosink",
                             "python", "cpu_s_per_mb", 0.2, True))
    results.append(ratio("sink events/s / node events/s", "socketiosink",
                         "node", "events_per_s", 1.0, False))
    return results

r0 = runs[0]
print()
print("socketiosink vs peers: %d events x %d bytes, %d acks in flight" % (
    r0["events"], r0["bytes"] // r0["events"], r0["in_flight"]))
nr = len({r["round"] for r in runs if r["server"] == "js"})
print("== Node server (server.js, socket.io 4.8), median of %d rounds ==" % nr)
results = table("js")
print()
print("== the same server over HTTP long-polling (sink transports=polling, "
      "socket.io-client transports ['polling']), median of %d rounds ==" % nr)
results += table("jspoll", ("socketiosink", "node"))
print()
print("== Python server (server.py, python-socketio 5.7), 1 round, "
      "for information (node client without deflate) ==")
table("py")
print()
print("targets (Node server): %s" % ("ALL PASS" if all(results) else
      "%d of %d FAIL" % (results.count(False), len(results))))
EOF
