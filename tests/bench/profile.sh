#!/usr/bin/env bash
# profile.sh: where a swarm test.ping spends its time.  A master and a
# swarm of N minions (as in bench.sh), then `perf record` on the master and
# on each swarm process during RUNS timed pings of every minion; prints the
# top functions of each (self time).  Needs perf (linux-perf).
#
#   tests/bench/profile.sh [N [RUNS]]        (defaults: 10000 3)
#
# PROFILE_CALLGRAPH=1 records call graphs too (--call-graph dwarf: large).
# BENCH_KEEP=1 keeps the work directory (perf.data files in it).
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
FLEET_BIN=${FLEET_BIN:-$top/bin}
CTL=$FLEET_BIN/fleetctl
N=${1:-10000}
RUNS=${2:-3}

# shellcheck source=lib.sh
. "$here/lib.sh"
command -v perf >/dev/null || b_die "perf is missing (apt-get install linux-perf)"

B=$(mktemp -d "${TMPDIR:-/tmp}/fleet-profile-XXXXXX")
trap b_cleanup EXIT
trap 'exit 130' INT TERM
BENCH_START=$EPOCHREALTIME
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)

b_fits "$N" || b_die "$FITS_WHY"
b_master_init swarm "max_minions: 100000"
b_master_start swarm || b_die "the master did not start"
b_swarm_start "$N" 3600 || b_die "the swarm was not welcomed"

cg=()
[ -n "${PROFILE_CALLGRAPH:-}" ] && cg=(--call-graph dwarf)
targets=(master-swarm)
for ((k = 1; k <= SWARM_PROCS; k++)); do
    targets+=("swarm-$k")
done
for t in "${targets[@]}"; do
    b_start "perf-$t" perf record -q "${cg[@]}" -o "$B/$t.perf" -p "$(b_pid "$t")"
done
sleep 1  # perf attaches
b_ping_series "$N" "$RUNS" 'swarm-*'
for t in "${targets[@]}"; do
    kill -INT "$(b_pid "perf-$t")"
done
for t in "${targets[@]}"; do
    b_wait 60 sh -c "! kill -0 $(b_pid "perf-$t")"
    b_stop "perf-$t"
done
echo "test.ping of $N swarm minions: ${SAMPLES[*]} ms (median $(b_ms_median))"
for t in "${targets[@]}"; do
    echo
    echo "== $t: top functions, self time =="
    perf report -q -i "$B/$t.perf" --no-children --sort dso,symbol --percent-limit 1 2>/dev/null \
        | sed -e 's/[[:space:]]*$//' | grep -v '^$' | head -25
done
