# lib.sh: helpers for tests/bench/bench.sh.  Processes are started with
# b_start, remembered by name and PID, and ended by PID (b_stop, b_cleanup).
# Times come from $EPOCHREALTIME (bash 5: no fork per reading).
# shellcheck shell=bash

declare -A B_PID=()   # name -> PID of every process still running
B_ORDER=()            # names in start order
ROWS=()               # table rows: "#|measurement|median|spread|runs|target"
SAMPLES=()            # the last series, in ms ("FAIL" for a failed run)
CLK_TCK=$(getconf CLK_TCK)

b_die() {
    echo "bench: $*" >&2
    exit 1
}

b_log() {  # progress on stderr, with the time since the start
    printf 'bench [%5.0f s] %s\n' "$(b_since "$BENCH_START" | awk '{ print $1 / 1000 }')" "$*" >&2
}

b_us() { echo "${EPOCHREALTIME/./}"; }

b_since() {  # b_since START: ms (one decimal) since START (an $EPOCHREALTIME)
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}

# ---------------------------------------------------------------- processes

b_start() {  # b_start NAME COMMAND...: in the background, output in $B/NAME.log
    local name=$1; shift
    "$@" >>"$B/$name.log" 2>&1 &
    B_PID[$name]=$!
    B_ORDER+=("$name")
}

b_pid() { echo "${B_PID[$1]:-}"; }

b_stop() {  # b_stop NAME: SIGTERM, wait up to 20 s, then SIGKILL
    local name=$1 pid i
    pid=${B_PID[$name]:-}
    [ -n "$pid" ] || return 0
    unset "B_PID[$name]"
    kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    for ((i = 0; i < 400; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.05
    done
    echo "bench: $name ($pid) ignored SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

b_cleanup() {
    local i name
    set +e
    for ((i = ${#B_ORDER[@]} - 1; i >= 0; i--)); do
        name=${B_ORDER[$i]}
        [ -n "${B_PID[$name]:-}" ] && b_stop "$name"
    done
    if [ -n "${B:-}" ] && [ -z "${BENCH_KEEP:-}" ]; then
        rm -rf "$B"
    elif [ -n "${B:-}" ]; then
        echo "bench: work directory kept: $B" >&2
    fi
}

b_wait() {  # b_wait SECONDS COMMAND...: polls COMMAND every 50 ms until it succeeds
    local deadline=$(( $(b_us) + $1 * 1000000 )); shift
    while (( $(b_us) < deadline )); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

# ------------------------------------------------------------------ masters

b_ctl() {  # b_ctl MASTER fleetctl-arguments...
    local m=$1; shift
    "$CTL" --socket "$B/m-$m/master.sock" "$@"
}

b_master_init() {  # b_master_init NAME [EXTRA YAML]: configuration, keys, store
    local m=$1 dir=$B/m-$1
    mkdir -p "$dir"
    [ -f "$B/pki/root.pub" ] || "$CTL" pki init "$B/pki" >/dev/null || b_die "pki init failed"
    cat >"$dir/master.yaml" <<YAML
listen: tcp://127.0.0.1:*
data_dir: $dir/data
socket: $dir/master.sock
pki_root: $B/pki
log_level: notice
${2:-}
YAML
    "$FLEET_BIN/fleet-master" -c "$dir/master.yaml" --init >/dev/null || b_die "master $m: --init failed"
}

b_master_start() {  # b_master_start NAME: up and answering fleetctl; then it keeps its port
    local m=$1 dir=$B/m-$1
    rm -f "$dir/data/endpoint"
    b_start "master-$m" "$FLEET_BIN/fleet-master" -c "$dir/master.yaml"
    b_wait 30 b_ctl "$m" ping || { tail -20 "$B/master-$m.log" >&2; return 1; }
    b_wait 10 test -s "$dir/data/endpoint" || return 1
    local ep
    ep=$(cat "$dir/data/endpoint")
    eval "EP_$m=\$ep"
    sed -i "s|^listen:.*|listen: $ep|" "$dir/master.yaml"
}

b_endpoint() { local v="EP_$1"; echo "${!v}"; }

b_connected() {  # b_connected MASTER: sessions the master holds now
    b_ctl "$1" --json stats 2>/dev/null | sed -n 's/^  "connected": \([0-9]*\).*/\1/p'
}

b_connected_is() { [ "$(b_connected "$1")" = "$2" ]; }

# -------------------------------------------------------------------- swarm

# b_fits N: can N swarm minions and their master connections be opened?
# Each swarm process needs 2 descriptors per minion (fleet-swarm.c:
# SW_FDS_PER_MINION) + 64, so a swarm larger than one process allows is
# split over several processes (prefixes swarm-, swarm-b, swarm-c...); the
# master needs one per connection.
b_fits() {
    local n=$1
    FITS_WHY=""
    if [ "$FD_LIMIT" != unlimited ] && (( FD_LIMIT < n + 256 )); then
        FITS_WHY="does not fit: open file limit $FD_LIMIT (ulimit -Hn) < $n connections + 256 for the master"
        return 1
    fi
    return 0
}

b_fd_note() {
    if [ "$FD_LIMIT" = unlimited ]; then
        echo "one swarm process holds any swarm"
    else
        echo "one fleet-swarm process holds at most $(b_num $(( (FD_LIMIT - 64) / 2 ))) minions (2 descriptors each): larger swarms run as several processes"
    fi
}

b_swarm_procs() {  # b_swarm_procs N: processes needed for N minions
    local n=$1 cap
    if [ "$FD_LIMIT" = unlimited ]; then
        echo 1
        return
    fi
    cap=$(( (FD_LIMIT - 64) / 2 ))
    echo $(( (n + cap - 1) / cap ))
}

SWARM_PROCS=0
SWARM_N=0
b_swarm_ready_sum() {
    local k sum=0 r
    for ((k = 1; k <= SWARM_PROCS; k++)); do
        r=$(cat "$B/swarm-$k.ready" 2>/dev/null)
        sum=$(( sum + ${r:-0} ))
    done
    echo "$sum"
}

b_swarm_all_ready() { [ "$(b_swarm_ready_sum)" = "$SWARM_N" ]; }

# b_swarm_start N HEARTBEAT_S: N minions against the swarm master, welcomed
# and answering a (warm-up) test.ping.  Keys and certificates are cached in
# $B/swarm-keys, so a second swarm of the same ids starts faster.
b_swarm_start() {
    local n=$1 hb=$2 procs k each left count prefix letters=(x "" b c d e f g h i j) t0
    procs=$(b_swarm_procs "$n")
    SWARM_PROCS=$procs
    SWARM_N=$n
    each=$(( (n + procs - 1) / procs ))
    left=$n
    t0=$EPOCHREALTIME
    for ((k = 1; k <= procs; k++)); do
        count=$(( left < each ? left : each ))
        left=$(( left - count ))
        prefix="swarm-${letters[$k]}"
        rm -f "$B/swarm-$k.ready"
        b_start "swarm-$k" "$FLEET_BIN/fleet-swarm" --master "$(b_endpoint swarm)" \
            --master-pub "$B/m-swarm/data/master.pub" --root "$B/pki" --keys "$B/swarm-keys" \
            --count "$count" --prefix "$prefix" --grain channel=a:10,b:90 --heartbeat "$hb" \
            --ready-file "$B/swarm-$k.ready" --grains-out "$B/swarm-$k.grains" ${BENCH_SWARM_ARGS:-}
    done
    if ! b_wait $(( 60 + n / 25 )) b_swarm_all_ready; then
        echo "bench: swarm of $n: only $(b_swarm_ready_sum) welcomed" >&2
        tail -5 "$B"/swarm-*.log >&2
        return 1
    fi
    SWARM_UP_MS=$(b_since "$t0")
    b_log "swarm of $n ($procs process(es), heartbeat ${hb}s) welcomed in $(b_fmt_ms "$SWARM_UP_MS")"
    b_wait 30 b_connected_is swarm "$n" || { echo "bench: the master holds $(b_connected swarm) sessions, not $n" >&2; return 1; }
    local i
    for i in 1 2 3; do  # warm-up
        b_ctl swarm --json run 'swarm-*' test.ping --timeout 60 >"$B/warmup.json" 2>&1 \
            && [ "$(grep -c '"success": true' "$B/warmup.json")" = "$n" ] && return 0
    done
    echo "bench: warm-up ping of $n swarm minions did not get every return" >&2
    return 1
}

b_swarm_stop() {
    local k
    for ((k = 1; k <= SWARM_PROCS; k++)); do
        b_stop "swarm-$k"
    done
    SWARM_PROCS=0
}

b_swarm_selected() {  # minions of the running swarm whose channel is a
    local k
    for ((k = 1; k <= SWARM_PROCS; k++)); do
        cat "$B/swarm-$k.grains"
    done | awk '$2 == "a"' | wc -l
}

# b_ping_series EXPECTED RUNS TARGET...: RUNS timed `fleetctl run TARGET
# test.ping`, each waiting for all returns; SAMPLES gets the times.
b_ping_series() {
    local expected=$1 runs=$2 i t0 ms rc got
    shift 2
    SAMPLES=()
    for ((i = 0; i < runs; i++)); do
        t0=$EPOCHREALTIME
        b_ctl swarm --json run "$@" test.ping --timeout 60 >"$B/ping.json" 2>&1
        rc=$?
        ms=$(b_since "$t0")
        got=$(grep -c '"success": true' "$B/ping.json")
        if [ "$rc" -ne 0 ] || [ "$got" != "$expected" ]; then
            echo "bench: run $* test.ping: exit $rc, $got of $expected returns" >&2
            SAMPLES+=(FAIL)
        else
            SAMPLES+=("$ms")
        fi
    done
    b_log "  $* x$runs: ${SAMPLES[*]} ms"
}

# b_storm_series N RUNS: the swarm master stopped by PID and started again
# on the same port; the time from its start to a test.ping that gets all N
# returns (sessions polled every 100 ms, then the ping, again if short).
b_storm_series() {
    local n=$1 runs=$2 i t0 t_stop ms rc got sess
    SAMPLES=()
    STORM_SESSIONS=()
    for ((i = 0; i < runs; i++)); do
        t_stop=$EPOCHREALTIME
        b_stop master-swarm
        t_stop=$(b_since "$t_stop")
        t0=$EPOCHREALTIME
        if ! b_master_start swarm; then
            SAMPLES+=(FAIL)
            continue
        fi
        ms=FAIL
        sess=""
        local deadline=$(( $(b_us) + 120000000 ))
        while (( $(b_us) < deadline )); do
            if [ "$(b_connected swarm)" != "$n" ]; then
                sleep 0.1
                continue
            fi
            [ -n "$sess" ] || sess=$(b_since "$t0")
            b_ctl swarm --json run 'swarm-*' test.ping --timeout 30 >"$B/storm.json" 2>&1
            rc=$?
            got=$(grep -c '"success": true' "$B/storm.json")
            if [ "$rc" -eq 0 ] && [ "$got" = "$n" ]; then
                ms=$(b_since "$t0")
                break
            fi
        done
        SAMPLES+=("$ms")
        STORM_SESSIONS+=("${sess:-never}")
        b_log "  storm $((i + 1)): stop ${t_stop} ms; all sessions after ${sess:-never} ms; all answered after $ms ms"
        for ((k = 1; k <= SWARM_PROCS; k++)); do
            kill -0 "$(b_pid "swarm-$k")" 2>/dev/null || echo "bench: swarm-$k died" >&2
        done
    done
}

# ------------------------------------------------------------- real minion

b_real_minion() {  # b_real_minion ID MASTER: a factory bundle, root_dir, started, connected
    local id=$1 m=$2
    "$CTL" pki issue "$id" --root "$B/pki" --master-pub "$B/m-$m/data/master.pub" \
        --master "$(b_endpoint "$m")" --out "$B/$id" >/dev/null || return 1
    mkdir -p "$B/root-$id"
    printf 'root_dir: %s\n' "$B/root-$id" >>"$B/$id/minion.yaml"
    b_start "$id" "$FLEET_BIN/fleet-minion" -c "$B/$id/minion.yaml"
    b_wait 30 sh -c "'$CTL' --socket '$B/m-$m/master.sock' --json key show '$id' | grep -q '\"connected\": true'"
}

b_tree() {  # b_tree PID: PID and its descendants
    local p=$1 c
    echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
        b_tree "$c"
    done
}

b_ticks() {  # utime + stime of a process tree, in clock ticks
    local p sum=0 f
    for p in $(b_tree "$1"); do
        f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        f=${f##*) }
        # after "pid (comm) ": state is field 3; utime, stime are 14, 15
        set -- $f
        sum=$(( sum + ${12} + ${13} ))
    done
    echo "$sum"
}

b_rss_kb() {  # VmRSS of one process, KiB
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

b_tree_kb() {  # b_tree_kb PID Rss|Pss: summed over the tree, from smaps_rollup
    local p sum=0 v
    for p in $(b_tree "$1"); do
        v=$(awk -v k="$2:" '$1 == k { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
        sum=$(( sum + ${v:-0} ))
    done
    echo "$sum"
}

# The idle window: the minion is left alone for SECONDS; a sampler (started
# here, ended by PID) reads ticks and memory at the start and at the end.
b_idle_window_start() {
    local id=$1 secs=$2 pid
    pid=$(b_pid "$id")
    sleep 2  # past its start-up (grains, first beacons): idle is what follows
    b_start idle-sampler bash -c '
        . "$1"
        pid=$2 secs=$3 out=$4
        t0=$EPOCHREALTIME; k0=$(b_ticks "$pid")
        sleep "$secs"
        k1=$(b_ticks "$pid"); t1=$EPOCHREALTIME
        echo "$(awk -v a="$t0" -v b="$t1" "BEGIN { print b - a }") $((k1 - k0)) $(b_tree_kb "$pid" Rss) $(b_tree_kb "$pid" Pss) $(b_tree_kb "$pid" Anonymous) $(b_tree "$pid" | wc -l)" >"$out.tmp"
        mv "$out.tmp" "$out"' sampler "$here/lib.sh" "$pid" "$secs" "$B/idle.out"
}

b_idle_window_wait() {
    b_wait $(( IDLE_S + 60 )) test -s "$B/idle.out" || b_die "the idle sampler did not finish"
    b_stop idle-sampler
    local secs
    read -r secs IDLE_TICKS IDLE_RSS_KB IDLE_PSS_KB IDLE_ANON_KB IDLE_NPROC <"$B/idle.out"
    IDLE_CPU=$(awk -v t="$IDLE_TICKS" -v s="$secs" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", 100 * t / (s * hz) }')
    b_log "  idle: $IDLE_TICKS ticks in $secs s; RSS $IDLE_RSS_KB KiB, PSS $IDLE_PSS_KB KiB, anonymous $IDLE_ANON_KB KiB over $IDLE_NPROC processes"
}

# --------------------------------------------------------- 100 file states

BENCH_FILES=100

b_file_body() {  # b_file_body I: the contents of file I (both tools write this)
    printf '# managed by the fleet bench\nfile = %d\nvalue = %d\n' "$1" "$(( $1 * 7919 % 10007 ))"
}

b_states_setup() {  # a git state tree: bench100.sls, 100 file.managed states
    local d=$B/states i
    mkdir -p "$d"
    printf "base:\n  '*':\n    - bench100\n" >"$d/top.sls"
    for ((i = 1; i <= BENCH_FILES; i++)); do
        printf 'bench-file-%03d:\n  file.managed:\n    - name: /etc/bench/f%03d.conf\n    - makedirs: True\n    - contents: |\n' "$i" "$i"
        b_file_body "$i" | sed 's/^/        /'
    done >"$d/bench100.sls"
    git -C "$d" init -q
    git -C "$d" add -A
    git -C "$d" -c user.name=bench -c user.email=bench@fleet.invalid commit -qm bench
}

# b_apply_once ID: one timed `fleetctl apply ID bench100`; prints
# "WALL_MS MINION_MS CHANGED" or FAIL.
b_apply_once() {
    local id=$1 t0 ms rc
    t0=$EPOCHREALTIME
    b_ctl state apply "$id" bench100 --timeout 120 >"$B/apply.out" 2>&1
    rc=$?
    ms=$(b_since "$t0")
    if [ "$rc" -ne 0 ] || ! grep -q "^Succeeded: $BENCH_FILES" "$B/apply.out" \
        || ! grep -q '^Failed: *0' "$B/apply.out"; then
        echo "bench: apply failed (exit $rc):" >&2
        tail -20 "$B/apply.out" >&2
        echo FAIL
        return
    fi
    local minion changed
    minion=$(sed -n 's/^Total run time: *\([0-9.]*\) ms/\1/p' "$B/apply.out")
    changed=$(sed -n 's/^Succeeded: [0-9]* (changed=\([0-9]*\))/\1/p' "$B/apply.out")
    echo "$ms $minion ${changed:-0}"
}

# b_apply_series ID FIRST NOCHANGE: FIRST runs on an empty directory, then
# NOCHANGE runs with everything in place.
b_apply_series() {
    local id=$1 first=$2 nochg=$3 i r wall minion changed
    APPLY_FIRST="" APPLY_FIRST_MINION="" APPLY_NOCHG="" APPLY_NOCHG_MINION=""
    for ((i = 0; i < first + nochg; i++)); do
        (( i < first )) && rm -rf "$B/root-$id/etc/bench"
        r=$(b_apply_once "$id")
        if [ "$r" = FAIL ]; then
            wall=FAIL minion=FAIL changed=-1
        else
            read -r wall minion changed <<<"$r"
        fi
        if (( i < first )); then
            [ "$changed" = "$BENCH_FILES" ] || { echo "bench: first apply changed $changed files" >&2; wall=FAIL; }
            APPLY_FIRST+="$wall " APPLY_FIRST_MINION+="$minion "
        else
            [ "$changed" = 0 ] || { echo "bench: no-change apply changed $changed files" >&2; wall=FAIL; }
            APPLY_NOCHG+="$wall " APPLY_NOCHG_MINION+="$minion "
        fi
    done
    b_log "  apply first: $APPLY_FIRST ms (minion: $APPLY_FIRST_MINION); no change: $APPLY_NOCHG ms (minion: $APPLY_NOCHG_MINION)"
}

# ------------------------------------------------------------------ cf-agent

b_cfengine_ready() {
    CF_WHY=""
    if ! command -v cf-agent >/dev/null; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            b_log "installing cfengine3 (apt-get)"
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q cfengine3 \
                >"$B/apt.log" 2>&1 || true
        fi
    fi
    if ! command -v cf-agent >/dev/null; then
        CF_WHY="cf-agent missing (apt-get install cfengine3, as root)"
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        CF_WHY="cf-agent runs as root here; run the bench as root"
        return 1
    fi
    # A private work directory: -w; it must hold bin/cf-promises, which
    # cf-agent runs to validate the policy first.
    local w=$B/cf/work dst=$B/cf/root/etc/bench i
    mkdir -p "$w/bin"
    ln -sf "$(command -v cf-promises)" "$w/bin/cf-promises"
    {
        echo 'body common control { bundlesequence => { "bench" }; }'
        echo 'bundle agent bench {'
        echo 'files:'
        printf '  "%s/." create => "true";\n' "$dst"
        for ((i = 1; i <= BENCH_FILES; i++)); do
            printf '  "%s/f%03d.conf" create => "true", content => "%s\n";\n' "$dst" "$i" "$(b_file_body "$i")"
        done
        echo '}'
    } >"$B/cf/bench.cf"
    chmod 600 "$B/cf/bench.cf"
    CF_VERSION=$(cf-agent --version 2>/dev/null | head -1)
    return 0
}

b_cf_once() {  # one timed cf-agent run; prints WALL_MS or FAIL
    local t0 ms rc
    t0=$EPOCHREALTIME
    cf-agent -K -w "$B/cf/work" -f "$B/cf/bench.cf" >"$B/cf/run.out" 2>&1
    rc=$?
    ms=$(b_since "$t0")
    if [ "$rc" -ne 0 ] || [ -s "$B/cf/run.out" ]; then
        echo "bench: cf-agent exit $rc:" >&2
        tail -10 "$B/cf/run.out" >&2
        echo FAIL
        return
    fi
    echo "$ms"
}

b_cf_series() {  # b_cf_series FIRST NOCHANGE
    local first=$1 nochg=$2 i r
    CF_FIRST="" CF_NOCHG=""
    for ((i = 0; i < first + nochg; i++)); do
        if (( i < first )); then
            rm -rf "$B/cf/root/etc/bench"
            r=$(b_cf_once)
            [ "$(ls "$B/cf/root/etc/bench" 2>/dev/null | wc -l)" = "$BENCH_FILES" ] || r=FAIL
            CF_FIRST+="$r "
        else
            local before
            before=$(stat -c %Y.%Z "$B/cf/root/etc/bench"/* | md5sum)
            r=$(b_cf_once)
            [ "$before" = "$(stat -c %Y.%Z "$B/cf/root/etc/bench"/* | md5sum)" ] || r=FAIL
            CF_NOCHG+="$r "
        fi
    done
    b_log "  cf-agent first: $CF_FIRST ms; no change: $CF_NOCHG ms"
}

b_cf_compare() {  # the two tools wrote the same bytes?
    if diff -r "$B/root-dev-1/etc/bench" "$B/cf/root/etc/bench" >"$B/cf/diff.out" 2>&1; then
        CF_SAME="the 100 files fleet and cf-agent wrote are byte for byte the same"
    else
        CF_SAME="the files differ between fleet and cf-agent: $(head -3 "$B/cf/diff.out" | tr '\n' ' ')"
    fi
}

# ---------------------------------------------------------------- numbers

b_median() {  # b_median N...: median of the runs that did not fail (FAIL if none)
    printf '%s\n' "$@" | grep -E '^[0-9]+([.][0-9]*)?$' | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "FAIL"; exit }
            if (NR % 2) { printf "%.1f\n", v[(NR + 1) / 2] } else { printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }
        }'
}

b_median_raw() { b_median "${SAMPLES[@]}"; }
b_median_of() { b_median $1; }

b_fmt_ms() {  # 12.3 ms, 842 ms, 1.52 s
    case $1 in
    FAIL | "") echo "FAILED" ;;
    *) awk -v m="$1" 'BEGIN {
            if (m >= 1000) printf "%.2f s\n", m / 1000
            else if (m >= 100) printf "%.0f ms\n", m
            else printf "%.1f ms\n", m }' ;;
    esac
}

b_ms_median() { b_fmt_ms "$(b_median_raw)"; }
b_ms_of() { b_fmt_ms "$(b_median $1)"; }

b_range() {  # "min - max" of the non-failed values, and failures
    printf '%s\n' "$@" | awk '
        /FAIL/ { fail++; next }
        NF { if (n == 0 || $1 < lo) lo = $1; if (n == 0 || $1 > hi) hi = $1; n++ }
        END { if (n) printf "%s %s", lo, hi; if (fail) printf " %d", fail; print "" }'
}

b_fmt_range() {
    local lo hi fail
    read -r lo hi fail <<<"$(b_range "$@")"
    if [ -z "$lo" ]; then
        echo "all failed"
        return
    fi
    echo "$(b_fmt_ms "$lo") - $(b_fmt_ms "$hi")${fail:+, $fail failed}"
}

b_ms_range() { b_fmt_range "${SAMPLES[@]}"; }
b_ms_range_of() { b_fmt_range $1; }

b_ratio() {
    case "$1$2" in *FAIL*) echo "-"; return ;; esac
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'
}

b_kib() { awk -v k="$1" 'BEGIN { if (k >= 10240) printf "%.1f MiB\n", k / 1024; else printf "%d KiB\n", k }'; }

b_num() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

b_verdict() {  # b_verdict VALUE LIMIT UNIT: "target < LIMIT UNIT: met"
    case $1 in FAIL | "") echo "target < $2$3: not measured"; return ;; esac
    if awk -v v="$1" -v l="$2" 'BEGIN { exit !(v < l) }'; then
        echo "target < $2$3: met"
    else
        echo "target < $2$3: NOT met"
    fi
}

b_verdict_ms() {  # b_verdict_ms MS LIMIT_MS
    case $1 in FAIL | "") echo "target < $(b_fmt_ms "$2"): not measured"; return ;; esac
    if awk -v v="$1" -v l="$2" 'BEGIN { exit !(v < l) }'; then
        echo "target < $(b_fmt_ms "$2"): met"
    else
        echo "target < $(b_fmt_ms "$2"): NOT met"
    fi
}

b_target_rt() {  # the round-trip target applies to the largest swarm
    [ "$1" = 10000 ] && b_verdict_ms "$(b_median_raw)" 1500
}

# ------------------------------------------------------------------- table

b_row() {  # b_row NUM MEASUREMENT MEDIAN SPREAD RUNS TARGET
    ROWS+=("$1|$2|$3|$4|$5|$6")
}

b_header() {
    local cpu mem os
    cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
    HEADER=(
        "fleet bench, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')"
        "machine: $(nproc) CPU ($cpu), $mem memory, Linux $(uname -r), ${os:-unknown OS}"
        "open file limit: $FD_LIMIT; $(b_fd_note)"
    )
    b_log "${HEADER[1]}"
}

b_footer() {
    local total
    total=$(b_since "$BENCH_START")
    HEADER+=("master, swarm and minion on the same machine (loopback); medians after one warm-up run; bench took $(b_fmt_ms "$total")")
    [ -z "${BENCH_MASTER_YAML:-}" ] || HEADER+=("the swarm master's master.yaml adds: ${BENCH_MASTER_YAML//$'\n'/; }")
    [ -n "${CF_VERSION:-}" ] && HEADER+=("cf-agent: $CF_VERSION, private work directory (-w), -K; ${CF_SAME:-}")
}

b_print_table() {
    {
        local h r
        for h in "${HEADER[@]}"; do
            echo "$h"
        done
        echo
        printf '%s\n' "| # | measurement | median | min - max | runs | target / note |" \
            "| - | --- | ---: | --- | ---: | --- |"
        for r in "${ROWS[@]}"; do
            IFS='|' read -r c1 c2 c3 c4 c5 c6 <<<"$r"
            printf '| %s | %s | %s | %s | %s | %s |\n' "$c1" "$c2" "$c3" "$c4" "$c5" "$c6"
        done
    } >"$B/table.md"
    cat "$B/table.md"
    if [ -n "$OUT" ]; then
        cp "$B/table.md" "$OUT" || echo "bench: cannot write $OUT" >&2
    fi
}
