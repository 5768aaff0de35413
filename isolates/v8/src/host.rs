//! The `shoal_host` deno_core extension every V8 isolate of shoal has: the one op through which
//! `console.*` reaches the activation's log collector. Shared with the build script, which
//! makes the startup snapshot with it (a snapshot must be used with the extensions it was
//! made with).

use deno_core::{OpState, op2};
use shoal_router::{LogCollector, LogStream};

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

deno_core::extension!(shoal_host, ops = [op_shoal_log]);
