//! Intrinsics built on first use. A QuickJS context with every intrinsic costs about 79 KB
//! and most of a cold start; typed arrays (with `ArrayBuffer`, `DataView` and `Atomics`),
//! `Map`/`Set`/`WeakMap`/`WeakSet`, `Date`, `WeakRef`/`FinalizationRegistry`, `performance`
//! and `DOMException` are over a third of that memory, and most actions never touch them. A context
//! starts with the others ([`new_context`]); the globals of these groups start as accessors
//! that build their whole group the first time any of them is read or assigned. Building a
//! group replaces its accessors with the ordinary data properties QuickJS defines, so from
//! then on nothing differs from an eager context.
//!
//! What code can tell: `Object.getOwnPropertyDescriptor(globalThis, 'Date')` shows an accessor
//! until the group is built. A name deleted before its group is built stays deleted; one
//! redefined with `Object.defineProperty` (not assigned) before any name of its group was used
//! is replaced by the intrinsic when the group is built.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::OnceLock;

use rquickjs::context::Intrinsic;
use rquickjs::context::intrinsic::{
    BigInt, Date, Eval, Json, MapSet, Performance, Promise, Proxy, RegExp, TypedArrays, WeakRef,
};
use rquickjs::object::{Accessor, Filter};
use rquickjs::{Context, Ctx, Object, Runtime, Value, qjs};

/// Everything `JS_NewContext` adds but the [`Group`]s.
type Eager = (Eval, RegExp, Json, Proxy, Promise, BigInt);

/// A set of globals QuickJS builds together, built here on first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
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

    /// The global names the group defines, learnt once per process from a scratch context
    /// (so they follow the QuickJS version).
    fn names(self) -> &'static [String] {
        static NAMES: OnceLock<[Vec<String>; 6]> = OnceLock::new();
        &NAMES.get_or_init(|| Group::ALL.map(learn_names))[self as usize]
    }
}

/// The names `group` adds to a context that has only the base objects; none if the scratch
/// context cannot be made (then the group is simply built eagerly by [`new_context`]).
fn learn_names(group: Group) -> Vec<String> {
    let names = |ctx: &Ctx<'_>| -> Vec<String> {
        ctx.globals()
            .own_keys::<String>(Filter::new().string())
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
        let before = names(&ctx);
        group.add(&ctx);
        let mut added = names(&ctx);
        added.retain(|n| !before.contains(n));
        added
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
    for name in group.names() {
        let name: &'static str = name;
        let (on_get, on_set) = (Rc::clone(built), Rc::clone(built));
        let accessor = Accessor::new(
            move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
                build(&ctx, &on_get, group)?;
                ctx.globals().get(name)
            },
            move |ctx: Ctx<'js>, value: Value<'js>| -> rquickjs::Result<()> {
                build(&ctx, &on_set, group)?;
                ctx.globals().set(name, value)
            },
        )
        .configurable();
        globals.prop(name, accessor)?;
    }
    Ok(())
}

/// Builds `group` in `ctx` unless it is built: its accessors go, QuickJS defines its globals,
/// and names the code deleted meanwhile are deleted again.
pub(crate) fn build(ctx: &Ctx<'_>, built: &Built, group: Group) -> rquickjs::Result<()> {
    if built.0.get() & group.bit() != 0 {
        return Ok(());
    }
    built.0.set(built.0.get() | group.bit());
    let globals: Object<'_> = ctx.globals();
    let mut deleted = Vec::new();
    for name in group.names() {
        if globals.contains_key(name.as_str())? {
            globals.remove(name.as_str())?;
        } else {
            deleted.push(name.as_str());
        }
    }
    group.add(ctx);
    for name in deleted {
        globals.remove(name)?;
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
                .contains(&"Uint8Array".to_string())
        );
        assert_eq!(Group::Date.names(), ["Date".to_string()]);
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
                "Map = 5;
                 delete globalThis.WeakSet;
                 [Map, typeof Set, typeof WeakMap, typeof globalThis.WeakSet, Map].join(' ')"
            ),
            "5 function function undefined 5"
        );
        assert_eq!(
            eval(
                "globalThis.Date = function fake() { return 'mine' };
                 [Date(), typeof Date.now].join(' ')"
            ),
            "mine undefined"
        );
    }
}
