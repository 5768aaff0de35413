//! Embeds the Node layer's built-in modules (`js/node/**/*.js`) as a sorted table of
//! `(id, source)` in `$OUT_DIR/builtins.rs`, so adding a module needs no Rust change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js/node");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut modules = Vec::new();
    collect(&root, &root, &mut modules);
    modules.sort();
    let mut table = String::from("&[\n");
    for (id, path) in &modules {
        writeln!(table, "    ({id:?}, include_str!({path:?})),")?;
    }
    table.push(']');
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("no OUT_DIR")?).join("builtins.rs");
    std::fs::write(&out, table).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(())
}

/// Every `.js` file under `dir`, as (module id relative to `root` without `.js`, path).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let (Some("js"), Ok(rel)) = (
            path.extension().and_then(|e| e.to_str()),
            path.strip_prefix(root),
        ) {
            let id = rel.with_extension("").to_string_lossy().replace('\\', "/");
            out.push((id, path.to_string_lossy().into_owned()));
        }
    }
}
