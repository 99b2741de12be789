# test_arm.sh: an ARM minion under emulation.  `make check-arm` sets
# FL_MINION_CMD to the armhf build run by qemu-user (and QEMU_LD_PREFIX to
# its Debian root); the master and fleetctl are the native builds.  Without
# FL_MINION_CMD, run.sh leaves these tests out.
# shellcheck shell=bash

t_arm_minion_enrols_with_its_bundle_and_applies_the_example_tree() {
    states_setup
    # Enrols by itself: the factory certificate, no operator action.
    state_minion pi-arm --grain channel=staging
    out=$(fl_ctl run pi-arm grains.get cpuarch) || fl_fail "grains.get failed: $out"
    echo "$out"
    case $out in *armv7l* | *armv8l* | *aarch64*) ;; *) fl_fail "the minion does not run as ARM: $out" ;; esac

    SLS=(base users network bus runtime vpn)
    out=$(fl_ctl apply pi-arm "${SLS[@]}" --timeout 120) || { echo "$out"; fl_fail "first apply failed"; }
    assert_contains "$out" "Failed:    0"
    r=$T/root-pi-arm
    assert_contains "$(cat "$r/etc/motd")" "pi-arm: managed by fleet (staging channel)"
    assert_eq 644 "$(stat -c %a "$r/etc/motd")" "motd mode"
    assert_contains "$(cat "$r/etc/passwd")" "operator:x:2000:"
    assert_contains "$(cat "$r/etc/fleet-app/bus.conf")" "topic = fleet/staging/pi-arm"
    assert_eq 600 "$(stat -c %a "$r/etc/fleet-vpn/client.conf")" "vpn config mode"
    assert_contains "$(dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Status}' fleet-runtime)" "install ok installed"
    fl_wait_for 30 sh -c "sv status '$r/etc/service/fleet-vpn' | grep -q '^run:'"

    fl_ctl --json apply pi-arm "${SLS[@]}" --timeout 120 >"$T/second.json" || { cat "$T/second.json"; fl_fail "second apply failed"; }
    assert_eq 0 "$(count_changed "$T/second.json")" "states changed by the second apply"
}
