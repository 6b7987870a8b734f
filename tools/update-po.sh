#!/usr/bin/env bash
# Brings the translations up to date with the sources: regenerates
# po/gst-socketio-1.0.pot from the files po/POTFILES lists, merges it into
# every po/LANG.po of po/LINGUAS (creating the ones that are missing), then
# lists per language what is left to translate. docs/translating.md has the
# whole workflow.
#
# usage: tools/update-po.sh [BUILD_DIR]   (default: ./build)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$top/build}
package=gst-socketio-1.0

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top" >/dev/null
fi
# meson's i18n targets: xgettext into the pot, then msgmerge (msginit for
# a new language) into each po file
ninja -C "$build" "$package-pot" "$package-update-po" >/dev/null

left=0
for lang in $(grep -v '^#' "$top/po/LINGUAS"); do
  po="$top/po/$lang.po"
  printf '%s: ' "$lang"
  msgfmt --check --statistics --output-file=/dev/null "$po" 2>&1
  todo=$( {
    msgattrib --untranslated --no-obsolete --no-wrap "$po" |
      sed -n 's/^msgid "\(..*\)"$/  to translate: \1/p'
    msgattrib --only-fuzzy --no-obsolete --no-wrap "$po" |
      sed -n 's/^msgid "\(..*\)"$/  fuzzy (check it, then drop the flag): \1/p'
  })
  if [ -n "$todo" ]; then
    echo "$todo"
    left=1
  fi
done

if [ "$left" = 1 ]; then
  echo "Translate these in po/LANG.po, then check with:"
  echo "  meson test -C $build --suite i18n"
fi
