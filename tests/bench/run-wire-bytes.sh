#!/bin/bash
# Wire bytes per second of audio through socketiosink (issue 10), measured
# at the server:
#   tests/bench/run-wire-bytes.sh [SECONDS (10)]
#
# Starts one tests/server/server.js on a free loopback port and streams
# SECONDS of 16 kHz mono audio from audiotestsrc (a sine and pink noise,
# not live, sync=false) through socketiosink, one run per encoding:
#   raw    S16LE, as captured
#   opus   opusenc bitrate=24000 (20 ms frames, the default), one packet
#          an event
#   opus-100ms  the same, batch-duration=100 ms: five packets an event
#   flac   flacenc ! flacparse
# For each run it reads the server's stats before and after: wireBytesIn
# (every byte the server's TCP connections received: HTTP, WebSocket
# framing, Socket.IO packets, the audio_header event, acks' requests; plus
# about 100 bytes of each /control request) and bytes (the attachments'
# audio only). Prints one JSON line per run, then a table: wire bytes and
# audio bytes per second of audio, and the wire ratio to raw.
#
# Needs `npm ci` in tests/server; the plugin is taken from
# BUILD_DIR/gst/socketio (default build/). Every process it starts is
# stopped on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srvdir=$here/../server
build=${BUILD_DIR:-$here/../../build}
seconds=${1:-10}
rate=16000
samples_per_buffer=320 # 20 ms

tmp=$(mktemp -d)
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  [ -n "$srv_pid" ] && wait "$srv_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

export GST_PLUGIN_PATH=$build/gst/socketio${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
node "$srvdir/server.js" --host 127.0.0.1 --port 0 --ignore-stdin >"$tmp/srv" 2>&1 &
srv_pid=$!
for _ in $(seq 100); do
  grep -q '^LISTENING' "$tmp/srv" 2>/dev/null && break
  sleep 0.1
done
port=$(awk '/^LISTENING/ {print $2}' "$tmp/srv")
[ -n "$port" ] || { echo "server.js did not start" >&2; cat "$tmp/srv" >&2; exit 1; }
url=http://127.0.0.1:$port

stats() { curl -sf "$url/control/stats"; }
buffers=$((seconds * rate / samples_per_buffer))

: >"$tmp/results"
for wave in sine pink-noise; do
  for encoding in raw opus opus-100ms flac; do
    props=
    case $encoding in
      raw) encoder=identity ;;
      opus) encoder="opusenc bitrate=24000" ;;
      opus-100ms) encoder="opusenc bitrate=24000" props="batch-duration=100000000" ;;
      flac) encoder="flacenc ! flacparse" ;;
    esac
    stats >"$tmp/before"
    # shellcheck disable=SC2086
    gst-launch-1.0 -q audiotestsrc num-buffers=$buffers \
      samplesperbuffer=$samples_per_buffer wave=$wave volume=0.5 ! \
      audio/x-raw,format=S16LE,rate=$rate,channels=1 ! $encoder ! \
      socketiosink location="$url" sync=false $props >/dev/null
    stats >"$tmp/after"
    /usr/bin/python3 - "$tmp/before" "$tmp/after" "$wave" "$encoding" \
      "$seconds" >>"$tmp/results" <<'EOF'
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
wave, encoding, seconds = sys.argv[3], sys.argv[4], float(sys.argv[5])
wire = after["wireBytesIn"] - before["wireBytesIn"]
audio = after["bytes"] - before["bytes"]
print(json.dumps({"wave": wave, "encoding": encoding, "seconds": seconds,
                  "wire_bytes": wire, "audio_bytes": audio,
                  "events": after["events"] - before["events"],
                  "wire_bytes_per_s": round(wire / seconds),
                  "audio_bytes_per_s": round(audio / seconds)}))
EOF
    tail -n 1 "$tmp/results"
  done
done

/usr/bin/python3 - "$tmp/results" <<'EOF'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
print(f"\n{'audio':11} {'encoding':10} {'wire B/s':>9} {'audio B/s':>9} "
      f"{'events/s':>8} {'wire vs raw':>11}")
for wave in ("sine", "pink-noise"):
    raw = next(r for r in runs if r["wave"] == wave and r["encoding"] == "raw")
    for r in (r for r in runs if r["wave"] == wave):
        print(f"{wave:11} {r['encoding']:10} {r['wire_bytes_per_s']:>9} "
              f"{r['audio_bytes_per_s']:>9} {r['events'] / r['seconds']:>8.1f} "
              f"{r['wire_bytes'] / raw['wire_bytes']:>11.3f}")
EOF
