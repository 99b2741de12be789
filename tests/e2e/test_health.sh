# test_health.sh: presence (up, lost, back), device classes, beacons within
# a budget, water marks without flapping, events, the MQTT bridge.
# shellcheck shell=bash

presence_state() {  # presence_state ID: up, lost, never, revoked
    fl_ctl --json status "$1" 2>/dev/null | sed -n 's/.*"state": "\([a-z]*\)".*/\1/p' | head -1
}

# A minion that pings every second.
fast_minion() {
    fl_issue "$@"
    sed -i 's/^heartbeat: .*/heartbeat: 1/' "$T/$1/minion.yaml"
    fl_start "$1" "$FLEET_BIN/fleet-minion" -c "$T/$1/minion.yaml"
    fl_wait_for 10 fl_connected "$1"
}

t_silent_minion_is_lost_then_back() {
    fl_master_setup "lost_after: 3"
    fast_minion pi-1
    fl_wait_for 10 sh -c "'$FLEETCTL' --socket '$T/master.sock' --json status pi-1 | grep -q '\"state\": \"up\"'"
    kill -STOP "$(fl_pid pi-1)"
    fl_wait_for 20 sh -c "'$FLEETCTL' --socket '$T/master.sock' --json status pi-1 | grep -q '\"state\": \"lost\"'"
    out=$(fl_ctl status --lost) && rc=0 || rc=$?
    assert_eq 1 "$rc" "status exit when a device is lost"
    assert_contains "$out" "pi-1"
    assert_contains "$out" "1 minions: 0 up, 1 lost"
    kill -CONT "$(fl_pid pi-1)"
    fl_wait_for 20 sh -c "'$FLEETCTL' --socket '$T/master.sock' --json status pi-1 | grep -q '\"state\": \"up\"'"
    out=$(fl_ctl events --tag 'fleet/minion/pi-1/*' --last 10 --count 3)
    assert_contains "$out" "fleet/minion/pi-1/up"
    # in order: up, then lost, then back
    order=$(echo "$out" | awk '{print $2}' | tr '\n' ' ')
    assert_eq "fleet/minion/pi-1/up fleet/minion/pi-1/lost fleet/minion/pi-1/back " "$order" "event order"
    out=$(fl_ctl availability pi-1 --since 1h)
    assert_contains "$out" "pi-1"
}

t_device_classes_have_their_own_thresholds() {
    fl_master_setup "lost_after: 2"$'\n'"presence: [{target: 'G@class:sensor', lost_after: 3600}]"
    fast_minion sensor-1 --grain class=sensor
    fast_minion gw-1 --grain class=gateway
    kill -STOP "$(fl_pid sensor-1)" "$(fl_pid gw-1)"
    fl_wait_for 20 sh -c "'$FLEETCTL' --socket '$T/master.sock' --json status gw-1 | grep -q '\"state\": \"lost\"'"
    assert_eq "up" "$(presence_state sensor-1)" "a sensor that wakes hourly is not lost yet"
    assert_contains "$(fl_ctl --json status sensor-1)" '"lost_after": 3600'
    kill -CONT "$(fl_pid sensor-1)" "$(fl_pid gw-1)"
}

# A device root whose /proc the test controls: beacons read it.
fake_proc_root() {  # fake_proc_root DIR USED_PERCENT
    mkdir -p "$1/proc"
    printf '0.10 0.20 0.30 1/100 1234\n' >"$1/proc/loadavg"
    printf 'cpu  100 0 100 800 0 0 0 0 0 0\n' >"$1/proc/stat"
    set_memory "$1" "$2"
    printf 'Inter-|   Receive\n face |bytes\n' >"$1/proc/net_dev_placeholder"
}

set_memory() {  # set_memory DIR USED_PERCENT: MemAvailable of 1000000 kB total
    local avail=$(( (100 - $2) * 10000 ))
    printf 'MemTotal:       1000000 kB\nMemFree:        %d kB\nMemAvailable:   %d kB\n' \
        "$avail" "$avail" >"$1/proc/meminfo.tmp"
    mv "$1/proc/meminfo.tmp" "$1/proc/meminfo"
}

beacon_minion() {  # beacon_minion ID USED_PERCENT
    fl_issue "$1"
    fake_proc_root "$T/root-$1" "$2"
    cat >>"$T/$1/minion.yaml" <<YAML
root_dir: $T/root-$1
beacons:
  memory: {interval: 1}
  cpu: {interval: 1}
  disk: {enabled: false}
  network: {enabled: false}
  processes: {enabled: false}
  process_list: {enabled: false}
  temperature: {enabled: false}
YAML
    fl_start "$1" "$FLEET_BIN/fleet-minion" -c "$T/$1/minion.yaml"
    fl_wait_for 10 fl_connected "$1"
}

t_beacons_arrive_and_keep_within_the_budget() {
    fl_master_setup "beacon_budget_kb: 2"
    beacon_minion pi-1 50
    fl_wait_for 20 sh -c "'$FLEETCTL' --socket '$T/master.sock' beacons pi-1 --name memory | grep -q used_percent"
    out=$(fl_ctl --json beacons pi-1 --name memory)
    assert_contains "$out" '"used_percent": 50'
    # Samples keep coming; the oldest go to keep the store within 2 KiB.
    fl_wait_for 30 sh -c "[ \$('$FLEETCTL' --socket '$T/master.sock' --json stats | awk '/\"BEACONS_PRUNED\"/ { getline; gsub(/[^0-9]/, \"\"); print; exit }') -gt 0 ]"
    bytes=$(sqlite3 "$T/master/fleet.db" "SELECT sum(bytes) FROM beacons")
    [ "$bytes" -le 2048 ] || fl_fail "beacons use $bytes bytes, over the 2 KiB budget"
}

t_water_mark_alarms_once_and_clears_once() {
    fl_master_setup "watermarks: [{beacon: memory, field: used_percent, high: 90, low: 80}]"
    beacon_minion pi-1 50
    fl_wait_for 20 sh -c "'$FLEETCTL' --socket '$T/master.sock' beacons pi-1 --name memory | grep -q used_percent"
    # Above high: one alarm; noise around the high mark raises no second one.
    for pct in 95 91 89 93 88 92; do
        set_memory "$T/root-pi-1" "$pct"
        fl_wait_for 10 sh -c "'$FLEETCTL' --socket '$T/master.sock' --json beacons pi-1 --name memory --limit 1 | grep -q '\"used_percent\": $pct'"
    done
    assert_contains "$(fl_ctl status pi-1)" "memory:used_percent" "the alarm shows in status"
    # Back below low: cleared once.
    set_memory "$T/root-pi-1" 70
    fl_wait_for 10 sh -c "'$FLEETCTL' --socket '$T/master.sock' --json beacons pi-1 --name memory --limit 1 | grep -q '\"used_percent\": 70'"
    set_memory "$T/root-pi-1" 75
    fl_wait_for 10 sh -c "'$FLEETCTL' --socket '$T/master.sock' --json beacons pi-1 --name memory --limit 1 | grep -q '\"used_percent\": 75'"
    out=$(fl_ctl events --tag 'fleet/beacon/pi-1/*' --last 100 --count 2)
    assert_eq 1 "$(echo "$out" | grep -c '/alarm ')" "alarms"
    assert_eq 1 "$(echo "$out" | grep -c '/clear ')" "clears"
    assert_not_contains "$(fl_ctl status pi-1)" "memory:used_percent" "cleared in status"
}

t_garbage_beacons_are_refused_and_counted() {
    fl_master_setup
    fl_issue raw-1
    before=$(sqlite3 "$T/master/fleet.db" "SELECT count(*) FROM beacons")
    n0=$(fl_counter BAD_BEACON)
    out=$(fl_raw --key "$T/raw-1/minion.key" --id raw-1 --cert "$T/raw-1/minion.crt" --wait 700 bad-beacons)
    n1=$(fl_counter BAD_BEACON)
    [ "$n1" -ge $((n0 + 4)) ] || fl_fail "BAD_BEACON grew from $n0 to $n1 only"
    assert_eq "$before" "$(sqlite3 "$T/master/fleet.db" "SELECT count(*) FROM beacons")" "beacons stored"
    assert_alive master
}

t_mqtt_bridge_survives_a_broker_restart() {
    command -v mosquitto >/dev/null || fl_fail "mosquitto is not installed"
    port=$(( 18000 + RANDOM % 2000 ))
    mkdir -p "$T/mq"
    printf 'listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n' \
        "$port" "$T/mq" >"$T/mq/mosquitto.conf"
    fl_start broker mosquitto -c "$T/mq/mosquitto.conf"
    fl_wait_for 10 sh -c "mosquitto_pub -h 127.0.0.1 -p $port -t probe -m x"
    # A persistent subscriber session (QoS 1): what the broker holds for it
    # survives the broker's restart.
    fl_start sub mosquitto_sub -h 127.0.0.1 -p "$port" -t 'fleet/#' -q 1 -c -i fleet-test-sub -v
    fl_master_setup "mqtt: {url: 'mqtt://127.0.0.1:$port', topic_prefix: fleet}"
    fl_minion pi-1
    fl_ctl run pi-1 test.ping >/dev/null
    fl_wait_for 20 grep -q "job/.*/ret/pi-1" "$T/sub.log"
    # The broker goes away; events happen meanwhile; the broker comes back.
    fl_stop_pid "$(fl_pid broker)"
    for i in 1 2 3; do fl_ctl run pi-1 test.echo "during-$i" >/dev/null; done
    fl_start broker mosquitto -c "$T/mq/mosquitto.conf"
    fl_wait_for 60 sh -c "[ \$(grep -c '/ret/pi-1' '$T/sub.log') -ge 4 ]"
    jobs=$(sqlite3 "$T/master/fleet.db" "SELECT jid FROM jobs WHERE fun = 'test.echo'")
    for jid in $jobs; do
        assert_contains "$(cat "$T/sub.log")" "job/$jid/ret/pi-1" "event of job $jid"
    done
}

t_locate_blinks_the_led_and_restores_it() {
    fl_master_setup
    fl_issue pi-1
    led=$T/root-pi-1/sys/class/leds/status
    mkdir -p "$led"
    echo "none [mmc0] timer heartbeat" >"$led/trigger"
    echo 0 >"$led/brightness"
    printf 'root_dir: %s\nlocate: {led: status}\n' "$T/root-pi-1" >>"$T/pi-1/minion.yaml"
    fl_start pi-1 "$FLEET_BIN/fleet-minion" -c "$T/pi-1/minion.yaml"
    fl_wait_for 10 fl_connected pi-1
    fl_ctl locate pi-1 --seconds 3 >"$T/locate.out" 2>&1 &
    locate_pid=$!
    fl_wait_for 10 grep -qx timer "$led/trigger"
    # Other jobs go on while the device blinks.
    assert_contains "$(fl_ctl run pi-1 test.ping)" "True"
    wait "$locate_pid" || fl_fail "locate failed: $(cat "$T/locate.out")"
    assert_eq "mmc0" "$(cat "$led/trigger")" "trigger restored"
    assert_contains "$(cat "$T/locate.out")" "restored:"
    # It can be asked again.
    out=$(fl_ctl run pi-1 system.locate 1 2>&1) || true
    assert_contains "$out" "restored" "the configured LED works repeatedly"
}
