#!/usr/bin/env bash
# Sets up the multi-architecture container tests, from Debian packages only: qemu-user-static
# registered with binfmt_misc (F flag, so arm64 binaries run in containers, emulated), the "arch
# probe" action image (busybox-static and test/arch_probe.sh, answering /run with its `uname -m`)
# built for amd64 and for arm64, and a local registry (Debian's docker-registry on 127.0.0.1)
# serving it as
#   ADDR/shoal-test/arch-probe:amd64   ADDR/shoal-test/arch-probe:arm64   (single-arch images)
#   ADDR/shoal-test/arch-probe:multi   (a manifest list over both)
#
# Needs root, a running Docker engine to load and push through (DOCKER_HOST), and the packages
# qemu-user-static and docker-registry. The busybox-static packages are cached in
# $SHOAL_MULTIARCH_CACHE (default target/multiarch); the registry keeps its storage, pid and log
# in $SHOAL_REGISTRY_DIR (default /tmp/shoal-registry) and listens on $SHOAL_REGISTRY_PORT
# (default 5055).
#
#   multiarch.sh start   # prints the registry address (127.0.0.1:PORT); reuses a running one
#   multiarch.sh stop    # stops the registry if this script started it
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SHOAL_MULTIARCH_CACHE:-$here/../../target/multiarch}"
mirror="${SHOAL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
rdir="${SHOAL_REGISTRY_DIR:-/tmp/shoal-registry}"
port="${SHOAL_REGISTRY_PORT:-5055}"
addr="127.0.0.1:$port"
repo="$addr/shoal-test/arch-probe"

registry_up() { curl -sf -o /dev/null "http://$addr/v2/"; }

case "${1:-}" in
start) ;;
stop)
    if [ -f "$rdir/started-by-shoal" ] && [ -f "$rdir/registry.pid" ]; then
        pid="$(cat "$rdir/registry.pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        rm -f "$rdir/started-by-shoal" "$rdir/registry.pid"
    fi
    exit 0
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac

# Only the registry address goes to stdout.
exec 3>&1 1>&2

# qemu for the other architecture, registered with the F flag (the kernel opens the emulator
# now, so it need not exist inside containers), as /usr/lib/binfmt.d/ gives it.
case "$(uname -m)" in
x86_64) qemu="qemu-aarch64" ;;
aarch64) qemu="qemu-x86_64" ;;
*) echo "multiarch.sh: no emulator set up for $(uname -m)" >&2; exit 1 ;;
esac
binfmt=/proc/sys/fs/binfmt_misc
[ -f "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt"
if ! grep -qs '^flags:.*F' "$binfmt/$qemu"; then
    [ ! -f "$binfmt/$qemu" ] || echo -1 >"$binfmt/$qemu"
    line="$(cat "/usr/lib/binfmt.d/$qemu.conf")"
    case "${line##*:}" in *F*) ;; *) line="${line}F" ;; esac
    echo "$line" >"$binfmt/register"
fi

# busybox-static of both architectures, through a private apt state (the system's is left
# alone); only the .deb files are kept.
mkdir -p "$cache"
if ! ls "$cache"/busybox-static_*_amd64.deb "$cache"/busybox-static_*_arm64.deb >/dev/null 2>&1; then
    apt_dir="$(mktemp -d)"
    trap 'rm -rf "$apt_dir"' EXIT
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    echo "deb [arch=amd64,arm64] $mirror bookworm main" >"$apt_dir/sources.list"
    apt=(apt-get -q -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache"
        -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 -o APT::Sandbox::User=root)
    "${apt[@]}" update
    (cd "$cache" && "${apt[@]}" download busybox-static:amd64 busybox-static:arm64)
fi

# The two images, each one layer (busybox, its applet links, the proxy) and a config naming
# its architecture, written as `docker save` archives and loaded.
for arch in amd64 arm64; do
    python3 - "$arch" "$cache"/busybox-static_*_"$arch".deb "$here/test/arch_probe.sh" \
        "$repo:$arch" "$here" <<'PY' | docker load -q
import io, os, subprocess, sys, tarfile, tempfile
arch, deb, proxy, tag, here = sys.argv[1:]
sys.path.insert(0, here)
from image_archive import add, save
busybox = tarfile.open(fileobj=io.BytesIO(subprocess.run(
    ["dpkg-deb", "--fsys-tarfile", deb], check=True, capture_output=True).stdout))
busybox = busybox.extractfile("./bin/busybox").read()
# Links for all its applets, as it lists them (the foreign one runs under qemu already).
with tempfile.NamedTemporaryFile(delete=False) as f:
    f.write(busybox)
os.chmod(f.name, 0o755)
applets = subprocess.run(["busybox", "--list"], executable=f.name, check=True,
                         capture_output=True, text=True).stdout
os.unlink(f.name)

layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as archive:
    for d, mode in (("bin", 0o755), ("tmp", 0o1777), ("proc", 0o555), ("sys", 0o555),
                    ("dev", 0o755), ("etc", 0o755)):
        add(archive, d, mode=mode, kind=tarfile.DIRTYPE)
    add(archive, "bin/busybox", busybox, 0o755)
    for applet in applets.split():
        if applet != "busybox":
            add(archive, "bin/" + applet, mode=0o777, kind=tarfile.SYMTYPE, link="busybox")
    add(archive, "arch_probe.sh", open(proxy, "rb").read(), 0o755)
config = {
    "architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
    "config": {"Env": ["PATH=/bin"], "Cmd": ["/arch_probe.sh", "serve"],
               "ExposedPorts": {"8080/tcp": {}}, "Labels": {"shoal.log-sentinels": "true"}},
    "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "multiarch.sh"}],
}
if arch == "arm64":
    config["variant"] = "v8"
save(layer.getvalue(), config, [tag, "shoal-test/arch-probe:" + arch])
PY
done

# The registry, then the two images and a manifest list over them.
if ! registry_up; then
    mkdir -p "$rdir/data"
    cat >"$rdir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $rdir/data
  delete:
    enabled: true
http:
  addr: $addr
EOF
    # (fd 3 closed: it may be a caller's $(...), which must not wait for the registry)
    nohup docker-registry serve "$rdir/config.yml" >"$rdir/registry.log" 2>&1 3>&- &
    echo $! >"$rdir/registry.pid"
    touch "$rdir/started-by-shoal"
    for _ in $(seq 1 50); do
        registry_up && break
        sleep 0.2
    done
    if ! registry_up; then
        echo "docker-registry did not start; its log:" >&2
        tail -20 "$rdir/registry.log" >&2
        exit 1
    fi
fi
docker push -q "$repo:amd64"
docker push -q "$repo:arm64"
python3 - "$addr" <<'PY'
import hashlib, json, sys, urllib.request
addr = sys.argv[1]
base = f"http://{addr}/v2/shoal-test/arch-probe/manifests/"
v2 = "application/vnd.docker.distribution.manifest.v2+json"
lst = "application/vnd.docker.distribution.manifest.list.v2+json"
manifests = []
for arch in ("amd64", "arm64"):
    body = urllib.request.urlopen(urllib.request.Request(base + arch, headers={"Accept": v2})).read()
    platform = {"architecture": arch, "os": "linux"}
    if arch == "arm64":
        platform["variant"] = "v8"
    manifests.append({"mediaType": v2, "size": len(body), "platform": platform,
                      "digest": "sha256:" + hashlib.sha256(body).hexdigest()})
index = json.dumps({"schemaVersion": 2, "mediaType": lst, "manifests": manifests}).encode()
urllib.request.urlopen(urllib.request.Request(base + "multi", data=index, method="PUT",
                                              headers={"Content-Type": lst}))
PY
echo "$addr" >&3
