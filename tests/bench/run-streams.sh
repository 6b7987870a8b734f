#!/bin/bash
# Many live streams in one process (issue 11): socketiosink against
# socket.io-client and python-socketio, same servers, same run.
#   tests/bench/run-streams.sh [N list ("100 500 1000 2000")] [SECONDS (15)]
#
# Starts SERVERS (4) tests/server/server.js processes on free loopback
# ports and, for each N, runs these clients one after the other (every
# client spreads its N streams round-robin over the servers):
#   sink         streams-bench --source appsrc (one pump thread feeds all)
#   fakesink     streams-bench --source appsrc --sink fakesink (baseline)
#   sink-pad     streams-bench --source pad (no sources: the pump pushes
#                into each sink's pad itself, sync=false)
#   fakesink-pad streams-bench --source pad --sink fakesink (its baseline)
#   node         node-streams-client.js
#   sink-pad-mux streams-bench --source pad --multiplex (stream i in
#                namespace /s<i>: one connection per server, shared)
#   node-mux     node-streams-client.js --multiplex 1 (one Manager per
#                server, stream i in namespace /s<i>)
#   sink-ats     streams-bench --source audiotestsrc
#   fakesink-ats streams-bench --source audiotestsrc --sink fakesink
#   python       python-streams-client.py (only up to PYTHON_MAX_N, 500)
# (CLIENTS="sink node ..." picks and orders them). Before each run every
# server's stats are reset; when the client prints "# window start" and
# "# window end" the script reads every server's
# /control/connection-events, so each connection's event rate over the
# window comes from the servers' own clocks: a stream is in real time when
# its rate is within 1 % of 15.625/s (give or take one event for the
# rounding at the window's ends: use windows of 10 s or more). The same
# two readings give the servers' CPU over the window (in cores: 1.0 = one
# core busy; with 2 cores, when servers + client reach 2 the machine, not
# the client, is the limit; a server near 1.0 is saturated itself), and
# the machine's busy cores over the window from /proc/stat ("machine":
# client + servers + whatever else runs on it).
#
# Prints one JSON line per run (the client's line plus "srv_*" fields) as
# it goes, then a table per N and a summary: sink/Node CPU ratios (target
# <= 0.5), RSS per extra stream as the slope between successive N, the
# largest N each client kept in real time.
#
# Env: BUILD_DIR (default build/: plugin and streams-bench), SERVERS,
# CLIENTS, PYTHON_MAX_N, WARMUP (2 s), RESULTS=file (keeps the JSON lines).
# Needs `npm ci` in tests/server and Debian's python3-socketio and
# python3-websocket. Every process it starts is killed on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srvdir=$here/../server
build=${BUILD_DIR:-$here/../../build}
n_list=${1:-100 500 1000 2000}
seconds=${2:-15}
servers=${SERVERS:-4}
clients=${CLIENTS:-sink fakesink sink-pad fakesink-pad node sink-ats fakesink-ats python}
python_max_n=${PYTHON_MAX_N:-500}
warmup=${WARMUP:-2}

tmp=$(mktemp -d)
server_pids=()
server_fds=()
client_pid=
cleanup() {
  [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null || true
  for fd in "${server_fds[@]}"; do eval "exec $fd>&-" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$client_pid" ] && wait "$client_pid" 2>/dev/null || true
  for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -f "$build/gst/socketio/libgstsocketio.so" ] ||
  { echo "no plugin in $build/gst/socketio: run ninja -C $build" >&2; exit 1; }
bench_bin=$build/tests/bench/streams-bench
[ -x "$bench_bin" ] || { echo "no $bench_bin: run ninja -C $build" >&2; exit 1; }
export GST_PLUGIN_PATH=$build/gst/socketio
export GST_PLUGIN_PATH_1_0=$build/gst/socketio
export GST_REGISTRY_1_0=$tmp/registry.bin

# The servers: stdin a pipe we hold (closing it ends them), "LISTENING <port>".
ports=()
for k in $(seq "$servers"); do
  exec {fd}> >(exec node "$srvdir/server.js" >"$tmp/server$k.out" 2>&1)
  server_pids+=($!)
  server_fds+=("$fd")
done
for k in $(seq "$servers"); do
  for _ in $(seq 200); do grep -q '^LISTENING' "$tmp/server$k.out" && break; sleep 0.05; done
  port=$(awk '/^LISTENING/{print $2}' "$tmp/server$k.out")
  [ -n "$port" ] || { echo "server $k did not start:" >&2; cat "$tmp/server$k.out" >&2; exit 1; }
  ports+=("$port")
done
url_args=()
for port in "${ports[@]}"; do url_args+=(--url "http://127.0.0.1:$port"); done
echo "# $servers servers on ports ${ports[*]}; window ${seconds} s, warm-up ${warmup} s" >&2

# Every server's /control/connection-events, one JSON object per line,
# after the machine's CPU counters (/proc/stat's cpu line).
read_servers() {
  {
  head -n 1 /proc/stat
  for port in "${ports[@]}"; do
    curl -sf "http://127.0.0.1:$port/control/connection-events" || echo '{}'
    echo
  done
  } >"$1"
}

wait_for_line() {  # FILE LINE: until it appears or the client has exited
  until grep -qx "$2" "$1"; do
    kill -0 "$client_pid" 2>/dev/null || return 1
    sleep 0.02
  done
}

# The client's JSON line + the servers' view of the window.
merge_py='
import json, os, sys
client, n, out, a_path, b_path = sys.argv[1:6]
line = None
for text in open(out):
    if text.startswith("{"):
        line = json.loads(text)
if line is None:
    line = {"client": client, "error": "no JSON line", "streams": int(n)}
line["run"] = client
def read(path):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return None, None
    ticks = [int(v) for v in lines[0].split()[1:]]
    return ticks, [json.loads(t) for t in lines[1:] if t.strip()]
(ta, a), (tb, b) = read(a_path), read(b_path)
if ta is not None and tb is not None:
    d = [y - x for x, y in zip(ta, tb)]
    # busy = all but idle and iowait, in cores, every process on the machine
    ncpu = os.cpu_count()
    if sum(d) > 0:
        line["machine_busy_cores"] = round(ncpu * (sum(d) - d[3] - d[4]) / sum(d), 3)
if a is not None and b is not None and line.get("client") != "fakesink":
    rate, realtime, seen, cores, max_core = 15.625, 0, 0, 0.0, 0.0
    rates = []
    for sa, sb in zip(a, b):
        if "nowUs" not in sa or "nowUs" not in sb:
            continue
        dt = (sb["nowUs"] - sa["nowUs"]) / 1e6
        core = (sb["cpuUs"] - sa["cpuUs"]) / 1e6 / dt
        cores += core
        max_core = max(max_core, core)
        before = dict(sa["connections"])
        for cid, events in sb["connections"]:
            seen += 1
            if cid not in before:
                continue  # joined during the window: not in real time
            got = events - before[cid]
            rates.append(got / dt)
            # 1 %, and one event for the rounding at the ends of the window
            if abs(got - rate * dt) <= 0.01 * rate * dt + 1:
                realtime += 1
    rates.sort()
    line.update(srv_connections=seen, srv_realtime_streams=realtime,
                srv_rate_min=round(rates[0], 3) if rates else None,
                srv_rate_median=round(rates[len(rates) // 2], 3) if rates else None,
                srv_cpu_cores=round(cores, 3), srv_cpu_max_core=round(max_core, 3))
print(json.dumps(line))
'

results=$tmp/results.jsonl
: >"$results"
run_client() {  # NAME N
  local name=$1 n=$2 cmd
  case $name in
    sink) cmd=("$bench_bin" --source appsrc) ;;
    fakesink) cmd=("$bench_bin" --source appsrc --sink fakesink) ;;
    sink-pad) cmd=("$bench_bin" --source pad) ;;
    fakesink-pad) cmd=("$bench_bin" --source pad --sink fakesink) ;;
    sink-ats) cmd=("$bench_bin" --source audiotestsrc) ;;
    fakesink-ats) cmd=("$bench_bin" --source audiotestsrc --sink fakesink) ;;
    node) cmd=(node "$here/node-streams-client.js") ;;
    sink-pad-mux) cmd=("$bench_bin" --source pad --multiplex) ;;
    node-mux) cmd=(node "$here/node-streams-client.js" --multiplex 1) ;;
    python) cmd=(/usr/bin/python3 "$here/python-streams-client.py") ;;
    *) echo "unknown client $name" >&2; exit 2 ;;
  esac
  case $name in fakesink*) ;; *) cmd+=("${url_args[@]}") ;; esac
  for port in "${ports[@]}"; do curl -sf "http://127.0.0.1:$port/control/reset" >/dev/null; done
  rm -f "$tmp/a" "$tmp/b"
  "${cmd[@]}" -n "$n" -s "$seconds" --warmup "$warmup" >"$tmp/out" 2>"$tmp/err" &
  client_pid=$!
  if wait_for_line "$tmp/out" '# window start'; then
    read_servers "$tmp/a"
    if wait_for_line "$tmp/out" '# window end'; then read_servers "$tmp/b"; fi
  fi
  wait "$client_pid" || true
  client_pid=
  if [ -s "$tmp/err" ]; then head -n 5 "$tmp/err" | sed "s/^/# $name: /" >&2; fi
  /usr/bin/python3 -c "$merge_py" "$name" "$n" "$tmp/out" "$tmp/a" "$tmp/b" |
    tee -a "$results"
}

for n in $n_list; do
  for name in $clients; do
    if [ "$name" = python ] && [ "$n" -gt "$python_max_n" ]; then
      echo "{\"run\": \"python\", \"streams\": $n, \"not_run\": true}" | tee -a "$results"
      continue
    fi
    run_client "$name" "$n"
  done
done
[ -n "${RESULTS:-}" ] && cat "$results" >>"$RESULTS"

/usr/bin/python3 - "$results" <<'EOF'
import json, sys

runs = [json.loads(t) for t in open(sys.argv[1])]
by = {}
for r in runs:
    by.setdefault(r["streams"], {})[r["run"]] = r
order = ["sink", "fakesink", "sink-pad", "fakesink-pad", "sink-ats",
         "fakesink-ats", "node", "sink-pad-mux", "node-mux", "python"]
label = {"sink": "socketiosink (appsrc)", "fakesink": "fakesink (appsrc)",
         "sink-pad": "socketiosink (pad)", "fakesink-pad": "fakesink (pad)",
         "sink-ats": "socketiosink (audiotestsrc)",
         "fakesink-ats": "fakesink (audiotestsrc)",
         "node": "socket.io-client", "python": "python-socketio",
         "sink-pad-mux": "socketiosink (pad, multiplex)",
         "node-mux": "socket.io-client (Manager)"}

def fmt(v, f="{:.2f}"):
    return "-" if v is None else f.format(v)

def cpu(r):
    return r.get("cpu_ms_per_stream_s") if r and not r.get("not_run") else None

# CPU per event the client got acked: fair where a client falls behind
# (its CPU per stream-second then covers fewer events)
def per_event_us(r):
    if not r or r.get("not_run") or not r.get("per_stream_s"):
        return None
    return r["cpu_ms_per_stream_s"] / r["per_stream_s"] * 1000

for n in sorted(by):
    rs = by[n]
    print(f"\nN = {n}")
    print(f"{'client':28} {'CPU ms/stream-s':>15} {'threads':>7} {'RSS KB/stream':>13} "
          f"{'real time (client)':>18} {'(servers)':>9} {'connect ms':>10} "
          f"{'server cores':>12} {'max server':>10} {'machine':>7} {'us/event':>8} "
          f"{'switches/event':>14}")
    for name in order:
        r = rs.get(name)
        if r is None:
            continue
        if r.get("not_run"):
            print(f"{label[name]:28} not run (N > PYTHON_MAX_N)")
            continue
        if "error" in r:
            print(f"{label[name]:28} failed: {r['error']}")
            continue
        srv = r.get("srv_realtime_streams")
        print(f"{label[name]:28} {fmt(cpu(r)):>15} {r['threads']:>7} "
              f"{fmt(r['rss_kb_per_stream'], '{:.0f}'):>13} "
              f"{str(r['realtime_streams']) + '/' + str(n):>18} "
              f"{'-' if srv is None else str(srv):>9} "
              f"{fmt(r.get('connect_ms'), '{:.0f}'):>10} "
              f"{fmt(r.get('srv_cpu_cores')):>12} {fmt(r.get('srv_cpu_max_core')):>10} "
              f"{fmt(r.get('machine_busy_cores')):>7} {fmt(per_event_us(r), '{:.1f}'):>8} "
              f"{fmt(r.get('context_switches_per_event')):>14}")
    node = cpu(rs.get("node"))
    sink, base = cpu(rs.get("sink")), cpu(rs.get("fakesink"))
    pad, pad_base = cpu(rs.get("sink-pad")), cpu(rs.get("fakesink-pad"))
    ats, ats_base = cpu(rs.get("sink-ats")), cpu(rs.get("fakesink-ats"))
    own = sink - base if sink is not None and base is not None else None
    pad_own = pad - pad_base if pad is not None and pad_base is not None else None
    ats_own = ats - ats_base if ats is not None and ats_base is not None else None
    print(f"  sink minus its fakesink baseline: appsrc {fmt(own)}, pad "
          f"{fmt(pad_own)}, audiotestsrc {fmt(ats_own)} ms per stream-second")
    if node:
        ratios = [("appsrc", sink), ("appsrc - baseline", own), ("pad", pad),
                  ("pad - baseline", pad_own), ("audiotestsrc", ats)]
        print("  sink / Node CPU (target <= 0.5): " + ", ".join(
            f"{k} {fmt(v / node if v is not None else None)}" for k, v in ratios))
        node_ev = per_event_us(rs.get("node"))
        pad_ev = per_event_us(rs.get("sink-pad"))
        if node_ev and pad_ev:
            print(f"  per acked event, pad / Node: {fmt(pad_ev / node_ev)}")
    mux, node_mux = cpu(rs.get("sink-pad-mux")), cpu(rs.get("node-mux"))
    if mux is not None and node_mux:
        print(f"  multiplexed, sink (pad) / Node (Manager) CPU: {fmt(mux / node_mux)}, "
              f"per acked event {fmt(per_event_us(rs.get('sink-pad-mux')) / per_event_us(rs.get('node-mux')))}")

print("\nsummary")
print(f"{'client':28} {'RSS KB per extra stream (slope between N)':>44} {'largest N in real time':>22}")
for name in order:
    pts = [(n, by[n][name]) for n in sorted(by)
           if name in by[n] and "rss_end_kb" in by[n][name]]
    slopes = []
    for (n1, r1), (n2, r2) in zip(pts, pts[1:]):
        slopes.append(f"{n1}-{n2}: {(r2['rss_end_kb'] - r1['rss_end_kb']) / (n2 - n1):.0f}")
    def ok(r, n):
        srv = r.get("srv_realtime_streams")
        return (srv if srv is not None else r["realtime_streams"]) == n
    good = [n for n, r in pts if ok(r, n)]
    if pts:
        print(f"{label[name]:28} {', '.join(slopes) or '-':>44} {max(good) if good else 'none':>22}")
EOF
