//! Compiling a script once to QuickJS bytecode and loading it into any runtime: the prepared
//! form of an action, shared by every isolate of that code. rquickjs exposes no compile-only
//! eval for scripts, so this is the one place that talks to the QuickJS C API directly.

use std::ffi::CString;

use rquickjs::{Ctx, Value, qjs};

/// Compiles `source` as a sloppy-mode global script named `file` without running it and
/// serializes the result. `Err` holds the thrown `SyntaxError` as a JS value.
pub(crate) fn compile<'js>(
    ctx: &Ctx<'js>,
    source: &str,
    file: &str,
) -> Result<Vec<u8>, Value<'js>> {
    let file = CString::new(file.replace('\0', "")).unwrap_or_default();
    let Ok(src) = CString::new(source) else {
        let msg = "source text contains a NUL character";
        return Err(rquickjs::String::from_str(ctx.clone(), msg)
            .map_or_else(|_| Value::new_undefined(ctx.clone()), |s| s.into_value()));
    };
    let flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    // SAFETY: `ctx` is a live context; `src` is NUL-terminated with `source.len()` bytes
    // before the terminator; the returned value is owned here and freed below.
    unsafe {
        let raw = ctx.as_raw().as_ptr();
        let func = qjs::JS_Eval(raw, src.as_ptr(), source.len() as _, file.as_ptr(), flags);
        if qjs::JS_IsException(func) {
            return Err(ctx.catch());
        }
        let mut len: qjs::size_t = 0;
        let buf = qjs::JS_WriteObject(raw, &mut len, func, qjs::JS_WRITE_OBJ_BYTECODE as i32);
        qjs::JS_FreeValue(raw, func);
        if buf.is_null() {
            return Err(ctx.catch());
        }
        let bytes = std::slice::from_raw_parts(buf, len as usize).to_vec();
        qjs::js_free(raw, buf.cast());
        Ok(bytes)
    }
}

/// Loads bytecode made by [`compile`] and runs it as a global script in `ctx`. `Err` means the
/// script threw; the thrown value is left for `ctx.catch()`.
pub(crate) fn run<'js>(ctx: &Ctx<'js>, bytecode: &[u8]) -> rquickjs::Result<Value<'js>> {
    // SAFETY: `bytecode` was produced by `JS_WriteObject` of this QuickJS build (the cache
    // never holds anything else); `JS_EvalFunction` takes ownership of the read function.
    unsafe {
        let raw = ctx.as_raw().as_ptr();
        let func = qjs::JS_ReadObject(
            raw,
            bytecode.as_ptr(),
            bytecode.len() as _,
            qjs::JS_READ_OBJ_BYTECODE as i32,
        );
        if qjs::JS_IsException(func) {
            return Err(rquickjs::Error::Exception);
        }
        let result = qjs::JS_EvalFunction(raw, func);
        if qjs::JS_IsException(result) {
            return Err(rquickjs::Error::Exception);
        }
        Ok(Value::from_raw(ctx.clone(), result))
    }
}

/// Compiles and runs `source` as a sloppy-mode global script named `file` (so stack traces
/// name it): the Node layer's `host.evaluate` for the action's own module files. `Err` means
/// it did not compile or threw; the thrown value is left for `ctx.catch()`.
pub(crate) fn eval_named<'js>(
    ctx: &Ctx<'js>,
    source: &str,
    file: &str,
) -> rquickjs::Result<Value<'js>> {
    let file = CString::new(file.replace('\0', "")).unwrap_or_default();
    let Ok(src) = CString::new(source) else {
        return Err(rquickjs::Exception::throw_syntax(
            ctx,
            "source text contains a NUL character",
        ));
    };
    let flags = qjs::JS_EVAL_TYPE_GLOBAL as i32;
    // SAFETY: `ctx` is a live context; `src` is NUL-terminated with `source.len()` bytes
    // before the terminator; the returned value's ownership passes to `Value`.
    unsafe {
        let raw = ctx.as_raw().as_ptr();
        let result = qjs::JS_Eval(raw, src.as_ptr(), source.len() as _, file.as_ptr(), flags);
        if qjs::JS_IsException(result) {
            return Err(rquickjs::Error::Exception);
        }
        Ok(Value::from_raw(ctx.clone(), result))
    }
}
