//! Moving values between serde_json and QuickJS: parameters go in by building JS values
//! directly (no JSON text), results come out through `JSON.stringify`, which gives exactly
//! what the Node runtime would send (`toJSON`, dropped `undefined`s, …).

use rquickjs::{Array, Ctx, Object, String as JsString, Type, Value};
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
                array.set(i, to_js(ctx, item)?)?;
            }
            array.into_value()
        }
        Json::Object(map) => object_from(ctx, map)?.into_value(),
    })
}

/// Builds a JS object from a JSON map.
pub(crate) fn object_from<'js>(
    ctx: &Ctx<'js>,
    map: &Map<String, Json>,
) -> rquickjs::Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    for (k, v) in map {
        obj.set(k.as_str(), to_js(ctx, v)?)?;
    }
    Ok(obj)
}

/// The JSON view of a JS value (`JSON.stringify`), `None` when it has none (`undefined`,
/// functions, symbols). Throws like `JSON.stringify` does (cycles, bigints).
pub(crate) fn to_json<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Option<Json>> {
    let Some(text) = ctx.json_stringify(value)? else {
        return Ok(None);
    };
    let text = text.to_string()?;
    // QuickJS's JSON.stringify always produces valid JSON.
    Ok(serde_json::from_str(&text).ok())
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
