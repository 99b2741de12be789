#!/bin/sh
# Builds the Debian packages (fleet-master, fleet-minion) with debhelper in
# a temporary copy of the tree, and leaves the .deb files in DIST_DIR
# (default: dist/ at the top of the tree).  `make deb` runs it.
#
# The copy holds what git knows of (tracked files as they are in the work
# tree, plus new files not ignored), so a build never sees build/, bin/ or
# stale objects; packaging/debian becomes debian/ at its root, where a
# Debian source package wants it.
#
# ARCH=armhf (or arm64) cross-builds with Debian's cross toolchain against
# the Debian root in SYSROOT (packaging/sysroot.sh; `make deb ARCH=armhf`
# makes both).  A 32-bit ARM build holds fleet-minion alone.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dist=${1:-$top/dist}
build_arch=$(dpkg-architecture -qDEB_BUILD_ARCH)
arch=${ARCH:-$build_arch}
# The Makefile reads ARCH for its own cross builds; debian/rules passes CC.
# (and make passes its command line on in MAKEFLAGS).
unset ARCH MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL
cross=""
if [ "$arch" != "$build_arch" ]; then
    : "${SYSROOT:?build-deb: ARCH=$arch needs SYSROOT, a Debian root of $arch (packaging/sysroot.sh)}"
    [ -f "$SYSROOT/.fleet-sysroot" ] || { echo "build-deb: $SYSROOT is not a root made by packaging/sysroot.sh" >&2; exit 2; }
    triplet=$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_TYPE 2>/dev/null)
    command -v "$triplet-gcc" >/dev/null || {
        echo "build-deb: $triplet-gcc is missing (apt-get install crossbuild-essential-$arch)" >&2; exit 2; }
    # -d: the build dependencies are in the root, not installed here.
    cross="-a$arch -d"
    case $arch in armhf | armel) cross="$cross -Ppkg.fleet.minion-only" ;; esac
    export SYSROOT
else
    unset SYSROOT
fi
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
# shellcheck disable=SC2086
dpkg-buildpackage -b -us -uc -Jauto $cross >"$work/build.log" 2>&1 || {
    tail -40 "$work/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (log above)" >&2
    exit 1
}
rm -f "$dist"/fleet-*_"$arch".deb "$dist"/fleet_*_"$arch".changes \
      "$dist"/fleet_*_"$arch".buildinfo "$dist"/fleet_*_"$arch".build.log
cp "$work"/*.deb "$work"/fleet_*.changes "$work"/fleet_*.buildinfo "$dist"/
cp "$work/build.log" "$dist/fleet_${version}_$arch.build.log"
echo "build-deb: built for $arch in $(( $(date +%s) - start )) s:"
(cd "$dist" && du -h ./*_"$arch".deb)

if command -v lintian >/dev/null; then
    # Errors fail the build; warnings are printed.
    lintian --fail-on error \
        "$dist"/fleet_"$version"_"$arch".changes 2>/dev/null || {
        echo "build-deb: lintian found errors" >&2
        exit 1
    }
else
    echo "build-deb: lintian not installed: packages not checked" >&2
fi
