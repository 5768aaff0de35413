//! The Node.js layer both JS engines share: the loader and prelude (`js/node.js`), the
//! built-in modules (`js/node/**/*.js`, embedded at build time), the files of zip actions
//! ([`ActionFiles`]) and the native primitives the built-ins stand on ([`primitives`]).
//!
//! The layer is JavaScript so that QuickJS and V8 behave the same: each engine evaluates
//! [`PRELUDE`] once per isolate (V8: once, into its startup snapshot) and calls the function
//! it yields with a host object whose members map onto this module (see the header of
//! `js/node.js`). Built-in modules are compiled only when an action first requires them.

mod files;
pub mod primitives;
mod unavailable;

pub use files::{ActionFiles, DigestCache};
pub use unavailable::{UNAVAILABLE, needs_full_node};

/// The loader and prelude: a script whose value is `function (host) -> {require, loadEntry}`.
pub const PRELUDE: &str = include_str!("../../js/node.js");

/// The built-in modules by id (`events`, `internal/web`, …), sorted by id.
static BUILTINS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The source of built-in module `id`, if shoal has one.
pub fn builtin(id: &str) -> Option<&'static str> {
    BUILTINS
        .binary_search_by(|(name, _)| (*name).cmp(id))
        .ok()
        .map(|i| BUILTINS[i].1)
}

/// The host's CPU architecture as Node's `process.arch` names it.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        "x86" => "ia32",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_found_by_id() {
        assert!(PRELUDE.contains("loadEntry"));
        assert!(builtin("no-such-module").is_none());
        let ids: Vec<&str> = BUILTINS.iter().map(|(id, _)| *id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        for id in ids {
            assert!(builtin(id).is_some(), "{id}");
        }
    }
}
