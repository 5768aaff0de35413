#!/usr/bin/env bash
# Builds the container images the tests use, from Debian packages only (no image registry is
# reachable): a bookworm root filesystem made by debootstrap (minbase + python3) imported as
# `shoal/base:bookworm`, then on top of it shoal's Python runtime image and an example blackbox
# image, both served by shoal's own action proxy (`proxy/shoal_proxy.py`).
#
# Needs a running Docker engine (DOCKER_HOST) and debootstrap. The root filesystem is cached in
# $SHOAL_ROOTFS (default: target/container-rootfs) and the base image is reused when present.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rootfs="${SHOAL_ROOTFS:-$here/../../target/container-rootfs}"
mirror="${SHOAL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if ! docker image inspect shoal/base:bookworm >/dev/null 2>&1; then
    if [ ! -x "$rootfs/usr/bin/python3" ]; then
        rm -rf "$rootfs"
        debootstrap --variant=minbase --include=python3 bookworm "$rootfs" "$mirror"
    fi
    tar -C "$rootfs" -c . | docker import - shoal/base:bookworm
fi
docker build -q -t shoal/action-python:3.11 -f "$here/python.Dockerfile" "$here/.."
docker build -q -t shoal/blackbox-example:latest -f "$here/blackbox.Dockerfile" "$here/.."
