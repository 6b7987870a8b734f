#!/usr/bin/env bash
# The docs test: regenerates the element reference into the build directory
# and compares it with the committed docs/reference.md.
# check-reference.sh GEN-REFERENCE PLUGIN SOURCE-ROOT OUTPUT
set -uo pipefail

gen=$1 plugin=$2 top=$3 out=$4

if ! "$gen" --plugin "$plugin" --sources "$top/gst/socketio" \
    --notes "$top/tools/reference/reference-notes.ini" --output "$out"; then
  echo "The reference cannot be generated: complete tools/reference/reference-notes.ini" \
    "or the gtk-doc comments as said above, then run tools/update-reference.sh" \
    "to update docs/reference.md." >&2
  exit 1
fi
if ! diff -u "$top/docs/reference.md" "$out"; then
  echo "docs/reference.md does not match the built plugin (the diff above" \
    "goes from the committed file to the plugin): run" \
    "tools/update-reference.sh to update docs/reference.md, and commit it." >&2
  exit 1
fi
echo "docs/reference.md matches the plugin"
