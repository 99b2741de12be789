#!/bin/sh
# sysroot.sh ARCH DIR: a Debian bookworm root of another architecture (armhf,
# arm64) holding the -dev packages fleet builds against, for cross builds
# (`make ARCH=armhf`), cross packages (`make deb ARCH=armhf`) and running the
# tests under qemu-user (`make check-arm`).
#
# Why a root of its own rather than multiarch (dpkg --add-architecture):
# amd64 and armhf versions must then match to the last security upload, and
# the security mirror's armhf index is sometimes caught mid-sync; a root made
# from the main suite alone is consistent whatever day it is.  The packages
# are installed for real (maintainer scripts run under qemu-user through
# binfmt_misc), so the root has a dpkg database: dpkg-shlibdeps reads it to
# give the cross packages their library dependencies.
#
# Kept between runs while the package list is the same (DIR/.fleet-sysroot).
set -eu
arch=${1:?usage: sysroot.sh ARCH DIR}
dir=${2:?usage: sysroot.sh ARCH DIR}
suite=${FLEET_SYSROOT_SUITE:-bookworm}
mirror=${FLEET_SYSROOT_MIRROR:-http://deb.debian.org/debian}
pkgs="libc6-dev libczmq-dev libzmq3-dev libsodium-dev libsqlite3-dev libyaml-dev
libjansson-dev libgit2-dev libcurl4-openssl-dev libmosquitto-dev check libsubunit-dev"
stamp="$arch $suite $(echo $pkgs)"

if [ -f "$dir/.fleet-sysroot" ] && [ "$(cat "$dir/.fleet-sysroot")" = "$stamp" ]; then
    exit 0
fi

qemu=$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_CPU 2>/dev/null) || {
    echo "sysroot: $arch is not a Debian architecture" >&2; exit 2; }
case $qemu in arm) ;; aarch64) ;; *) echo "sysroot: $arch: no qemu-user target known" >&2; exit 2 ;; esac
for tool in mmdebstrap arch-test "qemu-$qemu-static" update-binfmts; do
    command -v "$tool" >/dev/null || {
        echo "sysroot: $tool is missing (apt-get install mmdebstrap arch-test qemu-user-static binfmt-support)" >&2
        exit 2; }
done
# binfmt_misc lets the kernel run the root's ARM programs through qemu
# (dpkg's maintainer scripts, and commands the tests start).
if ! arch-test "$arch" >/dev/null 2>&1; then
    update-binfmts --enable "qemu-$qemu" >/dev/null 2>&1 || true
    arch-test "$arch" >/dev/null 2>&1 || {
        echo "sysroot: this machine cannot run $arch programs (binfmt_misc with qemu-$qemu-static)" >&2
        exit 2; }
fi

rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
start=$(date +%s)
# The main suite only: see above.  --variant=essential: the packages given
# and what they need, no apt, no init.
mmdebstrap --quiet --variant=essential --architectures="$arch" \
    --include="$(echo $pkgs | tr ' ' ',')" \
    "$suite" "$dir" "deb $mirror $suite main" >"$dir.log" 2>&1 || {
    tail -20 "$dir.log" >&2
    echo "sysroot: mmdebstrap failed (log: $dir.log)" >&2
    exit 1; }
# qemu-user looks a path up in the root first: empty mount points there
# would hide the real /proc, /sys and /dev from emulated programs.
for d in proc sys dev run tmp; do
    rm -rf "${dir:?}/$d"
done
echo "$stamp" >"$dir/.fleet-sysroot"
rm -f "$dir.log"
echo "sysroot: $arch root in $dir ($(du -sh "$dir" | cut -f1), $(( $(date +%s) - start )) s)"
