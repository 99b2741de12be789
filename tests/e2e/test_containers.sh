# test_containers.sh: grain-selected images from a registry, run through the
# Docker Engine API (podman's compatible service).  One registry; each
# device has its own engine, as real devices do.
# shellcheck shell=bash

ENGINE_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/engine.sh
REG_PORT=5340

engine() { "$ENGINE_SH" "$@"; }

# The registry (and a build engine) in $T/reg, with app:staging and app:live.
containers_setup() {
    REG_PORT=$(( 5340 + RANDOM % 500 ))
    engine start "$T/reg" "$REG_PORT" >/dev/null
    ON_TEARDOWN+=("'$ENGINE_SH' stop '$T/reg'")
    engine image "$T/reg" app:staging v1 >/dev/null
    engine image "$T/reg" app:live v1 >/dev/null
    local src
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../states" && pwd)
    mkdir -p "$T/states"
    cp -r "$src/tree/." "$T/states/"
    git -C "$T/states" init -q
    git -C "$T/states" -c user.name=t -c user.email=t@fleet.invalid add -A
    git -C "$T/states" -c user.name=t -c user.email=t@fleet.invalid commit -qm tree
    cp -r "$src/pillar" "$T/pillar"
    # The example's registry is this test's; the RFID reader is /dev/null.
    sed -i "s|registry.example.net|127.0.0.1:$REG_PORT|" "$T/pillar"/channel_*.sls
    sed -i 's|^rfid_device: .*|rfid_device: /dev/null|' "$T/pillar/common.sls"
    fl_master_setup "state_dir: $T/states"$'\n'"pillar_dir: $T/pillar"
}

# container_minion ID CHANNEL: a device with its own engine.
container_minion() {
    local id=$1 sock
    sock=$(engine engine "$T/eng-$id" "$REG_PORT")
    ON_TEARDOWN+=("'$ENGINE_SH' stop '$T/eng-$id'")
    fl_issue "$id" --grain channel="$2"
    mkdir -p "$T/root-$id"
    printf 'root_dir: %s\ncontainer_socket: %s\n' "$T/root-$id" "$sock" >>"$T/$id/minion.yaml"
    fl_start "$id" "$FLEET_BIN/fleet-minion" -c "$T/$id/minion.yaml"
    fl_wait_for 10 fl_connected "$id"
}

# What a device's engine runs: the image reference and the word baked into it.
running_image() { engine podman "$T/eng-$1" inspect fleetvalid-rfid --format '{{.ImageName}}'; }
running_word() { engine podman "$T/eng-$1" exec fleetvalid-rfid cat /etc/word; }
succeeded_line() {  # succeeded_line FILE ID: "Succeeded: N (changed=M)" of ID's summary
    awk -v id="$2" '$0 == "Summary for " id { f = 1 } f && /^Succeeded:/ { print; exit }' "$1"
}

t_channel_grain_selects_the_image_and_rollout_touches_only_staging() {
    containers_setup
    container_minion pi-1 staging
    container_minion pi-2 staging
    container_minion gw-1 live
    out=$(fl_ctl apply '*' app --timeout 120) || { echo "$out"; fl_fail "first apply failed"; }
    assert_eq "127.0.0.1:$REG_PORT/app:staging" "$(running_image pi-1)" "pi-1's image"
    assert_eq "127.0.0.1:$REG_PORT/app:staging" "$(running_image pi-2)" "pi-2's image"
    assert_eq "127.0.0.1:$REG_PORT/app:live" "$(running_image gw-1)" "gw-1's image"
    engine podman "$T/eng-pi-1" inspect fleetvalid-rfid --format '{{.Config.Env}}' >"$T/env"
    assert_contains "$(cat "$T/env")" "RCAGGREGATOR=aggregator:9091"
    # A new staging image behind the same tag: only the staging devices change.
    engine image "$T/reg" app:staging v2 >/dev/null
    fl_ctl apply '*' app --timeout 120 >"$T/rollout.out" || { cat "$T/rollout.out"; fl_fail "rollout failed"; }
    assert_eq "v2" "$(running_word pi-1)" "pi-1 after the rollout"
    assert_eq "v2" "$(running_word pi-2)" "pi-2 after the rollout"
    assert_eq "v1" "$(running_word gw-1)" "gw-1 after the rollout"
    assert_eq "Succeeded: 2 (changed=2)" "$(succeeded_line "$T/rollout.out" pi-1)" "pi-1 in the rollout"
    assert_eq "Succeeded: 2 (changed=2)" "$(succeeded_line "$T/rollout.out" pi-2)" "pi-2 in the rollout"
    assert_eq "Succeeded: 2" "$(succeeded_line "$T/rollout.out" gw-1)" "gw-1 in the rollout"
    assert_contains "$(cat "$T/rollout.out")" "old:" "old and new image ids in the changes"
    # A third apply changes nothing anywhere.
    fl_ctl apply '*' app --timeout 120 >"$T/third.out" || { cat "$T/third.out"; fl_fail "third apply failed"; }
    for id in pi-1 pi-2 gw-1; do
        assert_eq "Succeeded: 2" "$(succeeded_line "$T/third.out" "$id")" "$id in the third apply"
    done
}

t_container_bad_input_fails_the_state_not_the_minion() {
    containers_setup
    container_minion pi-1 staging
    cat >"$T/states/bad.sls" <<YAML
marker:
  file.managed:
    - name: /etc/marker
    - contents: still applied
    - makedirs: True
missing-image:
  docker_image.present:
    - name: 127.0.0.1:$REG_PORT/app:nosuchtag
refused-registry:
  docker_image.present:
    - name: 127.0.0.1:1/app:live
bad-bind:
  docker_container.running:
    - image: 127.0.0.1:$REG_PORT/app:staging
    - binds:
      - nocolon
YAML
    git -C "$T/states" add bad.sls
    git -C "$T/states" -c user.name=t -c user.email=t@fleet.invalid commit -qm bad
    fl_ctl apply pi-1 app --timeout 120 >/dev/null   # the staging image is present
    out=$(fl_ctl apply pi-1 bad --timeout 120 2>&1) && rc=0 || rc=$?
    assert_eq 1 "$rc" "exit status"
    assert_contains "$out" $'ID: marker\n    Function: file.managed\n        Name: /etc/marker\n      Result: True'
    assert_contains "$out" $'ID: missing-image'
    assert_contains "$out" $'ID: bad-bind'
    assert_contains "$out" "Failed:    3"
    assert_eq "still applied" "$(cat "$T/root-pi-1/etc/marker")"
    # An engine that is not there.
    sed -i "s|^container_socket: .*|container_socket: $T/nothing.sock|" "$T/pi-1/minion.yaml"
    fl_stop_pid "$(fl_pid pi-1)"
    fl_start pi-1 "$FLEET_BIN/fleet-minion" -c "$T/pi-1/minion.yaml"
    # The master learns of the old connection's end only when a send fails:
    # wait for the new process to be welcomed.
    fl_wait_for 10 grep -q "accepted by the master" "$T/pi-1.log"
    out=$(fl_ctl apply pi-1 app --timeout 60 2>&1) && rc=0 || rc=$?
    assert_eq 1 "$rc"
    assert_contains "$out" "nothing.sock"
    assert_alive pi-1
    assert_contains "$(fl_ctl run pi-1 test.ping)" "True" "the minion still answers"
}
