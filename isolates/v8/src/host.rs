//! The `shoal_host` deno_core extension every V8 isolate of shoal has: `console.*` into the
//! activation's log collector, and the host object the Node layer stands on (built-in module
//! sources, the zip action's files, hashes, random bytes, zlib). Shared with the build
//! script, which makes the startup snapshot with it (a snapshot must be used with the
//! extensions it was made with).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use deno_core::serde::{Deserialize, Serialize};
use deno_core::{OpState, ToJsBuffer, op2};
use deno_error::JsErrorBox;
use shoal_isolates::node::{self, ActionFiles, crypto, primitives};
use shoal_router::{
    EgressSlot, LogCollector, LogStream, MAX_REQUESTS_IN_FLIGHT, NO_EGRESS, OutboundRequest,
    TOO_MANY_REQUESTS,
};

/// Most random bytes one `randomBytes` call returns (WebCrypto's `getRandomValues` limit).
const MAX_RANDOM_BYTES: usize = 65_536;

/// What the ops of one isolate read from its `OpState`: the zip action's files, if any, and
/// the action's memory limit (the most one zlib call may inflate).
pub(crate) struct ActionState {
    pub(crate) files: Option<Arc<ActionFiles>>,
    pub(crate) memory_limit: usize,
    pub(crate) egress: EgressSlot,
    /// Outbound requests in flight (at most [`MAX_REQUESTS_IN_FLIGHT`]).
    pub(crate) in_flight: Rc<Cell<usize>>,
}

/// Counts one request in flight for as long as it lives.
struct InFlight(Rc<Cell<usize>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// The deadline of the activation running in an isolate (its outbound requests end there).
pub(crate) struct Deadline(pub(crate) Instant);

/// The namespace the current activation runs for, in the op state: outbound requests are
/// metered by it.
pub(crate) struct Tenant(pub(crate) Arc<str>);

/// What `host.request` is given (see the Node layer's `fetch`).
#[derive(Deserialize)]
#[serde(crate = "deno_core::serde")]
struct Descriptor {
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    redirect: Option<String>,
}

/// What `host.request` resolves with.
#[derive(Serialize)]
#[serde(crate = "deno_core::serde", rename_all = "camelCase")]
struct Reply {
    status: u16,
    status_text: String,
    url: String,
    redirected: bool,
    headers: Vec<(String, String)>,
    body: ToJsBuffer,
}

/// `console.*`: one formatted line into the activation's collector.
#[op2(fast)]
fn op_shoal_log(state: &mut OpState, #[string] line: &str, is_err: bool) {
    if let Some(logs) = state.try_borrow_mut::<LogCollector>() {
        let stream = if is_err {
            LogStream::Stderr
        } else {
            LogStream::Stdout
        };
        logs.push(stream, line);
    }
}

/// `host.builtin(id)`: a built-in module's source.
#[op2]
#[string]
fn op_shoal_builtin(#[string] id: &str) -> Option<String> {
    node::builtin(id).map(str::to_string)
}

/// `host.file(path)`: the text of one of the zip action's files.
#[op2]
#[string]
fn op_shoal_file(state: &mut OpState, #[string] path: &str) -> Option<String> {
    let files = state.try_borrow::<ActionState>()?.files.as_ref()?;
    files.file(path).map(str::to_string)
}

/// `host.has(path)`: whether the zip action has a file at `path`.
#[op2(fast)]
fn op_shoal_has(state: &mut OpState, #[string] path: &str) -> bool {
    state
        .try_borrow::<ActionState>()
        .and_then(|s| s.files.as_ref())
        .is_some_and(|files| files.has(path))
}

/// `host.digest(alg, bytes)`.
#[op2]
#[buffer]
fn op_shoal_digest(#[string] alg: &str, #[buffer] data: &[u8]) -> Result<Vec<u8>, JsErrorBox> {
    primitives::digest(alg, data).map_err(JsErrorBox::generic)
}

/// `host.hmac(alg, key, bytes)`.
#[op2]
#[buffer]
fn op_shoal_hmac(
    #[string] alg: &str,
    #[buffer] key: &[u8],
    #[buffer] data: &[u8],
) -> Result<Vec<u8>, JsErrorBox> {
    primitives::hmac(alg, key, data).map_err(JsErrorBox::generic)
}

/// `host.keyImport(label, der)`: the key as JSON (see `crypto::key_import`).
#[op2]
#[string]
fn op_shoal_key_import(#[string] label: &str, #[buffer] der: &[u8]) -> Result<String, JsErrorBox> {
    crypto::key_import(label, der).map_err(JsErrorBox::generic)
}

/// `host.sign(alg, pkcs8, data)`.
#[op2]
#[buffer]
fn op_shoal_sign(
    #[string] alg: &str,
    #[buffer] key: &[u8],
    #[buffer] data: &[u8],
) -> Result<Vec<u8>, JsErrorBox> {
    crypto::sign(alg, key, data).map_err(JsErrorBox::generic)
}

/// `host.verify(alg, spki, data, signature)`.
#[op2(fast)]
fn op_shoal_verify(
    #[string] alg: &str,
    #[buffer] key: &[u8],
    #[buffer] data: &[u8],
    #[buffer] sig: &[u8],
) -> Result<bool, JsErrorBox> {
    crypto::verify(alg, key, data, sig).map_err(JsErrorBox::generic)
}

/// `host.cipher(name, mode, key, iv, data, aad)`.
#[op2]
#[buffer]
fn op_shoal_cipher(
    #[string] name: &str,
    #[string] mode: &str,
    #[buffer] key: &[u8],
    #[buffer] iv: &[u8],
    #[buffer] data: &[u8],
    #[buffer] aad: &[u8],
) -> Result<Vec<u8>, JsErrorBox> {
    crypto::cipher(name, mode, key, iv, data, aad).map_err(JsErrorBox::generic)
}

/// `host.pbkdf2(digest, password, salt, iterations, length)`.
#[op2]
#[buffer]
fn op_shoal_pbkdf2(
    #[string] digest: &str,
    #[buffer] password: &[u8],
    #[buffer] salt: &[u8],
    iterations: u32,
    #[number] length: usize,
) -> Result<Vec<u8>, JsErrorBox> {
    crypto::pbkdf2(digest, password, salt, iterations, length).map_err(JsErrorBox::generic)
}

/// `host.hkdf(digest, ikm, salt, info, length)`.
#[op2]
#[buffer]
fn op_shoal_hkdf(
    #[string] digest: &str,
    #[buffer] ikm: &[u8],
    #[buffer] salt: &[u8],
    #[buffer] info: &[u8],
    #[number] length: usize,
) -> Result<Vec<u8>, JsErrorBox> {
    crypto::hkdf(digest, ikm, salt, info, length).map_err(JsErrorBox::generic)
}

/// `host.scrypt(password, salt, N, r, p, length, maxmem)` (`N` and `maxmem` whole JS
/// numbers, cast saturating).
#[op2]
#[buffer]
fn op_shoal_scrypt(
    #[buffer] password: &[u8],
    #[buffer] salt: &[u8],
    n: f64,
    r: u32,
    p: u32,
    #[number] length: usize,
    maxmem: f64,
) -> Result<Vec<u8>, JsErrorBox> {
    crypto::scrypt(password, salt, n as u64, r, p, length, maxmem as u64)
        .map_err(JsErrorBox::generic)
}

/// `host.randomBytes(n)`.
#[op2]
#[buffer]
fn op_shoal_random(#[number] n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n.min(MAX_RANDOM_BYTES)];
    primitives::random_fill(&mut bytes);
    bytes
}

/// `host.url(input, base, part, value)`: the URL Standard's parse (and a part's setter);
/// `""` stands for an absent base or part.
#[op2]
#[serde]
fn op_shoal_url(
    #[string] input: &str,
    #[string] base: &str,
    #[string] part: &str,
    #[string] value: &str,
) -> Option<Vec<String>> {
    let base = (!base.is_empty()).then_some(base);
    let set = (!part.is_empty()).then_some((part, value));
    primitives::url(input, base, set)
}

/// `host.utf8Decode(bytes, fatal)`: the Encoding Standard's UTF-8 decode; throws when
/// `fatal` and the bytes are not UTF-8 (the bootstrap turns that into null).
#[op2]
#[string]
fn op_shoal_utf8_decode(#[buffer] bytes: &[u8], fatal: bool) -> Result<String, JsErrorBox> {
    primitives::utf8_decode(bytes, fatal).ok_or_else(|| JsErrorBox::generic("not UTF-8"))
}

/// `host.base64(bytes, url)`: base64, or base64url without padding.
#[op2]
#[string]
fn op_shoal_base64(#[buffer] bytes: &[u8], url: bool) -> String {
    primitives::base64(bytes, url)
}

/// `host.domain(name, unicode)`: `url.domainToASCII` / `url.domainToUnicode`.
#[op2]
#[string]
fn op_shoal_domain(#[string] name: &str, unicode: bool) -> String {
    primitives::domain(name, unicode)
}

/// `host.zlib(op, format, bytes)`, inflating at most the action's memory limit.
#[op2]
#[buffer]
fn op_shoal_zlib(
    state: &mut OpState,
    #[string] op: &str,
    #[string] format: &str,
    #[buffer] data: &[u8],
) -> Result<Vec<u8>, JsErrorBox> {
    let limit = state
        .try_borrow::<ActionState>()
        .map_or(usize::MAX, |s| s.memory_limit);
    primitives::zlib(op, format, data, limit).map_err(JsErrorBox::generic)
}

/// `host.request(descriptor, body)`: one outbound request through the host's egress.
#[op2]
#[serde]
async fn op_shoal_request(
    state: Rc<RefCell<OpState>>,
    #[serde] descriptor: Descriptor,
    #[buffer(copy)] body: Vec<u8>,
) -> Result<Reply, JsErrorBox> {
    let (sent, _counted) = {
        let state = state.borrow();
        let action = state.try_borrow::<ActionState>();
        let counted = action.map(|s| {
            let n = s.in_flight.get();
            s.in_flight.set(n + 1);
            (InFlight(Rc::clone(&s.in_flight)), n)
        });
        if counted
            .as_ref()
            .is_some_and(|(_, n)| *n >= MAX_REQUESTS_IN_FLIGHT)
        {
            return Err(JsErrorBox::generic(TOO_MANY_REQUESTS));
        }
        let egress = action.and_then(|s| s.egress.get().cloned());
        let max_body_bytes = action.map_or(0, |s| s.memory_limit);
        let deadline = state
            .try_borrow::<Deadline>()
            .map_or_else(Instant::now, |d| d.0);
        let request = OutboundRequest {
            method: descriptor
                .method
                .unwrap_or_else(|| "GET".into())
                .to_ascii_uppercase(),
            url: descriptor.url,
            headers: descriptor.headers,
            body,
            follow_redirects: descriptor.redirect.as_deref() != Some("manual"),
            deadline,
            max_body_bytes,
            tenant: state
                .try_borrow::<Tenant>()
                .map_or_else(|| Arc::from(""), |t| Arc::clone(&t.0)),
        };
        (egress.map(|egress| egress.send(request)), counted)
    };
    let response = sent
        .ok_or_else(|| JsErrorBox::generic(NO_EGRESS))?
        .await
        .map_err(JsErrorBox::generic)?;
    Ok(Reply {
        status: response.status,
        status_text: response.status_text,
        url: response.url,
        redirected: response.redirected,
        headers: response.headers,
        body: response.body.into(),
    })
}

/// `host.arch`: the CPU architecture as Node's `process.arch` names it.
#[op2]
#[string]
fn op_shoal_arch() -> String {
    node::arch().to_string()
}

/// `host.unavailable`: the Node modules the isolates refuse.
#[op2]
#[serde]
fn op_shoal_unavailable() -> Vec<&'static str> {
    node::UNAVAILABLE.to_vec()
}

/// `host.now()`: milliseconds since the process's first call (`performance.now`).
#[op2(fast)]
fn op_shoal_now() -> f64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

deno_core::extension!(
    shoal_host,
    ops = [
        op_shoal_log,
        op_shoal_builtin,
        op_shoal_file,
        op_shoal_has,
        op_shoal_digest,
        op_shoal_hmac,
        op_shoal_key_import,
        op_shoal_sign,
        op_shoal_verify,
        op_shoal_cipher,
        op_shoal_pbkdf2,
        op_shoal_hkdf,
        op_shoal_scrypt,
        op_shoal_random,
        op_shoal_zlib,
        op_shoal_url,
        op_shoal_domain,
        op_shoal_utf8_decode,
        op_shoal_base64,
        op_shoal_now,
        op_shoal_arch,
        op_shoal_unavailable,
        op_shoal_request,
    ]
);
