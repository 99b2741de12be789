# test_swarm.sh: fleet-swarm (tests/swarm/fleet-swarm.c) against a real
# master: 200 simulated minions enrol with factory certificates, answer a
# glob and a grain-targeted job, and come back after a master restart.
# shellcheck shell=bash

SWARM_N=200

fl_swarm_ready() {  # fl_swarm_ready N: the swarm reports N minions welcomed
    [ "$(cat "$T/swarm.ready" 2>/dev/null)" = "$1" ]
}

fl_swarm_accepted() {  # fl_swarm_accepted N: the master lists N accepted swarm- keys
    [ "$(fl_ctl key list | awk '/^Accepted Keys:/ { a = 1; next } /:$/ { a = 0 } a && /^swarm-/' | wc -l)" = "$1" ]
}

# fl_swarm_ping N [TIMEOUT]: a test.ping of every swarm minion; all N answer True.
fl_swarm_ping() {
    local n=$1 out start ms
    start=$(date +%s%N)
    out=$(fl_ctl --json run 'swarm-*' test.ping --timeout "${2:-30}") \
        || fl_fail "test.ping of the swarm failed: $(echo "$out" | tail -20)" || return 1
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "    test.ping round trip, $n swarm minions: $ms ms"
    assert_eq "$n" "$(echo "$out" | grep -c '"success": true')" "successful returns" || return 1
    assert_contains "$out" '"missing": {}' || return 1
}

t_swarm_of_200_enrols_and_answers() {
    fl_master_setup
    local start ms
    start=$(date +%s%N)
    fl_start swarm "$FLEET_BIN/fleet-swarm" --master "$ENDPOINT" \
        --master-pub "$T/master/master.pub" --root "$T/pki" --count $SWARM_N --prefix swarm- \
        --grain channel=staging:30,live:70 --heartbeat 2 --reconnect-ms 200 \
        --keys "$T/swarm-keys" --ready-file "$T/swarm.ready" --grains-out "$T/swarm.grains"
    fl_wait_for 60 fl_swarm_ready $SWARM_N || { tail -20 "$T/swarm.log" >&2; return 1; }
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "    $SWARM_N swarm minions welcomed in $ms ms (swarm: $(grep -o '[0-9]* ms after start' "$T/swarm.log"))"
    fl_wait_for 10 fl_swarm_accepted $SWARM_N
    fl_swarm_ping $SWARM_N

    # A grain target reaches exactly the swarm's staging minions.
    local staging out
    staging=$(awk '$2 == "staging"' "$T/swarm.grains" | wc -l)
    if [ "$staging" -eq 0 ] || [ "$staging" -ge $SWARM_N ]; then
        fl_fail "grain distribution: $staging of $SWARM_N staging"
    fi
    out=$(fl_ctl --json run -G channel:staging test.echo hi --timeout 30)
    assert_eq "$staging" "$(echo "$out" | grep -c '"success": true')" "staging returns"
    assert_eq "$staging" "$(echo "$out" | grep -c '"ret": "hi"')" "echoed returns"
    assert_contains "$out" '"missing": {}'
    out=$(fl_ctl --json run swarm-7 grains.items --timeout 30)
    assert_contains "$out" "\"channel\": \"$(awk '$1 == "swarm-7" { print $2 }' "$T/swarm.grains")\""
    out=$(fl_ctl --json run swarm-8 cmd.run 'echo hi' --timeout 30)
    assert_contains "$out" '"stderr": ""'

    # The master restarts on the same port: every minion is back.
    fl_stop_pid "$(fl_pid master)"
    sed -i "s|^listen:.*|listen: $ENDPOINT|" "$T/master.yaml"
    start=$(date +%s%N)
    fl_master_start
    fl_wait_for 60 fl_swarm_ping $SWARM_N 5
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "    master restart to all $SWARM_N answering test.ping: $ms ms"
    fl_swarm_ping $SWARM_N
    assert_alive swarm

    # SIGTERM: a summary line, exit 0.
    local pid
    pid=$(fl_pid swarm)
    kill -TERM "$pid"
    wait "$pid" || fl_fail "fleet-swarm exited $?"
    assert_contains "$(cat "$T/swarm.log")" "fleet-swarm: $SWARM_N minions, $SWARM_N welcomed"
    # Every message of the master verified and in sequence, the acks a
    # batch shares (one signature, one sequence number) included.
    assert_contains "$(cat "$T/swarm.log")" "bad messages 0,"
}
