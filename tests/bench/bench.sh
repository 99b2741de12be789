#!/usr/bin/env bash
# bench.sh: fleet's figures (`make bench`).  Real fleet-master, fleet-swarm
# (tests/swarm/fleet-swarm.c), fleet-minion and fleetctl on loopback, in a
# temporary directory; each figure is the median of several runs, all
# measured in this one run.  The table goes to stdout, and to the file
# named by $1 if any.  docs/PERFORMANCE.md says what each line means.
#
#   tests/bench/bench.sh [TABLE_FILE]
#
# Environment: FLEET_BIN (default: bin/ of this tree), BENCH_KEEP=1 keeps
# the work directory, BENCH_SIZES (default "100 1000 10000"), BENCH_BIG
# (the swarm of measurements 3 and 4, default 10000), BENCH_IDLE_S (the
# minion's idle window, default 60), BENCH_MASTER_YAML (lines added to the
# swarm master's master.yaml, e.g. "io_threads: 2", to compare settings),
# BENCH_SWARM_ARGS (options added to every fleet-swarm, e.g. "--io-threads 1").
#
# Every process is started here, remembered by PID, and ended by PID
# (SIGTERM, then SIGKILL after a deadline) on exit.
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
FLEET_BIN=${FLEET_BIN:-$top/bin}
CTL=$FLEET_BIN/fleetctl
OUT=${1:-}
SIZES=${BENCH_SIZES:-100 1000 10000}
BIG=${BENCH_BIG:-10000}
IDLE_S=${BENCH_IDLE_S:-60}

# shellcheck source=lib.sh
. "$here/lib.sh"

for b in fleet-master fleet-minion fleetctl fleet-swarm; do
    [ -x "$FLEET_BIN/$b" ] || b_die "$FLEET_BIN/$b is missing: run make first"
done
command -v git >/dev/null || b_die "git is missing"

B=$(mktemp -d "${TMPDIR:-/tmp}/fleet-bench-XXXXXX")
trap b_cleanup EXIT
trap 'exit 130' INT TERM
BENCH_START=$EPOCHREALTIME

# Descriptors: the master keeps one per minion connection; raise the soft
# limit to the hard one for everything started from here.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)

b_header

# --------------------------------------------------------------------------
# The real minion (5, 6): its own master with a state tree of 100 files;
# the minion's idle minute runs in the background while the swarm works
# (CPU time is counted per process: a busy machine does not add to it).
b_log "state master and one real minion"
b_states_setup
b_master_init state "state_dir: $B/states"
b_master_start state || b_die "the state master did not start"
b_real_minion dev-1 state || b_die "the real minion did not connect"
b_idle_window_start dev-1 "$IDLE_S"

# --------------------------------------------------------------------------
# The swarm master (1-4).
b_log "swarm master"
b_master_init swarm "max_minions: 100000"$'\n'"${BENCH_MASTER_YAML:-}"
b_master_start swarm || b_die "the swarm master did not start"
sleep 1  # let the fresh master settle before its baseline RSS
RSS_EMPTY_KB=$(b_rss_kb "$(b_pid master-swarm)")

# 1, 2: round trips by swarm size.
for n in $SIZES; do
    if ! b_fits "$n"; then
        b_row "1" "test.ping round trip, $(b_num "$n") minions" "$FITS_WHY" "" "" ""
        b_row "2" "grain target (10%), $(b_num "$n") minions" "$FITS_WHY" "" "" ""
        continue
    fi
    b_log "swarm of $n"
    b_swarm_start "$n" 3600 || {
        b_row "1" "test.ping round trip, $(b_num "$n") minions" "FAILED: swarm not welcomed" "" "" ""
        b_swarm_stop
        continue
    }
    case $n in
    [0-9] | [0-9][0-9] | [0-9][0-9][0-9]) runs=9 ;;
    [0-9][0-9][0-9][0-9]) runs=7 ;;
    *) runs=5 ;;
    esac
    b_ping_series "$n" "$runs" 'swarm-*'
    b_row "1" "test.ping round trip, $(b_num "$n") minions" "$(b_ms_median)" "$(b_ms_range)" \
        "$runs" "$(b_target_rt "$n")$( ((SWARM_PROCS > 1)) && echo " ($SWARM_PROCS swarm processes)")"
    sel=$(b_swarm_selected)
    b_ping_series "$sel" "$runs" -G channel:a
    b_row "2" "grain target -G channel:a ($(b_num "$sel") of $(b_num "$n"))" "$(b_ms_median)" \
        "$(b_ms_range)" "$runs" ""
    if [ "$n" = "$BIG" ]; then
        # 4: the master's memory with BIG minions connected (after the pings).
        rss=$(b_rss_kb "$(b_pid master-swarm)")
        per=$(awk -v a="$rss" -v b="$RSS_EMPTY_KB" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }')
        b_row "4" "master RSS, $(b_num "$n") connected (empty: $(b_kib "$RSS_EMPTY_KB"))" \
            "$(b_kib "$rss")" "" "1" ""
        b_row "4" "master RSS per connected minion" "$per KiB" "" "1" \
            "$(b_verdict "$per" 30 " KiB")"
    fi
    b_swarm_stop
done

# 3: reconnect storm.  The swarm pings every 5 s here, so that each minion
# meets the new master (and is asked to rehello) within one heartbeat.
if b_fits "$BIG"; then
    b_log "reconnect storm, $BIG minions"
    if b_swarm_start "$BIG" 5; then
        b_storm_series "$BIG" 3
        b_row "3" "reconnect storm: master restart to all $(b_num "$BIG") answering" \
            "$(b_ms_median)" "$(b_ms_range)" "3" \
            "all sessions back after $(b_fmt_ms "$(b_median "${STORM_SESSIONS[@]}")"); $(b_verdict_ms "$(b_median_raw)" 15000)"
    else
        b_row "3" "reconnect storm, $(b_num "$BIG") minions" "FAILED: swarm not welcomed" "" "" ""
    fi
    b_swarm_stop
else
    b_row "3" "reconnect storm, $(b_num "$BIG") minions" "$FITS_WHY" "" "" ""
fi
b_stop master-swarm

# --------------------------------------------------------------------------
# 5: the idle minute ends (it started before the swarm).
b_log "real minion idle window"
b_idle_window_wait
b_row "5" "fleet-minion idle RSS ($IDLE_NPROC process(es))" "$(b_kib "$IDLE_RSS_KB")" \
    "PSS $(b_kib "$IDLE_PSS_KB"), anonymous $(b_kib "$IDLE_ANON_KB")" "1" "$(b_verdict "$(awk -v k="$IDLE_RSS_KB" 'BEGIN { printf "%.2f", k / 1024 }')" 4 " MiB")"
b_row "5" "fleet-minion idle CPU over ${IDLE_S} s" "$IDLE_CPU %" "$IDLE_TICKS ticks" "1" \
    "$(b_verdict "$IDLE_CPU" 0.1 "%")"

# 6: fleetctl apply of 100 file.managed states.
b_log "fleetctl apply, 100 files"
b_apply_series dev-1 3 5
b_row "6" "fleetctl apply 100 files, first run" "$(b_ms_of "$APPLY_FIRST")" \
    "$(b_ms_range_of "$APPLY_FIRST")" "3" "minion: $(b_ms_of "$APPLY_FIRST_MINION")"
b_row "6" "fleetctl apply 100 files, no change" "$(b_ms_of "$APPLY_NOCHG")" \
    "$(b_ms_range_of "$APPLY_NOCHG")" "5" \
    "minion: $(b_ms_of "$APPLY_NOCHG_MINION"); $(b_verdict_ms "$(b_median_of "$APPLY_NOCHG")" 100)"

# 7: the same files as a CFEngine policy.
b_log "cf-agent, 100 files"
if b_cfengine_ready; then
    b_cf_series 3 5
    b_row "7" "cf-agent 100 files, first run" "$(b_ms_of "$CF_FIRST")" \
        "$(b_ms_range_of "$CF_FIRST")" "3" \
        "fleet/cf-agent = $(b_ratio "$(b_median_of "$APPLY_FIRST")" "$(b_median_of "$CF_FIRST")")"
    b_row "7" "cf-agent 100 files, no change" "$(b_ms_of "$CF_NOCHG")" \
        "$(b_ms_range_of "$CF_NOCHG")" "5" \
        "fleet/cf-agent = $(b_ratio "$(b_median_of "$APPLY_NOCHG")" "$(b_median_of "$CF_NOCHG")")"
    b_cf_compare
else
    b_row "7" "cf-agent 100 files" "not measured: $CF_WHY" "" "" ""
fi
b_stop dev-1
b_stop master-state

b_footer
b_print_table
