//! The Node layer in a QuickJS isolate: the host object [`shoal_isolates::node::PRELUDE`]
//! stands on, made of Rust functions, and the prelude run with it. Costs a few dozen
//! closures per isolate; the layer's scripts are compiled once per thread.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, Object, Persistent, TypedArray, Value};
use shoal_isolates::node::{self, crypto, primitives};

use crate::alloc::Budget;
use crate::bytecode;
use crate::code::{self, Prepared};
use crate::isolate::Host;
use crate::{io, lazy};

/// Most random bytes one `randomBytes` call returns (WebCrypto's `getRandomValues` limit).
const MAX_RANDOM_BYTES: usize = 65_536;

/// The prelude's script name (in stack traces).
const PRELUDE_FILE: &str = "node:internal/prelude";

/// Runs the Node layer's prelude in `ctx` with a host object over `prepared` (the action's
/// files when it is a zip) and returns the loader (`{require, loadEntry}`).
pub(crate) fn install<'js>(
    ctx: &Ctx<'js>,
    prepared: &Arc<Prepared>,
    budget: &Rc<Budget>,
    isolate: &Rc<Host>,
) -> rquickjs::Result<Object<'js>> {
    // The Node layer (Buffer, streams, crypto) uses every lazily built intrinsic, and its host
    // functions make typed arrays from Rust.
    lazy::build_all(ctx, &isolate.intrinsics)?;
    let host = host_object(ctx, prepared, budget)?;
    let isolate = Rc::clone(isolate);
    let limit = budget.limit();
    host.set(
        "request",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, descriptor: Object<'js>, body: Opt<Value<'js>>| {
                let body = body.0.and_then(|b| TypedArray::<u8>::from_value(b).ok());
                let tenant = isolate.tenant.borrow().clone();
                let request =
                    io::outbound(&descriptor, body, isolate.deadline.get(), limit, tenant)?;
                let (promise, resolve, reject) = ctx.promise()?;
                let settle = (
                    Persistent::save(&ctx, resolve),
                    Persistent::save(&ctx, reject),
                );
                isolate.io.start(request, settle);
                Ok::<_, rquickjs::Error>(promise)
            },
        )?,
    )?;
    let prelude = code::layer_bytecode(node::PRELUDE, PRELUDE_FILE)
        .map_err(|why| Exception::throw_internal(ctx, &why))?;
    let make: Function = bytecode::run(ctx, &prelude)?.get()?;
    make.call((host,))
}

fn host_object<'js>(
    ctx: &Ctx<'js>,
    prepared: &Arc<Prepared>,
    budget: &Rc<Budget>,
) -> rquickjs::Result<Object<'js>> {
    let host = Object::new(ctx.clone())?;
    host.set("arch", node::arch())?;
    host.set("unavailable", node::UNAVAILABLE.to_vec())?;
    host.set(
        "builtin",
        Function::new(ctx.clone(), |id: String| node::builtin(&id))?,
    )?;
    let files = Arc::clone(prepared);
    host.set(
        "file",
        Function::new(ctx.clone(), move |path: String| match &*files {
            Prepared::Zip { files, .. } => files.file(&path).map(str::to_string),
            Prepared::Script { .. } => None,
        })?,
    )?;
    let files = Arc::clone(prepared);
    host.set(
        "has",
        Function::new(ctx.clone(), move |path: String| match &*files {
            Prepared::Zip { files, .. } => files.has(&path),
            Prepared::Script { .. } => false,
        })?,
    )?;
    let modules = Arc::clone(prepared);
    host.set(
        "evaluate",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, source: String, name: Opt<String>| {
                evaluate(ctx, &modules, source, name.0.unwrap_or_default())
            },
        )?,
    )?;
    host.set(
        "digest",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, alg: String, data: TypedArray<'js, u8>| {
                bytes_out(&ctx, primitives::digest(&alg, bytes_in(&data)))
            },
        )?,
    )?;
    host.set(
        "hmac",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, alg: String, key: TypedArray<'js, u8>, data: TypedArray<'js, u8>| {
                bytes_out(
                    &ctx,
                    primitives::hmac(&alg, bytes_in(&key), bytes_in(&data)),
                )
            },
        )?,
    )?;
    host.set(
        "keyImport",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, label: String, der: TypedArray<'js, u8>| {
                crypto::key_import(&label, bytes_in(&der))
                    .map_err(|why| Exception::throw_message(&ctx, &why))
            },
        )?,
    )?;
    host.set(
        "sign",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, alg: String, key: TypedArray<'js, u8>, data: TypedArray<'js, u8>| {
                bytes_out(&ctx, crypto::sign(&alg, bytes_in(&key), bytes_in(&data)))
            },
        )?,
    )?;
    host.set(
        "verify",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             alg: String,
             key: TypedArray<'js, u8>,
             data: TypedArray<'js, u8>,
             sig: TypedArray<'js, u8>| {
                crypto::verify(&alg, bytes_in(&key), bytes_in(&data), bytes_in(&sig))
                    .map_err(|why| Exception::throw_message(&ctx, &why))
            },
        )?,
    )?;
    host.set(
        "cipher",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             name: String,
             mode: String,
             key: TypedArray<'js, u8>,
             iv: TypedArray<'js, u8>,
             data: TypedArray<'js, u8>,
             aad: TypedArray<'js, u8>| {
                let out = crypto::cipher(
                    &name,
                    &mode,
                    bytes_in(&key),
                    bytes_in(&iv),
                    bytes_in(&data),
                    bytes_in(&aad),
                );
                bytes_out(&ctx, out)
            },
        )?,
    )?;
    host.set(
        "pbkdf2",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             digest: String,
             password: TypedArray<'js, u8>,
             salt: TypedArray<'js, u8>,
             iterations: u32,
             length: usize| {
                let out = crypto::pbkdf2(
                    &digest,
                    bytes_in(&password),
                    bytes_in(&salt),
                    iterations,
                    length,
                );
                bytes_out(&ctx, out)
            },
        )?,
    )?;
    host.set(
        "hkdf",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             digest: String,
             ikm: TypedArray<'js, u8>,
             salt: TypedArray<'js, u8>,
             info: TypedArray<'js, u8>,
             length: usize| {
                let out = crypto::hkdf(
                    &digest,
                    bytes_in(&ikm),
                    bytes_in(&salt),
                    bytes_in(&info),
                    length,
                );
                bytes_out(&ctx, out)
            },
        )?,
    )?;
    host.set(
        "scrypt",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             password: TypedArray<'js, u8>,
             salt: TypedArray<'js, u8>,
             length: usize,
             costs: Vec<f64>| {
                // [N, r, p, maxmem]: whole, non-negative JS numbers by the layer's checks;
                // the casts saturate.
                let cost = |i: usize| costs.get(i).copied().unwrap_or(0.0);
                let out = crypto::scrypt(
                    bytes_in(&password),
                    bytes_in(&salt),
                    cost(0) as u64,
                    cost(1) as u32,
                    cost(2) as u32,
                    length,
                    cost(3) as u64,
                );
                bytes_out(&ctx, out)
            },
        )?,
    )?;
    host.set(
        "url",
        Function::new(
            ctx.clone(),
            |input: String, base: String, part: String, value: String| {
                let base = (!base.is_empty()).then_some(base.as_str());
                let set = (!part.is_empty()).then_some((part.as_str(), value.as_str()));
                primitives::url(&input, base, set)
            },
        )?,
    )?;
    host.set(
        "utf8Decode",
        Function::new(ctx.clone(), |bytes: TypedArray<'js, u8>, fatal: bool| {
            primitives::utf8_decode(bytes_in(&bytes), fatal)
        })?,
    )?;
    host.set(
        "base64",
        Function::new(ctx.clone(), |bytes: TypedArray<'js, u8>, url: bool| {
            primitives::base64(bytes_in(&bytes), url)
        })?,
    )?;
    host.set(
        "domain",
        Function::new(ctx.clone(), |name: String, unicode: bool| {
            primitives::domain(&name, unicode)
        })?,
    )?;
    host.set(
        "randomBytes",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, n: usize| {
            let mut bytes = vec![0u8; n.min(MAX_RANDOM_BYTES)];
            primitives::random_fill(&mut bytes);
            TypedArray::<u8>::new_copy(ctx, &bytes)
        })?,
    )?;
    let origin = Instant::now();
    host.set(
        "now",
        Function::new(ctx.clone(), move || origin.elapsed().as_secs_f64() * 1000.0)?,
    )?;
    let meter = Rc::clone(budget);
    host.set(
        "memory",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
            let usage = Object::new(ctx)?;
            let used = meter.used() as f64;
            usage.set("rss", used)?;
            usage.set("heapTotal", meter.limit() as f64)?;
            usage.set("heapUsed", used)?;
            usage.set("external", 0)?;
            usage.set("arrayBuffers", 0)?;
            Ok::<_, rquickjs::Error>(usage)
        })?,
    )?;
    let limit = budget.limit();
    host.set(
        "zlib",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, op: String, format: String, data: TypedArray<'js, u8>| {
                bytes_out(&ctx, primitives::zlib(&op, &format, bytes_in(&data), limit))
            },
        )?,
    )?;
    Ok(host)
}

/// `host.evaluate(source, name)`: the layer's genuine built-ins from bytecode compiled once per
/// thread, a zip action's modules from bytecode shared by its isolates, anything else (or code
/// that does not compile, to throw its error) compiled here and never cached.
fn evaluate<'js>(
    ctx: Ctx<'js>,
    prepared: &Prepared,
    source: String,
    name: String,
) -> rquickjs::Result<Value<'js>> {
    if node::is_builtin_wrapper(&name, &source) {
        let code = code::layer_bytecode(&source, &name)
            .map_err(|why| Exception::throw_syntax(&ctx, &why))?;
        return bytecode::run(&ctx, &code);
    }
    match prepared.module_bytecode(&source, &name) {
        Some(code) => bytecode::run(&ctx, &code),
        None => bytecode::eval_named(&ctx, &source, &name),
    }
}

fn bytes_in<'a>(array: &'a TypedArray<'_, u8>) -> &'a [u8] {
    array.as_bytes().unwrap_or_default()
}

/// A Uint8Array of `bytes` (copied into the isolate's heap, so it counts against the action's
/// memory limit), or a thrown `Error` with the primitive's reason.
fn bytes_out<'js>(
    ctx: &Ctx<'js>,
    bytes: Result<Vec<u8>, String>,
) -> rquickjs::Result<TypedArray<'js, u8>> {
    match bytes {
        Ok(bytes) => TypedArray::new_copy(ctx.clone(), &bytes),
        Err(why) => Err(Exception::throw_message(ctx, &why)),
    }
}
