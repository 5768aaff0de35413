"""Writes one-layer images as `docker save` archives (for `docker load`), so the test scripts
can make images of any architecture without a registry or a builder. Used by build.sh and
multiarch.sh."""
import hashlib
import io
import json
import sys
import tarfile


def add(archive, name, data=b"", mode=0o644, kind=tarfile.REGTYPE, link=""):
    """Adds a file (or, with `kind`, a directory or symlink to `link`) to a tar archive."""
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, link
    if kind == tarfile.REGTYPE:
        info.size = len(data)
    archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def save(layer, config, tags):
    """Writes to stdout the archive of an image of one `layer` (tar bytes), its `config` (the
    image config without `rootfs`) and `tags`."""
    config = dict(config, rootfs={
        "type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]})
    config = json.dumps(config).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "Layers": ["layer.tar"],
                            "RepoTags": tags}]).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        add(archive, "layer.tar", layer)
        add(archive, config_name, config)
        add(archive, "manifest.json", manifest)
    sys.stdout.buffer.write(out.getvalue())
