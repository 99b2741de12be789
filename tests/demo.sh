#!/usr/bin/env bash
# demo.sh: fleet doing its main job on loopback.  A fleet root key, a
# master, three minions joining with factory bundles and different grains,
# a few targeted commands, then everything is shut down.  Run by `make demo`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
FLEET_BIN=${FLEET_BIN:-$(cd "$here/.." && pwd)/bin}
# shellcheck source=e2e/lib.sh
. "$here/e2e/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/fleet-demo-XXXXXX")
trap fl_teardown EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
    local shown=("$@")
    [ "$1" = fleetctl ] || shown[0]=fleetctl
    printf '\033[2m$'; printf ' %q' "${shown[@]}"; printf '\033[0m\n'
    "$@" || true
}
fleetctl() { "$FLEETCTL" --socket "$T/master.sock" "$@"; }

step "A fleet root key (kept offline at the factory) and a master on loopback"
# The example state tree (states/tree) in a git repository, its pillar beside it.
mkdir -p "$T/states"
cp -r "$here/../states/tree/." "$T/states/"
git -C "$T/states" init -q
git -C "$T/states" -c user.name=demo -c user.email=demo@fleet.invalid add -A
git -C "$T/states" -c user.name=demo -c user.email=demo@fleet.invalid commit -qm "example tree"
cp -r "$here/../states/pillar" "$T/pillar"
fl_master_setup "state_dir: $T/states"$'\n'"pillar_dir: $T/pillar"
echo "master listening on $ENDPOINT, data in $T/master"

step "Three devices, each with a factory bundle (key, certificate, master key, minion.yaml)"
show "$FLEETCTL" pki issue pi-1 --root "$T/pki" --master-pub "$T/master/master.pub" \
    --master "$ENDPOINT" --out "$T/pi-1" --grain channel=staging --grain class=sensor
fl_issue pi-2 --grain channel=staging --grain class=gateway
fl_issue gw-1 --grain channel=live --grain class=gateway
for id in pi-1 pi-2 gw-1; do
    # Each demo device manages a directory of its own instead of /.
    mkdir -p "$T/root-$id"
    printf 'root_dir: %s\n' "$T/root-$id" >>"$T/$id/minion.yaml"
    fl_start "$id" "$FLEET_BIN/fleet-minion" -c "$T/$id/minion.yaml"
done
for id in pi-1 pi-2 gw-1; do
    fl_wait_for 10 fl_connected "$id"
done
echo "all three joined by themselves: their certificates were signed by the fleet root"
show fleetctl key list

step "Who answers?"
show fleetctl run '*' test.ping

step "Target by grain: the staging devices"
show fleetctl run -G channel:staging grains.get channel

step "Compound target: gateways that are not live"
show fleetctl run -C 'G@class:gateway and not G@channel:live' cmd.run uname -sr

step "JSON for scripts"
show fleetctl --json run -L gw-1 test.echo hello

step "States: what would change on pi-1 (a dry run), from the example tree in git"
show fleetctl apply pi-1 base bus --test

step "Apply them to every device (the summary of each)"
printf '\033[2m$ fleetctl apply %s base bus\033[0m\n' "'*'"
fleetctl apply '*' base bus | grep -E '^(Summary|Succeeded|Failed)' || true
echo "pi-1's /etc/fleet-app/bus.conf (rendered from pillar; pi-1 is on the staging channel):"
sed 's/^/    /' "$T/root-pi-1/etc/fleet-app/bus.conf"

step "Apply again: nothing changes"
fleetctl apply '*' base bus | grep -E '^(Summary|Succeeded|Failed)' || true

step "A device that went silent is named"
fl_stop_pid "$(fl_pid gw-1)"
show fleetctl run '*' test.ping --timeout 2

step "Jobs are kept"
show fleetctl jobs

step "Done: stopping the master and the minions"
