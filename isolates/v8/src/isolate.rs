//! One isolate: a `deno_core::JsRuntime` (its own V8 isolate and context) holding one action
//! version's loaded code for one tenant, plus the console of the activation running in it.
//!
//! rusty_v8 enters an isolate when it is created and exits it when dropped, which only works
//! for isolates dropped in reverse creation order. A worker keeps many isolates and drops them
//! in any order, so here an isolate is entered only while it runs: [`Entered`] around
//! synchronous calls, [`InIsolate`] around each poll of its event loop, and once more in
//! `Drop` so that rusty_v8's own exit pairs up. Between calls no isolate is entered.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use deno_core::error::{CoreError, CoreErrorKind, JsError};
use deno_core::{JsRuntime, PollEventLoopOptions, RuntimeOptions, v8};
use serde_json::{Map, Value as Json};
use shoal_isolates::abi::{self, Returned};
use shoal_isolates::node::{ActionFiles, Weighed};
use shoal_router::json::JsonError;
use shoal_router::{EgressSlot, Failure, Invocation, LogCollector};

use crate::buffers::{BufferBudget, counting_allocator};
use crate::host::{ActionState, Deadline, Tenant, shoal_host};
use crate::watchdog::Watch;

/// The V8 startup snapshot every isolate starts from: deno_core's own JS plus the bootstrap
/// script, made by the build script, so a cold start runs no setup JS and no process pays
/// for making it. Part of the binary.
static SNAPSHOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/shoal-v8.snapshot"));

/// Run once per isolate before any action code (deno_core needs what it removes until the
/// runtime exists): hides deno_core's internals (`Deno`, `__bootstrap`, which hold every op)
/// and `WebAssembly` (its memories grow outside the ArrayBuffer budget; QuickJS has none
/// either, and WASM actions have their own domain), and refuses growable `ArrayBuffer`s and
/// `SharedArrayBuffer`s (`maxByteLength`), whose memory V8 also takes outside that budget.
/// Only the length reaches V8's constructor, so no getter can change the options after the
/// check; the constructors are replaced wherever action code could find them.
const HIDE: &str = r#"delete globalThis.Deno;
delete globalThis.__bootstrap;
delete globalThis.WebAssembly;
for (const name of ["ArrayBuffer", "SharedArrayBuffer"]) {
  const Original = globalThis[name];
  const guarded = new Proxy(Original, {
    construct(target, args, newTarget) {
      const options = args[1];
      if (options !== null && typeof options === "object" && options.maxByteLength !== undefined) {
        throw new RangeError(`${name}s that can grow (maxByteLength) are not supported in shoal's JS isolates`);
      }
      return Reflect.construct(target, [args[0]], newTarget === guarded ? target : newTarget);
    },
  });
  Object.defineProperty(globalThis, name, { value: guarded, writable: true, configurable: true });
  Object.defineProperty(Original.prototype, "constructor", { value: guarded, writable: true, configurable: true });
}"#;

/// A failed cold start: the failure and whatever the code logged while loading.
pub(crate) struct InitFailure {
    pub(crate) failure: Failure,
    pub(crate) logs: Vec<String>,
}

/// Keeps an isolate entered on this thread for the guard's life.
struct Entered(v8::UnsafeRawIsolatePtr);

impl Entered {
    fn new(runtime: &mut JsRuntime) -> Entered {
        // SAFETY: the pointer comes from a live isolate owned by `runtime`, which outlives the
        // guard (the guard never leaves the function that borrows the runtime).
        let raw = unsafe { runtime.v8_isolate().as_raw_isolate_ptr() };
        enter(raw);
        Entered(raw)
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        exit(self.0);
    }
}

fn enter(raw: v8::UnsafeRawIsolatePtr) {
    // SAFETY: `raw` points to a live isolate used only on this thread; every enter is paired
    // with an exit before control returns to the worker.
    unsafe { v8::Isolate::ref_from_raw_isolate_ptr(&raw).enter() }
}

fn exit(raw: v8::UnsafeRawIsolatePtr) {
    // SAFETY: pairs an `enter` of the same live isolate on this thread.
    unsafe { v8::Isolate::ref_from_raw_isolate_ptr(&raw).exit() }
}

/// A future that polls `inner` with its isolate entered (the event loop runs JS).
struct InIsolate<F> {
    raw: v8::UnsafeRawIsolatePtr,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for InIsolate<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let raw = self.raw;
        enter(raw);
        let polled = self.inner.as_mut().poll(cx);
        exit(raw);
        polled
    }
}

/// Why an activation stopped before its entry point's promise settled.
enum Stopped {
    /// JS threw where nothing caught it (e.g. in a timer callback), or was terminated.
    Js(Box<JsError>),
    /// The promise can never settle (no timers or tasks left) or the deadline passed.
    Deadline,
    /// deno_core failed for another reason.
    Internal(String),
}

/// One action's isolate. Created on a cold start, reused by warm starts of the same tenant
/// and action version, dropped when evicted or after a timeout, OOM or developer error.
/// Costs one V8 isolate and context (about a megabyte for a small action).
pub(crate) struct Isolate {
    runtime: JsRuntime,
    handle: v8::IsolateHandle,
    /// What its `ArrayBuffer`s hold, outside the heap.
    buffers: Arc<BufferBudget>,
    out_of_memory: Rc<Cell<bool>>,
    /// Host bytes of a zip action's files, which this isolate keeps alive outside its heap
    /// (up to hundreds of MiB from a small zip) whatever the files cache evicts. (The source
    /// of a script is in the heap: V8 keeps it there.)
    kept: usize,
    poisoned: bool,
    /// Just created: the collector still holds what loading the code logged.
    fresh: bool,
}

impl Drop for Isolate {
    fn drop(&mut self) {
        // rusty_v8 exits the isolate when the runtime drops right after this: enter it first.
        // SAFETY: the runtime (and so the isolate) is alive until this `drop` returns.
        let raw = unsafe { self.runtime.v8_isolate().as_raw_isolate_ptr() };
        enter(raw);
    }
}

impl Isolate {
    /// Creates the runtime with the activation's heap limit, installs the host globals and
    /// runs the action's code (cold start). Logs written while loading go to this activation.
    pub(crate) fn create(
        inv: &Invocation,
        files: Option<Arc<ActionFiles>>,
        egress: &EgressSlot,
    ) -> Result<Isolate, InitFailure> {
        let limit =
            usize::try_from(inv.limits.memory_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        let mut isolate = Isolate::new(limit).map_err(|why| InitFailure {
            failure: Failure::Internal(why),
            logs: Vec::new(),
        })?;
        isolate.reset_logs(inv);
        let zip = files.is_some();
        isolate.kept = files.as_deref().map_or(0, Weighed::bytes);
        isolate.runtime.op_state().borrow_mut().put(ActionState {
            files,
            memory_limit: limit,
            egress: Arc::clone(egress),
            in_flight: Rc::default(),
        });
        isolate
            .runtime
            .op_state()
            .borrow_mut()
            .put(Deadline(inv.deadline));
        isolate
            .runtime
            .op_state()
            .borrow_mut()
            .put(Tenant(Arc::clone(&inv.tenant)));
        let watch = Watch::start(inv.deadline, isolate.handle.clone());
        let loaded = isolate.load(inv, zip);
        let late = watch.finish();
        let failure = match loaded {
            _ if late => Some(Failure::Timeout { init: true }),
            _ if isolate.out_of_memory.get() => Some(Failure::MemoryExceeded),
            Ok(()) => None,
            Err(failure) => Some(failure),
        };
        match failure {
            None => Ok(isolate),
            Some(failure) => Err(InitFailure {
                failure,
                logs: isolate.take_logs(),
            }),
        }
    }

    /// A bootstrapped isolate with a `heap_limit`-byte V8 heap and no action code: the start
    /// of a cold start, or (alone) a worker's syntax checker.
    pub(crate) fn new(heap_limit: usize) -> Result<Isolate, String> {
        // ArrayBuffer memory lies outside the heap: it gets a budget of its own, as large.
        let (allocator, buffers) = counting_allocator(heap_limit);
        let params = v8::CreateParams::default()
            .heap_limits(0, heap_limit)
            .array_buffer_allocator(allocator.make_shared());
        let mut runtime = JsRuntime::try_new(RuntimeOptions {
            extensions: vec![shoal_host::init()],
            create_params: Some(params),
            startup_snapshot: Some(SNAPSHOT),
            ..RuntimeOptions::default()
        })
        .map_err(|e| format!("cannot create a V8 runtime: {e}"))?;
        let handle = runtime.v8_isolate().thread_safe_handle();
        let out_of_memory = Rc::new(Cell::new(false));
        let (flag, stop) = (Rc::clone(&out_of_memory), handle.clone());
        runtime.add_near_heap_limit_callback(move |current, _initial| {
            flag.set(true);
            stop.terminate_execution();
            // Room for the termination to unwind instead of a fatal OOM.
            current.saturating_mul(2)
        });
        // SAFETY: `try_new` left the new isolate entered on this thread; see the module docs.
        unsafe { runtime.v8_isolate().exit() };
        let mut isolate = Isolate {
            runtime,
            handle,
            buffers,
            out_of_memory,
            kept: 0,
            poisoned: false,
            fresh: true,
        };
        isolate
            .execute("ext:shoal/hide.js", HIDE.to_string())
            .map_err(|e| format!("cannot start a V8 runtime: {}", describe(&e, true)))?;
        Ok(isolate)
    }

    /// `init: true` parameters, the action's code (a zip's entry module), then the entry
    /// point.
    fn load(&mut self, inv: &Invocation, zip: bool) -> Result<(), Failure> {
        let init_failed = |e: Box<JsError>| abi::init_failed(&describe(&e, true));
        let init_env: Map<String, Json> = inv
            .init_env
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(abi::env_string(v))))
            .collect();
        self.execute(
            "ext:shoal/init.js",
            format!("__shoal.init(JSON.parse({}))", json_text(&init_env)),
        )
        .map_err(init_failed)?;
        let main = js_string(&inv.action.main);
        let find = if zip {
            format!("__shoal.loadEntry({main})")
        } else {
            self.execute(
                &format!("{}.js", inv.action.name),
                inv.action.code.to_string(),
            )
            .map_err(init_failed)?;
            format!("__shoal.findMain({main})")
        };
        let found = self
            .execute("ext:shoal/main.js", find)
            .map_err(init_failed)?;
        if self.text(&found).is_empty() {
            Ok(())
        } else {
            Err(abi::init_failed(&abi::entry_point_missing(
                &inv.action.main,
            )))
        }
    }

    /// Compiles `code` without running it: `Err` says why it can never run.
    pub(crate) fn check(&mut self, file: &str, code: &str) -> Result<(), String> {
        let script = format!("__shoal.check({}, {})", js_string(code), js_string(file));
        let checked = self.execute("ext:shoal/check.js", script);
        if self.out_of_memory.get() {
            self.poisoned = true;
            return Err("the code is too large to compile".into());
        }
        let why = self.text(&checked.map_err(|e| describe(&e, false))?);
        if why.is_empty() { Ok(()) } else { Err(why) }
    }

    /// Bytes of this isolate's V8 heap (what V8 has reserved for it, used or not), of its
    /// `ArrayBuffer`s and of the zip files it keeps ([`Isolate::kept`]).
    pub(crate) fn bytes(&mut self) -> usize {
        let _entered = Entered::new(&mut self.runtime);
        let heap = self
            .runtime
            .v8_isolate()
            .get_heap_statistics()
            .total_heap_size();
        heap.saturating_add(self.buffers.used())
            .saturating_add(self.kept)
    }

    /// Whether this isolate must be discarded (timed out, ran out of memory, or the action
    /// misbehaved the way that makes OpenWhisk destroy a container).
    pub(crate) fn poisoned(&self) -> bool {
        self.poisoned
    }

    /// Runs one activation: sets its env and console, calls the entry point and drives its
    /// promise until it settles, the deadline passes or the heap limit is hit.
    pub(crate) async fn run(&mut self, inv: &Invocation) -> Result<Json, Failure> {
        if !std::mem::take(&mut self.fresh) {
            self.reset_logs(inv);
        }
        self.runtime
            .op_state()
            .borrow_mut()
            .put(Deadline(inv.deadline));
        self.runtime
            .op_state()
            .borrow_mut()
            .put(Tenant(Arc::clone(&inv.tenant)));
        let vars: Map<String, Json> = inv
            .env
            .vars()
            .map(|(k, v)| (k.to_string(), Json::String(v.to_string())))
            .collect();
        let script = format!(
            "__shoal.run(JSON.parse({}), {})",
            json_text(&inv.params),
            Json::Object(vars)
        );
        let watch = Watch::start(inv.deadline, self.handle.clone());
        let settled = match self.execute("ext:shoal/run.js", script) {
            Ok(promise) => self.settle(promise, inv.deadline).await,
            Err(e) => Err(Stopped::Js(e)),
        };
        let late = watch.finish();
        let result = if late {
            Err(Failure::Timeout { init: false })
        } else if self.out_of_memory.get() {
            Err(Failure::MemoryExceeded)
        } else {
            match settled {
                Ok(descriptor) => classify(&descriptor),
                Err(Stopped::Js(e)) => Err(abi::thrown(&describe(&e, false))),
                Err(Stopped::Deadline) => Err(Failure::Timeout { init: false }),
                Err(Stopped::Internal(why)) => Err(Failure::Internal(why)),
            }
        };
        if matches!(
            result,
            Err(Failure::DeveloperError(_)
                | Failure::Timeout { .. }
                | Failure::MemoryExceeded
                | Failure::Internal(_))
        ) {
            self.poisoned = true;
        }
        result
    }

    /// The activation's log lines (the collector is emptied for the next one).
    pub(crate) fn take_logs(&mut self) -> Vec<String> {
        self.runtime
            .op_state()
            .borrow_mut()
            .try_take::<LogCollector>()
            .map(LogCollector::finish)
            .unwrap_or_default()
    }

    fn reset_logs(&mut self, inv: &Invocation) {
        self.runtime
            .op_state()
            .borrow_mut()
            .put(LogCollector::new(inv.limits.log_bytes()));
    }

    /// Drives the event loop until `promise` settles; the descriptor text it resolves with.
    async fn settle(
        &mut self,
        promise: v8::Global<v8::Value>,
        deadline: Instant,
    ) -> Result<String, Stopped> {
        let resolved = {
            let _entered = Entered::new(&mut self.runtime);
            self.runtime.resolve(promise)
        };
        // SAFETY: see `Entered::new`; the runtime outlives the future that borrows it.
        let raw = unsafe { self.runtime.v8_isolate().as_raw_isolate_ptr() };
        let runtime = &mut self.runtime;
        let waiting = InIsolate {
            raw,
            inner: Box::pin(async move {
                runtime
                    .with_event_loop_promise(Box::pin(resolved), PollEventLoopOptions::default())
                    .await
            }),
        };
        let settled = match tokio::time::timeout_at(deadline.into(), waiting).await {
            Err(_) => return Err(Stopped::Deadline),
            Ok(settled) => settled,
        };
        match settled {
            Ok(value) => Ok(self.text(&value)),
            Err(CoreError(kind)) => match *kind {
                CoreErrorKind::Js(e) => Err(Stopped::Js(e)),
                CoreErrorKind::PendingPromiseResolution => {
                    // Nothing left that could settle it: like Node, wait out the deadline.
                    tokio::time::sleep_until(deadline.into()).await;
                    Err(Stopped::Deadline)
                }
                other => Err(Stopped::Internal(other.to_string())),
            },
        }
    }

    /// Runs a classic script in the isolate's context.
    fn execute(
        &mut self,
        name: &str,
        source: String,
    ) -> Result<v8::Global<v8::Value>, Box<JsError>> {
        let _entered = Entered::new(&mut self.runtime);
        self.runtime.execute_script(name.to_string(), source)
    }

    /// `String(value)` of a value this crate's JS produced (always a string already).
    fn text(&mut self, value: &v8::Global<v8::Value>) -> String {
        let _entered = Entered::new(&mut self.runtime);
        deno_core::scope!(scope, &mut self.runtime);
        let local = v8::Local::new(scope, value);
        local.to_rust_string_lossy(scope)
    }
}

/// A JS string literal holding `value`'s JSON text, for `JSON.parse` (which, unlike an
/// object literal, keeps a `__proto__` key as data).
fn json_text<T: deno_core::serde::Serialize + ?Sized>(value: &T) -> String {
    js_string(&serde_json::to_string(value).unwrap_or_default())
}

/// A JS string literal holding `text`.
fn js_string(text: &str) -> String {
    Json::String(text.to_string()).to_string()
}

/// `String(e)` as the thrown value renders (plus the stack when asked and available).
fn describe(e: &JsError, with_stack: bool) -> String {
    if let Some(stack) = e.stack.as_deref().filter(|s| with_stack && !s.is_empty()) {
        return stack.to_string();
    }
    match (&e.name, &e.message) {
        (Some(name), Some(message)) if !message.is_empty() => format!("{name}: {message}"),
        (Some(name), _) => name.clone(),
        _ => e
            .exception_message
            .strip_prefix("Uncaught ")
            .unwrap_or(&e.exception_message)
            .to_string(),
    }
}

/// Turns the JS runner's descriptor into the activation's result.
fn classify(descriptor: &str) -> Result<Json, Failure> {
    // The descriptor wraps the result in one object of its own.
    let mut d = match shoal_router::json::parse_wrapped(descriptor.as_bytes(), 1) {
        Ok(Json::Object(d)) => d,
        // As QuickJS reports it: JSON.stringify's RangeError.
        Err(e @ JsonError::TooDeep) => return Err(abi::thrown(&format!("RangeError: {e}"))),
        _ => {
            return Err(Failure::Internal(format!(
                "unreadable activation descriptor: {descriptor}"
            )));
        }
    };
    let kind = d.get("kind").and_then(Json::as_str).unwrap_or_default();
    match kind {
        "undefined" => abi::classify_return(Returned::Undefined),
        "scalar" => abi::classify_return(Returned::NotAnObject),
        "object" => abi::classify_return(Returned::Object(d.remove("value").unwrap_or(Json::Null))),
        "thrown" => Err(abi::thrown(
            d.get("text").and_then(Json::as_str).unwrap_or_default(),
        )),
        "too_large" => Err(Failure::result_too_large(
            d.get("length").and_then(Json::as_u64).unwrap_or_default() as usize,
            d.get("head")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .as_bytes(),
        )),
        "rejected" => Err(match d.remove("error") {
            Some(error) => abi::classify_rejection(Some(abi::error_json(
                error.get("name").and_then(Json::as_str).unwrap_or("Error"),
                error
                    .get("message")
                    .and_then(Json::as_str)
                    .unwrap_or_default(),
                error.get("stack").and_then(Json::as_str),
            ))),
            None => abi::classify_rejection(d.remove("value").filter(|v| !v.is_null())),
        }),
        other => Err(Failure::Internal(format!(
            "unknown activation descriptor kind {other:?}"
        ))),
    }
}
