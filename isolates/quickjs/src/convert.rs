//! Moving values between serde_json and QuickJS: parameters go in by building JS values
//! directly (no JSON text), with the properties `JSON.parse` would create. Results come out as `JSON.stringify` would give them, which is
//! exactly what the Node runtime would send (`toJSON`, dropped `undefined`s, …): plain data
//! (objects and arrays with the standard prototypes, strings, numbers, booleans, null) is read
//! directly, and anything else is left to `JSON.stringify` itself.

use std::cell::Cell;

use rquickjs::object::Property;
use rquickjs::{Array, Ctx, Object, String as JsString, Type, Value, qjs};
use serde_json::{Map, Value as Json};
use shoal_isolates::abi::Returned;
use shoal_router::MAX_RESULT_BYTES;

/// Builds a JS value from JSON.
pub(crate) fn to_js<'js>(ctx: &Ctx<'js>, json: &Json) -> rquickjs::Result<Value<'js>> {
    Ok(match json {
        Json::Null => Value::new_null(ctx.clone()),
        Json::Bool(b) => Value::new_bool(ctx.clone(), *b),
        Json::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => Value::new_int(ctx.clone(), i),
            None => Value::new_float(ctx.clone(), n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => JsString::from_str(ctx.clone(), s)?.into_value(),
        Json::Array(items) => {
            let array = Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                array.as_object().prop(i as u32, data(to_js(ctx, item)?))?;
            }
            array.into_value()
        }
        Json::Object(map) => object_from(ctx, map)?.into_value(),
    })
}

/// Builds a JS object from a JSON map as `JSON.parse` would (OpenWhisk's Node.js runtime parses
/// its parameters): every key an own data property, `__proto__` included, whatever setters
/// the action's code may have put on `Object.prototype`.
pub(crate) fn object_from<'js>(
    ctx: &Ctx<'js>,
    map: &Map<String, Json>,
) -> rquickjs::Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    for (k, v) in map {
        obj.prop(k.as_str(), data(to_js(ctx, v)?))?;
    }
    Ok(obj)
}

/// A writable, enumerable, configurable data property (what `JSON.parse` creates).
fn data(value: Value<'_>) -> Property<Value<'_>> {
    Property::from(value).writable().enumerable().configurable()
}

/// The JSON view of a JS value (`JSON.stringify`), `None` when it has none (`undefined`,
/// functions, symbols), or [`Read::TooLarge`]. Throws like `JSON.stringify` does (cycles,
/// bigints).
///
/// Plain data is converted directly, a few hundred instructions per property instead of
/// `JSON.stringify`'s text followed by a parse (which cost a warm web action a fifth of its
/// request thread); the first value outside [`Plain`]'s reach sends the whole value through
/// `JSON.stringify`.
pub(crate) fn read<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Read> {
    if let Some(plain) = Plain::new(ctx)
        && let Some(converted) = plain.convert(value.as_raw(), 0)
    {
        return Ok(Read::Json(converted));
    }
    stringified(ctx, value)
}

/// How a value reads on the host.
#[derive(Debug, PartialEq)]
pub(crate) enum Read {
    /// Its JSON form; `None` when it has none (`undefined`, functions, symbols).
    Json(Option<Json>),
    /// Its `JSON.stringify` text is longer than [`MAX_RESULT_BYTES`] (what OpenWhisk's Node.js
    /// runtime measures): its length in bytes and its first bytes, for
    /// [`shoal_router::Failure::result_too_large`]. It was not copied to the host.
    TooLarge { length: usize, head: Vec<u8> },
}

/// `JSON.stringify` followed by a parse: exact for every value, slower than [`Plain`]. The
/// text stays in the isolate (under the action's memory limit) and is parsed on the host only
/// when it is within [`MAX_RESULT_BYTES`], which bounds the tree the host builds (a text of
/// `[0,0,…]` becomes ~40 bytes of `serde_json::Value` per 2 bytes).
fn stringified<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Read> {
    let Some(json) = ctx.json_stringify(value)? else {
        return Ok(Read::Json(None));
    };
    let text =
        CText::of_value(ctx.as_raw().as_ptr(), json.as_raw()).ok_or(rquickjs::Error::Exception)?;
    let bytes = text.bytes();
    let read = if bytes.len() > MAX_RESULT_BYTES {
        Ok(Read::TooLarge {
            length: bytes.len(),
            head: bytes[..1024].to_vec(),
        })
    } else {
        // QuickJS's JSON.stringify always produces valid JSON; too deep a value is thrown,
        // as JSON.stringify throws for a cycle.
        shoal_router::json::parse(bytes)
            .map(|json| Read::Json(Some(json)))
            .map_err(|e| e.to_string())
    };
    read.map_err(|e| rquickjs::Exception::throw_range(ctx, &e))
}

/// What an entry point returned, in the terms of the ABI's classification.
pub(crate) fn returned<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Returned> {
    Ok(match value.type_of() {
        Type::Undefined | Type::Uninitialized => Returned::Undefined,
        Type::Object | Type::Array | Type::Exception | Type::Promise => match read(ctx, value)? {
            Read::Json(json) => json.map_or(Returned::NotAnObject, Returned::Object),
            Read::TooLarge { length, head } => Returned::TooLarge { length, head },
        },
        _ => Returned::NotAnObject,
    })
}

/// The direct reading of plain data, with the context's standard prototypes at hand. Exact
/// where it answers: it declines (`None`) every value whose `JSON.stringify` form could
/// differ from a plain reading of its own enumerable data properties — anything but an
/// ordinary object or array (functions, whose `toJSON` `JSON.stringify` looks up too,
/// proxies, class instances, boxed primitives, dates, errors, promises, typed arrays…,
/// whatever their prototype), objects and arrays with any other
/// prototype, anything with a `toJSON` (own or inherited, including one added to
/// `Object.prototype`), any accessor property (a getter is the action's code: declining it
/// means no code runs while a value is read, so nothing can change under the reading),
/// bigints, strings and keys that are not valid UTF-16 text, nesting deeper than
/// [`Plain::MAX_DEPTH`] (where a cycle would be) and results that would cost the host more
/// than [`Plain::BUDGET`] bytes, so that `JSON.stringify` handles them — inside QuickJS,
/// under the action's memory limit and deadline, with only a text within the result limit
/// parsed on the host. This reading allocates on the host and cannot be interrupted, hence
/// the budget: a sparse array of a billion holes, one string, one long key or one object of
/// many hidden or symbol keys referenced a million times, or a few arrays nested into
/// millions of references, must not make the host loop or allocate without bound.
///
/// It reads through QuickJS's C API, without rquickjs's wrappers (each holds a reference to
/// the context): a few hundred instructions per property.
struct Plain<'js> {
    ctx: Ctx<'js>,
    object_proto: Value<'js>,
    array_proto: Value<'js>,
    /// What the reading may still cost, in bytes of the host's copy: each value or hole
    /// costs a `serde_json::Value`, each object entry its key's `String` and bytes plus its
    /// map slot, each string its bytes; each own key listed (string, symbol or private,
    /// enumerable or not) costs a table entry, which also bounds the host's time.
    budget: Cell<usize>,
}

impl<'js> Plain<'js> {
    /// Nesting below which values are read directly; deeper ones (and cycles, which
    /// `JSON.stringify` turns into a `TypeError`) go through `JSON.stringify`.
    const MAX_DEPTH: usize = 32;

    /// The most host memory a direct reading builds (a 1 MB result, OpenWhisk's limit, is
    /// at most ~40 MB as `serde_json` values); a bigger one goes to `JSON.stringify`.
    const BUDGET: usize = 64 << 20;

    /// What one value or array hole costs.
    const VALUE: usize = std::mem::size_of::<Json>();

    /// What one object entry costs beyond its value and key bytes: the key's `String` and
    /// the map's index slot and hash.
    const ENTRY: usize = std::mem::size_of::<String>() + 16;

    /// What listing one own key costs.
    const KEY: usize = std::mem::size_of::<qjs::JSPropertyEnum>();

    /// The context's own `Object.prototype` and `Array.prototype` (what `{}` and `[]` are
    /// made with, whatever the action did to the globals of those names), or `None` when
    /// either carries a `toJSON` or Array.prototype no longer inherits from Object.prototype.
    /// Two reference-count increments and three lookups.
    fn new(ctx: &Ctx<'js>) -> Option<Self> {
        let plain = Plain {
            ctx: ctx.clone(),
            object_proto: intrinsic_proto(ctx, CLASS_OBJECT),
            array_proto: intrinsic_proto(ctx, CLASS_ARRAY),
            budget: Cell::new(Self::BUDGET),
        };
        for proto in [&plain.array_proto, &plain.object_proto] {
            if plain.has_own(proto.as_raw(), TO_JSON)? {
                return None;
            }
        }
        // The chains read through are `{}` → Object.prototype and `[]` → Array.prototype →
        // Object.prototype (whose own prototype cannot change); an action may have given
        // Array.prototype another one.
        let array_chain = plain.ordinary(plain.array_proto.as_raw(), &plain.object_proto, 0);
        array_chain.then_some(plain)
    }

    fn raw(&self) -> *mut qjs::JSContext {
        self.ctx.as_raw().as_ptr()
    }

    /// Takes `units` bytes from the budget; `false` (decline) when it does not hold that many.
    fn spend(&self, units: usize) -> bool {
        match self.budget.get().checked_sub(units) {
            Some(left) => {
                self.budget.set(left);
                true
            }
            None => false,
        }
    }

    /// Declines after a failed C call, dropping the exception it left (out of memory, in
    /// practice): `JSON.stringify` then meets the same condition and throws it itself.
    fn failed<T>(&self) -> Option<T> {
        // SAFETY: takes the context's pending exception (a new reference) and frees it.
        unsafe { qjs::JS_FreeValue(self.raw(), qjs::JS_GetException(self.raw())) };
        None
    }

    /// `Some(Some(json))` for a value with a JSON form, `Some(None)` for one that
    /// `JSON.stringify` skips (`undefined`, symbols), `None` when declined.
    /// `value` is borrowed: it stays owned by the caller.
    fn convert(&self, value: qjs::JSValue, depth: usize) -> Option<Option<Json>> {
        if !self.spend(Self::VALUE) {
            return None;
        }
        // SAFETY: `value` is a live value; its tag says which payload the accessors read.
        Some(Some(unsafe {
            match qjs::JS_VALUE_GET_NORM_TAG(value) {
                qjs::JS_TAG_UNDEFINED | qjs::JS_TAG_UNINITIALIZED | qjs::JS_TAG_SYMBOL => {
                    return Some(None);
                }
                qjs::JS_TAG_NULL => Json::Null,
                qjs::JS_TAG_BOOL => Json::Bool(qjs::JS_VALUE_GET_BOOL(value)),
                qjs::JS_TAG_INT => Json::from(qjs::JS_VALUE_GET_INT(value)),
                qjs::JS_TAG_FLOAT64 => number(qjs::JS_VALUE_GET_FLOAT64(value))?,
                qjs::JS_TAG_STRING => Json::String(self.text(CText::of_value(self.raw(), value))?),
                qjs::JS_TAG_OBJECT => match qjs::JS_GetClassID(value) {
                    CLASS_OBJECT => Json::Object(self.object(value, depth)?),
                    CLASS_ARRAY => Json::Array(self.array(value, depth)?),
                    _ => return None,
                },
                _ => return None,
            }
        }))
    }

    /// A host copy of `text` (`None`: QuickJS could not convert it) within the budget; `None`
    /// for text that is not valid UTF-16 (a lone surrogate comes out as invalid UTF-8).
    fn text(&self, text: Option<CText>) -> Option<String> {
        let Some(text) = text else {
            return self.failed();
        };
        let bytes = text.bytes();
        self.spend(bytes.len())
            .then(|| std::str::from_utf8(bytes).ok().map(str::to_owned))
            .flatten()
    }

    /// Whether `object` (an ordinary object or array) has prototype `proto` and is within
    /// the depth limit.
    fn ordinary(&self, object: qjs::JSValue, proto: &Value<'js>, depth: usize) -> bool {
        if depth >= Self::MAX_DEPTH {
            return false;
        }
        // SAFETY: for an ordinary object or array `JS_GetPrototype` reads its shape (no
        // code runs) and returns a new reference, freed here after the comparison.
        unsafe {
            let own = qjs::JS_GetPrototype(self.raw(), object);
            let same = qjs::JS_VALUE_GET_PTR(own) == qjs::JS_VALUE_GET_PTR(proto.as_raw());
            qjs::JS_FreeValue(self.raw(), own);
            same
        }
    }

    /// `object`'s own data property `atom`: `Ok(Some(value))` (a new reference, freed when
    /// dropped), `Ok(None)` when it has none, `Err(())` for an accessor or a failure.
    fn own(&self, object: qjs::JSValue, atom: qjs::JSAtom) -> Result<Option<Held>, ()> {
        let mut desc = std::mem::MaybeUninit::<qjs::JSPropertyDescriptor>::uninit();
        // SAFETY: `object` is an ordinary object or array, whose own-property lookup runs no
        // code; on 1 QuickJS filled every field of `desc`, each a new reference.
        unsafe {
            match qjs::JS_GetOwnProperty(self.raw(), desc.as_mut_ptr(), object, atom) {
                0 => Ok(None),
                1 => {
                    let desc = desc.assume_init();
                    qjs::JS_FreeValue(self.raw(), desc.getter);
                    qjs::JS_FreeValue(self.raw(), desc.setter);
                    let value = Held(self.raw(), desc.value);
                    if desc.flags & qjs::JS_PROP_GETSET as i32 != 0 {
                        return Err(());
                    }
                    Ok(Some(value))
                }
                _ => self.failed().ok_or(()),
            }
        }
    }

    /// Whether `object` (an ordinary object, array or prototype) has an own property `atom`,
    /// read without running code; `None` on a failure.
    fn has_own(&self, object: qjs::JSValue, atom: qjs::JSAtom) -> Option<bool> {
        // SAFETY: without a descriptor, the lookup only reports whether the property exists.
        match unsafe { qjs::JS_GetOwnProperty(self.raw(), std::ptr::null_mut(), object, atom) } {
            0 => Some(false),
            1 => Some(true),
            _ => self.failed(),
        }
    }

    fn array(&self, array: qjs::JSValue, depth: usize) -> Option<Vec<Json>> {
        // An array's own `toJSON` (its prototypes have none: `Plain::new`).
        if !self.ordinary(array, &self.array_proto, depth) || self.has_own(array, TO_JSON)? {
            return None;
        }
        let mut length = 0i64;
        // SAFETY: an array's `length` is its own data property: reading it runs no code.
        if unsafe { qjs::JS_GetLength(self.raw(), array, &mut length) } < 0 {
            return self.failed();
        }
        let length = usize::try_from(length).ok()?;
        if length.checked_mul(Self::VALUE)? > self.budget.get() {
            return None;
        }
        let mut items = Vec::with_capacity(length);
        for i in 0..length as u32 {
            // SAFETY: indices below 2^31 (the budget keeps them there) are tagged integers:
            // no allocation, nothing to free.
            let index = unsafe { qjs::JS_NewAtomUInt32(self.raw(), i) };
            items.push(match self.own(array, index).ok()? {
                Some(item) => self.convert(item.1, depth + 1)?.unwrap_or(Json::Null),
                // A hole reads through the prototypes, which must not have it either.
                None => self.hole(index)?,
            });
        }
        Some(items)
    }

    /// What `JSON.stringify` gives for a hole at `index`: `null` unless `Array.prototype`
    /// or `Object.prototype` has that index (declined). A hole costs what a value does: one
    /// sparse array referenced many times must not loop the host.
    fn hole(&self, index: qjs::JSAtom) -> Option<Json> {
        if !self.spend(Self::VALUE) {
            return None;
        }
        for proto in [&self.array_proto, &self.object_proto] {
            if self.has_own(proto.as_raw(), index)? {
                return None;
            }
        }
        Some(Json::Null)
    }

    fn object(&self, object: qjs::JSValue, depth: usize) -> Option<Map<String, Json>> {
        if !self.ordinary(object, &self.object_proto, depth) {
            return None;
        }
        // Listing walks every own key, symbols and private names too: each is paid for.
        let keys = Keys::of(self, object)?;
        let strings = keys.strings(self)?;
        // An own `toJSON`, enumerable or not (its prototype has none: `Plain::new`).
        if strings.iter().any(|k| k.atom == TO_JSON) {
            return None;
        }
        let mut map = Map::new();
        for key in strings.iter().filter(|k| k.is_enumerable) {
            let Some(item) = self.own(object, key.atom).ok()? else {
                continue;
            };
            if let Some(json) = self.convert(item.1, depth + 1)? {
                let name = self.text(CText::of_atom(self.raw(), key.atom))?;
                self.spend(Self::ENTRY).then_some(())?;
                map.insert(name, json);
            }
        }
        Some(map)
    }
}

/// The UTF-8 form QuickJS makes of a string or an atom (in place for an ASCII string, else in
/// the isolate's heap, under its memory limit), freed when dropped.
struct CText {
    ctx: *mut qjs::JSContext,
    ptr: *const std::ffi::c_char,
    len: usize,
}

impl CText {
    /// The text of `value`, a live string of `ctx`; `None` when QuickJS fails (an exception
    /// is pending).
    fn of_value(ctx: *mut qjs::JSContext, value: qjs::JSValue) -> Option<CText> {
        let mut len = 0;
        // SAFETY: a live string of this context; the result is freed in `drop`.
        let ptr = unsafe { qjs::JS_ToCStringLen2(ctx, &mut len, value, false) };
        Self::made(ctx, ptr, len)
    }

    /// The text of `atom`, a live atom of `ctx`; `None` when QuickJS fails.
    fn of_atom(ctx: *mut qjs::JSContext, atom: qjs::JSAtom) -> Option<CText> {
        let mut len = 0;
        // SAFETY: a live atom of this context; the result is freed in `drop`.
        let ptr = unsafe { qjs::JS_AtomToCStringLen(ctx, &mut len, atom) };
        Self::made(ctx, ptr, len)
    }

    fn made(
        ctx: *mut qjs::JSContext,
        ptr: *const std::ffi::c_char,
        len: qjs::size_t,
    ) -> Option<CText> {
        // `size_t` is `usize` wide on every target QuickJS builds for here.
        (!ptr.is_null()).then_some(CText {
            ctx,
            ptr,
            len: len as usize,
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: QuickJS returned `len` bytes at `ptr`, alive until `drop`.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for CText {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `JS_ToCStringLen2` or `JS_AtomToCStringLen` on this
        // context and is freed once.
        unsafe { qjs::JS_FreeCString(self.ctx, self.ptr) }
    }
}

/// A value this reading owns a reference to, freed when dropped.
struct Held(*mut qjs::JSContext, qjs::JSValue);

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: the reference was handed to us by QuickJS and is freed once.
        unsafe { qjs::JS_FreeValue(self.0, self.1) }
    }
}

/// The own keys of an object (strings, symbols and private names), with whether each is
/// enumerable: first the string keys in the order `JSON.stringify` visits them, then the
/// others. Freed when dropped.
struct Keys {
    ctx: *mut qjs::JSContext,
    tab: *mut qjs::JSPropertyEnum,
    len: u32,
}

impl Keys {
    /// Lists `object`'s own keys and charges `plain`'s budget for each.
    fn of(plain: &Plain<'_>, object: qjs::JSValue) -> Option<Self> {
        let mut keys = Keys {
            ctx: plain.raw(),
            tab: std::ptr::null_mut(),
            len: 0,
        };
        let flags = (qjs::JS_GPN_STRING_MASK
            | qjs::JS_GPN_SYMBOL_MASK
            | qjs::JS_GPN_PRIVATE_MASK
            | qjs::JS_GPN_SET_ENUM) as i32;
        // SAFETY: listing an ordinary object's own keys runs no code; on success QuickJS
        // hands over `len` entries at `tab`, freed in `drop`.
        let listed = unsafe {
            qjs::JS_GetOwnPropertyNames(keys.ctx, &mut keys.tab, &mut keys.len, object, flags)
        };
        if listed < 0 {
            return plain.failed();
        }
        plain.spend(keys.all().len() * Plain::KEY).then_some(keys)
    }

    /// The string keys: all but the symbols and private names at the end of the list.
    fn strings(&self, plain: &Plain<'_>) -> Option<&[qjs::JSPropertyEnum]> {
        let all = self.all();
        let mut end = all.len();
        while end > 0 {
            // SAFETY: the atom is held by this list; `JS_AtomToValue` returns a new
            // reference (a string or a symbol), freed at once.
            let tag = unsafe {
                let value = qjs::JS_AtomToValue(self.ctx, all[end - 1].atom);
                let tag = qjs::JS_VALUE_GET_NORM_TAG(value);
                qjs::JS_FreeValue(self.ctx, value);
                tag
            };
            match tag {
                qjs::JS_TAG_SYMBOL => end -= 1,
                qjs::JS_TAG_EXCEPTION => return plain.failed(),
                _ => break,
            }
        }
        Some(&all[..end])
    }

    fn all(&self) -> &[qjs::JSPropertyEnum] {
        if self.tab.is_null() {
            return &[];
        }
        // SAFETY: QuickJS filled `len` entries at `tab`, alive until `drop`.
        unsafe { std::slice::from_raw_parts(self.tab, self.len as usize) }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        if !self.tab.is_null() {
            // SAFETY: the table and its atoms came from `JS_GetOwnPropertyNames`, freed once.
            unsafe { qjs::JS_FreePropertyEnum(self.ctx, self.tab, self.len) }
        }
    }
}

/// The predefined atom `toJSON` (never freed).
const TO_JSON: qjs::JSAtom = qjs::JS_ATOM_toJSON as qjs::JSAtom;

/// QuickJS's class id of ordinary objects (`JS_CLASS_OBJECT`, first of the enum in
/// `quickjs.c`, which the C header does not export).
const CLASS_OBJECT: qjs::JSClassID = 1;

/// QuickJS's class id of arrays (`JS_CLASS_ARRAY`, second of that enum).
const CLASS_ARRAY: qjs::JSClassID = 2;

/// The prototype the context gives new objects of `class` (its intrinsic, not the global of
/// the same name, which an action may replace).
fn intrinsic_proto<'js>(ctx: &Ctx<'js>, class: qjs::JSClassID) -> Value<'js> {
    // SAFETY: both ids are built-in classes every context registers; `JS_GetClassProto`
    // returns a new reference, which `from_raw` takes over.
    unsafe {
        let proto = rquickjs::qjs::JS_GetClassProto(ctx.as_raw().as_ptr(), class);
        Value::from_raw(ctx.clone(), proto)
    }
}

/// A JS number as `serde_json` parses its `JSON.stringify` text: non-finite ones are `null`,
/// integral ones within ±2^53 (printed with every digit, no exponent) are integers, other
/// fractional or exponent-form ones are floats. `None` for integral values beyond 2^53 and
/// below 1e21, whose shortest form pads with zeros and parses as a different integer.
fn number(f: f64) -> Option<Json> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if !f.is_finite() {
        return Some(Json::Null);
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        return match f {
            f if f.abs() > EXACT => None,
            f if f >= 0.0 => Some(Json::from(f as u64)),
            f => Some(Json::from(f as i64)),
        };
    }
    serde_json::Number::from_f64(f).map(Json::Number)
}

#[cfg(test)]
mod tests {
    use rquickjs::{Context, Runtime};

    use super::*;

    /// Runs `test` in a fresh full context.
    fn in_context(test: impl FnOnce(Ctx<'_>)) {
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(test);
    }

    /// [`read`] for a value expected to have a JSON form within the result limit.
    fn to_json<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Option<Json>> {
        match read(ctx, value)? {
            Read::Json(json) => Ok(json),
            Read::TooLarge { length, .. } => panic!("unexpectedly too large: {length} bytes"),
        }
    }

    /// Evaluates `expr` and reads it directly (`None`: declined).
    fn direct(ctx: &Ctx<'_>, expr: &str) -> Option<Option<Json>> {
        let value: Value = ctx.eval(format!("({expr})")).unwrap();
        Plain::new(ctx).and_then(|p| p.convert(value.as_raw(), 0))
    }

    /// Evaluates `expr` and converts it both ways: directly and through `JSON.stringify`.
    fn both(ctx: &Ctx<'_>, expr: &str) -> (Option<Option<Json>>, Option<Json>) {
        let value: Value = ctx.eval(format!("({expr})")).unwrap();
        let Read::Json(stringified) = stringified(ctx, value).unwrap() else {
            panic!("{expr} is too large")
        };
        (direct(ctx, expr), stringified)
    }

    #[test]
    fn plain_data_reads_exactly_as_json_stringify_gives_it() {
        in_context(|ctx| {
            for expr in [
                r#"{greeting: "Hello, World!", n: 3, f: 1.5, t: true, z: null}"#,
                r#"{headers: {"content-type": "text/plain"}, body: "hi", statusCode: 200}"#,
                r#"{b: 1, a: 2, 10: "ten", 2: "two", "x y": [1, "two", null, {}]}"#,
                "{u: undefined, s: Symbol('s'), keep: 1}",
                "[undefined, Symbol('s'), 1]",
                "[1, , 3]",
                "{nan: NaN, inf: -Infinity, neg0: -0, big: 2 ** 53, small: -(2 ** 53), e: 1e21, tiny: 5e-324}",
                "{f: 0.1 + 0.2, third: 1 / 3, neg: -2.5, int32: 2147483648, m: -2147483649}",
                r#"{s: "quote \" back \\ nl \n tab \t é 😀 \u0001"}"#,
                "(() => { const o = {a: 1}; Object.defineProperty(o, 'hidden', {value: 2}); return o; })()",
                "Object.create(Object.prototype, {x: {value: 1, enumerable: true}})",
                "{deep: {er: {and: {deeper: [[[{x: 1}]]]}}}}",
                "{a: 1, [Symbol('s')]: 2, b: 3, 7: 'seven'}",
                "[]",
                "{}",
            ] {
                let (direct, stringified) = both(&ctx, expr);
                assert_eq!(direct, Some(stringified), "{expr}");
            }
        });
    }

    #[test]
    fn a_lone_surrogate_reads_as_the_replacement_character() {
        in_context(|ctx| {
            let value: Value = ctx
                .eval("({lone: 'a\\ud800', pair: '\\ud83d\\ude00'})")
                .unwrap();
            let read = to_json(&ctx, value).unwrap();
            assert_eq!(
                read,
                Some(serde_json::json!({"lone": "a\u{fffd}", "pair": "😀"}))
            );
        });
    }

    #[test]
    fn anything_else_is_left_to_json_stringify() {
        in_context(|ctx| {
            for expr in [
                "{d: new Date(0)}",
                "{n: new Number(3), s: new String('x'), b: new Boolean(false)}",
                "{toJSON() { return {replaced: true}; }}",
                "{inner: {toJSON() { return 'x'; }}}",
                "new (class Point { constructor() { this.x = 1; } })()",
                "new Proxy({a: 1}, {})",
                "{m: new Map([[1, 2]]), e: new Error('boom'), t: new Uint8Array(2)}",
                "Object.create(null)",
                "{lone: '\\ud800'}",
                "{big: 2 ** 60}",
                "{get g() { return 42; }}",
                "(() => { const a = [1]; Object.defineProperty(a, 0, {get() { return 2; }}); return a; })()",
                "(() => { const a = [1]; a.toJSON = () => 'x'; return {a}; })()",
                "(() => { const o = {a: 1}; Object.defineProperty(o, 'toJSON', {value: () => 'x'}); return o; })()",
                "{n: Object.setPrototypeOf(new Number(5), Object.prototype)}",
                "[Object.setPrototypeOf(new String('s'), Array.prototype)]",
                "(() => { const o = {['k'.repeat(1 << 20)]: 1}; return Array(80).fill(o); })()",
                "(() => { const s = []; s.length = 1 << 20; return Array(8).fill(s); })()",
                "(() => { const o = {}; for (let i = 0; i < 1 << 19; i++) Object.defineProperty(o, 'k' + i, {value: i}); return Array(32).fill(o); })()",
                "(() => { const o = {}; for (let i = 0; i < 1 << 19; i++) o[Symbol()] = i; return Array(32).fill(o); })()",
                "(() => { let x = 0; for (let i = 0; i < 21; i++) x = [x, x]; return x; })()",
                "{f() {}}",
                "(() => { class B { static toJSON() { return 'b'; } } class D extends B {} return {d: D}; })()",
                "(() => { const a = []; a.length = 4e9; return {a}; })()",
                "(() => { const s = 'x'.repeat(1 << 20); return Array(80).fill(s); })()",
                "(() => { let o = {}; for (let i = 0; i < 40; i++) o = {o}; return o; })()",
            ] {
                // (Not `assert_eq!`: a wrongly read value can be megabytes long.)
                assert!(direct(&ctx, expr).is_none(), "{expr} should be declined");
            }
            // Declined values whose JSON text is over the result limit are not parsed on the
            // host.
            let value: Value = ctx
                .eval("(() => { let x = 0; for (let i = 0; i < 21; i++) x = [x, x]; return x; })()")
                .unwrap();
            let Read::TooLarge { length, head } = read(&ctx, value).unwrap() else {
                panic!("a result of millions of values read whole")
            };
            assert!(length > MAX_RESULT_BYTES);
            assert!(head.starts_with(b"[[[[") && head.len() == 1024);
            // Declined values still convert, through JSON.stringify.
            let value: Value = ctx
                .eval("({d: new Date(0), p: new Proxy({a: 1}, {})})")
                .unwrap();
            assert_eq!(
                to_json(&ctx, value).unwrap(),
                Some(serde_json::json!({"d": "1970-01-01T00:00:00.000Z", "p": {"a": 1}}))
            );
            let value: Value = ctx
                .eval("({n: Object.setPrototypeOf(new Number(5), Object.prototype), g: {get x() { return 1; }}})")
                .unwrap();
            let expected = stringified(&ctx, value.clone()).unwrap();
            assert_eq!(read(&ctx, value).unwrap(), expected);
            // Array.prototype given a prototype with a toJSON: arrays inherit it.
            let _: Value = ctx
                .eval("globalThis.saved = Object.getPrototypeOf(Array.prototype); Object.setPrototypeOf(Array.prototype, {toJSON() { return 'via'; }})")
                .unwrap();
            assert!(Plain::new(&ctx).is_none());
            let value: Value = ctx.eval("[1]").unwrap();
            assert_eq!(to_json(&ctx, value).unwrap(), Some(Json::from("via")));
            let _: Value = ctx
                .eval("Object.setPrototypeOf(Array.prototype, saved)")
                .unwrap();
            assert!(Plain::new(&ctx).is_some());
            // A toJSON added to Object.prototype turns the direct reading off altogether.
            let _: Value = ctx
                .eval("Object.prototype.toJSON = function () { return 'everything'; }")
                .unwrap();
            assert!(Plain::new(&ctx).is_none());
            let value: Value = ctx.eval("({a: 1})").unwrap();
            assert_eq!(
                to_json(&ctx, value).unwrap(),
                Some(Json::from("everything"))
            );
        });
    }

    #[test]
    fn replaced_globals_do_not_change_what_counts_as_plain() {
        in_context(|ctx| {
            // `{}` and `[]` are still made with the intrinsic prototypes: still plain.
            let _: Value = ctx
                .eval("globalThis.Object = function () {}; globalThis.Array = {prototype: {}};")
                .unwrap();
            assert_eq!(
                direct(&ctx, "{a: [1, {b: 2}]}"),
                Some(Some(serde_json::json!({"a": [1, {"b": 2}]})))
            );
            // An object made with the replacement's prototype is not.
            assert_eq!(direct(&ctx, "new Object()"), None);
        });
    }

    #[test]
    fn parameters_arrive_as_json_parse_gives_them() {
        in_context(|ctx| {
            let params = serde_json::json!({
                "__proto__": {"polluted": true}, "n": 1, "big": 9_007_199_254_740_993_u64,
                "f": 0.5, "s": "é\n", "a": [null, true, {"k": "v"}], "o": {}
            });
            let Json::Object(map) = params else {
                unreachable!()
            };
            let obj = object_from(&ctx, &map).unwrap();
            ctx.globals().set("p", obj).unwrap();
            let own: bool = ctx
                .eval("Object.hasOwn(p, '__proto__') && p.polluted === undefined")
                .unwrap();
            assert!(own, "__proto__ is an own property, the prototype untouched");
            let seen: String = ctx
                .eval("JSON.stringify([p.n, p.big, p.f, p.s, p.a, p.o])")
                .unwrap();
            assert_eq!(
                seen,
                r#"[1,9007199254740992,0.5,"é\n",[null,true,{"k":"v"}],{}]"#
            );
        });
    }

    #[test]
    fn setters_on_object_prototype_do_not_catch_parameters() {
        in_context(|ctx| {
            let _: Value = ctx
                .eval("globalThis.caught = []; Object.defineProperty(Object.prototype, 'name', {set(v) { caught.push(v); }, configurable: true})")
                .unwrap();
            let Json::Object(map) = serde_json::json!({"name": "shoal"}) else {
                unreachable!()
            };
            ctx.globals()
                .set("p", object_from(&ctx, &map).unwrap())
                .unwrap();
            let seen: String = ctx.eval("JSON.stringify([p.name, caught])").unwrap();
            assert_eq!(seen, r#"["shoal",[]]"#);
        });
    }

    #[test]
    fn a_getter_runs_once_even_when_a_later_value_is_declined() {
        in_context(|ctx| {
            let value: Value = ctx
                .eval("globalThis.calls = 0; ({get g() { return ++calls; }, d: new Date(0)})")
                .unwrap();
            assert_eq!(
                to_json(&ctx, value).unwrap(),
                Some(serde_json::json!({"g": 1, "d": "1970-01-01T00:00:00.000Z"}))
            );
            let calls: i32 = ctx.eval("calls").unwrap();
            assert_eq!(calls, 1);
        });
    }

    #[test]
    fn a_hole_reads_as_null_unless_a_prototype_has_its_index() {
        in_context(|ctx| {
            assert_eq!(
                direct(&ctx, "[1, , 3]"),
                Some(Some(serde_json::json!([1, null, 3])))
            );
            for proto in ["Array", "Object"] {
                let _: Value = ctx
                    .eval(format!("{proto}.prototype[1] = 'inherited'"))
                    .unwrap();
                assert_eq!(direct(&ctx, "[1, , 3]"), None, "{proto}.prototype[1]");
                let (value, expected) = (
                    ctx.eval::<Value, _>("[1, , 3]").unwrap(),
                    serde_json::json!([1, "inherited", 3]),
                );
                assert_eq!(to_json(&ctx, value).unwrap(), Some(expected));
                let _: Value = ctx.eval(format!("delete {proto}.prototype[1]")).unwrap();
            }
        });
    }

    #[test]
    fn cycles_still_throw() {
        in_context(|ctx| {
            let value: Value = ctx
                .eval("(() => { const o = {}; o.self = o; return o; })()")
                .unwrap();
            assert!(to_json(&ctx, value).is_err());
        });
    }
}
