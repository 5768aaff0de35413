#!/usr/bin/env bash
# Starts or stops a private Docker engine for the container tests: Debian's dockerd with its
# data, state and socket under $SHOAL_DOCKER_DIR (default /tmp/shoal-docker), no iptables
# rules (shoal reaches containers directly at their bridge address). Needs root and the
# docker.io package.
#
#   engine.sh start   # prints the DOCKER_HOST to use; reuses an engine already running there
#   engine.sh stop    # stops the engine if this script started it
set -euo pipefail
dir="${SHOAL_DOCKER_DIR:-/tmp/shoal-docker}"
sock="unix://$dir/docker.sock"

case "${1:-}" in
start)
    mkdir -p "$dir"
    if DOCKER_HOST="$sock" docker version >/dev/null 2>&1; then
        echo "$sock"
        exit 0
    fi
    nohup dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
        -H "$sock" --iptables=false --ip-masq=false >"$dir/dockerd.log" 2>&1 &
    for _ in $(seq 1 150); do
        if DOCKER_HOST="$sock" docker version >/dev/null 2>&1; then
            touch "$dir/started-by-shoal"
            echo "$sock"
            exit 0
        fi
        sleep 0.2
    done
    echo "dockerd did not start; its log:" >&2
    tail -20 "$dir/dockerd.log" >&2
    exit 1
    ;;
stop)
    if [ -f "$dir/started-by-shoal" ] && [ -f "$dir/docker.pid" ]; then
        pid="$(cat "$dir/docker.pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        rm -f "$dir/started-by-shoal"
    fi
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
