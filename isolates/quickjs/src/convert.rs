//! Moving values between serde_json and QuickJS: parameters go in by building JS values
//! directly (no JSON text), with the properties `JSON.parse` would create. Results come out as `JSON.stringify` would give them, which is
//! exactly what the Node runtime would send (`toJSON`, dropped `undefined`s, …): plain data
//! (objects and arrays with the standard prototypes, strings, numbers, booleans, null) is read
//! directly, and anything else is left to `JSON.stringify` itself.

use std::cell::Cell;

use rquickjs::atom::PredefinedAtom;
use rquickjs::object::Property;
use rquickjs::{Array, Atom, Ctx, Object, String as JsString, Type, Value};
use serde_json::{Map, Value as Json};
use shoal_isolates::abi::Returned;

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
/// functions, symbols). Throws like `JSON.stringify` does (cycles, bigints).
///
/// Plain data is converted directly, a few hundred instructions per property instead of
/// `JSON.stringify`'s text followed by a parse (which cost a warm web action a fifth of its
/// request thread); the first value outside [`Plain`]'s reach sends the whole value through
/// `JSON.stringify`.
pub(crate) fn to_json<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Option<Json>> {
    if let Some(plain) = Plain::new(ctx)
        && let Some(converted) = plain.convert(&value, 0)
    {
        return Ok(converted);
    }
    stringified(ctx, value)
}

/// `JSON.stringify` followed by a parse: exact for every value, slower than [`Plain`].
fn stringified<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Option<Json>> {
    let Some(text) = ctx.json_stringify(value)? else {
        return Ok(None);
    };
    let text = text.to_string()?;
    // QuickJS's JSON.stringify always produces valid JSON; too deep a value is thrown, as
    // JSON.stringify throws for a cycle.
    match shoal_router::json::parse(text.as_bytes()) {
        Ok(json) => Ok(Some(json)),
        Err(e) => Err(rquickjs::Exception::throw_range(ctx, &e.to_string())),
    }
}

/// What an entry point returned, in the terms of the ABI's classification.
pub(crate) fn returned<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Returned> {
    Ok(match value.type_of() {
        Type::Undefined | Type::Uninitialized => Returned::Undefined,
        Type::Object | Type::Array | Type::Exception | Type::Promise => {
            to_json(ctx, value)?.map_or(Returned::NotAnObject, Returned::Object)
        }
        _ => Returned::NotAnObject,
    })
}

/// The direct reading of plain data, with the context's standard prototypes at hand. Exact
/// where it answers: it declines (`None`) every value whose `JSON.stringify` form could
/// differ from a plain reading of its own enumerable properties — proxies, objects with any
/// other prototype (class instances, boxed primitives, dates, errors, promises, typed
/// arrays…), anything with a `toJSON` (own or inherited, including one added to
/// `Object.prototype`), bigints, strings that are not valid UTF-16 text, nesting deeper than
/// [`Plain::MAX_DEPTH`] (where a cycle would be) and results bigger than [`Plain::BUDGET`], so
/// that `JSON.stringify` handles them — inside QuickJS, under the action's memory limit and
/// deadline (this reading allocates on the host and cannot be interrupted, hence the budget:
/// a sparse array of a billion holes or one string referenced a million times must not make
/// the host loop or allocate without bound). One difference remains: getters of a plain object
/// read before a later value is declined run again in `JSON.stringify`.
struct Plain<'js> {
    object_proto: Value<'js>,
    array_proto: Value<'js>,
    to_json: Atom<'js>,
    /// What may still be read: one unit per value, plus one per byte of string.
    budget: Cell<usize>,
}

impl<'js> Plain<'js> {
    /// Nesting below which values are read directly; deeper ones (and cycles, which
    /// `JSON.stringify` turns into a `TypeError`) go through `JSON.stringify`.
    const MAX_DEPTH: usize = 32;

    /// Values plus string bytes read directly, at most: four times OpenWhisk's 1 MB result
    /// limit, beyond which a result is an error anyway.
    const BUDGET: usize = 4 << 20;

    /// Takes `units` from the budget; `false` (decline) when it does not hold that many.
    fn spend(&self, units: usize) -> bool {
        match self.budget.get().checked_sub(units) {
            Some(left) => {
                self.budget.set(left);
                true
            }
            None => false,
        }
    }

    /// The context's own `Object.prototype` and `Array.prototype` (what `{}` and `[]` are
    /// made with, whatever the action did to the globals of those names), or `None` when
    /// either carries a `toJSON`. Two reference-count increments and one property lookup.
    fn new(ctx: &Ctx<'js>) -> Option<Self> {
        let to_json = Atom::from_predefined(ctx.clone(), PredefinedAtom::ToJSON);
        let (object_proto, array_proto) = (
            intrinsic_proto(ctx, CLASS_OBJECT),
            intrinsic_proto(ctx, CLASS_ARRAY),
        );
        // Array.prototype inherits from Object.prototype: one lookup covers both.
        if array_proto
            .as_object()?
            .contains_key(to_json.clone())
            .unwrap_or(true)
        {
            return None;
        }
        Some(Plain {
            object_proto,
            array_proto,
            to_json,
            budget: Cell::new(Self::BUDGET),
        })
    }

    /// `Some(Some(json))` for a value with a JSON form, `Some(None)` for one that
    /// `JSON.stringify` skips (`undefined`, functions, symbols), `None` when declined.
    fn convert(&self, value: &Value<'js>, depth: usize) -> Option<Option<Json>> {
        if !self.spend(1) {
            return None;
        }
        Some(Some(match value.type_of() {
            Type::Undefined | Type::Uninitialized | Type::Symbol => return Some(None),
            Type::Function | Type::Constructor => return Some(None),
            Type::Null => Json::Null,
            Type::Bool => Json::Bool(value.as_bool()?),
            Type::Int => Json::from(value.as_int()?),
            Type::Float => number(value.as_float()?)?,
            Type::String => {
                let text = value.as_string()?.to_string().ok()?;
                self.spend(text.len()).then_some(Json::String(text))?
            }
            Type::Array => Json::Array(self.array(value, depth)?),
            Type::Object => Json::Object(self.object(value, depth)?),
            _ => return None,
        }))
    }

    /// Whether `object` is an ordinary object or array with prototype `proto` and no
    /// `toJSON`, within the depth limit.
    fn ordinary(&self, object: &Object<'js>, proto: &Value<'js>, depth: usize) -> bool {
        // SAFETY: `JS_IsProxy` only reads the tag and class of a live value we hold.
        let proxy = unsafe { rquickjs::qjs::JS_IsProxy(object.as_raw()) };
        depth < Self::MAX_DEPTH
            && !proxy
            && object
                .get_prototype()
                .is_some_and(|p| p.as_value() == proto)
            && !object.contains_key(self.to_json.clone()).unwrap_or(true)
    }

    fn array(&self, value: &Value<'js>, depth: usize) -> Option<Vec<Json>> {
        let array = value.as_array()?;
        if !self.ordinary(array.as_object(), &self.array_proto, depth) {
            return None;
        }
        // `length` read as a number: `Array::len` asserts an int, and an action can make it
        // anything up to 2^32 - 1.
        let length: Value<'js> = array.as_object().get(PredefinedAtom::Length).ok()?;
        let length = length.as_number()?;
        if length > self.budget.get() as f64 {
            return None;
        }
        (0..length as usize)
            .map(|i| {
                let item: Value<'js> = array.get(i).ok()?;
                Some(self.convert(&item, depth + 1)?.unwrap_or(Json::Null))
            })
            .collect()
    }

    fn object(&self, value: &Value<'js>, depth: usize) -> Option<Map<String, Json>> {
        let object = value.as_object()?;
        if !self.ordinary(object, &self.object_proto, depth) {
            return None;
        }
        let mut map = Map::new();
        for prop in object.props::<String, Value<'js>>() {
            let (key, item) = prop.ok()?;
            if let Some(json) = self.convert(&item, depth + 1)? {
                map.insert(key, json);
            }
        }
        Some(map)
    }
}

/// QuickJS's class id of ordinary objects (`JS_CLASS_OBJECT`, first of the enum in
/// `quickjs.c`, which the C header does not export).
const CLASS_OBJECT: rquickjs::qjs::JSClassID = 1;

/// QuickJS's class id of arrays (`JS_CLASS_ARRAY`, second of that enum).
const CLASS_ARRAY: rquickjs::qjs::JSClassID = 2;

/// The prototype the context gives new objects of `class` (its intrinsic, not the global of
/// the same name, which an action may replace).
fn intrinsic_proto<'js>(ctx: &Ctx<'js>, class: rquickjs::qjs::JSClassID) -> Value<'js> {
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

    /// Evaluates `expr` and reads it directly (`None`: declined).
    fn direct(ctx: &Ctx<'_>, expr: &str) -> Option<Option<Json>> {
        let value: Value = ctx.eval(format!("({expr})")).unwrap();
        Plain::new(ctx).and_then(|p| p.convert(&value, 0))
    }

    /// Evaluates `expr` and converts it both ways: directly and through `JSON.stringify`.
    fn both(ctx: &Ctx<'_>, expr: &str) -> (Option<Option<Json>>, Option<Json>) {
        let value: Value = ctx.eval(format!("({expr})")).unwrap();
        (direct(ctx, expr), stringified(ctx, value).unwrap())
    }

    #[test]
    fn plain_data_reads_exactly_as_json_stringify_gives_it() {
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(|ctx| {
            for expr in [
                r#"{greeting: "Hello, World!", n: 3, f: 1.5, t: true, z: null}"#,
                r#"{headers: {"content-type": "text/plain"}, body: "hi", statusCode: 200}"#,
                r#"{b: 1, a: 2, 10: "ten", 2: "two", "x y": [1, "two", null, {}]}"#,
                "{u: undefined, f() {}, s: Symbol('s'), keep: 1}",
                "[undefined, function () {}, Symbol('s'), 1]",
                "[1, , 3]",
                "{nan: NaN, inf: -Infinity, neg0: -0, big: 2 ** 53, small: -(2 ** 53), e: 1e21, tiny: 5e-324}",
                "{f: 0.1 + 0.2, third: 1 / 3, neg: -2.5, int32: 2147483648, m: -2147483649}",
                r#"{s: "quote \" back \\ nl \n tab \t é 😀 \u0001"}"#,
                "(() => { const o = {a: 1}; Object.defineProperty(o, 'hidden', {value: 2}); return o; })()",
                "{get g() { return 42; }}",
                "Object.create(Object.prototype, {x: {value: 1, enumerable: true}})",
                "{deep: {er: {and: {deeper: [[[{x: 1}]]]}}}}",
                "[]",
                "{}",
            ] {
                let (direct, stringified) = both(&ctx, expr);
                assert_eq!(direct, Some(stringified), "{expr}");
            }
        });
    }

    #[test]
    fn anything_else_is_left_to_json_stringify() {
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(|ctx| {
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
                "(() => { const a = []; a.length = 4e9; return {a}; })()",
                "(() => { const s = 'x'.repeat(1 << 20); return [s, s, s, s, s]; })()",
                "(() => { let o = {}; for (let i = 0; i < 40; i++) o = {o}; return o; })()",
            ] {
                assert_eq!(direct(&ctx, expr), None, "{expr} should be declined");
            }
            // Declined values still convert, through JSON.stringify.
            let value: Value = ctx
                .eval("({d: new Date(0), p: new Proxy({a: 1}, {})})")
                .unwrap();
            assert_eq!(
                to_json(&ctx, value).unwrap(),
                Some(serde_json::json!({"d": "1970-01-01T00:00:00.000Z", "p": {"a": 1}}))
            );
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
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(|ctx| {
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
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(|ctx| {
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
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(|ctx| {
            let _: Value = ctx
                .eval("globalThis.caught = []; Object.defineProperty(Object.prototype, 'name', {set(v) { caught.push(v); }, configurable: true})")
                .unwrap();
            let Json::Object(map) = serde_json::json!({"name": "shoal"}) else { unreachable!() };
            ctx.globals().set("p", object_from(&ctx, &map).unwrap()).unwrap();
            let seen: String = ctx.eval("JSON.stringify([p.name, caught])").unwrap();
            assert_eq!(seen, r#"["shoal",[]]"#);
        });
    }

    #[test]
    fn cycles_still_throw() {
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(|ctx| {
            let value: Value = ctx
                .eval("(() => { const o = {}; o.self = o; return o; })()")
                .unwrap();
            assert!(to_json(&ctx, value).is_err());
        });
    }
}
