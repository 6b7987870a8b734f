#!/bin/sh
# Starts a private PulseAudio daemon with a null sink, runs a capture test
# against it and stops the daemon, whatever happens. The test gets the sink's
# name as its last argument; PULSE_SERVER points its clients at the daemon.
# Usage: with-pulseaudio.sh COMMAND [ARG...]
# Exit: the command's status, or 77 (skip) when PulseAudio cannot start.

sink=lfp_null

if ! command -v pulseaudio >/dev/null 2>&1; then
  echo "pulseaudio is not installed: skipping"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lfp-pulse.XXXXXX") || exit 77
pid=

cleanup () {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM

# Everything the daemon and the clients write stays in $tmp.
export HOME="$tmp"
export XDG_RUNTIME_DIR="$tmp/xdg"
export XDG_CONFIG_HOME="$tmp/config"
export PULSE_RUNTIME_PATH="$tmp/run"
export PULSE_STATE_PATH="$tmp/state"
export PULSE_SERVER="unix:$tmp/native"
unset PULSE_SINK PULSE_SOURCE
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$PULSE_RUNTIME_PATH" \
  "$PULSE_STATE_PATH"
chmod 700 "$XDG_RUNTIME_DIR" "$PULSE_RUNTIME_PATH"

# -n: no default script; --system=no and --disallow-exit let it run as root
# (it warns, but works) and keep it up until we kill it; no shm, no D-Bus.
pulseaudio -n --daemonize=no --system=no --disallow-exit \
  --exit-idle-time=-1 --use-pid-file=no --disable-shm=yes \
  --log-target=stderr \
  --load="module-null-sink sink_name=$sink rate=48000 channels=2" \
  --load="module-native-protocol-unix socket=$tmp/native auth-anonymous=1" \
  >"$tmp/pulseaudio.log" 2>&1 &
pid=$!

tries=0
while [ ! -S "$tmp/native" ]; do
  if ! kill -0 "$pid" 2>/dev/null || [ "$tries" -ge 100 ]; then
    echo "pulseaudio did not start: skipping"
    cat "$tmp/pulseaudio.log"
    exit 77
  fi
  tries=$((tries + 1))
  sleep 0.1
done

"$@" "$sink"
status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
  echo "--- pulseaudio log"
  cat "$tmp/pulseaudio.log"
fi
exit "$status"
