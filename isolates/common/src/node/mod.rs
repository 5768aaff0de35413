//! The Node.js layer both JS engines share: the loader and prelude (`js/node.js`), the
//! built-in modules (`js/node/**/*.js`, embedded at build time), the files of zip actions
//! ([`ActionFiles`]) and the native primitives the built-ins stand on ([`primitives`]).
//!
//! The layer is JavaScript so that QuickJS and V8 behave the same: each engine evaluates
//! [`PRELUDE`] once per isolate (V8: once, into its startup snapshot) and calls the function
//! it yields with a host object whose members map onto this module (see the header of
//! `js/node.js`). Built-in modules are compiled only when an action first requires them.

pub mod crypto;
mod files;
pub mod primitives;
mod unavailable;

pub use files::{ActionFiles, CODE_CACHE_BYTES, DigestCache, Weighed};
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

/// Whether `source`, evaluated under `name`, is exactly what the prelude's loader compiles
/// for built-in module `node:<id>` (its source in the loader's one-line CommonJS wrapper), so
/// an engine may cache its compiled form per name. Anything else named `node:*` (an action
/// that got hold of `host.evaluate`) must not reach a cache other isolates read.
pub fn is_builtin_wrapper(name: &str, source: &str) -> bool {
    const HEAD: &str = "(function (exports, require, module, __filename, __dirname, host) {";
    let Some(module) = name.strip_prefix("node:").and_then(builtin) else {
        return false;
    };
    source
        .strip_prefix(HEAD)
        .and_then(|rest| rest.strip_suffix("\n})"))
        == Some(module)
}

/// Whether `source`, evaluated under `name`, is exactly what the loader compiles for the zip
/// file at `/action/<path>` (its text, a leading `#!` line commented out, in the loader's
/// CommonJS wrapper), so an engine may share its compiled form between the isolates of the
/// action.
pub fn is_module_wrapper(files: &ActionFiles, name: &str, source: &str) -> bool {
    const HEAD: &str = "(function (exports, require, module, __filename, __dirname) {";
    let Some(text) = name
        .strip_prefix("/action/")
        .and_then(|path| files.file(path))
    else {
        return false;
    };
    let Some(body) = source
        .strip_prefix(HEAD)
        .and_then(|rest| rest.strip_suffix("\n})"))
    else {
        return false;
    };
    match text.strip_prefix("#!") {
        Some(rest) => body.strip_prefix("//#!") == Some(rest),
        None => body == text,
    }
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
    fn only_the_loaders_own_wrapper_of_a_builtin_is_genuine() {
        let events = builtin("events").unwrap_or_default();
        let wrapped = format!(
            "(function (exports, require, module, __filename, __dirname, host) {{{events}\n}})"
        );
        assert!(is_builtin_wrapper("node:events", &wrapped));
        assert!(!is_builtin_wrapper(
            "node:events",
            "(function () { steal(); })"
        ));
        assert!(!is_builtin_wrapper("node:path", &wrapped));
        assert!(!is_builtin_wrapper("/action/x.js", &wrapped));
    }

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
