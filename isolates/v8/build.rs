//! With the `v8` feature: makes the V8 startup snapshot every isolate starts from (deno_core's
//! own JS plus `src/bootstrap.js`) at build time, into `$OUT_DIR/shoal-v8.snapshot`, so no
//! process pays for making it. Runs V8 once (about a second, plus linking V8 into this script).

#[cfg(feature = "v8")]
#[path = "src/host.rs"]
mod host;

/// The host globals and the JS half of the ABI (`console`, `process.env`, timers,
/// `module`/`exports`, the hidden `__shoal` runner), run once into the snapshot.
#[cfg(feature = "v8")]
const BOOTSTRAP: &str = include_str!("src/bootstrap.js");

/// The Node layer's prelude (shared with QuickJS), run just before the bootstrap script.
#[cfg(feature = "v8")]
const NODE: &str = include_str!("../common/js/node.js");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "v8")]
    if let Err(e) = snapshot() {
        panic!("cannot make the V8 startup snapshot: {e}");
    }
}

#[cfg(feature = "v8")]
fn snapshot() -> Result<(), Box<dyn std::error::Error>> {
    use deno_core::snapshot::{CreateSnapshotOptions, create_snapshot};
    println!("cargo:rerun-if-changed=src/bootstrap.js");
    println!("cargo:rerun-if-changed=src/host.rs");
    println!("cargo:rerun-if-changed=../common/js/node.js");
    let made = create_snapshot(
        CreateSnapshotOptions {
            cargo_manifest_dir: env!("CARGO_MANIFEST_DIR"),
            startup_snapshot: None,
            skip_op_registration: false,
            extensions: vec![host::shoal_host::init()],
            extension_transpiler: None,
            with_runtime_cb: Some(Box::new(|runtime| {
                let prelude = format!("globalThis.__shoalNode = {NODE}");
                if let Err(e) = runtime.execute_script("node:internal/prelude", prelude) {
                    panic!("node.js failed: {e}");
                }
                if let Err(e) = runtime.execute_script("ext:shoal/bootstrap.js", BOOTSTRAP) {
                    panic!("bootstrap.js failed: {e}");
                }
            })),
        },
        None,
    )?;
    for file in made.files_loaded_during_snapshot {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").ok_or("no OUT_DIR")?);
    std::fs::write(out.join("shoal-v8.snapshot"), made.output)?;
    Ok(())
}
