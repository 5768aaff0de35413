//! One isolate: a QuickJS runtime and context holding one action's loaded code, its globals,
//! its timers and the console of the activation currently running in it.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rquickjs::function::{Opt, Rest};
use rquickjs::promise::PromiseState;
use rquickjs::{
    Context, Ctx, Exception, Function, Object, Persistent, Promise, Runtime, Type, Value,
};
use serde_json::{Map, Value as Json};
use shoal_isolates::abi;
use shoal_isolates::node::Weighed;
use shoal_router::{EgressSlot, Failure, Invocation, LogCollector, LogStream, OwEnv};

use crate::alloc::{Budget, CountingAllocator};
use crate::code::Prepared;
use crate::io::Io;
use crate::ow_env::{OwVars, Reach};
use crate::{bytecode, convert, lazy, node};

/// Where an activation stands after a step of work on its isolate.
pub(crate) enum Step {
    /// The activation is over with this result.
    Done(Result<Json, Failure>),
    /// The entry point's promise is pending; wake at the next timer or the deadline.
    Pending,
}

struct Timer {
    callback: Persistent<Function<'static>>,
    args: Vec<Persistent<Value<'static>>>,
    every: Option<Duration>,
}

/// Most timers one isolate may have pending: each costs host memory (its entry and the
/// handles it keeps) outside the action's heap limit, so a `setTimeout` storm is refused
/// with a `RangeError` instead of growing the host.
const MAX_TIMERS: usize = 10_000;

/// Longest timer delay, in ms; as in Node.js, a longer (or non-positive) one fires at once.
const MAX_DELAY_MS: f64 = 2_147_483_647.0;

/// `setTimeout`/`setInterval` state: due order plus the timers by id.
#[derive(Default)]
struct Timers {
    next_id: u32,
    due: BTreeSet<(Instant, u32)>,
    entries: HashMap<u32, (Instant, Timer)>,
}

impl Timers {
    fn add(&mut self, delay: Duration, timer: Timer) -> u32 {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let id = self.next_id;
        let at = Instant::now() + delay;
        self.due.insert((at, id));
        self.entries.insert(id, (at, timer));
        id
    }

    fn cancel(&mut self, id: u32) {
        if let Some((at, _)) = self.entries.remove(&id) {
            self.due.remove(&(at, id));
        }
    }

    fn next_due(&self) -> Option<Instant> {
        self.due.first().map(|(at, _)| *at)
    }

    /// Takes the earliest timer due by `now`, rescheduling it when it repeats.
    fn pop_due(
        &mut self,
        now: Instant,
    ) -> Option<(
        Persistent<Function<'static>>,
        Vec<Persistent<Value<'static>>>,
    )> {
        let &(at, id) = self.due.first().filter(|(at, _)| *at <= now)?;
        self.due.remove(&(at, id));
        let (_, timer) = self.entries.remove(&id)?;
        let fire = (timer.callback.clone(), timer.args.clone());
        if let Some(every) = timer.every {
            let next = now + every;
            self.due.insert((next, id));
            self.entries.insert(id, (next, timer));
        }
        Some(fire)
    }

    fn clear(&mut self) {
        self.due.clear();
        self.entries.clear();
    }
}

/// What host functions installed in the context share with the isolate.
pub(crate) struct Host {
    pub(crate) deadline: Cell<Instant>,
    /// The namespace the current activation runs for (outbound requests are metered by it).
    pub(crate) tenant: RefCell<Arc<str>>,
    interrupted: Cell<bool>,
    logs: RefCell<LogCollector>,
    timers: RefCell<Timers>,
    pub(crate) io: Io,
    /// Which lazily built intrinsics the context has built (see `lazy`).
    pub(crate) intrinsics: Rc<lazy::Built>,
    /// `process.env`, and whether the action has reached it yet (see `ow_env`).
    env: Rc<Reach>,
}

/// One action's isolate. Created on a cold start, reused by warm starts of the same tenant and
/// action version, dropped when evicted or after a timeout, OOM or developer error. Costs one
/// QuickJS runtime and context (about 100 KiB for a small action).
pub(crate) struct Isolate {
    // JS-holding fields come first: they must be released before the context and runtime.
    main: Persistent<Function<'static>>,
    pending: Option<Persistent<Promise<'static>>>,
    host: Rc<Host>,
    context: Context,
    budget: Rc<Budget>,
    /// Host bytes of the code this isolate keeps alive outside its heap: the action's source
    /// (up to 48 MB; its engine's idle map holds it), and a zip action's files and module
    /// bytecode (up to hundreds of MiB from a small zip), which stay as long as one of its
    /// isolates is resident, whatever the code cache evicts. Counted in full for each
    /// isolate, though isolates of one action share them: an over-count, never an under-count.
    kept: usize,
    poisoned: bool,
    /// Just created: the collector still holds what loading the code logged.
    fresh: bool,
}

impl Drop for Isolate {
    fn drop(&mut self) {
        // Timers hold JS values; free them while the runtime is alive (the host functions
        // that share `host` are freed with the runtime).
        self.host.timers.borrow_mut().clear();
        self.host.io.clear();
        self.host.env.clear();
        self.pending = None;
    }
}

/// A failed cold start: the failure and whatever the code logged while loading.
pub(crate) struct InitFailure {
    pub(crate) failure: Failure,
    pub(crate) logs: Vec<String>,
}

impl Isolate {
    /// Creates the runtime and context, installs the host globals and the Node layer and runs
    /// the action's prepared code (cold start). Logs written while loading go to this
    /// activation.
    pub(crate) fn create(
        inv: &Invocation,
        code: &Arc<Prepared>,
        egress: &EgressSlot,
    ) -> Result<Isolate, InitFailure> {
        let fail = |failure: Failure, host: Option<&Host>| InitFailure {
            failure,
            logs: host
                .map(|h| h.logs.replace(LogCollector::new(0)).finish())
                .unwrap_or_default(),
        };
        let limit =
            usize::try_from(inv.limits.memory_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        let budget = Budget::new(limit);
        let runtime =
            Runtime::new_with_alloc(CountingAllocator(Rc::clone(&budget))).map_err(|e| {
                fail(
                    Failure::Internal(format!("cannot create a QuickJS runtime: {e}")),
                    None,
                )
            })?;
        let host = Rc::new(Host {
            deadline: Cell::new(inv.deadline),
            tenant: RefCell::new(Arc::clone(&inv.tenant)),
            interrupted: Cell::new(false),
            logs: RefCell::new(LogCollector::new(inv.limits.log_bytes())),
            timers: RefCell::new(Timers::default()),
            io: Io::new(Arc::clone(egress)),
            intrinsics: Rc::default(),
            env: Rc::default(),
        });
        let watch = Rc::clone(&host);
        runtime.set_interrupt_handler(Some(Box::new(move || {
            let late = Instant::now() >= watch.deadline.get();
            if late {
                watch.interrupted.set(true);
            }
            late
        })));
        let context = match lazy::new_context(&runtime, &host.intrinsics) {
            Ok(c) => c,
            Err(_) if budget.exceeded() => return Err(fail(Failure::MemoryExceeded, Some(&host))),
            Err(e) => {
                return Err(fail(
                    Failure::Internal(format!("cannot create a QuickJS context: {e}")),
                    Some(&host),
                ));
            }
        };
        let loaded = context.with(|ctx| -> Result<_, Failure> {
            let init_failed = || fatal_or(&host, &budget, &ctx, true, abi::init_failed);
            install_globals(&ctx, &host, &inv.init_env, OwVars::new(&context))
                .map_err(|_| init_failed())?;
            let main = match &**code {
                Prepared::Script { bytecode, node } => {
                    if *node {
                        node::install(&ctx, code, &budget, &host).map_err(|_| init_failed())?;
                    }
                    bytecode::run(&ctx, bytecode).map_err(|_| init_failed())?;
                    find_main(&ctx, &inv.action.main)
                }
                Prepared::Zip { .. } => {
                    let loader =
                        node::install(&ctx, code, &budget, &host).map_err(|_| init_failed())?;
                    let load: Function = loader.get("loadEntry").map_err(|_| init_failed())?;
                    let main: Value = load
                        .call((inv.action.main.as_str(),))
                        .map_err(|_| init_failed())?;
                    main.into_function()
                }
            };
            let main = main.ok_or_else(|| {
                fatal_or(&host, &budget, &ctx, true, |_| {
                    abi::init_failed(&abi::entry_point_missing(&inv.action.main))
                })
            })?;
            Ok(Persistent::save(&ctx, main))
        });
        match loaded {
            Ok(main) => Ok(Isolate {
                main,
                pending: None,
                host,
                context,
                budget,
                kept: inv.action.code.len()
                    + match &**code {
                        Prepared::Zip { .. } => code.bytes(),
                        Prepared::Script { .. } => 0,
                    },
                poisoned: false,
                fresh: true,
            }),
            Err(failure) => {
                let logs = host.logs.replace(LogCollector::new(0)).finish();
                // Free the timers and requests the code may have set before the runtime goes.
                host.timers.borrow_mut().clear();
                host.io.clear();
                host.env.clear();
                Err(InitFailure { failure, logs })
            }
        }
    }

    /// What this isolate holds in host memory: its heap's live bytes, as its allocator counts
    /// them, and the prepared code it keeps alive ([`Isolate::kept`]). The resident limits
    /// and the host's memory budget read this; the action's memory limit is the heap's alone.
    pub(crate) fn bytes(&self) -> usize {
        self.budget.used() + self.kept
    }

    /// Whether this isolate must be discarded (timed out, ran out of memory, or the action
    /// misbehaved the way that makes OpenWhisk destroy a container).
    pub(crate) fn poisoned(&self) -> bool {
        self.poisoned
    }

    /// Starts an activation: installs its `__OW_*` variables (`env`, taken out of `inv`),
    /// deadline and log collector and calls the entry point with the parameters.
    pub(crate) fn begin(&mut self, inv: &Invocation, env: OwEnv) -> Step {
        self.host.deadline.set(inv.deadline);
        *self.host.tenant.borrow_mut() = Arc::clone(&inv.tenant);
        self.host.interrupted.set(false);
        if !std::mem::take(&mut self.fresh) {
            self.host
                .logs
                .replace(LogCollector::new(inv.limits.log_bytes()));
        }
        self.host.env.begin(env);
        let context = self.context.clone();
        let step = context.with(|ctx| {
            let called = self.host.env.write(&ctx).and_then(|()| {
                let params = convert::object_from(&ctx, &inv.params)?;
                self.main.clone().restore(&ctx)?.call::<_, Value>((params,))
            });
            match called {
                Err(_) => Step::Done(Err(fatal_or(
                    &self.host,
                    &self.budget,
                    &ctx,
                    false,
                    abi::thrown,
                ))),
                Ok(value) => match value.as_promise().cloned() {
                    Some(promise) => self.settle(&ctx, promise),
                    None => {
                        drain_jobs(&ctx, &self.host, &self.budget);
                        match fatal(&self.host, &self.budget, false) {
                            Some(f) => Step::Done(Err(f)),
                            None => {
                                Step::Done(classify_value(&ctx, &self.host, &self.budget, value))
                            }
                        }
                    }
                },
            }
        });
        self.note(step)
    }

    /// When the pending activation next needs attention (its earliest timer), if ever.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        self.host.timers.borrow().next_due()
    }

    /// Resolves when an outbound request of this isolate has finished.
    pub(crate) async fn io_progress(&self) {
        self.host.io.progress().await
    }

    /// Settles finished requests, fires the timers that are due and re-checks the pending
    /// promise.
    pub(crate) fn advance(&mut self) -> Step {
        let context = self.context.clone();
        let step = context.with(|ctx| {
            if self.host.io.ready() {
                self.host.io.settle(&ctx);
                drain_jobs(&ctx, &self.host, &self.budget);
            }
            loop {
                let due = self.host.timers.borrow_mut().pop_due(Instant::now());
                let Some((callback, args)) = due else { break };
                let called = callback.restore(&ctx).and_then(|f| {
                    let args = args
                        .into_iter()
                        .map(|a| a.restore(&ctx))
                        .collect::<rquickjs::Result<Vec<_>>>()?;
                    let mut call = rquickjs::function::Args::new(ctx.clone(), args.len());
                    call.push_args(args)?;
                    f.call_arg::<()>(call)
                });
                if called.is_err() {
                    return Step::Done(Err(fatal_or(
                        &self.host,
                        &self.budget,
                        &ctx,
                        false,
                        abi::thrown,
                    )));
                }
                drain_jobs(&ctx, &self.host, &self.budget);
            }
            match self.pending.clone().map(|p| p.restore(&ctx)) {
                Some(Ok(promise)) => self.settle(&ctx, promise),
                _ => Step::Done(Err(Failure::Internal(
                    "no pending activation on this isolate".into(),
                ))),
            }
        });
        self.note(step)
    }

    /// Ends the activation on its deadline.
    pub(crate) fn time_out(&mut self) -> Failure {
        self.poisoned = true;
        Failure::Timeout { init: false }
    }

    /// The activation's log lines (the collector is reset for the next one).
    pub(crate) fn take_logs(&self) -> Vec<String> {
        self.host.logs.replace(LogCollector::new(0)).finish()
    }

    fn note(&mut self, step: Step) -> Step {
        if let Step::Done(result) = &step {
            self.pending = None;
            if matches!(
                result,
                Err(Failure::DeveloperError(_)
                    | Failure::Timeout { .. }
                    | Failure::MemoryExceeded
                    | Failure::Internal(_))
            ) {
                self.poisoned = true;
            }
        }
        step
    }

    /// Runs queued promise jobs and reports the promise's state.
    fn settle<'js>(&mut self, ctx: &Ctx<'js>, promise: Promise<'js>) -> Step {
        drain_jobs(ctx, &self.host, &self.budget);
        if let Some(f) = fatal(&self.host, &self.budget, false) {
            return Step::Done(Err(f));
        }
        match promise.state() {
            PromiseState::Pending => {
                self.pending = Some(Persistent::save(ctx, promise));
                Step::Pending
            }
            PromiseState::Resolved => match promise.result::<Value>() {
                Some(Ok(value)) => Step::Done(classify_value(ctx, &self.host, &self.budget, value)),
                _ => Step::Done(Err(fatal_or(
                    &self.host,
                    &self.budget,
                    ctx,
                    false,
                    abi::thrown,
                ))),
            },
            PromiseState::Rejected => {
                let _ = promise.result::<Value>();
                let reason = ctx.catch();
                Step::Done(Err(rejection(ctx, reason)))
            }
        }
    }
}

/// Runs queued promise jobs until none is left or the deadline or memory limit stops them.
fn drain_jobs(ctx: &Ctx<'_>, host: &Host, budget: &Budget) {
    while ctx.execute_pending_job() {
        if host.interrupted.get() || budget.exceeded() {
            break;
        }
    }
    // A job that threw leaves its exception behind; promise jobs never do (they reject).
    let _ = ctx.catch();
}

/// The failure that ends an activation no matter what JS did: the deadline or the memory limit.
fn fatal(host: &Host, budget: &Budget, init: bool) -> Option<Failure> {
    if host.interrupted.get() {
        Some(Failure::Timeout { init })
    } else if budget.exceeded() {
        Some(Failure::MemoryExceeded)
    } else {
        None
    }
}

/// The failure for a thrown exception: fatal ones first, else `wrap` of its description.
fn fatal_or(
    host: &Host,
    budget: &Budget,
    ctx: &Ctx<'_>,
    init: bool,
    wrap: impl FnOnce(&str) -> Failure,
) -> Failure {
    let thrown = ctx.catch();
    if let Some(f) = fatal(host, budget, init) {
        return f;
    }
    let text = describe(ctx, &thrown, init);
    // Reading the value runs guest code (`toString`, getters), which may itself hit the
    // deadline or the memory limit: then that is the failure.
    fatal(host, budget, init).unwrap_or_else(|| wrap(&text))
}

/// Longest text kept from a thrown value or its stack, in UTF-16 units: the host copies the
/// text several times (error, record, logs) outside the action's memory limit, so an 80 MiB
/// string thrown must not become gigabytes of host memory.
const MAX_ERROR_TEXT: usize = 64 * 1024;

/// `String(e)`, plus the stack trace when asked and available, each cut (in the isolate,
/// before it reaches the host) to [`MAX_ERROR_TEXT`] with a note of the full length.
pub(crate) fn describe<'js>(ctx: &Ctx<'js>, value: &Value<'js>, with_stack: bool) -> String {
    let bounded = |v: Value<'js>| -> Option<String> {
        let cut: Function = ctx
            .eval(format!(
                "(v) => {{ const s = String(v); return s.length > {MAX_ERROR_TEXT} ? s.slice(0, {MAX_ERROR_TEXT}) + ' … (' + s.length + ' characters in all)' : s; }}"
            ))
            .ok()?;
        cut.call::<_, String>((v,)).ok()
    };
    let text = bounded(value.clone()).unwrap_or_else(|| {
        let _ = ctx.catch();
        value.type_name().to_string()
    });
    let stack = value
        .as_exception()
        .and_then(|e| e.get::<_, Value>("stack").ok())
        .filter(|s| s.is_string())
        .and_then(bounded)
        .filter(|s| with_stack && !s.trim().is_empty());
    match stack {
        Some(stack) => format!("{text}\n{}", stack.trim_end()),
        None => text,
    }
}

/// Classifies a returned (or resolved) value.
fn classify_value<'js>(
    ctx: &Ctx<'js>,
    host: &Host,
    budget: &Budget,
    value: Value<'js>,
) -> Result<Json, Failure> {
    match convert::returned(ctx, value) {
        Ok(returned) => abi::classify_return(returned),
        Err(_) => Err(fatal_or(host, budget, ctx, false, abi::thrown)),
    }
}

/// A rejected promise as the application error Node's runtime reports.
fn rejection<'js>(ctx: &Ctx<'js>, reason: Value<'js>) -> Failure {
    let falsy = match reason.type_of() {
        Type::Undefined | Type::Null | Type::Uninitialized => true,
        Type::Bool => reason.as_bool() == Some(false),
        Type::Int | Type::Float => reason.as_number().is_none_or(|n| n == 0.0 || n.is_nan()),
        Type::String => reason
            .as_string()
            .and_then(|s| s.to_string().ok())
            .is_some_and(|s| s.is_empty()),
        _ => false,
    };
    if falsy {
        return abi::classify_rejection(None);
    }
    if let Some(error) = reason.as_exception() {
        let name: String = error.get("name").unwrap_or_else(|_| "Error".to_string());
        let message = error.message().unwrap_or_default();
        return abi::classify_rejection(Some(abi::error_json(
            &name,
            &message,
            error.stack().as_deref(),
        )));
    }
    match convert::read(ctx, reason) {
        Ok(convert::Read::Json(json)) => abi::classify_rejection(json),
        Ok(convert::Read::TooLarge { length, head }) => Failure::result_too_large(length, &head),
        Err(_) => {
            let _ = ctx.catch();
            abi::classify_rejection(None)
        }
    }
}

/// Finds the entry point: a global binding named `main` (also `const`/`let` at top level),
/// else `module.exports[main]`, else `module.exports` itself when it is a function.
fn find_main<'js>(ctx: &Ctx<'js>, main: &str) -> Option<Function<'js>> {
    let globals = ctx.globals();
    if let Ok(f) = globals.get::<_, Function>(main) {
        return Some(f);
    }
    let module: Option<Object> = globals.get("module").ok();
    let exports: Option<Value> = module.and_then(|m| m.get("exports").ok());
    if let Some(exports) = exports {
        if let Some(f) = exports
            .as_object()
            .and_then(|o| o.get::<_, Function>(main).ok())
        {
            return Some(f);
        }
        if let Some(f) = exports.as_function() {
            return Some(f.clone());
        }
    }
    let lexical = is_identifier(main)
        .then(|| {
            ctx.eval::<Value, _>(format!("typeof {main} === 'function' ? {main} : undefined"))
                .ok()
        })
        .flatten();
    let _ = ctx.catch();
    lexical.and_then(|v| v.into_function())
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// Installs `global` (Node's name for the global object), `console`, `process.env`, the timer
/// functions and `module`/`exports` (the Node layer, when it loads, adds the rest and its own
/// `module`).
fn install_globals<'js>(
    ctx: &Ctx<'js>,
    host: &Rc<Host>,
    init_env: &Map<String, Json>,
    vars: OwVars,
) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    globals.set("global", globals.clone())?;
    let console = Object::new(ctx.clone())?;
    for (name, stream) in [
        ("log", LogStream::Stdout),
        ("info", LogStream::Stdout),
        ("debug", LogStream::Stdout),
        ("error", LogStream::Stderr),
        ("warn", LogStream::Stderr),
    ] {
        let host = Rc::clone(host);
        let f = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
            let line = format_console(&ctx, &args.0);
            host.logs.borrow_mut().push(stream, &line);
        })?;
        console.set(name, f)?;
    }
    globals.set("console", console)?;

    let env = Object::new(ctx.clone())?;
    for (k, v) in init_env {
        env.set(k.as_str(), abi::env_string(v))?;
    }
    let process = Object::new(ctx.clone())?;
    Reach::install(&host.env, &process, env, vars)?;
    globals.set("process", process)?;

    for (name, repeat) in [("setTimeout", false), ("setInterval", true)] {
        let host = Rc::clone(host);
        let f = Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, callback: Function<'js>, ms: Opt<f64>, args: Rest<Value<'js>>| {
                if host.timers.borrow().entries.len() >= MAX_TIMERS {
                    return Err(Exception::throw_range(
                        &ctx,
                        &format!("too many pending timers: at most {MAX_TIMERS} per action"),
                    ));
                }
                let ms =
                    ms.0.filter(|m| m.is_finite() && *m > 0.0 && *m <= MAX_DELAY_MS)
                        .unwrap_or(0.0);
                let delay = Duration::from_secs_f64(ms / 1000.0);
                let timer = Timer {
                    callback: Persistent::save(&ctx, callback),
                    args: args
                        .0
                        .into_iter()
                        .map(|a| Persistent::save(&ctx, a))
                        .collect(),
                    every: repeat.then_some(delay.max(Duration::from_millis(1))),
                };
                Ok(host.timers.borrow_mut().add(delay, timer))
            },
        )?;
        globals.set(name, f)?;
    }
    for name in ["clearTimeout", "clearInterval"] {
        let host = Rc::clone(host);
        let f = Function::new(ctx.clone(), move |id: Opt<Value<'js>>| {
            if let Some(id) = id.0.and_then(|v| v.as_number()) {
                host.timers.borrow_mut().cancel(id as u32);
            }
        })?;
        globals.set(name, f)?;
    }

    let module = Object::new(ctx.clone())?;
    let exports = Object::new(ctx.clone())?;
    module.set("exports", exports.clone())?;
    globals.set("module", module)?;
    globals.set("exports", exports)?;
    Ok(())
}

/// Formats `console.*` arguments like Node does for the common cases: strings as they are,
/// errors with their stack, objects and arrays as JSON, everything else as `String(v)`;
/// joined by spaces.
fn format_console<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
    let mut line = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        let text = match arg.type_of() {
            Type::String => arg
                .as_string()
                .and_then(|s| s.to_string().ok())
                .unwrap_or_default(),
            Type::Exception => describe(ctx, arg, true),
            Type::Object | Type::Array => match ctx.json_stringify(arg.clone()) {
                Ok(Some(s)) => s.to_string().unwrap_or_default(),
                _ => {
                    let _ = ctx.catch();
                    describe(ctx, arg, false)
                }
            },
            _ => describe(ctx, arg, false),
        };
        line.push_str(&text);
    }
    line
}
