# test_autojoin.sh: a device image carrying its factory bundle joins by
# itself at first boot; a wrong or missing bundle is named in the log and
# retried without spinning.
# shellcheck shell=bash

# first_boot ID: a "device" whose root file system is $T/img-ID.
first_boot() {
    local id=$1 img=$T/img-$1
    fl_start "$id" "$FLEET_BIN/fleet-minion" --auto -c "$img/etc/fleet/minion.yaml" \
        --bundle-dir "$img/etc/fleet/bundle" --bundle-dir "$img/boot/fleet-bundle" \
        --state-dir "$img/var/lib/fleet-minion"
}

image_bundle() {  # image_bundle ID: the factory writes the bundle into the image
    "$FLEETCTL" pki issue "$1" --root "$T/pki" --master-pub "$T/master/master.pub" \
        --master "$ENDPOINT" --image "$T/img-$1" >/dev/null
    printf 'reconnect_min_ms: 100\nreconnect_max_ms: 1000\n' >>"$T/img-$1/etc/fleet/bundle/minion.yaml"
}

t_device_joins_at_first_boot_from_its_image() {
    fl_master_setup
    image_bundle pi-1
    img=$T/img-pi-1
    first_boot pi-1
    fl_wait_for 15 fl_connected pi-1
    assert_eq 700 "$(stat -c %a "$img/var/lib/fleet-minion")" "state directory mode"
    assert_eq 600 "$(stat -c %a "$img/var/lib/fleet-minion/minion.key")" "installed key mode"
    [ ! -e "$img/etc/fleet/bundle/minion.key" ] || fl_fail "the key was left in the bundle"
    assert_contains "$(cat "$img/etc/fleet/minion.yaml")" "key: $img/var/lib/fleet-minion/minion.key"
    assert_contains "$(cat "$img/etc/fleet/minion.yaml")" "reconnect_min_ms: 100" "the bundle's own settings carried over"
    assert_contains "$(fl_ctl run pi-1 test.ping)" "True"
    # The next boot starts from the installed configuration.
    fl_stop_pid "$(fl_pid pi-1)"
    first_boot pi-1
    fl_wait_for 15 grep -q "accepted by the master" "$T/pi-1.log"
}

t_bad_or_missing_bundles_are_named_and_retried_without_spinning() {
    fl_master_setup
    # No bundle at all.
    mkdir -p "$T/img-pi-0"
    first_boot pi-0
    fl_wait_for 10 grep -q "no factory bundle" "$T/pi-0.log"
    # A key readable by others (a carelessly built image).
    image_bundle pi-2
    chmod 644 "$T/img-pi-2/etc/fleet/bundle/minion.key"
    first_boot pi-2
    fl_wait_for 10 grep -q "readable by others (mode 0644)" "$T/pi-2.log"
    # A certificate for another device.
    image_bundle pi-3
    image_bundle pi-4
    cp "$T/img-pi-4/etc/fleet/bundle/minion.crt" "$T/img-pi-3/etc/fleet/bundle/minion.crt"
    first_boot pi-3
    fl_wait_for 10 grep -q "the certificate is for 'pi-4'" "$T/pi-3.log"
    # They wait: alive, asleep, each reason said once, nothing installed.
    sleep 3
    for id in pi-0 pi-2 pi-3; do
        assert_alive "$id"
        assert_eq 1 "$(grep -c 'trying again' "$T/$id.log")" "$id: log lines while waiting"
        [ ! -e "$T/img-$id/etc/fleet/minion.yaml" ] || fl_fail "$id: a configuration was written"
    done
    assert_not_contains "$(fl_ctl key list)" "pi-2"
    # Fixed on the device: it joins at its next try (10 s later).
    chmod 600 "$T/img-pi-2/etc/fleet/bundle/minion.key"
    fl_wait_for 25 fl_connected pi-2
}

t_bundle_for_another_master_or_fleet_is_named_and_retried_quietly() {
    fl_master_setup
    # Another master's key in the bundle: the handshake cannot succeed.
    printf 'listen: tcp://127.0.0.1:*\ndata_dir: %s\nsocket: %s\n' "$T/other" "$T/other.sock" >"$T/other.yaml"
    "$FLEET_BIN/fleet-master" -c "$T/other.yaml" --init >/dev/null
    "$FLEETCTL" pki issue pi-5 --root "$T/pki" --master-pub "$T/other/master.pub" \
        --master "$ENDPOINT" --image "$T/img-pi-5" >/dev/null
    printf 'reconnect_min_ms: 100\nreconnect_max_ms: 200\n' >>"$T/img-pi-5/etc/fleet/bundle/minion.yaml"
    first_boot pi-5
    # A certificate from another fleet's root: the master refuses it.
    "$FLEETCTL" pki init "$T/pki-other" >/dev/null
    "$FLEETCTL" pki issue pi-6 --root "$T/pki-other" --master-pub "$T/master/master.pub" \
        --master "$ENDPOINT" --image "$T/img-pi-6" >/dev/null
    printf 'reconnect_min_ms: 100\nreconnect_max_ms: 200\nacceptance_wait: 1\n' >>"$T/img-pi-6/etc/fleet/bundle/minion.yaml"
    first_boot pi-6
    fl_wait_for 10 grep -q "does not hold the key in .*master.pub (a bundle for another master?)" "$T/pi-5.log"
    fl_wait_for 10 grep -q "the master refused this minion: .*certificate" "$T/pi-6.log"
    # Each keeps trying (some 20 and 5 tries in these 5 s), and the log grows
    # with the logarithm of the tries, not a line per try.
    sleep 5
    for id in pi-5 pi-6; do
        assert_alive "$id"
        n=$(grep -c "attempt" "$T/$id.log")
        [ "$n" -ge 2 ] && [ "$n" -le 7 ] || fl_fail "$id: $n failure lines in the log: $(cat "$T/$id.log")"
    done
    assert_not_contains "$(fl_ctl key list)" "pi-6"
    assert_not_contains "$(fl_ctl key list)" "pi-5"
}
