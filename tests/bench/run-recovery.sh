#!/bin/bash
# Recovery benchmark (issue 3): each client streams DURATION s of live 16 kHz
# mono S16 audio (2048-byte events, 64 ms each) to one test server on a fixed
# port, while this script kills the server (SIGTERM: it prints its final
# STATS and exits without a Socket.IO DISCONNECT, so clients see a bare
# transport close, as after a crash) and restarts it on the same port, at
# fixed moments. Then, per client, one JSON line and one table row:
#   restarts, reconnect and first-ack delay after each restart (median, max;
#   from the restarted server's LISTENING line), frames produced, acked,
#   received (union of every server process's seqRanges), duplicates
#   (received more than once, across processes), lost (produced - received
#   - dropped by the client), dropped, re-sent, peak backlog, peak RSS.
#
#   tests/bench/run-recovery.sh            # every client in CLIENTS
#   CLIENTS=node tests/bench/run-recovery.sh
#
# Environment (defaults): DURATION=30 (s of audio), KILL_AT="3 12 21" (s after
# the client started), DOWN=3 (s each outage lasts), SERVER=js|py (js),
# ACK_DELAY_MS=0 (the server's ack delay), PORT=0 (0 = a free one, then kept),
# CLIENTS="node python", CLIENT_TIMEOUT=DURATION+60 (s), RESULTS=file (appends
# the JSON lines), KEEP=1 (keep the work directory and print its path).
# Needs `npm ci` in tests/server. About DURATION+3 s per client.
#
# Each outage must be followed by enough up time for the client's backoff
# (1 s doubling to 5 s, with jitter) to find the server again: with DOWN=3 a
# client reconnects within ~5 s of the restart, hence 6 s of up time between
# outages by default. A restart the client never reconnected to (the server
# was killed again first) shows as null and "recovered": false.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
srvdir=$here/../server

DURATION=${DURATION:-30}
KILL_AT=${KILL_AT:-"3 12 21"}
DOWN=${DOWN:-3}
SERVER=${SERVER:-js}
ACK_DELAY_MS=${ACK_DELAY_MS:-0}
PORT=${PORT:-0}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-$((${DURATION%.*} + 60))}
RESULTS=${RESULTS:-}
KEEP=${KEEP:-}
CLIENTS=${CLIENTS:-"socketiosink node python"}
build=${BUILD_DIR:-$(cd "$here/../.." && pwd)/build}

# --- clients -----------------------------------------------------------------
# run_<client> URL DURATION_S: streams DURATION_S seconds of audio to URL,
# waits for the backlog to be acked, and prints ONE JSON line on stdout:
#   {"client": NAME, "produced": frames made, "acked": frames acked,
#    "dropped": frames the client gave up on (counted), "resent": sends beyond
#    the first of a seq (or null), "max_rss_kb": peak RSS in KiB,
#    "reconnects": [{"connected_ms": epoch ms of each reconnect (not the first
#    connect), "first_ack_ms": epoch ms of the first ack after it}], ...}
# Frames carry "seq" (each frame once, replays with the same seq). The
# function must `exec` its program (the driver kills what it started) and
# must not read stdin.

run_node() {
  exec timeout "$CLIENT_TIMEOUT" node "$here/recovery-peer.js" --url "$1" --duration "$2"
}

run_python() {
  exec timeout "$CLIENT_TIMEOUT" /usr/bin/python3 "$here/recovery-peer.py" --url "$1" --duration "$2"
}

# socketiosink: audiotestsrc (live) ! ackqueue ! socketiosink, with the
# peers' backoff (1 s doubling to 5 s); see recovery-sink.c.
run_socketiosink() {
  GST_PLUGIN_PATH="$build/gst/socketio" exec timeout "$CLIENT_TIMEOUT" \
    "$build/tests/bench/recovery-sink" --url "$1" --duration "$2"
}
# ============================================================================

# --- servers -------------------------------------------------------------------

tmp=$(mktemp -d)
srv_pid=
cli_pid=
nap_pid=
cleanup() {
  if [ -n "$cli_pid" ]; then kill "$cli_pid" 2>/dev/null || true; fi
  if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null || true; fi
  if [ -n "$nap_pid" ]; then kill "$nap_pid" 2>/dev/null || true; fi
  if [ -n "$KEEP" ]; then echo "work directory: $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Every server's stdin is this FIFO, which only this shell holds open (fd 3,
# read-write so opening never blocks; servers and clients get 3>&-): if the
# script dies, the server sees EOF and exits.
mkfifo "$tmp/stdin"
exec 3<>"$tmp/stdin"

now_ms() { date +%s%3N; }

# The sleep runs in the background so that a signal interrupts `wait` and
# the trap runs at once.
sleep_until_ms() {
  local d=$(($1 - $(now_ms)))
  if [ "$d" -gt 0 ]; then
    sleep "$(awk -v d="$d" 'BEGIN { printf "%.3f", d / 1000 }')" &
    nap_pid=$!
    wait "$nap_pid" || true
    nap_pid=
  fi
}

# start_server PORT OUT: sets srv_pid, port, listen_ms (when LISTENING was
# seen, to ~10 ms). A restart retries while the port is briefly busy.
start_server() {
  local cmd
  case $SERVER in
    js) cmd=(node "$srvdir/server.js") ;;
    py) cmd=(/usr/bin/python3 "$srvdir/server.py") ;;
    *) echo "SERVER must be js or py" >&2; exit 2 ;;
  esac
  for _ in $(seq 50); do
    : >"$2"  # exists before the loop below looks at it
    "${cmd[@]}" --host 127.0.0.1 --port "$1" --ack-delay-ms "$ACK_DELAY_MS" \
      <"$tmp/stdin" >"$2" 2>>"$tmp/server.err" 3>&- &
    srv_pid=$!
    while kill -0 "$srv_pid" 2>/dev/null && ! grep -q '^LISTENING' "$2"; do sleep 0.01; done
    if grep -q '^LISTENING' "$2"; then
      listen_ms=$(now_ms)
      port=$(awk '/^LISTENING/ { print $2; exit }' "$2")
      return 0
    fi
    wait "$srv_pid" || true
    srv_pid=
    sleep 0.1
  done
  echo "the $SERVER server did not start on port $1:" >&2
  cat "$tmp/server.err" >&2
  exit 1
}

# kill_server OUT STATS: SIGTERM, wait, append its STATS json to STATS.
kill_server() {
  kill -TERM "$srv_pid"
  wait "$srv_pid" || true
  srv_pid=
  if ! grep -m1 '^STATS ' "$1" | cut -c7- >>"$2"; then
    echo "the server printed no STATS line:" >&2
    cat "$1" "$tmp/server.err" >&2
    exit 1
  fi
}

# --- one client ----------------------------------------------------------------

run_one() {
  local client=$1 n=0 t0 k kill_ms rc=0
  local stats=$tmp/$client.stats restarts=$tmp/$client.restarts
  : >"$stats"
  : >"$restarts"
  start_server "$PORT" "$tmp/$client.srv$n"
  PORT=$port
  local url=http://127.0.0.1:$port

  t0=$(now_ms)
  "run_$client" "$url" "$DURATION" </dev/null >"$tmp/$client.out" 2>"$tmp/$client.err" 3>&- &
  cli_pid=$!
  for k in $KILL_AT; do
    sleep_until_ms "$(awk -v t="$t0" -v k="$k" 'BEGIN { printf "%.0f", t + k * 1000 }')"
    kill_ms=$(now_ms)
    kill_server "$tmp/$client.srv$n" "$stats"
    sleep_until_ms "$(awk -v t="$kill_ms" -v d="$DOWN" 'BEGIN { printf "%.0f", t + d * 1000 }')"
    n=$((n + 1))
    start_server "$PORT" "$tmp/$client.srv$n"
    echo "$kill_ms $listen_ms" >>"$restarts"
  done
  wait "$cli_pid" || rc=$?
  cli_pid=
  kill_server "$tmp/$client.srv$n" "$stats"
  if [ $rc -ne 0 ]; then
    echo "client $client exited with status $rc:" >&2
    cat "$tmp/$client.err" >&2
  fi

  /usr/bin/python3 - "$client" "$tmp/$client.out" "$stats" "$restarts" "$rc" "$SERVER" \
      "$ACK_DELAY_MS" "$DOWN" >"$tmp/$client.json" <<'EOF'
import json, statistics, sys
client, out, stats_path, restarts_path, rc, server, ack_delay, down = sys.argv[1:]

try:
    c = json.loads(open(out).read().strip().splitlines()[-1])
except (IndexError, ValueError):
    c = {'client': client, 'skipped': 'no JSON line (exit status %s)' % rc}
stats = [json.loads(l) for l in open(stats_path) if l.strip()]
restarts = [tuple(map(int, l.split())) for l in open(restarts_path) if l.strip()]

# union of the received seqs over every server process
ranges = sorted(tuple(r) for s in stats for r in s['seqRanges'])
union = []
for a, b in ranges:
    if union and a <= union[-1][1] + 1:
        union[-1][1] = max(union[-1][1], b)
    else:
        union.append([a, b])
received = sum(b - a + 1 for a, b in union)
events = sum(s['events'] for s in stats)

r = {'client': client, 'server': server, 'ack_delay_ms': int(ack_delay),
     'down_s': float(down), 'restarts': len(restarts),
     'outages_ms': [l - k for k, l in restarts],
     'srv_events': events, 'received': received,
     'duplicates': events - received,
     'duplicates_in_process': sum(s['duplicates'] for s in stats),
     'replays_flagged': sum(s['replays'] for s in stats),
     'srv_events_each': [s['events'] for s in stats],
     'srv_connections': [s['connections'] for s in stats],
     'srv_disconnect_reasons': sorted({x for s in stats for x in s['disconnectReasons']}),
     'received_ranges': union if len(union) <= 8 else len(union)}
if 'skipped' in c:
    r['skipped'] = c['skipped']
else:
    produced = c['produced']
    dropped = c.get('dropped') or 0
    r.update(produced=produced, acked=c['acked'], dropped=dropped,
             resent=c.get('resent'), unacked_at_end=c.get('unacked_at_end'),
             max_unacked=c.get('max_unacked'), max_rss_kb=c['max_rss_kb'],
             lost=produced - received - dropped,
             client_reconnects=len(c['reconnects']),
             client_disconnect_reasons=sorted({str(d.get('reason'))
                                               for d in c.get('disconnects', [])}))
    # each restart -> the client's first reconnect after it (before the next)
    recs = c['reconnects']
    to_conn, to_ack = [], []
    for i, (_, up) in enumerate(restarts):
        nxt = restarts[i + 1][1] if i + 1 < len(restarts) else float('inf')
        rec = next((x for x in recs if up <= x['connected_ms'] < nxt), None)
        to_conn.append(rec['connected_ms'] - up if rec else None)
        to_ack.append(rec['first_ack_ms'] - up
                      if rec and rec['first_ack_ms'] is not None else None)
    r['restart_to_reconnect_ms'] = to_conn
    r['restart_to_first_ack_ms'] = to_ack
    ok = [x for x in to_ack if x is not None]
    r['first_ack_ms_median'] = statistics.median(ok) if ok else None
    r['first_ack_ms_max'] = max(ok) if ok else None
    r['recovered'] = len(ok) == len(restarts)
print(json.dumps(r))
EOF
}

for client in $CLIENTS; do
  declare -F "run_$client" >/dev/null || { echo "unknown client $client" >&2; exit 2; }
done
lines=()
for client in $CLIENTS; do
  run_one "$client"   # not in a subshell: cleanup must see srv_pid and cli_pid
  line=$(cat "$tmp/$client.json")
  echo "$line"
  lines+=("$line")
  [ -z "$RESULTS" ] || echo "$line" >>"$RESULTS"
done

/usr/bin/python3 - "${lines[@]}" <<'EOF'
import json, sys
rows = [json.loads(a) for a in sys.argv[1:]]
cols = [('client', 'client'), ('restarts', 'restarts'),
        ('reconn', 'client_reconnects'), ('ack med ms', 'first_ack_ms_median'),
        ('ack max ms', 'first_ack_ms_max'), ('produced', 'produced'),
        ('acked', 'acked'), ('received', 'received'), ('dups', 'duplicates'),
        ('lost', 'lost'), ('dropped', 'dropped'), ('resent', 'resent'),
        ('backlog', 'max_unacked'), ('RSS KiB', 'max_rss_kb')]
print(' '.join('%10s' % h for h, _ in cols), file=sys.stderr)
for r in rows:
    if 'skipped' in r:
        print('%10s  skipped: %s' % (r['client'], r['skipped']), file=sys.stderr)
        continue
    print(' '.join('%10s' % ('-' if r.get(k) is None else r.get(k)) for _, k in cols),
          file=sys.stderr)
EOF
