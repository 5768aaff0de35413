#!/usr/bin/env bash
# Builds the container images the tests use, from Debian packages only (no image registry is
# reachable): a bookworm root filesystem made by debootstrap (minbase + python3 + nodejs)
# imported as `shoal/base:bookworm`, then on top of it shoal's Python and Node.js runtime images
# and an example blackbox image, all served by shoal's own action proxy
# (`proxy/shoal_proxy.py`); images that misbehave
# as some blackbox images do (another vendor's proxy printing no log sentinels, one answering
# /init with 503, one that never listens, one that exits at once); and an empty image built for
# another CPU architecture.
#
# Needs a running Docker engine (DOCKER_HOST) and debootstrap. The root filesystem is cached in
# $SHOAL_ROOTFS (default: target/container-rootfs) and the base image is reused when present.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rootfs="${SHOAL_ROOTFS:-$here/../../target/container-rootfs}"
mirror="${SHOAL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# The base image's version, raised whenever what it holds changes (2: nodejs added).
base_version=2
if ! docker image inspect -f '{{.Config.Env}}' shoal/base:bookworm 2>/dev/null | grep -q "SHOAL_BASE=$base_version"; then
    if [ ! -x "$rootfs/usr/bin/python3" ] || [ ! -x "$rootfs/usr/bin/node" ]; then
        rm -rf "$rootfs"
        debootstrap --variant=minbase --include=python3,nodejs bookworm "$rootfs" "$mirror"
    fi
    tar -C "$rootfs" -c . | docker import --change "ENV SHOAL_BASE=$base_version" - shoal/base:bookworm
fi
docker build -q -t shoal/action-python:3.11 -f "$here/python.Dockerfile" "$here/.."
docker build -q -t shoal/action-nodejs:20 -f "$here/nodejs.Dockerfile" "$here/.."
docker build -q -t shoal/blackbox-example:latest -f "$here/blackbox.Dockerfile" "$here/.."
docker build -q -t shoal-test/foreign-proxy:1 -f - "$here/test" <<'EOF'
FROM shoal/base:bookworm
COPY foreign_proxy.py /foreign_proxy.py
CMD ["python3", "-u", "/foreign_proxy.py"]
EOF
docker build -q -t shoal-test/init-503:1 - <<'EOF'
FROM shoal-test/foreign-proxy:1
ENV FOREIGN_INIT_STATUS=503
EOF
docker build -q -t shoal-test/no-proxy:1 - <<'EOF'
FROM shoal/base:bookworm
CMD ["sleep", "infinity"]
EOF
docker build -q -t shoal-test/exits:1 - <<'EOF'
FROM shoal/base:bookworm
CMD ["true"]
EOF

# An image built for another CPU architecture (arm64 here, or amd64 on an arm64 node), to test
# that shoal refuses it with a clear message: one empty layer and a config saying so, loaded
# as a `docker save` archive.
python3 - "$(uname -m)" "$here" <<'PY' | docker load -q
import io, sys, tarfile
sys.path.insert(0, sys.argv[2])
from image_archive import save
foreign = "amd64" if sys.argv[1] == "aarch64" else "arm64"
layer = io.BytesIO()
tarfile.open(fileobj=layer, mode="w").close()
save(layer.getvalue(), {"architecture": foreign, "os": "linux", "config": {"Cmd": ["/nothing"]}},
     ["shoal-test/foreign-arch:1"])
PY
