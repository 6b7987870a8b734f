#!/usr/bin/env bash
# Builds the Debian package gstreamer1.0-socketio from this tree:
#   tools/make-deb.sh [--work-dir DIR] [OUTDIR]
# writes gstreamer1.0-socketio_VERSION_ARCH.deb into OUTDIR (default: the
# current directory). dpkg-buildpackage runs on a copy of the tree (the
# files git knows or would add; without git, everything but build
# directories and node_modules), so the tree itself stays clean. The copy is
# made in DIR and kept when --work-dir is given (the package's meson build
# directory is DIR/src/obj-<triplet>), else in a temporary directory that
# is removed.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage="usage: tools/make-deb.sh [--work-dir DIR] [OUTDIR]"

work=
if [ "${1:-}" = --work-dir ]; then
  [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
  work=$2
  shift 2
fi
[ $# -le 1 ] || { echo "$usage" >&2; exit 2; }
[ "${1:-}" != -h ] && [ "${1:-}" != --help ] || { echo "$usage"; exit 0; }
out=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)

command -v dpkg-buildpackage >/dev/null || {
  echo "make-deb.sh: dpkg-buildpackage not found: apt install dpkg-dev debhelper fakeroot" >&2
  exit 1
}

if [ -n "$work" ]; then
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
src="$work/src"
rm -rf "$src"
mkdir "$src"

# Local build directories and the test servers' npm modules are never part
# of the package's source.
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$top" && git ls-files -z --cached --others --exclude-standard) |
    grep -zv -e '^build' -e '/node_modules$' -e '^obj-' |
    while IFS= read -r -d '' file; do
      # a file deleted but not yet committed is still listed
      if [ -e "$top/$file" ] || [ -L "$top/$file" ]; then
        printf '%s\0' "$file"
      fi
    done |
    (cd "$top" && xargs -0 cp --parents -P -t "$src")
else
  tar -C "$top" --exclude='./build*' --exclude=node_modules --exclude='./obj-*' \
    --exclude=./debian/.debhelper -cf - . | tar -C "$src" -xf -
fi
[ -f "$src/debian/control" ] || { echo "make-deb.sh: copying the tree failed" >&2; exit 1; }

echo "== dpkg-buildpackage in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b)

debs=("$work"/gstreamer1.0-socketio_*.deb)
[ -f "${debs[0]}" ] || { echo "make-deb.sh: no package was built" >&2; exit 1; }
for deb in "${debs[@]}"; do
  cp "$deb" "$out/"
  echo "== $out/$(basename "$deb")"
done
