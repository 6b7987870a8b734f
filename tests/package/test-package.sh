#!/usr/bin/env bash
# Builds the Debian package with tools/make-deb.sh (from a copy of the
# tree), unpacks it into a throwaway root and checks what it holds:
# GStreamer finds every element of the build tree's plugin in it, through
# the system plugin path alone; every file meson installs is in it and
# nothing else but Debian's own files; the documentation, the translations
# of po/LINGUAS and the command-line tool are there. lintian, when
# installed, only warns.
#   test-package.sh SOURCE_DIR BUILD_TREE_PLUGIN
# Exits 77 (skipped) only when dpkg-buildpackage is not installed.
set -euo pipefail

top=$1
tree_plugin=$2
package=gstreamer1.0-socketio

command -v dpkg-buildpackage >/dev/null || {
  echo "SKIP: dpkg-buildpackage is not installed (apt install dpkg-dev debhelper fakeroot)"
  exit 77
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# What the tools leave in TMPDIR (lintian's caches) goes with it.
export TMPDIR="$tmp/tmpdir"
mkdir "$TMPDIR"
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

echo "== building the package"
if ! "$top/tools/make-deb.sh" --work-dir "$tmp/work" "$tmp/out" >"$tmp/build.log" 2>&1; then
  tail -n 60 "$tmp/build.log"
  echo "FAIL: tools/make-deb.sh failed (log above)"
  exit 1
fi
debs=("$tmp/out/${package}"_*.deb)
[ -f "${debs[0]}" ] || { echo "FAIL: no ${package}_*.deb was built"; exit 1; }
deb=${debs[0]}
echo "== $(basename "$deb")"
src="$tmp/work/src"
root="$tmp/root"
dpkg-deb -x "$deb" "$root"

# GStreamer's own plugin directory is where the plugin must be, since
# GStreamer looks nowhere else without GST_PLUGIN_PATH.
plugins_dir=$(pkg-config --variable=pluginsdir gstreamer-1.0)
[ -f "$root$plugins_dir/libgstsocketio.so" ] ||
  fail "the plugin is not in GStreamer's plugin directory $plugins_dir"

# Only the unpacked plugin directory, a registry of our own, no
# GST_PLUGIN_PATH (meson test sets it to the build tree).
with_package_plugin() {
  env -u GST_PLUGIN_PATH -u GST_PLUGIN_PATH_1_0 \
    GST_PLUGIN_SYSTEM_PATH_1_0="$root$plugins_dir" \
    GST_REGISTRY_1_0="$tmp/registry.bin" "$@"
}
inspect() {
  with_package_plugin gst-inspect-1.0 "$@"
}

echo "== elements"
GST_REGISTRY_1_0="$tmp/tree-registry.bin" gst-inspect-1.0 \
  --print-plugin-auto-install-info "$tree_plugin" | sort >"$tmp/tree-features"
{ inspect --print-plugin-auto-install-info "$root$plugins_dir/libgstsocketio.so" || true; } |
  sort >"$tmp/package-features"
diff -u "$tmp/tree-features" "$tmp/package-features" ||
  fail "the packaged plugin's features differ from the build tree's (above)"
elements=$({
  printf '%s\n' leakyframepool ackqueue socketiosink
  sed -n 's/^element-//p' "$tmp/tree-features"
} | sort -u)
for element in $elements; do
  if ! inspect "$element" >"$tmp/inspect.out" 2>&1; then
    cat "$tmp/inspect.out"
    fail "gst-inspect-1.0 does not find $element in the package"
  elif ! grep -q "Filename  *$root$plugins_dir/libgstsocketio.so" "$tmp/inspect.out"; then
    fail "gst-inspect-1.0 found $element, but not in the package"
  else
    echo "found $element"
  fi
done

echo "== files"
(cd "$root" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$tmp/package-files"
# What meson installs, from the package build's own build directory.
builddirs=("$src"/obj-*/meson-info)
meson introspect --installed "${builddirs[0]}/.." >"$tmp/installed.json"
python3 - "$tmp/installed.json" >"$tmp/meson-files" <<'EOF'
import json, os, sys

for source, destination in json.load(open(sys.argv[1])).items():
    if os.path.isdir(source):
        for directory, _, files in os.walk(source):
            for name in files:
                path = os.path.join(directory, name)
                print(os.path.join(destination, os.path.relpath(path, source)))
    elif "/share/man/" in destination:
        print(destination + ".gz")    # dh_compress compresses manual pages
    else:
        print(destination)
EOF
sort -o "$tmp/meson-files" "$tmp/meson-files"
doc="/usr/share/doc/$package"
printf '%s\n' "$doc/changelog.gz" "$doc/copyright" >"$tmp/debian-files"
comm -23 "$tmp/meson-files" "$tmp/package-files" >"$tmp/missing"
comm -13 <(sort "$tmp/meson-files" "$tmp/debian-files") "$tmp/package-files" >"$tmp/extra"
[ ! -s "$tmp/missing" ] || fail "meson installs these, the package lacks them: $(cat "$tmp/missing")"
[ ! -s "$tmp/extra" ] || fail "the package holds what meson does not install: $(cat "$tmp/extra")"

for file in README.md $(cd "$src" && find docs -type f | sort); do
  [ -f "$root$doc/$file" ] || fail "$doc/$file is not in the package"
done
for language in $(sed 's/#.*//' "$src/po/LINGUAS"); do
  mo="/usr/share/locale/$language/LC_MESSAGES/gst-socketio-1.0.mo"
  if [ -f "$root$mo" ]; then echo "found $mo"; else fail "$mo is not in the package"; fi
done
# The command-line tool, once the tree builds one.
if grep -rqs --include=meson.build gst-socketio-send "$src"; then
  tool=/usr/bin/gst-socketio-send
  if [ ! -x "$root$tool" ]; then
    fail "$tool is not in the package"
  elif ! with_package_plugin "$root$tool" --help >"$tmp/help.out" 2>&1; then
    cat "$tmp/help.out"
    fail "$tool --help failed"
  else
    echo "found $tool"
  fi
fi
for library in libgstreamer1.0-0 libsoup-3.0-0 libjson-glib-1.0-0; do
  dpkg-deb -f "$deb" Depends | grep -q "$library" ||
    fail "Depends lacks $library: $(dpkg-deb -f "$deb" Depends)"
done

if command -v lintian >/dev/null; then
  echo "== lintian (warnings only)"
  lintian --allow-root --info "$deb" || echo "lintian: the tags above are warnings"
else
  echo "== lintian is not installed: not run"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "the package holds everything"
