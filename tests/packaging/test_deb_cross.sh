#!/usr/bin/env bash
# test_deb_cross.sh DIST_DIR ARCH ROOT: checks the fleet-minion package that
# `make deb ARCH=...` cross-built, then installs it for real into a copy of
# ROOT (the Debian root of that architecture, packaging/sysroot.sh) with that
# root's own dpkg, maintainer scripts and all, run under qemu-user, and runs
# the installed minion there.  `make check-arm` runs it for armhf.
set -u
dist=${1:?usage: test_deb_cross.sh DIST_DIR ARCH ROOT}
arch=${2:?usage: test_deb_cross.sh DIST_DIR ARCH ROOT}
sysroot=${3:?usage: test_deb_cross.sh DIST_DIR ARCH ROOT}
[ -f "$sysroot/.fleet-sysroot" ] || { echo "test_deb_cross: $sysroot is not a root from packaging/sysroot.sh" >&2; exit 2; }
root=$(mktemp -d "${TMPDIR:-/tmp}/fleet-crossroot-XXXXXX")
trap 'rm -rf "$root"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok      %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL    %s%s\n' "$1" "${2:+: $2}"; }
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# ---- the package -----------------------------------------------------------
found=("$dist"/fleet-minion_*_"$arch".deb)
if [ ${#found[@]} -ne 1 ] || [ ! -f "${found[0]}" ]; then
    fail "one fleet-minion .deb for $arch in $dist" "found: ${found[*]}"
    echo "test_deb_cross: $passed passed, $failed failed"
    exit 1
fi
deb=${found[0]}
ok "fleet-minion .deb for $arch: $(basename "$deb")"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] && ok "Architecture: $arch" \
    || fail "Architecture: $arch" "$(dpkg-deb -f "$deb" Architecture)"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libczmq4 libzmq5 libsodium23 libjansson4 libyaml-0-2; do
    if tr ',|' '\n' <<<"$depends" | awk '{ print $1 }' | grep -qxF "$lib"; then
        ok "depends on $lib (the root's shlibs)"
    else
        fail "depends on $lib" "Depends: $depends"
    fi
done
# libcurl is loaded when a container function first runs, not at start.
if [[ $depends == *libcurl* ]]; then fail "does not depend on libcurl4" "Depends: $depends"; else ok "does not depend on libcurl4"; fi
[[ $(dpkg-deb -f "$deb" Recommends) == *libcurl4* ]] && ok "recommends libcurl4" || fail "recommends libcurl4"
if dpkg-deb -c "$deb" | grep -qE '\.so(\.[0-9]+)*$|\.a$'; then fail "ships no libraries"; else ok "ships no libraries"; fi

dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/bin/fleet-minion >"$root.bin"
machine=$(readelf -h "$root.bin" | sed -n 's/^ *Machine: *//p')
case $arch in
armhf) want="ARM" ;;
arm64) want="AArch64" ;;
*) want="" ;;
esac
[ -z "$want" ] || [ "$machine" = "$want" ] && ok "fleet-minion is an $machine program" \
    || fail "fleet-minion is an $want program" "Machine: $machine"
echo "        stripped fleet-minion: $(stat -c %s "$root.bin") bytes; Installed-Size: $(dpkg-deb -f "$deb" Installed-Size) KiB"
rm -f "$root.bin"

# ---- installed by the root's own dpkg ----------------------------------------
cp -a "$sysroot/." "$root/"
mkdir -p "$root/dev" "$root/tmp" "$root/run"
mknod -m 666 "$root/dev/null" c 1 3
cp "$deb" "$root/tmp/"
if out=$(in_root dpkg -i "/tmp/$(basename "$deb")" 2>&1); then
    ok "dpkg -i in the $arch root"
else
    fail "dpkg -i in the $arch root" "$(tail -5 <<<"$out")"
fi
st=$(in_root dpkg-query -W -f='${Status}' fleet-minion 2>/dev/null)
[ "$st" = "install ok installed" ] && ok "fleet-minion: $st" || fail "fleet-minion installed" "$st"
got=$(stat -c '%a %U:%G' "$root/usr/bin/fleet-minion" 2>/dev/null)
[ "$got" = "755 root:root" ] && ok "/usr/bin/fleet-minion 755 root:root" || fail "/usr/bin/fleet-minion 755 root:root" "$got"
[ -f "$root/lib/systemd/system/fleet-minion.service" ] && ok "fleet-minion.service installed" || fail "fleet-minion.service installed"
[ -L "$root/etc/systemd/system/multi-user.target.wants/fleet-minion.service" ] \
    && ok "fleet-minion.service enabled for boot" || fail "fleet-minion.service enabled for boot"
# The installed program runs (emulated) with the root's libraries.
if out=$(in_root /usr/bin/fleet-minion --help-config 2>&1) && grep -q master <<<"$out"; then
    ok "fleet-minion --help-config runs in the $arch root"
else
    fail "fleet-minion --help-config runs in the $arch root" "$(head -3 <<<"$out")"
fi
if out=$(in_root dpkg --purge fleet-minion 2>&1) && [ ! -e "$root/usr/bin/fleet-minion" ]; then
    ok "dpkg --purge removes it"
else
    fail "dpkg --purge removes it" "$(tail -3 <<<"$out")"
fi

echo "test_deb_cross: $passed passed, $failed failed"
[ $failed -eq 0 ]
