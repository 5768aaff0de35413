//! The suite's table of one-shot cases: (code, entry point, params, expected result), each
//! run once on a fresh action.

use serde_json::{Value, json};

use super::Expect;

/// One JS action case.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) code: &'static str,
    pub(crate) main: &'static str,
    pub(crate) params: Value,
    pub(crate) expect: Expect,
}

const fn case(name: &'static str, code: &'static str, expect: Expect) -> Case {
    Case {
        name,
        code,
        main: "main",
        params: Value::Null,
        expect,
    }
}

/// Every case of the table.
pub(crate) fn all() -> Vec<Case> {
    vec![
        Case {
            params: json!({"name": "Ada", "n": 41, "deep": {"list": [1, 2.5, null, true]}}),
            ..case(
                "function main echoes params",
                "function main(p) { return {greeting: 'Hello ' + p.name, n: p.n + 1, deep: p.deep}; }",
                Expect::Ok(
                    json!({"greeting": "Hello Ada", "n": 42, "deep": {"list": [1, 2.5, null, true]}}),
                ),
            )
        },
        // Numbers whose shortest text a best-effort parser reads 1 ULP off: the direct reader
        // and the `JSON.stringify` fallback (a `Date` sends the whole value there) both keep
        // them exact.
        Case {
            params: json!({"x": 1.0715660391465826e-75, "y": -1.603964615428183e143}),
            ..case(
                "floats come back exactly",
                "function main(p) { return {x: p.x, y: p.y}; }",
                Expect::Ok(json!({"x": 1.0715660391465826e-75, "y": -1.603964615428183e143})),
            )
        },
        Case {
            params: json!({"x": 1.0715660391465826e-75, "y": -1.603964615428183e143}),
            ..case(
                "floats come back exactly through JSON.stringify",
                "function main(p) { return {at: new Date(0), x: p.x, y: p.y}; }",
                Expect::Ok(json!({
                    "at": "1970-01-01T00:00:00.000Z",
                    "x": 1.0715660391465826e-75,
                    "y": -1.603964615428183e143
                })),
            )
        },
        case(
            "exports.main",
            "exports.main = () => ({form: 'exports'});",
            Expect::Ok(json!({"form": "exports"})),
        ),
        case(
            "module.exports is the function",
            "module.exports = function (p) { return {form: 'module'}; };",
            Expect::Ok(json!({"form": "module"})),
        ),
        case(
            "module.exports.main",
            "module.exports = { main: async () => ({form: 'module.main'}) };",
            Expect::Ok(json!({"form": "module.main"})),
        ),
        case(
            "a webpack bundle sets global.main",
            "(function () { global.main = function (p) { return {via: 'global', same: global === globalThis}; }; })();",
            Expect::Ok(json!({"via": "global", "same": true})),
        ),
        case(
            "const main at top level",
            "const main = () => ({form: 'const'});",
            Expect::Ok(json!({"form": "const"})),
        ),
        Case {
            main: "handler",
            ..case(
                "custom entry point name",
                "function main() { return {wrong: true}; } function handler() { return {right: true}; }",
                Expect::Ok(json!({"right": true})),
            )
        },
        case(
            "array result",
            "function main() { return [1, {a: 2}]; }",
            Expect::Ok(json!([1, {"a": 2}])),
        ),
        case(
            "undefined is {}",
            "function main() {}",
            Expect::Ok(json!({})),
        ),
        case(
            "error field is an application error",
            "function main() { return {error: {code: 42}, other: 1}; }",
            Expect::AppError(json!({"code": 42})),
        ),
        case(
            "async function",
            "async function main(p) { await null; return {async: true}; }",
            Expect::Ok(json!({"async": true})),
        ),
        case(
            "promise with setTimeout",
            "function main() { const t0 = Date.now(); return new Promise(r => setTimeout(() => r({waited: Date.now() - t0 >= 40}), 50)); }",
            Expect::Ok(json!({"waited": true})),
        ),
        case(
            "setTimeout passes extra args and clearTimeout cancels",
            "function main() { return new Promise(r => { const t = setTimeout(() => r({cancelled: false}), 10); clearTimeout(t); setTimeout((a, b) => r({sum: a + b}), 20, 2, 3); }); }",
            Expect::Ok(json!({"sum": 5})),
        ),
        case(
            "setInterval and clearInterval",
            "function main() { let n = 0; return new Promise(r => { const i = setInterval(() => { if (++n === 3) { clearInterval(i); r({ticks: n}); } }, 5); }); }",
            Expect::Ok(json!({"ticks": 3})),
        ),
        case(
            "rejected promise with a value",
            "function main() { return Promise.reject({reason: 'nope'}); }",
            Expect::AppError(json!({"reason": "nope"})),
        ),
        case(
            "reject() without a value",
            "function main() { return new Promise((_, no) => no()); }",
            Expect::AppError(json!({})),
        ),
        case(
            "async throw is a rejection",
            "async function main() { throw 'bad input'; }",
            Expect::AppError(json!("bad input")),
        ),
        case(
            "thrown exception",
            "function main() { throw new Error('boom'); }",
            Expect::DevError("An error has occurred: Error: boom"),
        ),
        case(
            "number result",
            "function main() { return 42; }",
            Expect::DevError("The action did not return a dictionary."),
        ),
        case(
            "string result",
            "function main() { return 'hi'; }",
            Expect::DevError("The action did not return a dictionary."),
        ),
        case(
            "null result",
            "function main() { return null; }",
            Expect::DevError("The action did not return a dictionary."),
        ),
        case(
            "promise resolving to a string",
            "async function main() { return 'hi'; }",
            Expect::DevError("The action did not return a dictionary."),
        ),
        case(
            "missing main",
            "function notMain() { return {}; }",
            Expect::DevError(
                "Initialization has failed due to: Action entrypoint 'main' is not a function.",
            ),
        ),
        case(
            "syntax error while loading",
            "function main( {",
            Expect::DevError("Initialization has failed due to: SyntaxError"),
        ),
        case(
            "a throwing timer callback",
            "function main() { return new Promise(() => setTimeout(() => { throw new Error('late'); }, 5)); }",
            Expect::DevError("An error has occurred: Error: late"),
        ),
        Case {
            params: json!({"s": "日本", "big": 9007199254740991_i64, "f": 0.75}),
            ..case(
                "JSON round trip of unicode and numbers",
                "function main(p) { return {s: p.s + 'é', big: p.big, neg: -p.big, f: p.f * 2}; }",
                Expect::Ok(
                    json!({"s": "日本é", "big": 9007199254740991_i64, "neg": -9007199254740991_i64, "f": 1.5}),
                ),
            )
        },
        case(
            "top-level throw",
            "throw new TypeError('bad init');",
            Expect::DevError("Initialization has failed due to: TypeError: bad init"),
        ),
        Case {
            params: json!({"x": 1}),
            ..case(
                "params object is fresh per call",
                "function main(p) { p.x += 1; return {x: p.x}; }",
                Expect::Ok(json!({"x": 2})),
            )
        },
        Case {
            params: json!({"__proto__": {"polluted": true}, "name": "own"}),
            ..case(
                "params are own data properties, as JSON.parse makes them",
                "Object.defineProperty(Object.prototype, 'name', {set(v) { globalThis.caught = v; }, configurable: true});
                 function main(p) { return {own: Object.hasOwn(p, '__proto__'), polluted: p.polluted === true, name: p.name, caught: globalThis.caught === undefined}; }",
                Expect::Ok(json!({"own": true, "polluted": false, "name": "own", "caught": true})),
            )
        },
    ]
}
