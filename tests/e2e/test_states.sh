# test_states.sh: the state engine end to end.  The example tree of states/
# in a git repository, applied to minions that manage a root_dir each, with
# a runit supervisor and a dpkg database of their own.
# shellcheck shell=bash

# A device root: the files the states manage and read live under it.
make_root() {
    local root=$1
    mkdir -p "$root/etc/sv" "$root/etc/service" "$root/var/lib/dpkg/info" \
        "$root/var/lib/dpkg/updates" "$root/var/log" "$root/home"
    : >"$root/var/lib/dpkg/status"
    : >"$root/var/lib/dpkg/available"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\n' >"$root/etc/group"
    printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
    printf 'root:*::\n' >"$root/etc/gshadow"
    chmod 600 "$root/etc/shadow" "$root/etc/gshadow"
    fl_start "runsvdir-$(basename "$root")" runsvdir -P "$root/etc/service"
    # At the end: services down (killed after a few seconds), then runsvdir
    # and its runsv processes (HUP; on TERM it would leave them running).
    ON_TEARDOWN+=("sv -w 3 force-shutdown '$root'/etc/service/*")
    HUP_PIDS+=($(fl_pid "runsvdir-$(basename "$root")"))
}

# A tiny .deb, built here, as the runtime package.
make_deb() {
    local dir=$T/deb
    mkdir -p "$dir/DEBIAN" "$dir/usr/share/fleet-runtime"
    printf 'Package: fleet-runtime\nVersion: 1.0\nArchitecture: all\nMaintainer: fleet tests <t@fleet.invalid>\nDescription: test runtime\n' \
        >"$dir/DEBIAN/control"
    echo "runtime 1.0" >"$dir/usr/share/fleet-runtime/VERSION"
    dpkg-deb --root-owner-group --build "$dir" "$1" >/dev/null
}

# The example tree (states/tree) committed to a repository, and the example
# pillar with test values.
states_setup() {
    local src
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../states" && pwd)
    mkdir -p "$T/states"
    cp -r "$src/tree/." "$T/states/"
    mkdir -p "$T/states/runtime/pkgs"
    make_deb "$T/states/runtime/pkgs/fleet-runtime_1.0_all.deb"
    git -C "$T/states" init -q
    git -C "$T/states" -c user.name=t -c user.email=t@fleet.invalid add -A
    git -C "$T/states" -c user.name=t -c user.email=t@fleet.invalid commit -qm tree
    cp -r "$src/pillar" "$T/pillar"
    # Test values: a .deb from the tree, and a VPN "client" that just sleeps.
    sed -i 's|^  packages: \[\]|  sources:\n    - fleet-runtime: fleet://runtime/pkgs/fleet-runtime_1.0_all.deb|' "$T/pillar/common.sls"
    sed -i 's|^  endpoint: vpn.example.net:51820|  endpoint: vpn.example.net:51820\n  command: sleep 100000|' "$T/pillar/common.sls"
    fl_master_setup "state_dir: $T/states"$'\n'"pillar_dir: $T/pillar"
}

state_minion() {  # state_minion ID [--grain K=V ...]
    local id=$1
    make_root "$T/root-$id"
    fl_issue "$@"
    printf 'root_dir: %s\n' "$T/root-$id" >>"$T/$id/minion.yaml"
    fl_start "$id" "${FL_MINION[@]}" -c "$T/$id/minion.yaml"
    fl_wait_for 10 fl_connected "$id"
}

commit_tree() {
    git -C "$T/states" -c user.name=t -c user.email=t@fleet.invalid commit -qam "$1"
}

# Counts results in a --json apply: "changed" states, "failed" ones.
count_changed() { grep -c '"changes": {$' "$1" || true; }

t_apply_example_tree_then_nothing_changes() {
    states_setup
    state_minion pi-1 --grain channel=staging
    state_minion gw-1 --grain channel=live
    # Everything but the containers (test_containers.sh applies those).
    SLS=(base users network bus runtime vpn)
    out=$(fl_ctl apply '*' "${SLS[@]}" --timeout 60) || { echo "$out"; fl_fail "first apply failed"; }
    assert_contains "$out" "Summary for pi-1"
    assert_contains "$out" "Failed:    0"
    r=$T/root-pi-1
    assert_eq "Europe/Berlin" "$(cat "$r/etc/timezone")" "timezone"
    assert_contains "$(cat "$r/etc/default/locale")" "LANG=en_US.UTF-8"
    assert_contains "$(cat "$r/etc/motd")" "pi-1: managed by fleet (staging channel)"
    assert_eq 644 "$(stat -c %a "$r/etc/motd")" "motd mode"
    assert_contains "$(cat "$r/etc/passwd")" "operator:x:2000:"
    assert_contains "$(cat "$r/etc/network/interfaces.d/eth0")" "iface eth0 inet dhcp"
    assert_contains "$(cat "$r/etc/fleet-app/bus.conf")" "topic = fleet/staging/pi-1"
    assert_contains "$(cat "$T/root-gw-1/etc/fleet-app/bus.conf")" "topic = fleet/telemetry/gw-1" \
        "staging pillar only goes to staging minions"
    assert_eq 600 "$(stat -c %a "$r/etc/fleet-vpn/client.conf")" "vpn config mode"
    assert_contains "$(dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Status}' fleet-runtime)" "install ok installed"
    assert_eq "runtime 1.0" "$(cat "$r/usr/share/fleet-runtime/VERSION")"
    fl_wait_for 15 sh -c "sv status '$r/etc/service/fleet-vpn' | grep -q '^run:'"
    # The second run changes nothing.
    fl_ctl --json apply '*' "${SLS[@]}" --timeout 60 >"$T/second.json" || { cat "$T/second.json"; fl_fail "second apply failed"; }
    assert_eq 0 "$(count_changed "$T/second.json")" "states changed by the second apply"
    jid=$(sed -n 's/^  "jid": "\([0-9]*\)".*/\1/p' "$T/second.json")
    assert_contains "$(fl_ctl job "$jid")" "commit:   $(git -C "$T/states" rev-parse HEAD)"
}

t_test_mode_changes_nothing_and_a_watched_file_restarts_the_service() {
    states_setup
    state_minion pi-1 --grain channel=staging
    fl_ctl apply pi-1 base users network bus runtime vpn --timeout 60 >/dev/null
    r=$T/root-pi-1
    fl_wait_for 15 sh -c "sv status '$r/etc/service/fleet-vpn' | grep -q '^run:'"
    pid1=$(sv status "$r/etc/service/fleet-vpn" | sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p')
    # New VPN endpoint in pillar: --test shows it and changes nothing.
    sed -i 's|vpn.example.net:51820|vpn2.example.net:51820|' "$T/pillar/common.sls"
    before=$(cat "$r/etc/fleet-vpn/client.conf")
    out=$(fl_ctl apply pi-1 vpn --test --timeout 60) && rc=0 || rc=$?
    assert_contains "$out" "Result: None"
    assert_contains "$out" "vpn2.example.net"
    assert_eq "$before" "$(cat "$r/etc/fleet-vpn/client.conf")" "config after --test"
    # For real: the file changes and the service restarts.
    out=$(fl_ctl apply pi-1 vpn --timeout 60)
    assert_contains "$(cat "$r/etc/fleet-vpn/client.conf")" "vpn2.example.net"
    assert_contains "$out" "Service restarted"
    fl_wait_for 15 sh -c "sv status '$r/etc/service/fleet-vpn' | grep -q '^run:'"
    pid2=$(sv status "$r/etc/service/fleet-vpn" | sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p')
    [ -n "$pid1" ] && [ -n "$pid2" ] && [ "$pid1" != "$pid2" ] || fl_fail "service not restarted ($pid1 -> $pid2)"
}

t_state_errors_name_file_line_column() {
    states_setup
    state_minion pi-1
    before=$(ls -R "$T/root-pi-1")
    # A YAML syntax error.
    printf 'broken:\n  file.managed:\n    - name: /x\n   - mode: 644\n' >"$T/states/broken.sls"
    git -C "$T/states" add broken.sls && commit_tree broken
    out=$(fl_ctl apply pi-1 broken 2>&1) && rc=0 || rc=$?
    assert_eq 1 "$rc"
    assert_contains "$out" "broken.sls:4:"
    # An undefined template variable.
    printf 'x:\n  file.managed:\n    - name: /x\n    - contents: {{ pillar.nosuch }}\n' >"$T/states/undef.sls"
    git -C "$T/states" add undef.sls && commit_tree undef
    out=$(fl_ctl apply pi-1 undef 2>&1) || true
    assert_contains "$out" "undef.sls:4:"
    assert_contains "$out" "nosuch"
    # A requisite cycle.
    printf 'a:\n  test.nop:\n    - require:\n      - test: b\nb:\n  test.nop:\n    - require:\n      - test: a\n' >"$T/states/cycle.sls"
    git -C "$T/states" add cycle.sls && commit_tree cycle
    out=$(fl_ctl apply pi-1 cycle 2>&1) || true
    assert_contains "$out" "requisite cycle"
    # Offline, the same check a state tree's own CI would run.
    printf 'id: pi-1\nos: Debian\n' >"$T/grains.yaml"
    out=$("$FLEETCTL" state show --states "$T/states" --grains "$T/grains.yaml" cycle 2>&1) && rc=0 || rc=$?
    assert_eq 2 "$rc"
    assert_contains "$out" "cycle.sls:"
    assert_eq "$before" "$(ls -R "$T/root-pi-1")" "nothing applied"
    assert_alive master
    assert_alive pi-1
}

t_file_server_refuses_traversal_and_other_jobs() {
    states_setup
    fl_issue raw-1
    # The raw peer enrols, waits for its state job, and probes the server.
    "$FLEET_BIN/fl-rawpeer" --endpoint "$ENDPOINT" --master-pub "$T/master/master.pub" \
        --key "$T/raw-1/minion.key" --id raw-1 --cert "$T/raw-1/minion.crt" --wait 700 \
        file-probe >"$T/probe.out" 2>&1 &
    PIDS+=($!)
    fl_wait_for 10 fl_connected raw-1
    n0=$(fl_counter FILE_REFUSED)
    fl_ctl apply raw-1 base --timeout 8 >/dev/null 2>&1 || true
    fl_wait_for 20 grep -q "reply file" "$T/probe.out"
    fl_wait_for 20 sh -c "grep -c '^\\(error\\|served\\)' '$T/probe.out' | grep -q 7"
    out=$(cat "$T/probe.out")
    assert_contains "$out" $'probe fleet://../master.yaml\nreply file\nerror'
    assert_contains "$out" $'probe fleet:///etc/passwd\nreply file\nerror'
    assert_contains "$out" $'probe salt://a/../../etc/passwd\nreply file\nerror'
    assert_contains "$out" $'probe http://example.net/x\nreply file\nerror'
    assert_contains "$out" "served fleet://base/motd.j2"
    n1=$(fl_counter FILE_REFUSED)
    [ "$n1" -ge $((n0 + 5)) ] || fl_fail "FILE_REFUSED grew only from $n0 to $n1"
    assert_alive master
}

t_pillar_goes_only_to_targeted_minions() {
    states_setup
    # A secret for pi-1 alone.
    printf 'secret: only-for-pi-1\n' >"$T/pillar/secret.sls"
    printf "  'pi-1':\n    - secret\n" >>"$T/pillar/top.sls"
    printf 's:\n  file.managed:\n    - name: /etc/secret\n    - contents: {{ pillar.get("secret", "none") }}\n' >"$T/states/secret.sls"
    git -C "$T/states" add secret.sls && commit_tree secret
    state_minion pi-1
    state_minion pi-2
    fl_ctl apply '*' secret --timeout 30 >/dev/null
    assert_eq "only-for-pi-1" "$(cat "$T/root-pi-1/etc/secret")"
    assert_eq "none" "$(cat "$T/root-pi-2/etc/secret")"
    out=$(fl_ctl --json state show pi-2 secret)
    assert_not_contains "$out" "only-for-pi-1"
}
