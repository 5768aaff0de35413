//! Prepared code: each distinct action code compiled once to bytecode, shared by all workers.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rquickjs::{Context, Runtime};
use shoal_router::ActionCode;

use crate::{bytecode, isolate};

/// Bytecode of prepared actions keyed by [`ActionCode::digest`]. Shared (`Arc`) by the executor
/// and its workers; lives as long as the executor. Holds at most `capacity` entries: when full,
/// an arbitrary entry is dropped (it is recompiled on its next cold start).
pub(crate) struct CodeCache {
    entries: Mutex<HashMap<[u8; 32], Arc<[u8]>>>,
    capacity: usize,
}

thread_local! {
    /// A scratch runtime per thread for compiling (no action code ever runs in it).
    static COMPILER: Option<(Runtime, Context)> = Runtime::new()
        .and_then(|rt| Context::full(&rt).map(|ctx| (rt, ctx)))
        .ok();
}

impl CodeCache {
    pub(crate) fn new(capacity: usize) -> Self {
        CodeCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The action's bytecode, compiling (and caching) it on first use. `Err` says why the code
    /// can never run (syntax error, binary package).
    pub(crate) fn get(&self, action: &ActionCode) -> Result<Arc<[u8]>, String> {
        if let Some(code) = self.entries.lock().get(&action.digest) {
            return Ok(Arc::clone(code));
        }
        let code: Arc<[u8]> = compile(action)?.into();
        let mut entries = self.entries.lock();
        if entries.len() >= self.capacity {
            let victim = entries.keys().next().copied();
            if let Some(victim) = victim {
                entries.remove(&victim);
            }
        }
        entries.insert(action.digest, Arc::clone(&code));
        Ok(code)
    }
}

fn compile(action: &ActionCode) -> Result<Vec<u8>, String> {
    if action.binary {
        return Err(
            "binary (zip) JavaScript actions are not supported by the QuickJS engine".into(),
        );
    }
    let file = format!("{}.js", action.name);
    COMPILER.with(|compiler| {
        let (_, ctx) = compiler
            .as_ref()
            .ok_or_else(|| "cannot start the QuickJS compiler".to_string())?;
        ctx.with(|ctx| {
            bytecode::compile(&ctx, &action.code, &file)
                .map_err(|thrown| isolate::describe(&ctx, &thrown, true))
        })
    })
}
