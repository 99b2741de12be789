#!/usr/bin/env bash
# test_deb.sh: checks the Debian packages that `make deb` built.
#
#     tests/packaging/test_deb.sh DIST_DIR
#
# Installs fleet-master and fleet-minion with dpkg into a throwaway root
# (dpkg --root; --force-depends, since the libraries live on the host and
# not in that root) and checks the files, their owners and modes, the
# conffile, the maintainer scripts, the system user (systemd-sysusers
# --root) and the state directory (systemd-tmpfiles --root) that those
# scripts create, and the unit files (key lines; `systemd-analyze verify`
# and the master's exposure score where systemd-analyze exists).  The
# maintainer scripts are not run in the root (it has no shell): the test
# runs the same sysusers/tmpfiles commands itself, and checks that the
# postinst does.  Nothing outside the throwaway root is touched.
set -u

dist=${1:-}
if [ -z "$dist" ] || [ ! -d "$dist" ]; then
    echo "usage: $0 DIST_DIR   (the directory holding the .deb files)" >&2
    exit 2
fi
arch=$(dpkg --print-architecture)
root=$(mktemp -d "${TMPDIR:-/tmp}/fleet-debroot-XXXXXX")
trap 'rm -rf "$root"' EXIT

passed=0
failed=0
ok() {
    passed=$((passed + 1))
    printf 'ok      %s\n' "$1"
}
fail() {
    failed=$((failed + 1))
    printf 'FAIL    %s%s\n' "$1" "${2:+: $2}"
}
# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
    local name=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$name"; else fail "$name"; fi
}
# check_stat PATH MODE OWNER: a file (or directory) with that octal mode
# and user:group.
check_stat() {
    local path=$1 mode=$2 owner=${3:-root:root} got
    got=$(stat -c '%a %U:%G' "$root/$path" 2>/dev/null) || { fail "$path exists"; return; }
    if [ "$got" = "$mode $owner" ]; then ok "$path $mode $owner"; else fail "$path $mode $owner" "is $got"; fi
}
# check_line FILE LINE: FILE has LINE, exactly, as a whole line.
check_line() {
    if grep -qxF -- "$2" "$root/$1" 2>/dev/null; then ok "$1: $2"; else fail "$1: $2" "line missing"; fi
}

# ---- the packages ----------------------------------------------------------
debs=()
for p in fleet-master fleet-minion; do
    # shellcheck disable=SC2206
    found=("$dist"/${p}_*_"$arch".deb)
    if [ ${#found[@]} -eq 1 ] && [ -f "${found[0]}" ]; then
        ok "$p .deb for $arch in $dist"
        debs+=("${found[0]}")
    else
        fail "$p .deb for $arch in $dist" "found ${#found[@]}: ${found[*]}"
    fi
done
if [ ${#debs[@]} -ne 2 ]; then
    echo "test_deb: $passed passed, $failed failed"
    exit 1
fi
master_deb=${debs[0]}
minion_deb=${debs[1]}

for deb in "${debs[@]}"; do
    name=$(dpkg-deb -f "$deb" Package)
    # Debian's libraries, not copies of them.
    if dpkg-deb -c "$deb" | grep -qE '\.so(\.[0-9]+)*$|\.a$'; then
        fail "$name ships no libraries" "$(dpkg-deb -c "$deb" | grep -E '\.so|\.a$' | head -3)"
    else
        ok "$name ships no libraries"
    fi
    depends=$(dpkg-deb -f "$deb" Depends)
    for lib in libczmq4 libzmq5 libsodium23 libjansson4 libyaml-0-2; do
        if tr ',|' '\n' <<<"$depends" | awk '{ print $1 }' | grep -qxF "$lib"; then
            ok "$name depends on $lib"
        else
            fail "$name depends on $lib" "Depends: $depends"
        fi
    done
done
depends=$(dpkg-deb -f "$master_deb" Depends)
if [[ $depends == *systemd-sysusers* ]]; then
    ok "fleet-master depends on systemd-sysusers (or systemd)"
else
    fail "fleet-master depends on systemd-sysusers (or systemd)" "Depends: $depends"
fi

# ---- install into the throwaway root ------------------------------------
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers" \
    "$root/var/log" "$root/etc" "$root/bin" "$root/usr/bin" "$root/tmp" "$root/dev"
# The scripts redirect to /dev/null: a plain file will do (no mknod, no root).
: >"$root/dev/null"
: >"$root/var/lib/dpkg/status"
: >"$root/var/lib/dpkg/available"
# The maintainer scripts run chrooted in the root: a static busybox is its
# /bin/sh, and stubs stand in for the systemd and init-system-helpers tools
# they call, logging each call (the real sysusers and tmpfiles run below,
# from the host, with --root).
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || readelf -lW "$busybox" 2>/dev/null | grep -q INTERP; then
    fail "a static busybox for the root's /bin/sh (package busybox-static)"
    echo "test_deb: $passed passed, $failed failed"
    exit 1
fi
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
for tool in systemd-sysusers systemd-tmpfiles deb-systemd-helper deb-systemd-invoke systemctl systemd-run; do
    printf '#!/bin/sh\necho "%s $*" >>/stub.log\nexit 0\n' "$tool" >"$root/usr/bin/$tool"
    chmod 755 "$root/usr/bin/$tool"
done
dpkg_root=(env PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg --root="$root" --log=/dev/null --force-depends)
[ "$(id -u)" -ne 0 ] && dpkg_root+=(--force-not-root)
for deb in "${debs[@]}"; do
    name=$(dpkg-deb -f "$deb" Package)
    if dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -qx './preinst'; then
        fail "$name has no preinst" "it would stop a minion during its own upgrade"
    else
        ok "$name has no preinst"
    fi
done
if out=$("${dpkg_root[@]}" --install "${debs[@]}" 2>&1); then
    ok "dpkg --root --install both packages"
else
    fail "dpkg --root --install both packages" "$(tail -8 <<<"$out")"
fi
for p in fleet-master fleet-minion; do
    st=$(dpkg-query --root="$root" -W -f='${Status}' "$p" 2>/dev/null)
    if [ "$st" = "install ok installed" ]; then ok "$p installed"; else fail "$p installed" "status '$st'"; fi
done
# What the postinst scripts did, in order.
log=$(cat "$root/stub.log" 2>/dev/null)
expect="systemd-sysusers fleet.conf
systemd-tmpfiles --create fleet.conf
deb-systemd-helper unmask fleet-master.service
deb-systemd-helper --quiet was-enabled fleet-master.service
deb-systemd-helper enable fleet-master.service
deb-systemd-helper unmask fleet-minion.service
deb-systemd-helper --quiet was-enabled fleet-minion.service
deb-systemd-helper enable fleet-minion.service"
if [ "$log" = "$expect" ]; then
    ok "postinst: user, state directory, then both units enabled (none started: no systemd)"
else
    fail "postinst: user, state directory, then both units enabled" "$(printf 'got:\n%s\nexpected:\n%s' "$log" "$expect")"
fi

# ---- files, owners, modes ------------------------------------------------
check_stat usr/bin/fleet-master 755
check_stat usr/bin/fleetctl 755
check_stat usr/bin/fleet-minion 755
check_stat lib/systemd/system/fleet-master.service 644
check_stat lib/systemd/system/fleet-minion.service 644
check_stat usr/lib/sysusers.d/fleet.conf 644
check_stat usr/lib/tmpfiles.d/fleet.conf 644
check_stat etc/fleet/master.yaml 644
check_stat etc/fleet 755
check_stat usr/share/doc/fleet-master/copyright 644
check_stat usr/share/doc/fleet-minion/copyright 644
if conf=$(dpkg-query --root="$root" -W -f='${Conffiles}' fleet-master 2>/dev/null) \
    && grep -q '^ /etc/fleet/master.yaml ' <<<"$conf"; then
    ok "/etc/fleet/master.yaml is a conffile"
else
    fail "/etc/fleet/master.yaml is a conffile" "Conffiles: ${conf:-none}"
fi
others=$(find "$root" -path "$root/var/lib/dpkg" -prune -o ! -user 0 -print 2>/dev/null | head -3)
if [ "$(id -u)" -eq 0 ]; then
    if [ -z "$others" ]; then ok "every installed file belongs to root"; else fail "every installed file belongs to root" "$others"; fi
fi
# Which package owns what.
for f in /usr/bin/fleet-master /usr/bin/fleetctl /lib/systemd/system/fleet-master.service \
         /usr/lib/sysusers.d/fleet.conf /usr/lib/tmpfiles.d/fleet.conf /etc/fleet/master.yaml; do
    owner=$(dpkg-query --root="$root" -S "$f" 2>/dev/null | cut -d: -f1)
    if [ "$owner" = fleet-master ]; then ok "$f in fleet-master"; else fail "$f in fleet-master" "owned by '${owner:-nobody}'"; fi
done
for f in /usr/bin/fleet-minion /lib/systemd/system/fleet-minion.service; do
    owner=$(dpkg-query --root="$root" -S "$f" 2>/dev/null | cut -d: -f1)
    if [ "$owner" = fleet-minion ]; then ok "$f in fleet-minion"; else fail "$f in fleet-minion" "owned by '${owner:-nobody}'"; fi
done

# ---- the programs run (with the host's libraries) ------------------------
check "fleet-master --help" "$root/usr/bin/fleet-master" --help
check "fleet-minion --help" "$root/usr/bin/fleet-minion" --help
check "fleetctl --help" "$root/usr/bin/fleetctl" --help
if "$root/usr/bin/fleet-master" --help-config 2>/dev/null | grep -q data_dir; then
    ok "fleet-master --help-config"
else
    fail "fleet-master --help-config"
fi
# Hardening: PIE, full RELRO, stack protector, fortified calls.
for b in fleet-master fleetctl fleet-minion; do
    f=$root/usr/bin/$b
    why=""
    readelf -h "$f" 2>/dev/null | grep -q 'Type:.*DYN' || why="$why not-PIE"
    readelf -d "$f" 2>/dev/null | grep -q 'BIND_NOW' || why="$why no-BIND_NOW"
    readelf -lW "$f" 2>/dev/null | grep -q GNU_RELRO || why="$why no-RELRO"
    readelf -W --dyn-syms "$f" 2>/dev/null | grep -q __stack_chk_fail || why="$why no-stack-protector"
    readelf -W --dyn-syms "$f" 2>/dev/null | grep -q '_chk@' || why="$why no-fortify"
    if [ -z "$why" ]; then ok "$b hardened (PIE, relro, now, stack protector, fortify)"; else fail "$b hardened" "$why"; fi
done

# ---- the default master.yaml works -----------------------------------------
yaml=$root/etc/fleet/master.yaml
check_line etc/fleet/master.yaml "data_dir: /var/lib/fleet"
check_line etc/fleet/master.yaml "socket: /run/fleet/master.sock"
# The same file with its two paths moved into the root: --init loads it and
# creates the master's keys.
sed -e "s|^data_dir: /var/lib/fleet|data_dir: $root/init/var/lib/fleet|" \
    -e "s|^socket: /run/fleet/|socket: $root/init/run/fleet/|" "$yaml" >"$root/init.yaml"
if out=$("$root/usr/bin/fleet-master" -c "$root/init.yaml" --init 2>&1) \
    && [ -s "$root/init/var/lib/fleet/master.pub" ] \
    && [ "$(stat -c %a "$root/init/var/lib/fleet/master.key" 2>/dev/null)" = 600 ]; then
    ok "the default master.yaml loads (fleet-master --init)"
else
    fail "the default master.yaml loads (fleet-master --init)" "$out"
fi

# ---- maintainer scripts ------------------------------------------------------
ctl=$root/ctl
mkdir -p "$ctl/master" "$ctl/minion"
dpkg-deb -e "$master_deb" "$ctl/master"
dpkg-deb -e "$minion_deb" "$ctl/minion"
pi=$ctl/master/postinst
l_sysusers=$(grep -n 'systemd-sysusers .*fleet.conf' "$pi" 2>/dev/null | head -1 | cut -d: -f1)
l_tmpfiles=$(grep -n 'systemd-tmpfiles .*--create fleet.conf' "$pi" 2>/dev/null | head -1 | cut -d: -f1)
l_start=$(grep -n "deb-systemd-invoke .*'fleet-master.service'" "$pi" 2>/dev/null | head -1 | cut -d: -f1)
if [ -n "$l_sysusers" ] && [ -n "$l_tmpfiles" ] && [ -n "$l_start" ] \
    && [ "$l_sysusers" -lt "$l_tmpfiles" ] && [ "$l_tmpfiles" -lt "$l_start" ]; then
    ok "fleet-master postinst: sysusers, then tmpfiles, then start"
else
    fail "fleet-master postinst: sysusers, then tmpfiles, then start" \
        "lines ${l_sysusers:-none}, ${l_tmpfiles:-none}, ${l_start:-none}"
fi
check "fleet-master postinst enables the unit" grep -q "deb-systemd-helper enable 'fleet-master.service'" "$pi"
pi=$ctl/minion/postinst
check "fleet-minion postinst enables the unit" grep -q "deb-systemd-helper enable 'fleet-minion.service'" "$pi"
check "fleet-minion postinst restarts a running minion on upgrade" grep -q 'try-restart fleet-minion.service' "$pi"
if grep -q '_dh_action=start' "$pi"; then
    fail "fleet-minion is not started on a fresh install (no minion.yaml yet)"
else
    ok "fleet-minion is not started on a fresh install (no minion.yaml yet)"
fi
for s in "$ctl"/master/* "$ctl"/minion/*; do
    case $(basename "$s") in postinst | postrm | prerm | preinst)
        check "$(basename "$(dirname "$s")") $(basename "$s") is valid sh" sh -n "$s" ;;
    esac
done

# ---- the user and the state directory ----------------------------------------
if command -v systemd-sysusers >/dev/null; then
    if out=$(systemd-sysusers --root="$root" fleet.conf 2>&1); then
        ok "systemd-sysusers --root creates the user"
    else
        fail "systemd-sysusers --root creates the user" "$out"
    fi
    pw=$(grep '^fleet:' "$root/etc/passwd" 2>/dev/null)
    uid=$(cut -d: -f3 <<<"$pw")
    if [ -n "$pw" ] && [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] \
        && [ "$(cut -d: -f6 <<<"$pw")" = /var/lib/fleet ] \
        && [[ $(cut -d: -f7 <<<"$pw") == */nologin ]]; then
        ok "user fleet: system uid $uid, home /var/lib/fleet, no login shell"
    else
        fail "user fleet: system uid, home /var/lib/fleet, no login shell" "passwd: '$pw'"
    fi
    check "group fleet" grep -q '^fleet:' "$root/etc/group"
    if command -v systemd-tmpfiles >/dev/null; then
        if out=$(systemd-tmpfiles --root="$root" --create fleet.conf 2>&1); then
            ok "systemd-tmpfiles --root creates the state directory"
        else
            fail "systemd-tmpfiles --root creates the state directory" "$out"
        fi
        got=$(stat -c '%a %u' "$root/var/lib/fleet" 2>/dev/null)
        if [ "$got" = "700 $uid" ]; then
            ok "/var/lib/fleet 700, owned by fleet"
        else
            fail "/var/lib/fleet 700, owned by fleet (uid $uid)" "is '${got:-missing}'"
        fi
    else
        fail "systemd-tmpfiles is installed (package systemd)"
    fi
else
    fail "systemd-sysusers is installed (package systemd)"
fi

# ---- unit files ----------------------------------------------------------------
u=lib/systemd/system/fleet-master.service
for line in "ExecStart=/usr/bin/fleet-master -c /etc/fleet/master.yaml --syslog" \
    User=fleet Group=fleet RuntimeDirectory=fleet ReadWritePaths=/var/lib/fleet \
    ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes PrivateDevices=yes \
    CapabilityBoundingSet= Restart=on-failure WantedBy=multi-user.target; do
    check_line "$u" "$line"
done
u=lib/systemd/system/fleet-minion.service
for line in "ExecStart=/usr/bin/fleet-minion --auto -c /etc/fleet/minion.yaml --syslog" \
    After=network-online.target Wants=network-online.target Restart=on-failure RestartSec=5 \
    StateDirectory=fleet-minion WantedBy=multi-user.target; do
    check_line "$u" "$line"
done
if grep -q '^User=' "$root/$u"; then fail "fleet-minion runs as root (no User=)"; else ok "fleet-minion runs as root (no User=)"; fi
# The minion's default cache_dir is the unit's state directory.
if "$root/usr/bin/fleet-minion" --help-config 2>/dev/null | grep -q '/var/lib/fleet-minion' \
    || grep -q '"/var/lib/fleet-minion"' "$(dirname "$0")/../../minion/fl_minion.c" 2>/dev/null; then
    ok "minion cache_dir default is /var/lib/fleet-minion (StateDirectory)"
else
    fail "minion cache_dir default is /var/lib/fleet-minion (StateDirectory)"
fi

if command -v systemd-analyze >/dev/null; then
    # verify wants ExecStart's binary on the host: point it into the root.
    mkdir -p "$root/units"
    for n in fleet-master fleet-minion; do
        sed "s|^ExecStart=/usr/bin/|ExecStart=$root/usr/bin/|" "$root/lib/systemd/system/$n.service" \
            >"$root/units/$n.service"
        out=$(cd "$root/units" && systemd-analyze verify "$root/units/$n.service" 2>&1)
        if [ -z "$out" ]; then ok "systemd-analyze verify $n.service"; else fail "systemd-analyze verify $n.service" "$out"; fi
    done
    score=$(systemd-analyze security --offline=yes "$root/units/fleet-master.service" 2>/dev/null \
        | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
        ok "fleet-master exposure $score (systemd-analyze security, at most 2.0)"
    else
        fail "fleet-master exposure at most 2.0 (systemd-analyze security)" "${score:-no score}"
    fi
fi

# ---- the minion's upgrade: by hand, and by a fleet job --------------------------
# The postinst as dpkg runs it on a live system (no DPKG_ROOT, systemd up),
# chrooted in the root with the stubs.
mkdir -p "$root/run/systemd/system"
upgrade() {  # upgrade [ENV...]: the minion's postinst for an upgrade from 0.0.9
    : >"$root/stub.log"
    chroot "$root" /bin/busybox env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@" \
        /bin/sh /var/lib/dpkg/info/fleet-minion.postinst configure 0.0.9 >/dev/null 2>&1
}
if upgrade && grep -qx "systemctl daemon-reload" "$root/stub.log" \
    && grep -qx 'deb-systemd-invoke try-restart fleet-minion.service' "$root/stub.log" \
    && ! grep -q '^systemd-run' "$root/stub.log"; then
    ok "upgrade by hand: daemon-reload, then the minion restarts at once"
else
    fail "upgrade by hand: the minion restarts at once" "$(cat "$root/stub.log")"
fi
if upgrade FLEET_WORKER_PID=4242 FLEET_JID=20261125 \
    && grep -q '^systemd-run --quiet --collect --unit=fleet-minion-restart-4242 /bin/sh -c while kill -0 4242 ' "$root/stub.log" \
    && ! grep -q '^deb-systemd-invoke' "$root/stub.log"; then
    ok "upgrade by a fleet job: the restart waits for the job's worker, outside the minion's cgroup"
else
    fail "upgrade by a fleet job: the restart waits for the job's worker" "$(cat "$root/stub.log")"
fi
if upgrade 'FLEET_WORKER_PID=1; reboot' && grep -qx 'deb-systemd-invoke try-restart fleet-minion.service' "$root/stub.log"; then
    ok "a FLEET_WORKER_PID that is not a number is not used"
else
    fail "a FLEET_WORKER_PID that is not a number is not used" "$(cat "$root/stub.log")"
fi
rm -rf "$root/run/systemd"

# ---- purge ------------------------------------------------------------------------
: >"$root/stub.log"
if out=$("${dpkg_root[@]}" --purge fleet-master fleet-minion 2>&1); then
    ok "dpkg --root --purge both packages"
else
    fail "dpkg --root --purge both packages" "$(tail -8 <<<"$out")"
fi
left=""
for f in usr/bin/fleet-master usr/bin/fleetctl usr/bin/fleet-minion etc/fleet/master.yaml \
         lib/systemd/system/fleet-master.service lib/systemd/system/fleet-minion.service \
         usr/lib/sysusers.d/fleet.conf usr/lib/tmpfiles.d/fleet.conf; do
    [ -e "$root/$f" ] && left="$left $f"
done
if [ -z "$left" ]; then ok "purge removes the files and the conffile"; else fail "purge removes the files and the conffile" "left:$left"; fi
check "purge disables both units" grep -q 'deb-systemd-helper purge fleet-minion.service' "$root/stub.log"

echo "test_deb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
