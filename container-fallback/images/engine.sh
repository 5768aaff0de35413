#!/usr/bin/env bash
# Starts, stops or power-cuts a private Docker engine for the container tests: Debian's dockerd
# with its data, state and socket under $SHOAL_DOCKER_DIR (default /tmp/shoal-docker), no
# iptables rules (shoal reaches containers directly at their bridge address), its containers
# under the cgroup parent /shoal<dir with / as _> (e.g. /shoal_tmp_shoal-docker). Needs root and
# the docker.io package.
#
# A second engine runs beside the first with its own dir and its own bridge, which this script
# creates (and `stop` removes) when missing, so the two default networks do not collide:
#   SHOAL_DOCKER_DIR=/tmp/shoal-docker-b SHOAL_DOCKER_BRIDGE=shoal-br1 \
#       SHOAL_DOCKER_BIP=172.31.7.1/24 engine.sh start
# (pass the same variables to every command on that engine; without them: docker0's defaults).
#
# With SHOAL_DOCKER_TCP=127.0.0.1:PORT the engine also listens there, over TLS that verifies its
# clients: the CA, the engine's certificate and a client's (ca.pem, cert.pem, key.pem, as the
# Docker CLI names them) are made with openssl into $dir/tls on first start.
#
#   engine.sh start   # prints the DOCKER_HOST to use; reuses an engine already running there
#   engine.sh stop    # stops the engine if this script started it
#   engine.sh kill    # SIGKILLs the engine as a power cut would: dockerd, its containerd, the
#                     # containerd-shims and every process of its containers; `start` again after
set -euo pipefail
dir="${SHOAL_DOCKER_DIR:-/tmp/shoal-docker}"
sock="unix://$dir/docker.sock"
bridge="${SHOAL_DOCKER_BRIDGE:-}"
bip="${SHOAL_DOCKER_BIP:-}"
tcp="${SHOAL_DOCKER_TCP:-}"
cgroup="/shoal${dir//\//_}"

# The engine's processes: those with an argument naming a path in its exec root (dockerd's
# --exec-root, containerd's --config, each shim's -address), their children (dockerd's port
# forwarders, docker-proxy), and every process in its cgroup parent (the containers', whoever
# their parent is now).
engine_pids() {
    local p args a ppid own=" "
    for p in /proc/[0-9]*; do
        mapfile -d '' -t args 2>/dev/null <"$p/cmdline" || continue
        for a in "${args[@]}"; do
            case "$a" in "$dir/exec" | "$dir/exec/"*)
                echo "${p#/proc/}"
                own+="${p#/proc/} "
                break
                ;;
            esac
        done
    done
    for p in /proc/[0-9]*; do
        ppid="$(awk '/^PPid:/ {print $2}' "$p/status" 2>/dev/null)" || continue
        case "$own" in *" $ppid "*) echo "${p#/proc/}" ;; esac
    done
    for root in /sys/fs/cgroup/pids /sys/fs/cgroup/memory /sys/fs/cgroup; do
        if [ -d "$root$cgroup" ]; then
            find "$root$cgroup" -name cgroup.procs -exec cat {} +
            break
        fi
    done
}

# A CA, a server certificate for 127.0.0.1 and a client certificate, in $dir/tls.
make_certificates() {
    local t="$dir/tls"
    [ -f "$t/key.pem" ] && return
    mkdir -p "$t"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=shoal-test-ca \
        -keyout "$t/ca-key.pem" -out "$t/ca.pem" 2>/dev/null
    for who in server client; do
        openssl req -newkey rsa:2048 -nodes -subj "/CN=$who" -keyout "$t/$who-key.pem" \
            -out "$t/$who.csr" 2>/dev/null
        if [ "$who" = server ]; then
            printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$t/ext.cnf"
        else
            printf 'extendedKeyUsage=clientAuth\n' >"$t/ext.cnf"
        fi
        openssl x509 -req -in "$t/$who.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" \
            -CAcreateserial -days 3650 -extfile "$t/ext.cnf" -out "$t/$who-cert.pem" 2>/dev/null
    done
    cp "$t/client-cert.pem" "$t/cert.pem"
    cp "$t/client-key.pem" "$t/key.pem"
}

case "${1:-}" in
start)
    mkdir -p "$dir"
    if DOCKER_HOST="$sock" docker version >/dev/null 2>&1; then
        echo "$sock"
        exit 0
    fi
    net=()
    if [ -n "$bridge" ]; then
        if ! ip link show "$bridge" >/dev/null 2>&1; then
            ip link add name "$bridge" type bridge
            touch "$dir/created-bridge"
        fi
        if [ -n "$bip" ] && ! ip -4 addr show dev "$bridge" | grep -qF " $bip "; then
            ip addr add "$bip" dev "$bridge"
        fi
        ip link set "$bridge" up
        net=(--bridge "$bridge")
    elif [ -n "$bip" ]; then
        net=(--bip "$bip")
    fi
    if [ -n "$tcp" ]; then
        make_certificates
        net+=(-H "tcp://$tcp" --tlsverify --tlscacert "$dir/tls/ca.pem"
            --tlscert "$dir/tls/server-cert.pem" --tlskey "$dir/tls/server-key.pem")
    fi
    nohup dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
        -H "$sock" --iptables=false --ip-masq=false --cgroup-parent "$cgroup" "${net[@]}" \
        >"$dir/dockerd.log" 2>&1 &
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
    if [ -n "$bridge" ] && [ -f "$dir/created-bridge" ]; then
        ip link delete "$bridge" 2>/dev/null || true
        rm -f "$dir/created-bridge"
    fi
    ;;
kill)
    # All at once and again until none is left (a container may fork meanwhile), then the pid
    # files and sockets they leave, so that `start` starts afresh.
    for _ in $(seq 1 50); do
        pids="$(engine_pids | sort -u)"
        [ -n "$pids" ] || break
        # shellcheck disable=SC2086
        kill -9 $pids 2>/dev/null || true
        sleep 0.1
    done
    if pids="$(engine_pids)" && [ -n "$pids" ]; then
        echo "engine processes still alive:" "${pids//$'\n'/ }" >&2
        exit 1
    fi
    rm -f "$dir/docker.pid" "$dir/docker.sock" "$dir/exec/containerd/containerd.pid" \
        "$dir/exec/containerd/containerd.sock" "$dir/exec/containerd/containerd.sock.ttrpc"
    ;;
*)
    echo "usage: $0 start|stop|kill" >&2
    exit 2
    ;;
esac
