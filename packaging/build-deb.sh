#!/bin/sh
# Builds the Debian packages (fleet-master, fleet-minion) with debhelper in
# a temporary copy of the tree, and leaves the .deb files in DIST_DIR
# (default: dist/ at the top of the tree).  `make deb` runs it.
#
# The copy holds what git knows of (tracked files as they are in the work
# tree, plus new files not ignored), so a build never sees build/, bin/ or
# stale objects; packaging/debian becomes debian/ at its root, where a
# Debian source package wants it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dist=${1:-$top/dist}
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)

for tool in dpkg-buildpackage dh; do
    command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (apt-get install dpkg-dev debhelper)" >&2; exit 2; }
done

version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
work=$(mktemp -d "${TMPDIR:-/tmp}/fleet-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
src=$work/fleet-$version
mkdir "$src"

cd "$top"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard \
        | grep -v -e '^dist/' -e '^debian/' \
        | while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done \
        | tar -T - -cf - | tar -xf - -C "$src"
else
    # An unpacked release tarball: everything but build output.
    tar --exclude=./build --exclude='./build-*' --exclude=./bin --exclude=./dist \
        --exclude=./debian --exclude=./.git -cf - . | tar -xf - -C "$src"
fi
cp -r packaging/debian "$src/debian"

cd "$src"
start=$(date +%s)
# -b: binary packages only; -us -uc: nothing to sign; -J: jobs from the CPU count.
dpkg-buildpackage -b -us -uc -Jauto >"$work/build.log" 2>&1 || {
    tail -40 "$work/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (log above)" >&2
    exit 1
}
rm -f "$dist"/fleet-master_*.deb "$dist"/fleet-minion_*.deb "$dist"/fleet-*-dbgsym_*.deb \
      "$dist"/fleet_*.changes "$dist"/fleet_*.buildinfo "$dist"/fleet_*.build.log
cp "$work"/*.deb "$work"/fleet_*.changes "$work"/fleet_*.buildinfo "$dist"/
cp "$work/build.log" "$dist/fleet_$version.build.log"
echo "build-deb: built in $(( $(date +%s) - start )) s:"
(cd "$dist" && du -h ./*.deb)

if command -v lintian >/dev/null; then
    # Errors fail the build; warnings are printed.
    lintian --fail-on error \
        "$dist"/fleet_"$version"_*.changes 2>/dev/null || {
        echo "build-deb: lintian found errors" >&2
        exit 1
    }
else
    echo "build-deb: lintian not installed: packages not checked" >&2
fi
