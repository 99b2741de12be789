# test_security.sh: bad input from the network, sent with a raw ZeroMQ peer
# (tests/e2e/fl-rawpeer.c).  Each is refused and counted, the master stays
# up, and nothing stored changes.
# shellcheck shell=bash

# A master with one real minion (pi-1) and a bundle whose key the raw peer
# uses (raw-1), already enrolled once.
security_setup() {
    fl_master_setup
    fl_minion pi-1
    fl_issue raw-1
    RAW=(--key "$T/raw-1/minion.key" --id raw-1 --cert "$T/raw-1/minion.crt" --wait 700)
    out=$(fl_raw "${RAW[@]}" hello)
    assert_contains "$out" "reply welcome"
}

# refused COUNTER EXPECTED_REPLY MODE [OPTIONS]: runs MODE and checks that the
# counter grew, the reply is as expected, and the store did not change.
refused() {
    local counter=$1 expect=$2; shift 2
    local before after n0 n1 out
    before=$(fl_store_dump)
    n0=$(fl_counter "$counter")
    out=$(fl_raw "$@")
    n1=$(fl_counter "$counter")
    [ "$n1" -gt "$n0" ] || fl_fail "$*: counter $counter did not grow ($n0 -> $n1); peer saw: $out"
    assert_contains "$out" "$expect" "$* reply"
    after=$(fl_store_dump)
    assert_eq "$before" "$after" "store after $*"
    assert_alive master
}

t_garbage_and_malformed_frames_are_refused() {
    security_setup
    refused BAD_FRAMES "no-reply" "${RAW[@]}" garbage
    refused BAD_SIG "no-reply" "${RAW[@]}" truncated
    refused BAD_SIG "no-reply" "${RAW[@]}" badsig
    refused KEY_MISMATCH "no-reply" "${RAW[@]}" wrong-key-frame
    refused OVERSIZED "no-reply" "${RAW[@]}" oversized
    # Beyond ZMQ_MAXMSGSIZE libzmq drops the connection itself.
    out=$(fl_raw "${RAW[@]}" huge)
    assert_alive master
    assert_contains "$(fl_ctl run pi-1 test.ping)" "True" "the master still works"
}

t_protocol_abuse_is_refused() {
    security_setup
    refused UNKNOWN_TYPE "reply welcome" "${RAW[@]}" unknown-type
    refused REPLAY "reply pong" "${RAW[@]}" replay
    refused FOREIGN_RETURN "reply ack" "${RAW[@]}" foreign-return
    refused ID_CLAIM "reply welcome" "${RAW[@]}" claim-other-id
    refused NO_SESSION "reply rehello" "${RAW[@]}" no-session
    assert_contains "$(fl_ctl run pi-1 test.ping)" "True" "the master still works"
}

t_stolen_id_and_bad_certificates_are_refused() {
    security_setup
    # A new key claiming pi-1's id, with and without a certificate.
    refused ID_CLAIM "reply refused this id is registered with another key" --id pi-1 hello
    refused BAD_CERT "reply refused certificate was issued by a foreign root" --id pi-7 cert-foreign
    refused BAD_CERT "reply refused certificate" --id pi-8 --root "$T/pki" cert-expired
    # Someone else's certificate (for an id not yet enrolled) with our own key.
    fl_issue raw-2
    refused BAD_CERT "reply refused certificate names another key" --id raw-2 --cert "$T/raw-2/minion.crt" hello
    refused BAD_CERT "reply refused certificate is for 'raw-2'" --id raw-3 --cert "$T/raw-2/minion.crt" hello
    assert_contains "$(fl_ctl run pi-1 test.ping)" "True"
}

t_unaccepted_minion_gets_no_work() {
    security_setup
    # No certificate: enrolled as pending (that one change is expected) ...
    fl_issue pend-1
    out=$(fl_raw --key "$T/pend-1/minion.key" --id pend-1 --wait 700 hello)
    assert_contains "$out" "reply pending"
    assert_contains "$(fl_ctl key list)" $'Unaccepted Keys:\npend-1'
    # ... and whatever it asks for afterwards is refused.
    refused UNACCEPTED "reply pending" --key "$T/pend-1/minion.key" --id pend-1 pending-ping
}

t_minion_refuses_a_replayed_job() {
    fl_master_setup
    fl_issue pi-1
    # A fake master holding the real master's key sends one job id twice
    # (with fresh sequence numbers) and the first message again verbatim.
    fl_stop_pid "$(fl_pid master)"   # free the port for the fake
    "$FLEET_BIN/fl-rawpeer" --listen "$ENDPOINT" --master-key "$T/master/master.key" \
        fake-master-replay >"$T/fake.out" 2>&1 &
    fake=$!
    PIDS+=($fake)
    fl_wait_for 5 grep -q listening "$T/fake.out"
    fl_start pi-1 "$FLEET_BIN/fleet-minion" -c "$T/pi-1/minion.yaml"
    fl_wait_for 30 grep -q "^returns" "$T/fake.out"
    assert_eq "returns 1" "$(grep '^returns' "$T/fake.out")" "returns from a job sent three times"
    assert_contains "$(cat "$T/pi-1.log")" "already run (replay)"
    assert_contains "$(cat "$T/pi-1.log")" "replayed sequence"
    assert_alive pi-1
}
