#!/bin/sh
# Installs the Debian packages fleet needs to build and test (the armhf
# cross toolchain and qemu-user among them, for make check-arm), if any is
# missing.  A no-op (no apt-get at all) when everything is present.
set -e
PKGS="build-essential pkg-config libczmq-dev libzmq3-dev libsodium-dev libsqlite3-dev
libyaml-dev libjansson-dev libgit2-dev check libsubunit-dev sqlite3 procps iproute2
git runit dpkg-dev tar tzdata passwd
libcurl4-openssl-dev curl podman runc docker-registry busybox-static
libmosquitto-dev mosquitto mosquitto-clients openssl
debhelper lintian systemd
crossbuild-essential-armhf qemu-user-static binfmt-support mmdebstrap arch-test"
# deps.sh ARCH: also the cross toolchain for another architecture
# (make deb ARCH=arm64).
case ${1:-} in
"" | armhf) ;;
*) PKGS="$PKGS crossbuild-essential-$1" ;;
esac
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
