//! What the isolates cannot give a Node.js action (Node's modules that reach the host: the
//! file system, processes, raw sockets…, and native addons), and whether an action's code
//! asks for any of it, so the host can run such an action in its kind's container instead.

use shoal_router::ActionCode;

use super::ActionFiles;

/// Node's built-in modules the isolates refuse (`require` throws an error naming them). The
/// Node layer's loader gets this list as `host.unavailable`.
pub const UNAVAILABLE: &[&str] = &[
    "async_hooks",
    "child_process",
    "cluster",
    "dgram",
    "diagnostics_channel",
    "dns",
    "dns/promises",
    "fs",
    "fs/promises",
    "http2",
    "inspector",
    "module",
    "net",
    "perf_hooks",
    "readline",
    "repl",
    "tls",
    "trace_events",
    "tty",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
];

/// Why `action` needs a real Node.js (it requires an unavailable module, or a zip holds a
/// native addon), or `None` when the isolates can run it. Looks at literal `require('…')`
/// calls in the action's own files only: dependencies in `node_modules` often require `fs` on
/// paths an action never takes, so only their native addons count.
pub fn needs_full_node(action: &ActionCode) -> Option<String> {
    if !action.kind.starts_with("nodejs:") {
        return None;
    }
    if !action.binary {
        return unavailable_required(&action.code).map(|m| requires(m, None));
    }
    let files = ActionFiles::unzip(&action.code).ok()?;
    let mut paths: Vec<&str> = files.paths().collect();
    paths.sort_unstable();
    if let Some(addon) = paths.iter().find(|p| p.ends_with(".node")) {
        return Some(format!(
            "it holds the native addon '{addon}', which shoal's JS isolates cannot load"
        ));
    }
    paths
        .into_iter()
        .filter(|p| (p.ends_with(".js") || p.ends_with(".cjs")) && !in_node_modules(p))
        .find_map(|p| {
            let module = unavailable_required(files.file(p)?)?;
            Some(requires(module, Some(p)))
        })
}

fn requires(module: &str, file: Option<&str>) -> String {
    let place = file.map(|f| format!(" (in {f})")).unwrap_or_default();
    format!("it requires Node's '{module}' module{place}, which shoal's JS isolates do not provide")
}

fn in_node_modules(path: &str) -> bool {
    path.split('/').any(|part| part == "node_modules")
}

/// The first unavailable module named by a literal `require('…')` in `source`.
fn unavailable_required(source: &str) -> Option<&'static str> {
    source.match_indices("require(").find_map(|(at, call)| {
        let rest = source[at + call.len()..].trim_start();
        let quote = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '\'' | '"' | '`'))?;
        let name = rest[1..].split(quote).next()?;
        let name = name.strip_prefix("node:").unwrap_or(name);
        UNAVAILABLE.iter().copied().find(|m| *m == name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_requires_of_unavailable_modules_are_found() {
        assert_eq!(
            unavailable_required("const fs = require('fs');"),
            Some("fs")
        );
        assert_eq!(
            unavailable_required("require( \"node:child_process\")"),
            Some("child_process")
        );
        assert_eq!(
            unavailable_required("require(`fs/promises`)"),
            Some("fs/promises")
        );
        assert_eq!(
            unavailable_required("require('./fs'); require('path')"),
            None
        );
        assert_eq!(unavailable_required("require(name)"), None);
        assert!(in_node_modules("a/node_modules/b/index.js"));
        assert!(!in_node_modules("lib/index.js"));
    }
}
