//! Intrinsics built on first use. A QuickJS context with every intrinsic costs about 79 KB
//! and most of a cold start; typed arrays (with `ArrayBuffer`, `DataView` and `Atomics`),
//! `Map`/`Set`/`WeakMap`/`WeakSet`, `Date`, `WeakRef`/`FinalizationRegistry`, `performance`
//! and `DOMException` are over a third of that memory, and most actions never touch them.
//! A context starts with the others ([`new_context`]); the globals of these groups start as
//! accessors that build their whole group the first time any of them is read or assigned.
//! Building a group replaces its accessors with the ordinary data properties QuickJS
//! defines, so from then on nothing differs from an eager context.
//!
//! What code can tell: `Object.getOwnPropertyDescriptor(globalThis, 'Date')` shows an accessor
//! (with the name's enumerability) until the group is built, the global object's property
//! order changes when it is, and `performance.timeOrigin` is the moment it is. Whatever the
//! code made of a name before its group was built (deleted it, assigned it, declared a
//! function of that name, redefined it) stays as the code left it.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::sync::OnceLock;

use rquickjs::context::Intrinsic;
use rquickjs::context::intrinsic::{
    BigInt, Date, Eval, Json, MapSet, Performance, Promise, Proxy, RegExp, TypedArrays, WeakRef,
};
use rquickjs::object::{Accessor, Filter, Property};
use rquickjs::{Context, Ctx, Exception, Object, Runtime, Value, qjs};

/// Everything `JS_NewContext` adds but the [`Group`]s.
type Eager = (Eval, RegExp, Json, Proxy, Promise, BigInt);

/// A set of globals QuickJS builds together, built here on first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    TypedArrays,
    MapSet,
    Date,
    /// `WeakRef` and `FinalizationRegistry`.
    WeakRef,
    /// `performance`.
    Performance,
    /// `DOMException` (no marker type in rquickjs: added through its C function).
    DomException,
}

impl Group {
    const ALL: [Group; 6] = [
        Group::TypedArrays,
        Group::MapSet,
        Group::Date,
        Group::WeakRef,
        Group::Performance,
        Group::DomException,
    ];

    fn bit(self) -> u8 {
        1 << self as u8
    }

    /// Builds the group's intrinsic in `ctx`.
    fn add(self, ctx: &Ctx<'_>) {
        let raw = ctx.as_raw();
        // SAFETY: `raw` is the live context `ctx` borrows; each call defines the group's
        // prototypes and globals in it, as `JS_NewContext` would have.
        unsafe {
            match self {
                Group::TypedArrays => TypedArrays::add_intrinsic(raw),
                Group::MapSet => MapSet::add_intrinsic(raw),
                Group::Date => Date::add_intrinsic(raw),
                Group::WeakRef => WeakRef::add_intrinsic(raw),
                Group::Performance => Performance::add_intrinsic(raw),
                Group::DomException => qjs::JS_AddIntrinsicDOMException(raw.as_ptr()),
            }
        }
    }

    /// The global names the group defines and whether each is enumerable, learnt once per
    /// process from a scratch context (so they follow the QuickJS version).
    fn names(self) -> &'static [(String, bool)] {
        static NAMES: OnceLock<[Vec<(String, bool)>; 6]> = OnceLock::new();
        &NAMES.get_or_init(|| Group::ALL.map(learn_names))[self as usize]
    }
}

/// The names `group` adds to a context that has only the base objects, each with whether it
/// is enumerable; none if the scratch context cannot be made (then [`new_context`] builds
/// the group at once).
fn learn_names(group: Group) -> Vec<(String, bool)> {
    let names = |ctx: &Ctx<'_>, filter: Filter| -> Vec<String> {
        ctx.globals()
            .own_keys::<String>(filter)
            .filter_map(Result::ok)
            .collect()
    };
    let Ok(runtime) = Runtime::new() else {
        return Vec::new();
    };
    let Ok(context) = Context::base(&runtime) else {
        return Vec::new();
    };
    context.with(|ctx| {
        let before = names(&ctx, Filter::new().string());
        group.add(&ctx);
        let enumerable = names(&ctx, Filter::new().string().enum_only());
        names(&ctx, Filter::new().string())
            .into_iter()
            .filter(|n| !before.contains(n))
            .map(|n| {
                let shown = enumerable.contains(&n);
                (n, shown)
            })
            .collect()
    })
}

/// Which groups a context has built: one per isolate, shared by the accessors and the host.
#[derive(Debug, Default)]
pub(crate) struct Built(Cell<u8>);

/// A context with every intrinsic `JS_NewContext` gives except the [`Group`]s, whose globals
/// are accessors that build them on first use (see the module docs). `built` must live as
/// long as the context (the accessors read it); a group whose names are unknown is built now.
pub(crate) fn new_context(runtime: &Runtime, built: &Rc<Built>) -> rquickjs::Result<Context> {
    let context = Context::custom::<Eager>(runtime)?;
    context.with(|ctx| {
        Group::ALL
            .into_iter()
            .try_for_each(|group| defer(&ctx, built, group))
    })?;
    Ok(context)
}

/// Puts `group`'s accessors on the global object (or builds it now if its names are unknown).
fn defer<'js>(ctx: &Ctx<'js>, built: &Rc<Built>, group: Group) -> rquickjs::Result<()> {
    if group.names().is_empty() {
        return build(ctx, built, group);
    }
    let globals = ctx.globals();
    for (name, enumerable) in group.names() {
        let name: &'static str = name;
        let (on_get, on_set) = (Rc::clone(built), Rc::clone(built));
        let accessor = Accessor::new(
            move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
                built_for(&ctx, &on_get, group, name)?;
                ctx.globals().get(name)
            },
            move |ctx: Ctx<'js>, value: Value<'js>| -> rquickjs::Result<()> {
                built_for(&ctx, &on_set, group, name)?;
                ctx.globals().set(name, value)
            },
        )
        .configurable();
        let accessor = if *enumerable {
            accessor.enumerable()
        } else {
            accessor
        };
        globals.prop(name, accessor)?;
    }
    Ok(())
}

/// Builds `group` for an access to its global `name`, and makes sure `name` is no longer an
/// accessor of this module (were it still one, the access would loop back here).
fn built_for(ctx: &Ctx<'_>, built: &Built, group: Group, name: &str) -> rquickjs::Result<()> {
    build(ctx, built, group)?;
    match now(ctx, name)? {
        Now::Deferred => Err(Exception::throw_reference(
            ctx,
            &format!("{name} could not be built"),
        )),
        Now::Gone | Now::Kept(_) => Ok(()),
    }
}

/// What a global of a group is before its group is built, read without running any getter.
enum Now<'js> {
    /// Still a configurable accessor: the one [`defer`] put there.
    Deferred,
    /// Deleted by the code.
    Gone,
    /// Something the code defined. A configurable data property is put back after the build
    /// (the intrinsic would overwrite it); anything else the intrinsic cannot change.
    Kept(Option<Property<Value<'js>>>),
}

/// Reads the own property `name` of the global object (no getter runs, nothing is inherited).
fn now<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Now<'js>> {
    let raw = ctx.as_raw().as_ptr();
    let globals = ctx.globals();
    let mut desc = MaybeUninit::<qjs::JSPropertyDescriptor>::uninit();
    // SAFETY: `raw` is the live context of `ctx`; the atom is freed right after the lookup;
    // on success (1) QuickJS fills every field of `desc` with values it gives us (undefined
    // for the absent ones), which `Value::from_raw` takes over and frees.
    let (found, desc) = unsafe {
        let atom = qjs::JS_NewAtomLen(raw, name.as_ptr().cast(), name.len() as _);
        if atom == qjs::JS_ATOM_NULL {
            return Err(rquickjs::Error::Exception);
        }
        let found = qjs::JS_GetOwnProperty(raw, desc.as_mut_ptr(), globals.as_raw(), atom);
        qjs::JS_FreeAtom(raw, atom);
        if found != 1 {
            (found, None)
        } else {
            let desc = desc.assume_init();
            let own = |v| Value::from_raw(ctx.clone(), v);
            let (value, getter, setter) = (own(desc.value), own(desc.getter), own(desc.setter));
            drop((getter, setter));
            (found, Some((desc.flags as u32, value)))
        }
    };
    let (flags, value) = match (found, desc) {
        (n, _) if n < 0 => return Err(rquickjs::Error::Exception),
        (_, None) => return Ok(Now::Gone),
        (_, Some(d)) => d,
    };
    let configurable = flags & qjs::JS_PROP_CONFIGURABLE != 0;
    if flags & qjs::JS_PROP_GETSET != 0 {
        return Ok(if configurable {
            Now::Deferred
        } else {
            Now::Kept(None)
        });
    }
    if !configurable {
        return Ok(Now::Kept(None));
    }
    let mut property = Property::from(value).configurable();
    if flags & qjs::JS_PROP_WRITABLE != 0 {
        property = property.writable();
    }
    if flags & qjs::JS_PROP_ENUMERABLE != 0 {
        property = property.enumerable();
    }
    Ok(Now::Kept(Some(property)))
}

/// Builds `group` in `ctx` unless it is built: its accessors go, QuickJS defines its globals,
/// and what the code made of its names meanwhile (deleted, redefined, declared) stays.
fn build(ctx: &Ctx<'_>, built: &Built, group: Group) -> rquickjs::Result<()> {
    if built.0.get() & group.bit() != 0 {
        return Ok(());
    }
    built.0.set(built.0.get() | group.bit());
    let globals: Object<'_> = ctx.globals();
    let mut left = Vec::new();
    for (name, _) in group.names() {
        match now(ctx, name)? {
            Now::Deferred => globals.remove(name.as_str())?,
            other => left.push((name.as_str(), other)),
        }
    }
    group.add(ctx);
    // SAFETY: `ctx` is live. The intrinsics report failures (out of memory, or an exception
    // from code the build runs) only as a pending exception.
    if unsafe { qjs::JS_HasException(ctx.as_raw().as_ptr()) } {
        return Err(rquickjs::Error::Exception);
    }
    for (name, what) in left {
        match what {
            Now::Gone => globals.remove(name)?,
            Now::Kept(Some(property)) => globals.prop(name, property)?,
            Now::Kept(None) | Now::Deferred => {}
        }
    }
    Ok(())
}

/// Builds every group (for code that uses them all anyway, such as the Node layer).
pub(crate) fn build_all(ctx: &Ctx<'_>, built: &Built) -> rquickjs::Result<()> {
    Group::ALL
        .into_iter()
        .try_for_each(|g| build(ctx, built, g))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(code: &str) -> String {
        let runtime = Runtime::new().unwrap();
        let built = Rc::new(Built::default());
        let context = new_context(&runtime, &built).unwrap();
        context.with(|ctx| ctx.eval::<String, _>(code).unwrap())
    }

    #[test]
    fn every_global_of_a_full_context_is_there() {
        let runtime = Runtime::new().unwrap();
        let full: Vec<String> = Context::full(&runtime).unwrap().with(|ctx| {
            ctx.globals()
                .own_keys::<String>(Filter::new().string())
                .map(Result::unwrap)
                .collect()
        });
        let built = Rc::new(Built::default());
        let lazy: Vec<String> = new_context(&runtime, &built).unwrap().with(|ctx| {
            ctx.globals()
                .own_keys::<String>(Filter::new().string())
                .map(Result::unwrap)
                .collect()
        });
        let (mut full, mut lazy) = (full, lazy);
        full.sort();
        lazy.sort();
        assert_eq!(full, lazy);
        assert!(
            Group::TypedArrays
                .names()
                .contains(&("Uint8Array".to_string(), false))
        );
        assert_eq!(Group::Date.names(), [("Date".to_string(), false)]);
        assert_eq!(
            Group::Performance.names(),
            [("performance".to_string(), true)]
        );
    }

    #[test]
    fn groups_build_on_first_use_and_then_are_plain() {
        assert_eq!(
            eval(
                "const d = Object.getOwnPropertyDescriptor(globalThis, 'Map');
                 const before = typeof d.get;
                 const m = new Map([[1, 2]]);
                 const after = Object.getOwnPropertyDescriptor(globalThis, 'Set');
                 [before, m.get(1), typeof after.value, after.writable, after.enumerable,
                  new Set([1]) instanceof Set, new Uint8Array([1, 2]).length,
                  new DataView(new ArrayBuffer(4)).byteLength, typeof Atomics,
                  new Date(0).toISOString(), typeof Date.now(), typeof WeakRef,
                  typeof FinalizationRegistry, typeof performance.now(),
                  new DOMException('m', 'NotFoundError').code].join(' ')"
            ),
            "function 2 function true false true 2 4 object 1970-01-01T00:00:00.000Z number \
             function function number 8"
        );
    }

    #[test]
    fn what_code_assigns_or_deletes_before_a_group_is_built_stays() {
        assert_eq!(
            eval(
                "delete globalThis.WeakSet;
                 [typeof Map, typeof WeakSet, 'WeakSet' in globalThis].join(' ')"
            ),
            "function undefined false"
        );
        assert_eq!(
            eval("Map = 5; [Map, typeof Set, typeof WeakMap, Map].join(' ')"),
            "5 function function 5"
        );
        assert_eq!(
            eval("(function () { 'use strict'; Date = 7; })(); [Date, typeof Date.now].join(' ')"),
            "7 undefined"
        );
        assert_eq!(
            eval(
                "Object.defineProperty(globalThis, 'Set', {value: 'mine', configurable: true});
                 [Set, new Map([[1, 2]]).size, Set].join(' ')"
            ),
            "mine 1 mine"
        );
    }

    #[test]
    fn a_function_declared_with_a_group_name_keeps_its_place() {
        assert_eq!(
            eval(
                "function Map() { return 'mine'; }
                 [Map(), new Set([1, 2]).size, typeof WeakMap, Map()].join(' ')"
            ),
            "mine 2 function mine"
        );
    }

    #[test]
    fn globals_are_enumerable_as_in_a_full_context() {
        let keys = "Object.keys(globalThis).sort().join(' ')";
        let runtime = Runtime::new().unwrap();
        let full: String = Context::full(&runtime)
            .unwrap()
            .with(|ctx| ctx.eval(keys).unwrap());
        assert!(full.contains("performance"), "{full}");
        assert_eq!(eval(keys), full);
    }

    #[test]
    fn a_build_that_runs_throwing_code_throws_instead_of_half_succeeding() {
        assert_eq!(
            eval(
                "Object.defineProperty(Array.prototype, 'toString', {
                     get() { throw new Error('no'); }, configurable: true });
                 let caught;
                 try { new Uint8Array(1); } catch (e) { caught = String(e); }
                 caught"
            ),
            "Error: no"
        );
    }
}
