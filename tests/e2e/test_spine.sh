# test_spine.sh: enrolment, targeting, jobs, keys, restarts.
# shellcheck shell=bash

three_minions() {
    fl_master_setup
    fl_minion pi-1 --grain channel=staging --grain class=sensor
    fl_minion pi-2 --grain channel=staging --grain class=gateway
    fl_minion gw-1 --grain channel=live --grain class=gateway
}

t_enrol_with_factory_certificates_and_ping() {
    three_minions
    out=$(fl_ctl key list)
    assert_contains "$out" $'Accepted Keys:\ngw-1\npi-1\npi-2\nUnaccepted Keys:'
    out=$(fl_ctl run '*' test.ping)
    assert_eq $'gw-1:\n    True\npi-1:\n    True\npi-2:\n    True' "$(echo "$out" | sort -s -k1,1 | paste -sd'\n' -)" "" ||
        { assert_contains "$out" $'pi-1:\n    True'; assert_contains "$out" $'gw-1:\n    True'; }
    fl_ctl run '*' test.ping >/dev/null
    show=$(fl_ctl key show pi-1)
    assert_contains "$show" "state:       accepted"
    assert_contains "$show" "fingerprint: SHA256:"
}

t_targeting_salt_syntax() {
    three_minions
    count() { fl_ctl --json run "$@" test.ping | grep -c '"success": true' || true; }
    assert_eq 2 "$(count 'pi-*')" "glob"
    assert_eq 2 "$(count -L pi-1,gw-1)" "list"
    assert_eq 2 "$(count -G channel:staging)" "grain"
    assert_eq 1 "$(count -G 'channel:l*')" "grain glob"
    assert_eq 2 "$(count -E 'pi-[0-9]+')" "pcre"
    assert_eq 1 "$(count -C 'G@class:gateway and pi-*')" "compound and"
    assert_eq 3 "$(count -C 'G@channel:live or L@pi-1,pi-2')" "compound or"
    assert_eq 2 "$(count -C 'not G@class:sensor')" "compound not"
    assert_eq 1 "$(count -C '( pi-* or gw-* ) and G@class:sensor')" "compound parens"
    out=$(fl_ctl run 'nomatch*' test.ping 2>&1) && rc=0 || rc=$?
    assert_eq 0 "$rc" "exit status when nothing matches"
    assert_contains "$out" "No minions matched"
}

t_bad_target_is_an_error_before_anything_is_sent() {
    three_minions
    before=$(fl_store_dump)
    out=$(fl_ctl run -C 'G@channel:live and (pi-*' test.ping 2>&1) && rc=0 || rc=$?
    assert_eq 2 "$rc" "exit status"
    assert_contains "$out" "<target>:1:"
    out=$(fl_ctl run -E 'pi-[' test.ping 2>&1) && rc=0 || rc=$?
    assert_eq 2 "$rc" "exit status for a bad regex"
    out=$(fl_ctl run '*' no.such_function 2>&1) && rc=0 || rc=$?
    assert_eq 2 "$rc" "exit status for an unknown function"
    assert_contains "$out" "not a known function"
    out=$(fl_ctl run '*' test.echo 2>&1) && rc=0 || rc=$?
    assert_eq 2 "$rc" "exit status for a missing argument"
    assert_contains "$out" "at least 1 argument"
    assert_eq "$before" "$(fl_store_dump)" "store after refused runs"
}

t_cmd_run_grains_and_json() {
    fl_master_setup
    fl_minion pi-1 --grain channel=staging
    out=$(fl_ctl run pi-1 cmd.run echo 'hello world')
    assert_contains "$out" "hello world"
    out=$(fl_ctl run pi-1 cmd.run echo '$HOME')
    assert_contains "$out" '$HOME' "no shell unless shell=true"
    out=$(fl_ctl run pi-1 cmd.run 'echo $((6*7))' shell=true)
    assert_contains "$out" "42"
    fl_ctl run pi-1 cmd.run false >/dev/null 2>&1 && rc=0 || rc=$?
    assert_eq 1 "$rc" "exit status when the command fails"
    out=$(fl_ctl --json run pi-1 grains.get channel)
    assert_contains "$out" '"ret": "staging"'
    out=$(fl_ctl run pi-1 grains.items)
    for g in id os os_family kernel kernelrelease cpuarch num_cpus mem_total machine_id host fleet_version ipv4; do
        assert_contains "$out" "    $g:" "grains.items"
    done
    out=$(fl_ctl run pi-1 sys.list_functions)
    assert_contains "$out" "- test.ping"
    out=$(fl_ctl --json run pi-1 test.echo hi)
    assert_contains "$out" '"returns": {'
    assert_contains "$out" '"ret": "hi"'
}

t_slow_job_times_out_and_late_return_is_kept() {
    fl_master_setup
    fl_minion pi-1
    # A job that outlives fleetctl's wait, while other jobs still run.
    fl_ctl --json run pi-1 test.sleep 3 --timeout 1 >"$T/slow.json" 2>&1 && rc=0 || rc=$?
    assert_eq 1 "$rc" "exit status when a minion does not answer in time"
    assert_contains "$(cat "$T/slow.json")" '"pi-1": "no answer"'
    out=$(fl_ctl run pi-1 test.ping)
    assert_contains "$out" "True" "a ping while the slow job runs"
    jid=$(sed -n 's/.*"jid": "\([0-9]*\)".*/\1/p' "$T/slow.json")
    fl_wait_for 10 sh -c "'$FLEETCTL' --socket '$T/master.sock' job $jid | grep -q True"
    out=$(fl_ctl jobs)
    assert_contains "$out" "test.sleep"
}

t_job_timeout_on_the_minion_kills_the_worker() {
    fl_master_setup
    fl_minion pi-1
    out=$(fl_ctl run pi-1 cmd.run sleep 30 timeout=1 --timeout 20 2>&1) && rc=0 || rc=$?
    assert_eq 1 "$rc"
    assert_not_contains "$(pgrep -f 'sleep 30' || true)" "[0-9]" "sleep still running"
    assert_alive pi-1
}

t_offline_minion_is_named() {
    fl_master_setup
    fl_minion pi-1
    fl_minion pi-2
    fl_stop_pid "$(fl_pid pi-2)"
    out=$(fl_ctl run '*' test.ping --timeout 2 2>&1) && rc=0 || rc=$?
    assert_eq 1 "$rc"
    assert_contains "$out" $'pi-2:\n    Minion did not return.'
    assert_contains "$out" $'pi-1:\n    True'
}

t_minions_reconnect_after_master_restart() {
    fl_master_setup
    fl_minion pi-1
    fl_minion pi-2
    fl_stop_pid "$(fl_pid master)"
    # Same port: the minions' bundles name it.
    sed -i "s|^listen:.*|listen: $ENDPOINT|" "$T/master.yaml"
    fl_master_start
    fl_wait_for 15 fl_connected pi-1
    fl_wait_for 15 fl_connected pi-2
    out=$(fl_ctl run '*' test.ping)
    assert_contains "$out" $'pi-2:\n    True'
}

t_pending_key_accept_reject_delete() {
    fl_master_setup
    fl_issue pi-9
    sed -i '/^cert:/d' "$T/pi-9/minion.yaml"
    fl_start pi-9 "$FLEET_BIN/fleet-minion" -c "$T/pi-9/minion.yaml"
    fl_wait_for 10 sh -c "'$FLEETCTL' --socket '$T/master.sock' key list | grep -A1 Unaccepted | grep -q pi-9"
    out=$(fl_ctl run '*' test.ping 2>&1) || true
    assert_contains "$out" "No minions matched" "a pending minion gets no work"
    fl_ctl key accept --all >/dev/null
    fl_wait_for 10 fl_connected pi-9
    assert_contains "$(fl_ctl run pi-9 test.ping)" "True"
    fl_ctl key reject pi-9 >/dev/null
    assert_contains "$(fl_ctl key list)" $'Rejected Keys:\npi-9'
    out=$(fl_ctl run '*' test.ping 2>&1) || true
    assert_contains "$out" "No minions matched" "a rejected minion gets no work"
    fl_ctl key delete pi-9 >/dev/null
    assert_not_contains "$(fl_ctl key list)" "pi-9"
}

t_revoked_minion_is_cut_off_for_good() {
    fl_master_setup
    fl_minion pi-1
    fl_minion pi-2
    fl_ctl key revoke pi-1 >/dev/null
    # The minion is told to retire and stops.
    fl_wait_for 10 sh -c "! kill -0 $(fl_pid pi-1) 2>/dev/null"
    assert_contains "$(cat "$T/pi-1.log")" "retired by the master"
    # Its key can never connect again, not even after the record is deleted.
    out=$(fl_raw --key "$T/pi-1/minion.key" --id pi-1 --cert "$T/pi-1/minion.crt" hello)
    assert_contains "$out" "handshake-denied"
    out=$(fl_ctl key accept pi-1 2>&1) && rc=0 || rc=$?
    assert_eq 1 "$rc" "accepting a revoked key"
    fl_ctl key delete pi-1 >/dev/null
    out=$(fl_raw --key "$T/pi-1/minion.key" --id pi-1 --cert "$T/pi-1/minion.crt" hello)
    assert_contains "$out" "handshake-denied" "after delete"
    assert_contains "$(fl_ctl run '*' test.ping)" $'pi-2:\n    True'
    assert_alive master
}

t_minion_refuses_a_master_with_another_key() {
    fl_master_setup
    fl_issue pi-1
    # A bundle whose master.pub is some other master's key.
    "$FLEETCTL" pki init "$T/other" >/dev/null
    cp "$T/other/root.pub" "$T/pi-1/master.pub"
    fl_start pi-1 "$FLEET_BIN/fleet-minion" -c "$T/pi-1/minion.yaml"
    fl_wait_for 10 grep -q "handshake with the master at .* failed: it does not hold the key" "$T/pi-1.log"
    assert_not_contains "$(fl_ctl key list)" "pi-1"
    assert_alive master
    assert_alive pi-1
}

t_config_errors_name_file_line_column() {
    printf 'listen: tcp://127.0.0.1:*\ndata_dir: %s/m\nlisten_port: 4506\n' "$T" >"$T/bad.yaml"
    out=$("$FLEET_BIN/fleet-master" -c "$T/bad.yaml" --init 2>&1) && rc=0 || rc=$?
    assert_eq 2 "$rc"
    assert_contains "$out" "bad.yaml:3:1:"
    printf 'master: tcp://127.0.0.1:4506\nheartbeat: many\n' >"$T/m.yaml"
    out=$("$FLEET_BIN/fleet-minion" -c "$T/m.yaml" 2>&1) && rc=0 || rc=$?
    assert_eq 2 "$rc"
    assert_contains "$out" "m.yaml:2:12:"
    [ ! -e "$T/m" ] || fl_fail "a bad config created the data dir"
}

t_control_socket_is_private() {
    fl_master_setup
    assert_eq 660 "$(stat -c %a "$T/master.sock")" "control socket mode"
    assert_eq 600 "$(stat -c %a "$T/master/master.key")" "master key mode"
    out=$("$FLEETCTL" --socket "$T/nothing.sock" ping 2>&1) && rc=0 || rc=$?
    assert_eq 3 "$rc" "exit status with no master"
    assert_contains "$out" "no master at"
}
