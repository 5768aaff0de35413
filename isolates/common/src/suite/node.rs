//! The suite's Node.js checks: zip actions as serverless-openwhisk and wskdeploy package
//! them, CommonJS `require` with Node's resolution, the built-in modules and web APIs. Each
//! runs unchanged on every JS engine.

use std::io::Write;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use shoal_router::{ActionCode, Executor, Outcome};

use super::{Expect, Make, Settings, action, action_of, check, invocation};

async fn run(exec: &Arc<dyn Executor>, action: &Arc<ActionCode>, args: Value) -> Outcome {
    exec.invoke(invocation(action, "guest", args, 10_000)).await
}

/// A zip action (`binary`, base64) of `files` with entry point `main`.
pub fn zip_action(name: &str, files: &[(&str, &str)], main: &str) -> Arc<ActionCode> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, text) in files {
        let written = zip
            .start_file(*path, zip::write::SimpleFileOptions::default())
            .and_then(|()| zip.write_all(text.as_bytes()).map_err(Into::into));
        assert!(written.is_ok(), "zipping {path}");
    }
    let bytes = zip.finish().map(|c| c.into_inner()).unwrap_or_default();
    let code = base64::engine::general_purpose::STANDARD.encode(bytes);
    action_of(name, &code, main, true)
}

/// A serverless-openwhisk zip (`package.json` naming the handler file, relative requires, a
/// dependency in `node_modules` with its own `package.json`, JSON data) and a wskdeploy
/// directory action (`index.js` only) both load and run, warm and cold.
pub async fn zip_actions_load_their_entry_with_node_resolution(make: Make) {
    let exec = make(Settings::default());
    let serverless = zip_action(
        "svc",
        &[
            ("package.json", r#"{"name": "svc", "main": "handler.js"}"#),
            (
                "handler.js",
                "const lib = require('./lib');\nconst pad = require('left-pad');\nlet calls = 0;\nexports.hello = (p) => ({msg: lib.greet(p.name), pad: pad('x', 3), file: __filename, dir: __dirname, v: require('./data.json').v, calls: ++calls, same: require('./lib') === lib});",
            ),
            ("lib/index.js", "exports.greet = (n) => 'Hello ' + n;"),
            (
                "node_modules/left-pad/package.json",
                r#"{"main": "./src/pad"}"#,
            ),
            (
                "node_modules/left-pad/src/pad.js",
                "module.exports = (s, n) => ' '.repeat(n - s.length) + s;",
            ),
            ("data.json", r#"{"v": 7}"#),
        ],
        "hello",
    );
    for calls in 1..=2 {
        let outcome = run(&exec, &serverless, json!({"name": "zip"})).await;
        let want = json!({"msg": "Hello zip", "pad": "  x", "file": "/action/handler.js", "dir": "/action", "v": 7, "calls": calls, "same": true});
        check("serverless zip", &outcome.result, &Expect::Ok(want));
    }
    let wskdeploy = zip_action(
        "dir",
        &[
            (
                "index.js",
                "function main(p) { return {sum: require('./math').add(p.a, p.b)}; }\nexports.main = main;",
            ),
            ("math.js", "exports.add = (a, b) => a + b;"),
        ],
        "main",
    );
    let outcome = run(&exec, &wskdeploy, json!({"a": 2, "b": 3})).await;
    check(
        "wskdeploy zip",
        &outcome.result,
        &Expect::Ok(json!({"sum": 5})),
    );
    let as_file_function = zip_action(
        "filefn",
        &[
            ("index.js", "exports.unused = 1;"),
            ("handlers/greet.js", "exports.hi = () => ({hi: true});"),
        ],
        "handlers/greet.hi",
    );
    let outcome = run(&exec, &as_file_function, json!({})).await;
    check(
        "main as file.function",
        &outcome.result,
        &Expect::Ok(json!({"hi": true})),
    );
}

/// Zips that cannot load fail at initialisation with OpenWhisk's texts or a reason.
pub async fn broken_zips_fail_at_initialisation(make: Make) {
    let exec = make(Settings::default());
    let cases: [(&str, Arc<ActionCode>, &str); 5] = [
        (
            "no entry",
            zip_action("noentry", &[("lib.js", "exports.x = 1;")], "main"),
            "Initialization has failed due to: Error: Zipped actions must contain either package.json or index.js at the root.",
        ),
        (
            "no export",
            zip_action(
                "noexport",
                &[("index.js", "exports.other = () => 1;")],
                "main",
            ),
            "Initialization has failed due to: Action entrypoint 'main' is not a function.",
        ),
        (
            "missing dependency",
            zip_action(
                "missing",
                &[(
                    "index.js",
                    "require('not-installed'); exports.main = () => 1;",
                )],
                "main",
            ),
            "Initialization has failed due to: Error: Cannot find module 'not-installed'",
        ),
        (
            "file system",
            zip_action(
                "usesfs",
                &[(
                    "index.js",
                    "const fs = require('fs'); exports.main = () => 1;",
                )],
                "main",
            ),
            "Initialization has failed due to: Error: Cannot find module 'fs': Node's 'fs' module is not available",
        ),
        (
            "not a zip",
            action_of("notzip", "UEsDBAAAAAA=", "main", true),
            "Initialization has failed due to: Failed to unzip",
        ),
    ];
    for (name, action, prefix) in cases {
        let outcome = run(&exec, &action, json!({})).await;
        check(name, &outcome.result, &Expect::DevError(prefix));
    }
}

/// A single-file action requires built-in modules (with and without `node:`), gets the same
/// module object each time, and sees Node's `process` fields.
pub async fn single_file_actions_require_builtins(make: Make) {
    let exec = make(Settings::default());
    let code = "const path = require('path');\nfunction main() { return {joined: path.join('/a', 'b/../c'), same: require('node:path') === path, node: process.version.startsWith('v20'), tick: typeof process.nextTick, cwd: process.cwd()}; }";
    let outcome = run(&exec, &action("builtins", code, "main"), json!({})).await;
    let want =
        json!({"joined": "/a/c", "same": true, "node": true, "tick": "function", "cwd": "/action"});
    check("require built-ins", &outcome.result, &Expect::Ok(want));
}
