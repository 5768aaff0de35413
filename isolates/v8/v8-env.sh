# shellcheck shell=bash
# Sourced (`. isolates/v8/v8-env.sh`) before building with the `v8` feature on a machine that
# cannot download rusty_v8's prebuilt library: points the `v8` crate at the shared, checksummed
# archive (see ../shared/v8/README.md) through RUSTY_V8_ARCHIVE and RUSTY_V8_SRC_BINDING_PATH.
#
# SHOAL_V8_DIR overrides where the archive lives (default: <repo>/../shared/v8). The archive is
# gunzipped once into <target dir>/v8/librusty_v8.a; both checksums are verified every time.
# Returns non-zero (without exiting the caller's shell) when anything does not check out.

shoal_v8_env() {
    local crate_version=150.4.0
    local binding=gen/src_binding_simdutf_release_x86_64-unknown-linux-gnu.rs
    local root dir target out sums want got cargo_home crate

    root=$(git rev-parse --show-toplevel 2>/dev/null) || {
        echo "v8-env: run inside the shoal repository" >&2
        return 1
    }
    dir=${SHOAL_V8_DIR:-$root/../shared/v8}
    sums=$dir/SHA256SUMS
    if [ ! -f "$dir/librusty_v8.a.gz" ] || [ ! -f "$sums" ]; then
        echo "v8-env: no librusty_v8.a.gz and SHA256SUMS in $dir (set SHOAL_V8_DIR)" >&2
        return 1
    fi

    want=$(awk '$2 == "librusty_v8.a.gz" { print $1 }' "$sums")
    got=$(sha256sum "$dir/librusty_v8.a.gz" | cut -d' ' -f1)
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
        echo "v8-env: checksum mismatch for $dir/librusty_v8.a.gz" >&2
        return 1
    fi

    target=${CARGO_TARGET_DIR:-$root/target}
    out=$target/v8/librusty_v8.a
    want=$(awk '$2 == "librusty_v8.a" { print $1 }' "$sums")
    if [ ! -f "$out" ] || [ "$(sha256sum "$out" | cut -d' ' -f1)" != "$want" ]; then
        mkdir -p "$target/v8" || return 1
        gunzip -c "$dir/librusty_v8.a.gz" >"$out.tmp" || return 1
        mv "$out.tmp" "$out" || return 1
    fi
    got=$(sha256sum "$out" | cut -d' ' -f1)
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
        echo "v8-env: checksum mismatch for $out" >&2
        return 1
    fi

    (cd "$root" && cargo fetch --quiet) || return 1
    cargo_home=${CARGO_HOME:-$HOME/.cargo}
    crate=
    for candidate in "$cargo_home"/registry/src/*/v8-"$crate_version"; do
        if [ -f "$candidate/$binding" ]; then
            crate=$candidate
            break
        fi
    done
    if [ -z "$crate" ]; then
        echo "v8-env: v8-$crate_version not found under $cargo_home/registry/src" >&2
        return 1
    fi

    export RUSTY_V8_ARCHIVE=$out
    export RUSTY_V8_SRC_BINDING_PATH=$crate/$binding
}

shoal_v8_env
