#!/usr/bin/env bash
# engine.sh: a private container engine and registry for tests, as
# ../shared/recipes/container-engine.md describes: podman's Docker-compatible
# API on a unix socket (runc, private storage and config) and Debian's
# docker-registry on a loopback port.  Nothing in /etc is touched.
#
#   tests/engine.sh start DIR [REGISTRY_PORT]   start both; prints the socket path
#   tests/engine.sh engine DIR REGISTRY_PORT    start podman only (a device's engine), using
#                                               the registry another start runs
#   tests/engine.sh stop DIR                    stop what DIR's start started (by PID)
#   tests/engine.sh image DIR NAME:TAG [WORD]   build a busybox image and push it to
#                                               127.0.0.1:PORT/NAME:TAG (WORD lands in /etc/word)
#   tests/engine.sh podman DIR ARGS...          podman with DIR's storage and config
set -eu
cmd=${1:?usage: engine.sh start|stop|image|podman DIR ...}
dir=${2:?usage: engine.sh start|stop|image|podman DIR ...}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
export CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_REGISTRIES_CONF="$dir/registries.conf"

p() { podman --root "$dir/storage" --runroot "$dir/run" "$@"; }

wait_for() {  # wait_for SECONDS COMMAND...
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

write_config() {  # write_config PORT
    echo "$1" >"$dir/registry.port"
    cat >"$dir/containers.conf" <<CONF
[engine]
runtime = "runc"
[containers]
default_ulimits = ["nofile=1024:1024","nproc=1024:1024"]
CONF
    cat >"$dir/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
location = "127.0.0.1:$1"
insecure = true
CONF
}

start_podman() {
    podman --root "$dir/storage" --runroot "$dir/run" system service --time=0 \
        "unix://$dir/podman.sock" >"$dir/podman.log" 2>&1 &
    echo $! >"$dir/podman.pid"
    wait_for 20 curl -sf --unix-socket "$dir/podman.sock" http://d/v1.41/version ||
        { echo "engine.sh: podman did not start; see $dir/podman.log" >&2; exit 1; }
}

case "$cmd" in
engine)
    write_config "${3:?usage: engine.sh engine DIR REGISTRY_PORT}"
    start_podman
    echo "$dir/podman.sock"
    ;;
start)
    port=${3:-5000}
    write_config "$port"
    cat >"$dir/registry.yml" <<CONF
version: 0.1
storage:
  filesystem:
    rootdirectory: $dir/registry-data
http:
  addr: 127.0.0.1:$port
CONF
    docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
    echo $! >"$dir/registry.pid"
    start_podman
    wait_for 20 curl -sf "http://127.0.0.1:$port/v2/" ||
        { echo "engine.sh: the registry did not start; see $dir/registry.log" >&2; exit 1; }
    echo "$dir/podman.sock"
    ;;
stop)
    # Containers first (their conmon processes are podman's children).
    p ps -aq 2>/dev/null | xargs -r podman --root "$dir/storage" --runroot "$dir/run" rm -f -t 0 >/dev/null 2>&1 || true
    for f in podman registry; do
        if [ -f "$dir/$f.pid" ]; then
            pid=$(cat "$dir/$f.pid")
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$dir/$f.pid"
        fi
    done
    # podman leaves its storage mounted (overlay); unmount what is under DIR.
    grep -o " $dir/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    ;;
image)
    ref=${3:?usage: engine.sh image DIR NAME:TAG [WORD]}
    word=${4:-$ref}
    port=$(cat "$dir/registry.port")
    build=$(mktemp -d "$dir/build-XXXXXX")
    mkdir -p "$build/bin" "$build/etc"
    cp "$(command -v busybox)" "$build/bin/busybox"
    for l in sh sleep echo cat ls; do ln -s busybox "$build/bin/$l"; done
    echo "$word" >"$build/etc/word"
    tar -C "$build" -cf "$build.tar" .
    id=$(p import -q --change 'CMD ["sleep","100000"]' "$build.tar" "localhost/$ref")
    p tag "$id" "127.0.0.1:$port/$ref"
    p push -q --tls-verify=false "127.0.0.1:$port/$ref" >/dev/null
    rm -rf "$build" "$build.tar"
    echo "127.0.0.1:$port/$ref"
    ;;
podman)
    shift 2
    p "$@"
    ;;
*)
    echo "engine.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
