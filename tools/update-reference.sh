#!/usr/bin/env bash
# Regenerates docs/reference.md from the plugin built in ./build (BUILD_DIR
# to use another build directory), the gtk-doc comments in gst/socketio and
# tools/reference/reference-notes.ini. The docs test (meson test --suite docs) fails
# until the committed reference matches.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$top/build}

ninja -C "$build" tools/reference/gen-reference gst/socketio/libgstsocketio.so >/dev/null
"$build/tools/reference/gen-reference" \
  --plugin "$build/gst/socketio/libgstsocketio.so" \
  --sources "$top/gst/socketio" \
  --notes "$top/tools/reference/reference-notes.ini" \
  --output "$top/docs/reference.md"
echo "wrote $top/docs/reference.md"
