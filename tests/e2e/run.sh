#!/usr/bin/env bash
# run.sh: fleet's end-to-end tests.  Real fleet-master, fleet-minion and
# fleetctl processes on loopback, each test in its own directory with its
# own ports.  `tests/e2e/run.sh [PATTERN]` runs the tests whose name
# matches PATTERN.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
for f in "$here"/test_*.sh; do
    # shellcheck disable=SC1090
    . "$f"
done

pattern=${1:-}
outdir=$(mktemp -d "${TMPDIR:-/tmp}/fleet-e2e-run-XXXXXX")
trap 'rm -rf "$outdir"' EXIT
passed=0
failed=0
failures=()
for t in $(declare -F | awk '{print $3}' | grep '^t_' | sort); do
    [ -n "$pattern" ] && [[ $t != *$pattern* ]] && continue
    # The emulated-ARM tests need an ARM minion: make check-arm runs them.
    [[ $t == t_arm_* ]] && [ -z "${FL_MINION_CMD:-}" ] && continue
    start=$(date +%s%N)
    (
        T=$(mktemp -d "${TMPDIR:-/tmp}/fleet-e2e-XXXXXX")
        trap fl_teardown EXIT
        set -e
        [ -n "${FL_TRACE:-}" ] && set -x
        "$t"
    ) >"$outdir/$t.out" 2>&1
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        printf 'ok    %-40s %6d ms\n' "$t" "$ms"
    else
        failed=$((failed + 1))
        failures+=("$t")
        printf 'FAIL  %-40s %6d ms\n' "$t" "$ms"
        sed 's/^/      /' "$outdir/$t.out" | tail -${FL_TAIL:-40}
    fi
    rm -f "$outdir/$t.out"
done
echo "e2e: $passed passed, $failed failed"
# A pattern that matches nothing is a mistake, not a pass.
[ $((passed + failed)) -gt 0 ] || { echo "e2e: no test matches '$pattern'" >&2; exit 1; }
[ $failed -eq 0 ]
