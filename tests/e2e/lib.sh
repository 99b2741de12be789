# lib.sh: helpers for fleet's end-to-end tests.  Every test runs in its own
# temporary directory with its own master (random loopback port) and
# minions; every process is started here, remembered by PID, and ended by
# SIGTERM (then SIGKILL after a deadline) when the test ends.  Readiness is
# polled with a deadline; nothing waits on a fixed sleep.
# shellcheck shell=bash

: "${FLEET_BIN:?set FLEET_BIN to the directory holding the binaries}"
FLEETCTL="$FLEET_BIN/fleetctl"
# Sanitizer builds are slower: scale deadlines.
FL_SCALE=${FL_SCALE:-1}
case "$FLEET_BIN" in *asan*) FL_SCALE=4 ;; esac

# The minion command: the native build, or (make check-arm) an ARM build
# run under qemu-user, e.g. FL_MINION_CMD="qemu-arm-static build-armhf/bin/fleet-minion".
read -r -a FL_MINION <<<"${FL_MINION_CMD:-$FLEET_BIN/fleet-minion}"

T=""
PIDS=()
HUP_PIDS=()   # supervisors that stop their children on SIGHUP (runsvdir)
ON_TEARDOWN=()  # commands run first at teardown (stop supervised services)

fl_fail() {
    echo "    FAIL: $*" >&2
    return 1
}

# fl_wait_for SECONDS COMMAND...: polls COMMAND until it succeeds.
fl_wait_for() {
    local secs=$(( $1 * FL_SCALE )); shift
    local deadline=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
    while (( $(date +%s%N) / 1000000 < deadline )); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.05
    done
    fl_fail "timed out after ${secs}s waiting for: $*"
}

fl_start() {  # fl_start NAME COMMAND...: background process, logs in $T/NAME.log
    local name=$1; shift
    "$@" >"$T/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_${name//[^a-zA-Z0-9]/_}=$!"
}

fl_pid() {  # fl_pid NAME
    local v="PID_${1//[^a-zA-Z0-9]/_}"
    echo "${!v}"
}

fl_stop_pid() {  # SIGTERM, wait up to 10 s, then SIGKILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 200 * FL_SCALE; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.05
    done
    echo "    process $pid ignored SIGTERM; killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 0
}

fl_teardown() {
    set +e
    local pid i cmd
    for cmd in "${ON_TEARDOWN[@]}"; do
        eval "$cmd" >/dev/null 2>&1
    done
    ON_TEARDOWN=()
    for pid in "${HUP_PIDS[@]}"; do
        kill -HUP "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
    done
    HUP_PIDS=()
    for pid in "${PIDS[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
        fl_stop_pid "$pid"
    done
    PIDS=()
    if [ -n "$T" ] && [ -z "${FL_KEEP:-}" ]; then
        rm -rf "$T"
    fi
}

fl_ctl() { "$FLEETCTL" --socket "$T/master.sock" "$@"; }

# fl_master_setup [EXTRA YAML LINES]: root key, master config, master up.
fl_master_setup() {
    cat >"$T/master.yaml" <<YAML
listen: tcp://127.0.0.1:*
data_dir: $T/master
socket: $T/master.sock
pki_root: $T/pki
log_level: info
$*
YAML
    "$FLEETCTL" pki init "$T/pki" >/dev/null || return 1
    "$FLEET_BIN/fleet-master" -c "$T/master.yaml" --init >/dev/null || return 1
    fl_master_start
}

fl_master_start() {
    rm -f "$T/master/endpoint"
    fl_start master "$FLEET_BIN/fleet-master" -c "$T/master.yaml"
    fl_wait_for 10 fl_ctl ping || { cat "$T/master.log" >&2; return 1; }
    ENDPOINT=$(cat "$T/master/endpoint")
}

# fl_issue ID [--grain K=V ...]: a factory bundle in $T/ID, tuned for tests.
fl_issue() {
    local id=$1; shift
    "$FLEETCTL" pki issue "$id" --root "$T/pki" --master-pub "$T/master/master.pub" \
        --master "${ENDPOINT}" --out "$T/$id" "$@" >/dev/null || return 1
    printf 'reconnect_min_ms: 100\nreconnect_max_ms: 1000\nheartbeat: 300\nacceptance_wait: 1\nlog_level: info\n' \
        >>"$T/$id/minion.yaml"
}

fl_connected() {  # fl_connected ID: the master has a live session for ID
    fl_ctl --json key show "$1" 2>/dev/null | grep -q '"connected": true'
}

# fl_minion ID [--grain K=V ...]: issue a bundle, start the minion, wait until connected.
fl_minion() {
    local id=$1
    fl_issue "$@" || return 1
    fl_start "$id" "${FL_MINION[@]}" -c "$T/$id/minion.yaml"
    fl_wait_for 10 fl_connected "$id" || { cat "$T/$id.log" >&2; return 1; }
}

fl_counter() {  # fl_counter NAME: a master counter
    fl_ctl --json stats | awk -v k="\"$1\": {" 'index($0, k) { getline; gsub(/[^0-9]/, ""); print; exit }'
}

fl_store_dump() {  # what the store holds (less seen times), for "nothing stored changed" checks
    sqlite3 "$T/master/fleet.db" "SELECT id, key, state, cert_serial, grains FROM minions ORDER BY id;
        SELECT * FROM revoked ORDER BY key; SELECT * FROM jobs ORDER BY jid;
        SELECT * FROM returns ORDER BY jid, minion;"
}

fl_raw() {  # fl_raw [fl-rawpeer options] MODE: a raw peer against the master
    "$FLEET_BIN/fl-rawpeer" --endpoint "$ENDPOINT" --master-pub "$T/master/master.pub" "$@"
}

assert_eq() {  # assert_eq EXPECTED ACTUAL [WHAT]
    [ "$1" = "$2" ] || fl_fail "${3:-value}: expected '$1', got '$2'"
}

assert_contains() {  # assert_contains HAYSTACK NEEDLE [WHAT]
    case "$1" in *"$2"*) return 0 ;; esac
    fl_fail "${3:-output} does not contain '$2':"$'\n'"$1"
}

assert_not_contains() {
    case "$1" in *"$2"*) fl_fail "${3:-output} contains '$2':"$'\n'"$1" ;; esac
    return 0
}

assert_alive() {  # assert_alive NAME
    kill -0 "$(fl_pid "$1")" 2>/dev/null || fl_fail "$1 is not running"
}
