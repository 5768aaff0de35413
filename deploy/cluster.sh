#!/usr/bin/env bash
# A local shoal cluster in one command: a private PostgreSQL server, N shoal nodes sharing it,
# and HAProxy balancing the REST API over them, all on loopback.
#
#   deploy/cluster.sh start [NODES]   # default 2 nodes; prints the balancer's URL
#   deploy/cluster.sh restart-node I  # kills node I (from 1) and starts it again, same port
#   deploy/cluster.sh restart-db      # restarts PostgreSQL (fast shutdown), same port
#   deploy/cluster.sh stop            # stops everything it started
#
# Environment: SHOAL_CLUSTER_DIR (state: default ./.shoal-cluster), SHOAL_CLUSTER_PORT (the
# balancer's port: default 3233), SHOAL_BIN (default target/release/shoal, built when missing),
# SHOAL_CLUSTER_CONFIG (a config file every node reads: limits, retention…; default none).
# Needs Debian's postgresql and haproxy packages. As root, PostgreSQL runs as `postgres`.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$(realpath -m "${SHOAL_CLUSTER_DIR:-.shoal-cluster}")"
port="${SHOAL_CLUSTER_PORT:-3233}"
bin="${SHOAL_BIN:-target/release/shoal}"

pg_bin() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -x "$found/initdb" ] || { echo "PostgreSQL is not installed: apt-get install postgresql" >&2; exit 1; }
    echo "$found"
}

# Runs a PostgreSQL program, as `postgres` when root (PostgreSQL refuses to run as root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts node $1 on the port recorded for it and waits until it listens.
start_node() {
    local i="$1" node_port url config=()
    node_port="$(cat "$dir/node$i/port")"
    url="$(cat "$dir/store")"
    [ -n "${SHOAL_CLUSTER_CONFIG:-}" ] && config=(--config "$(realpath "$SHOAL_CLUSTER_CONFIG")")
    "$bin" serve --listen "127.0.0.1:$node_port" --data-dir "$dir/node$i" --store "$url" \
        --api-host "http://127.0.0.1:$port" "${config[@]}" >>"$dir/node$i/log" 2>&1 &
    echo $! >"$dir/node$i/pid"
    for _ in $(seq 1 600); do
        [ "$(grep -c "listening on" "$dir/node$i/log")" -gt "${2:-0}" ] && return 0
        kill -0 "$(cat "$dir/node$i/pid")" 2>/dev/null || { cat "$dir/node$i/log" >&2; exit 1; }
        sleep 0.1
    done
    echo "node $i did not start" >&2
    exit 1
}

restart_node() {
    local i="$1" pid started
    [ -f "$dir/node$i/pid" ] || { echo "no node $i in $dir" >&2; exit 1; }
    pid="$(cat "$dir/node$i/pid")"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    started="$(grep -c "listening on" "$dir/node$i/log" || true)"
    start_node "$i" "$started"
    echo "node $i restarted"
}

restart_db() {
    [ -d "$dir/pg/data" ] || { echo "no cluster in $dir" >&2; exit 1; }
    as_pg "$(pg_bin)/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -m fast -w restart >/dev/null
    echo "PostgreSQL restarted"
}

start() {
    local nodes="${1:-2}"
    command -v haproxy >/dev/null || { echo "HAProxy is not installed: apt-get install haproxy" >&2; exit 1; }
    [ -e "$dir/pg" ] && { echo "a cluster already runs in $dir (deploy/cluster.sh stop)" >&2; exit 1; }
    [ -x "$bin" ] || cargo build --release -p shoal
    mkdir -p "$dir/pg"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pg"
    local pg pg_port url
    pg="$(pg_bin)"
    pg_port="$(free_port)"
    as_pg "$pg/initdb" -D "$dir/pg/data" -U shoal --auth=trust -E UTF8 >"$dir/pg/initdb.log"
    as_pg "$pg/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w start \
        -o "-p $pg_port -k $dir/pg -c listen_addresses=127.0.0.1" >/dev/null
    as_pg "$pg/createdb" -h 127.0.0.1 -p "$pg_port" -U shoal shoal
    url="postgres://shoal@127.0.0.1:$pg_port/shoal"
    echo "$url" >"$dir/store"
    local servers="" i node_port
    for i in $(seq 1 "$nodes"); do
        node_port="$(free_port)"
        mkdir -p "$dir/node$i"
        echo "$node_port" >"$dir/node$i/port"
        start_node "$i"
        servers+="    server node$i 127.0.0.1:$node_port check inter 500ms fall 2 rise 1"$'\n'
    done
    cat >"$dir/haproxy.cfg" <<EOF
global
    maxconn 4000
defaults
    mode http
    timeout connect 2s
    timeout client 75s
    timeout server 75s
    retries 3
    option redispatch
    # A new connection to a node per request, and a request is retried on another node only
    # when its connection was refused: a request that reached a node (which may have run the
    # action) is never sent again. Kept-alive connections would halve the nodes' and
    # HAProxy's CPU per request, but a request sent on one to a node that just died cannot
    # be told from one the node received, so it could only be failed or run twice.
    option http-server-close
    retry-on conn-failure
frontend api
    bind 127.0.0.1:$port
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /ping
$servers
EOF
    haproxy -f "$dir/haproxy.cfg" -D -p "$dir/haproxy.pid"
    echo "shoal cluster of $nodes nodes at http://127.0.0.1:$port (store $url)"
}

stop() {
    [ -f "$dir/haproxy.pid" ] && kill "$(cat "$dir/haproxy.pid")" 2>/dev/null || true
    local pid_file pid
    for pid_file in "$dir"/node*/pid; do
        [ -f "$pid_file" ] || continue
        pid="$(cat "$pid_file")"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ -d "$dir/pg/data" ]; then
        as_pg "$(pg_bin)/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start "${2:-2}" ;;
    restart-node) restart_node "${2:?which node (from 1)}" ;;
    restart-db) restart_db ;;
    stop) stop ;;
    *) echo "usage: $0 start [NODES] | restart-node I | restart-db | stop" >&2; exit 2 ;;
esac
