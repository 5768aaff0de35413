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
    // Another tenant gets an isolate of its own (its own module state) from the same files.
    let other = exec
        .invoke(invocation(
            &serverless,
            "other",
            json!({"name": "again"}),
            10_000,
        ))
        .await;
    let want = json!({"msg": "Hello again", "pad": "  x", "file": "/action/handler.js", "dir": "/action", "v": 7, "calls": 1, "same": true});
    check(
        "serverless zip, second tenant",
        &other.result,
        &Expect::Ok(want),
    );
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
/// module object each time, sees Node's `process` fields, and gets Node's `Timeout` objects
/// from the timer functions.
pub async fn single_file_actions_require_builtins(make: Make) {
    let exec = make(Settings::default());
    let code = "const path = require('path');\nfunction main() { return new Promise((resolve) => { const t = setTimeout(() => resolve({joined: path.join('/a', 'b/../c'), same: require('node:path') === path, node: process.version.startsWith('v20'), tick: typeof process.nextTick, cwd: process.cwd(), timer: typeof t.unref, id: typeof +t}), 1).unref(); const cancelled = setTimeout(() => resolve({wrong: true}), 0); clearTimeout(cancelled); }); }";
    let outcome = run(&exec, &action("builtins", code, "main"), json!({})).await;
    let want = json!({"joined": "/a/c", "same": true, "node": true, "tick": "function", "cwd": "/action", "timer": "function", "id": "number"});
    check("require built-ins", &outcome.result, &Expect::Ok(want));
}

/// The built-in modules and web globals real actions use, each giving what Node.js 20 gives
/// for the same code (the expected result was produced by running this action on Node).
pub async fn builtins_behave_as_in_node(make: Make) {
    let exec = make(Settings::default());
    let outcome = run(
        &exec,
        &action("builtins", BUILTINS_ACTION, "main"),
        json!({}),
    )
    .await;
    let want: Value = serde_json::from_str(BUILTINS_RESULT).unwrap_or_default();
    check("built-ins", &outcome.result, &Expect::Ok(want));
}

/// Key objects, signatures, ciphers and PBKDF2 give Node's results: RSA PKCS #1 v1.5
/// signatures byte for byte, ECDSA and Ed25519 signatures that verify both ways with Node's,
/// AES-CBC and AES-GCM output and tags, PBKDF2 keys, JWKs and X.509 certificates as keys (the
/// expected values were made by Node 20
/// from the keys in `crypto-fixtures.json`, which exist only for this test).
pub async fn crypto_signs_and_encrypts_as_node_does(make: Make) {
    let exec = make(Settings::default());
    let fixtures: Value = serde_json::from_str(CRYPTO_FIXTURES).unwrap_or_default();
    let outcome = run(
        &exec,
        &action("crypto", CRYPTO_ACTION, "main"),
        fixtures.clone(),
    )
    .await;
    let want = json!({
        "rs256": fixtures["expect"]["rs256"],
        "rsaPkcs1SameKey": true,
        "spkiMatches": true,
        "details": {"modulusLength": 2048, "namedCurve": "prime256v1"},
        "es256Verifies": true, "nodeEs256Verifies": true, "edVerifies": true, "nodeEdVerifies": true,
        "tamperedFails": false,
        "cbc": fixtures["expect"]["cbc"], "gcm": fixtures["expect"]["gcm"], "tag": fixtures["expect"]["tag"],
        "roundTrip": "secret text",
        "pbkdf2": fixtures["expect"]["pbkdf2"],
        "hkdf": fixtures["expect"]["hkdf"],
        "scrypt": fixtures["expect"]["scrypt"],
        "forged": "Unsupported state or unable to authenticate data",
        "jwkVerifies": true, "jwkSigns": true, "certVerifies": true,
    });
    check("crypto", &outcome.result, &Expect::Ok(want));
}

const CRYPTO_FIXTURES: &str = include_str!("crypto-fixtures.json");

const CRYPTO_ACTION: &str = r#"const crypto = require('crypto');
function main(k) {
  const data = Buffer.from('shoal');
  const rsa = crypto.createPrivateKey(k.rsaPkcs8);
  const pub = crypto.createPublicKey(k.rsaSpki);
  const ec = crypto.createPrivateKey(k.ecSec1);
  const ecPub = crypto.createPublicKey(k.ecSpki);
  const es = crypto.createSign('SHA256').update(data).sign(ec);
  const ed = crypto.sign(null, data, k.edPkcs8);
  const key = Buffer.alloc(32, 7);
  const cbc = crypto.createCipheriv('aes-256-cbc', key, Buffer.alloc(16, 9));
  const cbcOut = Buffer.concat([cbc.update('secret '), cbc.update('text'), cbc.final()]);
  const gcm = crypto.createCipheriv('aes-256-gcm', key, Buffer.alloc(12, 5));
  const gcmOut = Buffer.concat([gcm.update('secret text'), gcm.final()]);
  const back = crypto.createDecipheriv('aes-256-cbc', key, Buffer.alloc(16, 9));
  const forged = crypto.createDecipheriv('aes-256-gcm', key, Buffer.alloc(12, 5)).setAuthTag(Buffer.alloc(16));
  forged.update(gcmOut);
  let forgedError = 'accepted';
  try { forged.final(); } catch (e) { forgedError = e.message; }
  return {
    rs256: crypto.createSign('RSA-SHA256').update(data).sign(rsa, 'base64'),
    rsaPkcs1SameKey: crypto.createPrivateKey(k.rsaPkcs1).equals(rsa),
    spkiMatches: crypto.createPublicKey(rsa).export({type: 'spki', format: 'pem'}) === k.rsaSpki,
    details: {modulusLength: rsa.asymmetricKeyDetails.modulusLength, namedCurve: ecPub.asymmetricKeyDetails.namedCurve},
    es256Verifies: crypto.verify('sha256', data, ecPub, es),
    nodeEs256Verifies: crypto.createVerify('sha256').update(data).verify(k.ecSpki, k.expect.esByNode, 'base64'),
    edVerifies: crypto.verify(null, data, k.edSpki, ed),
    nodeEdVerifies: crypto.verify(null, data, crypto.createPublicKey(k.edPkcs8), Buffer.from(k.expect.edByNode, 'base64')),
    tamperedFails: crypto.verify('sha256', Buffer.from('other'), pub, Buffer.from(k.expect.rs256, 'base64')),
    cbc: cbcOut.toString('base64'), gcm: gcmOut.toString('base64'), tag: gcm.getAuthTag().toString('base64'),
    roundTrip: back.update(cbcOut, undefined, 'utf8') + back.final('utf8'),
    pbkdf2: crypto.pbkdf2Sync('pw', 'salt', 1000, 32, 'sha256').toString('hex'),
    hkdf: Buffer.from(crypto.hkdfSync('sha256', 'key', 'salt', 'info', 42)).toString('hex'),
    scrypt: crypto.scryptSync('pw', 'salt', 32, {N: 1024, r: 8, p: 1}).toString('hex'),
    forged: forgedError,
    jwkVerifies: crypto.verify('sha256', data, {key: k.rsaJwk, format: 'jwk'}, Buffer.from(k.expect.rs256, 'base64')),
    jwkSigns: crypto.verify('sha256', data, k.ecSpki, crypto.sign('sha256', data, {key: k.ecJwk, format: 'jwk'})),
    certVerifies: crypto.createVerify('RSA-SHA256').update(data).verify(k.cert, k.expect.rs256, 'base64'),
  };
}"#;

/// An action touching `Buffer`, `crypto`, `events`, `util`, `zlib`, `querystring`, `assert`,
/// `string_decoder`, `URL`, `TextEncoder`, `atob`/`btoa` and `structuredClone`.
const BUILTINS_ACTION: &str = r#"const crypto = require('crypto');
const { EventEmitter } = require('events');
const util = require('util');
const zlib = require('zlib');
const qs = require('querystring');
const assert = require('assert');
const { StringDecoder } = require('string_decoder');
function main(p) {
  const e = new EventEmitter(); const seen = [];
  e.on('x', (v) => seen.push(v)); e.once('x', (v) => seen.push('once:' + v)); e.emit('x', 1); e.emit('x', 2);
  const u = new URL('https://user@example.com:8080/a/../b?q=1#h'); u.searchParams.append('r', 'a b');
  const d = new StringDecoder('utf8'); const euro = Buffer.from('€');
  let threw = ''; try { assert.deepStrictEqual({a: 1}, {a: 2}); } catch (err) { threw = err.code; }
  return {
    hex: Buffer.from('hello').toString('hex'), b64: Buffer.from('hello').toString('base64'),
    concat: Buffer.concat([Buffer.from([1, 2]), Buffer.alloc(2, 255)]).readUInt32BE(0),
    sha256: crypto.createHash('sha256').update('abc').digest('hex'),
    hmac: crypto.createHmac('sha1', 'key').update('data').digest('base64'),
    md5: crypto.createHash('md5').update(Buffer.from('abc')).digest('hex'),
    rand: crypto.randomBytes(16).length, uuid: /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
    seen, fmt: util.format('%s=%d %j', 'n', 42, {a: [1]}), url: u.href, host: u.host,
    gz: zlib.gunzipSync(zlib.gzipSync(Buffer.from('zip me'))).toString(),
    qs: qs.stringify({a: [1, 2], b: 'x y'}), enc: Array.from(new TextEncoder().encode('é')),
    atob: atob(btoa('hi')), clone: structuredClone({d: [1, {e: 2}]}),
    dec: d.write(euro.subarray(0, 1)) + d.write(euro.subarray(1)), threw,
    inspect: util.inspect({a: 1, b: 'x', c: [1, 2]}),
  };
}
"#;

/// What Node.js 20 returns for [`BUILTINS_ACTION`].
const BUILTINS_RESULT: &str = r#"{"hex":"68656c6c6f","b64":"aGVsbG8=","concat":16973823,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","hmac":"EEFSxb/coHvGM+69RhmfAlXJ9J0=","md5":"900150983cd24fb0d6963f7d28e17f72","rand":16,"uuid":true,"seen":[1,"once:1",2],"fmt":"n=42 {\"a\":[1]}","url":"https://user@example.com:8080/b?q=1&r=a+b#h","host":"example.com:8080","gz":"zip me","qs":"a=1&a=2&b=x%20y","enc":[195,169],"atob":"hi","clone":{"d":[1,{"e":2}]},"dec":"€","threw":"ERR_ASSERTION","inspect":"{ a: 1, b: 'x', c: [ 1, 2 ] }"}"#;

/// Action code never gets the layer's privileged `host` object: not by replacing
/// `Function.prototype.call`, `Reflect.apply` or the global `eval` before built-ins load,
/// nor through a getter on `Object.prototype`.
pub async fn the_loader_never_hands_host_to_action_code(make: Make) {
    let exec = make(Settings::default());
    let code = r#"
        function main() {
          let leaked = false;
          const spy = (xs) => { for (const x of xs || []) if (x && typeof x === 'object' && 'evaluate' in x) leaked = true; };
          const call = Function.prototype.call, apply = Reflect.apply, evil = globalThis.eval;
          Function.prototype.call = function (...a) { spy(a); return apply(this, a[0], a.slice(1)); };
          Reflect.apply = function (f, t, a) { spy(a); return apply(f, t, a); };
          globalThis.eval = (s) => function (...a) { spy(a); };
          for (const name of ['randomFill', 'unavailable', 'request', 'zlib']) {
            Object.defineProperty(Object.prototype, name, { get() { spy([this]); return undefined; }, configurable: true });
          }
          try {
            require('querystring'); require('string_decoder'); require('crypto').randomBytes(4);
            new URL('http://example.com/');
          } finally {
            Function.prototype.call = call; Reflect.apply = apply; globalThis.eval = evil;
            for (const name of ['randomFill', 'unavailable', 'request', 'zlib']) delete Object.prototype[name];
          }
          return {leaked};
        }"#;
    let outcome = run(&exec, &action("nohost", code, "main"), json!({})).await;
    check(
        "host stays hidden",
        &outcome.result,
        &Expect::Ok(json!({"leaked": false})),
    );
}

/// `fetch`, Node's `http` client and the `openwhisk` client send their requests through the
/// executor's egress (here [`super::echo_egress`]) and get its responses (the client in the
/// action's namespace, `__OW_NAMESPACE`, with basic auth); a refused request is `fetch`'s
/// `TypeError` with the egress's reason as its cause.
pub async fn outbound_requests_reach_the_egress_and_its_errors_come_back(make: Make) {
    let exec = make(Settings::default());
    let code = r#"
        const http = require('http');
        const openwhisk = require('openwhisk');
        async function main() {
          const r = await fetch('http://api.example/things?x=1', {method: 'POST', headers: {'x-k': 'v'}, body: JSON.stringify({a: 1})});
          const fetched = await r.json();
          const viaHttp = await new Promise((resolve, reject) => {
            http.get('http://api.example/h', (res) => { let b = ''; res.on('data', (c) => { b += c; }); res.on('end', () => resolve({status: res.statusCode, url: JSON.parse(b).url})); }).on('error', reject);
          });
          let refused;
          try { await fetch('http://refused.test/'); } catch (e) { refused = {name: e.name, message: e.message, cause: e.cause.message}; }
          const ow = openwhisk({apihost: 'http://ow.example', api_key: 'user:secret'});
          const invoked = await ow.actions.invoke({name: 'other', blocking: true, params: {n: 2}});
          return {status: r.status, fetched: {method: fetched.method, url: fetched.url, k: fetched.headers['x-k'], body: fetched.body}, viaHttp, refused,
                  invoked: {method: invoked.method, url: invoked.url, auth: invoked.headers.authorization, body: JSON.parse(invoked.body)}};
        }"#;
    let outcome = run(&exec, &action("egress", code, "main"), json!({})).await;
    let want = json!({
        "status": 200,
        "fetched": {"method": "POST", "url": "http://api.example/things?x=1", "k": "v", "body": "{\"a\":1}"},
        "viaHttp": {"status": 200, "url": "http://api.example/h"},
        "refused": {"name": "TypeError", "message": "fetch failed", "cause": "connect EACCES refused.test: the egress policy does not let actions reach this address"},
        "invoked": {"method": "POST", "url": "http://ow.example/api/v1/namespaces/guest/actions/other?blocking=true", "auth": "Basic dXNlcjpzZWNyZXQ=", "body": {"n": 2}},
    });
    check("outbound requests", &outcome.result, &Expect::Ok(want));
}
