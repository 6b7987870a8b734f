#!/usr/bin/env bash
# Installs what gst-socketio needs on Debian 12 and builds it in ./build.
# Sourced by tools/demo.sh and tools/test.sh; safe to run again: it only
# calls apt-get when a package is missing and npm ci when the lockfile
# changed.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

packages=(
  meson ninja-build pkg-config gcc libc6-dev gettext
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libsoup-3.0-dev libjson-glib-dev glib-networking
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-pulseaudio pulseaudio
  # tests/capture/speech-capture.py: speech to play (espeak-ng), paplay, and
  # numpy for the cross-correlation
  pulseaudio-utils espeak-ng python3-numpy
  python3 python3-socketio python3-aiohttp python3-flask-socketio
  # tests/bench/python-streams-client.py: the sync socketio.Client over
  # WebSocket needs websocket-client
  python3-websocket
  # examples/python/stream.py: PyGObject and GStreamer's introspection data
  python3-gi gir1.2-gstreamer-1.0
  # tests/server/server_wsgi.py serves python-socketio on Werkzeug
  python3-werkzeug
  # tests/integration/emit.py drives the sink from Python (PyGObject)
  python3-gi gir1.2-gstreamer-1.0
  valgrind procps indent openssl
  # tools/make-deb.sh and the package test; lintian only warns there
  dpkg-dev debhelper fakeroot lintian
  # tests/fuzz/run-fuzz.sh: clang-14's libFuzzer is in libclang-rt-14-dev
  clang libclang-rt-14-dev
  # tests/cluster: a redis-backed socket.io cluster behind nginx, started
  # by the test as its own processes (never as system services)
  redis-server nginx-light
)
# Node.js may come from elsewhere (e.g. NodeSource, which bundles npm).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The real Socket.IO server the demo and the tests run, from its lockfile.
server="$top/tests/server"
if [ ! -f "$server/node_modules/.package-lock.json" ] ||
   ! cmp -s "$server/package-lock.json" "$server/node_modules/.gst-socketio-lock"; then
  echo "== npm ci in tests/server"
  (cd "$server" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$server/package-lock.json" "$server/node_modules/.gst-socketio-lock"
fi

if [ ! -f "$top/build/build.ninja" ]; then
  echo "== meson setup build"
  meson setup "$top/build" "$top" >/dev/null
fi
echo "== building"
ninja -C "$top/build" >/dev/null
