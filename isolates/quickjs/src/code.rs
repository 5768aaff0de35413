//! Prepared code: each distinct action code made ready once (a script compiled to bytecode, a
//! zip unzipped) and shared by all workers; and the Node layer's own scripts (the prelude,
//! the built-in modules) compiled once per thread.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use parking_lot::Mutex;
use rquickjs::{Context, Runtime};
use shoal_isolates::node::{self, ActionFiles, DigestCache, Weighed};
use shoal_router::ActionCode;

use crate::{bytecode, isolate};

/// An action's code made ready for any number of isolates.
pub(crate) enum Prepared {
    /// A single-file action: its bytecode, run as a global script, and whether its isolates
    /// need the Node layer ([`mentions_layer`]).
    Script { bytecode: Vec<u8>, node: bool },
    /// A zip action: its files (the entry module is found and loaded by the Node layer) and
    /// the bytecode of the modules its isolates have loaded so far, by file name.
    Zip {
        files: ActionFiles,
        compiled: Mutex<HashMap<String, Arc<[u8]>>>,
    },
}

impl Prepared {
    /// The bytecode of a zip action's module file `name` (wrapped `source`), compiled by the
    /// first isolate that loads it and shared by all the others. `None` when the action is
    /// not a zip, `source` is not the loader's wrapper of that file, or it does not compile
    /// (the caller then compiles it alone, or reports the error).
    pub(crate) fn module_bytecode(&self, source: &str, name: &str) -> Option<Arc<[u8]>> {
        let Prepared::Zip { files, compiled } = self else {
            return None;
        };
        if !node::is_module_wrapper(files, name, source) {
            return None;
        }
        if let Some(code) = compiled.lock().get(name) {
            return Some(Arc::clone(code));
        }
        let code: Arc<[u8]> = compile(source, name).ok()?.into();
        compiled.lock().insert(name.to_string(), Arc::clone(&code));
        Some(code)
    }
}

/// Prepared actions keyed by [`ActionCode::digest`]; see [`DigestCache`].
pub(crate) type CodeCache = DigestCache<Prepared>;

impl Weighed for Prepared {
    /// A script's bytecode; a zip's files twice over, for the module bytecode its isolates
    /// compile later (about as large as the sources).
    fn bytes(&self) -> usize {
        match self {
            Prepared::Script { bytecode, .. } => bytecode.len(),
            Prepared::Zip { files, .. } => 2 * files.bytes(),
        }
    }
}

thread_local! {
    /// A scratch runtime per thread for compiling (no action code ever runs in it).
    static COMPILER: Option<(Runtime, Context)> = Runtime::new()
        .and_then(|rt| Context::full(&rt).map(|ctx| (rt, ctx)))
        .ok();
    /// The Node layer's scripts compiled on this thread, by file name.
    static LAYER: RefCell<HashMap<String, Rc<[u8]>>> = RefCell::new(HashMap::new());
}

/// The action's prepared code, making (and caching) it on first use. `Err` says why the code
/// can never run (syntax error, broken zip).
pub(crate) fn prepare(cache: &CodeCache, action: &ActionCode) -> Result<Arc<Prepared>, String> {
    cache.get_or_try(&action.digest, || {
        if action.binary {
            ActionFiles::unzip(&action.code).map(|files| Prepared::Zip {
                files,
                compiled: Mutex::new(HashMap::new()),
            })
        } else {
            let bytecode = compile(&action.code, &format!("{}.js", action.name))?;
            Ok(Prepared::Script {
                bytecode,
                node: mentions_layer(&action.code),
            })
        }
    })
}

/// The global names the Node layer defines, and the only ways a script can reach a global
/// binding without naming it (the global object by name or as `this`, code from strings,
/// the `Function` constructor through any function's `constructor`).
const LAYER_WORDS: &[&str] = &[
    "require",
    "Buffer",
    "URL",
    "TextEncoder",
    "TextDecoder",
    "atob",
    "btoa",
    "Event",
    "Abort",
    "structuredClone",
    "fetch",
    "Headers",
    "Request",
    "Response",
    "FormData",
    "Blob",
    "crypto",
    "performance",
    "queueMicrotask",
    "Immediate",
    "process",
    "global",
    "this",
    "eval",
    "Function",
    "constructor",
    "import",
];

/// Whether a single-file action can touch the Node layer. The layer costs a QuickJS isolate
/// about 70 KiB and 150 µs of cold start (its globals are closures), so a script that never
/// names any of [`LAYER_WORDS`] (a plain `function main(params) {…}`) runs without it.
/// Conservative: a word inside a comment or string still loads the layer.
fn mentions_layer(source: &str) -> bool {
    LAYER_WORDS.iter().any(|word| source.contains(word))
}

/// The bytecode of one of the Node layer's own scripts (`source` named `file`), compiled once
/// per thread: every isolate of the thread loads the same bytes.
pub(crate) fn layer_bytecode(source: &str, file: &str) -> Result<Rc<[u8]>, String> {
    if let Some(code) = LAYER.with(|layer| layer.borrow().get(file).cloned()) {
        return Ok(code);
    }
    let code: Rc<[u8]> = compile(source, file)?.into();
    LAYER.with(|layer| {
        layer
            .borrow_mut()
            .insert(file.to_string(), Rc::clone(&code))
    });
    Ok(code)
}

fn compile(source: &str, file: &str) -> Result<Vec<u8>, String> {
    COMPILER.with(|compiler| {
        let (_, ctx) = compiler
            .as_ref()
            .ok_or_else(|| "cannot start the QuickJS compiler".to_string())?;
        ctx.with(|ctx| {
            bytecode::compile(&ctx, source, file)
                .map_err(|thrown| isolate::describe(&ctx, &thrown, true))
        })
    })
}
