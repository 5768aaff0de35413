//! The `__OW_*` variables in an isolate's `process.env`, kept up to date per activation.
//!
//! Most actions never read `process.env`, so none of it is written until the action first
//! reaches it ([`Reach`]): `process.env` starts as an accessor that, on first use, writes the
//! running activation's variables and becomes the ordinary data property Node.js has. From
//! then on the variables are written before every run, as below. What code can tell:
//! `Object.getOwnPropertyDescriptor(process, 'env')` shows an accessor until then (and
//! for good if the code froze `process` first).
//!
//! Three of them ([`PER_ACTIVATION`]) change on every warm start, so setting them is on the
//! warm path: each variable's name is made a QuickJS atom once per isolate (not looked up in
//! the runtime's atom table per run); those three are written on every run, the others only
//! when they differ from the value last written. What a run costs is a comparison per other
//! variable and, per value written, a new JS string and one property store.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rquickjs::function::This;
use rquickjs::object::{Accessor, Property};
use rquickjs::{Context, Ctx, Exception, Object, Persistent, Value, qjs};
use shoal_router::OwEnv;

/// `process.env` and the variables of the activation running: whether the action has
/// reached `process.env` yet decides whether a run writes them ([`Reach::reached`]).
#[derive(Default)]
pub(crate) struct Reach {
    reached: Cell<bool>,
    /// `process.env` became a data property of `process` ([`Reach::settle`]).
    settled: Cell<bool>,
    /// The `process` object the accessor was installed on (cleared with `env`).
    process: RefCell<Option<Persistent<Object<'static>>>>,
    /// `process.env`, dropped before the runtime is freed ([`Reach::clear`]). Only ever
    /// borrowed shared while code runs: a setter the code put in the variables' way may
    /// reach `process.env` while they are being written.
    env: RefCell<Option<Persistent<Object<'static>>>>,
    /// What `env` holds of the variables (its atoms are freed by [`Reach::clear`] too).
    vars: RefCell<Option<OwVars>>,
    /// The variables of the activation running (or of the last one that ran); `None` while
    /// the action's code is loaded, which sees none of them.
    current: RefCell<Option<OwEnv>>,
}

impl Reach {
    /// Makes `env` the `process.env` of `process`, reached through an accessor until first
    /// used, with `vars` writing its variables. The accessor's functions hold `reach`.
    pub(crate) fn install<'js>(
        reach: &Rc<Reach>,
        process: &Object<'js>,
        env: Object<'js>,
        vars: OwVars,
    ) -> rquickjs::Result<()> {
        *reach.env.borrow_mut() = Some(Persistent::save(process.ctx(), env));
        *reach.process.borrow_mut() = Some(Persistent::save(process.ctx(), process.clone()));
        *reach.vars.borrow_mut() = Some(vars);
        let (on_get, on_set) = (Rc::clone(reach), Rc::clone(reach));
        let accessor = Accessor::new(
            move |ctx: Ctx<'js>, this: This<Value<'js>>| -> rquickjs::Result<Value<'js>> {
                let env = on_get.reach(&ctx)?.into_value();
                on_get.settle(&ctx, &this.0, env.clone(), false)?;
                Ok(env)
            },
            move |ctx: Ctx<'js>, this: This<Value<'js>>, value: Value<'js>| {
                on_set.reach(&ctx)?;
                on_set.settle(&ctx, &this.0, value, true)
            },
        )
        .enumerable()
        .configurable();
        process.prop("env", accessor)
    }

    /// Makes `env` the variables of the activation about to run.
    pub(crate) fn begin(&self, env: OwEnv) {
        self.current.replace(Some(env));
    }

    /// Writes the running activation's variables into `process.env` ([`OwVars::write`])
    /// once the action has reached it; before that, nothing.
    pub(crate) fn write(&self, ctx: &Ctx<'_>) -> rquickjs::Result<()> {
        if !self.reached.get() {
            return Ok(());
        }
        let env = self.object(ctx)?;
        let mut vars = self.vars.borrow_mut();
        match (&mut *vars, &*self.current.borrow()) {
            (Some(vars), Some(current)) => vars.write(&env, current),
            _ => Ok(()),
        }
    }

    /// Drops the hold on `process.env` and the writer's atoms: before the runtime is freed.
    pub(crate) fn clear(&self) {
        self.env.take();
        self.process.take();
        self.vars.take();
    }

    /// Makes `process.env` an ordinary data property holding `value`, as Node.js has it, for
    /// an access through the `process` object the accessor was installed on (one through an
    /// object inheriting from `process` changes nothing): a read does it once (a getter kept
    /// and called later puts nothing back), an `assigned` value always (a setter kept and
    /// called later assigns, as `process.env = value` would). A frozen or sealed `process`
    /// keeps the accessor, which goes on answering `process.env` (and ignores assignments,
    /// as a frozen object does).
    fn settle<'js>(
        &self,
        ctx: &Ctx<'js>,
        this: &Value<'js>,
        value: Value<'js>,
        assigned: bool,
    ) -> rquickjs::Result<()> {
        if self.settled.get() && !assigned {
            return Ok(());
        }
        let process = match &*self.process.borrow() {
            Some(process) => process.clone().restore(ctx)?,
            None => return Ok(()),
        };
        if *this != process.clone().into_value() {
            return Ok(());
        }
        let data = Property::from(value).writable().enumerable().configurable();
        match process.prop("env", data) {
            Ok(()) => {
                self.settled.set(true);
                Ok(())
            }
            // Not configurable any more: the accessor stays.
            Err(rquickjs::Error::Exception) => {
                drop(ctx.catch());
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    fn object<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
        let env = self.env.borrow().clone();
        match env {
            Some(env) => env.restore(ctx),
            None => Err(Exception::throw_internal(ctx, "process.env is gone")),
        }
    }

    /// The first use of `process.env` writes the running activation's variables into it,
    /// and from the next run on they are written before every run. Reached again while they
    /// are written (from a setter in their way), it only answers `process.env`.
    fn reach<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
        let env = self.object(ctx)?;
        if !self.reached.replace(true) {
            self.write(ctx)?;
        }
        Ok(env)
    }
}

/// The variables last written to one `process.env`, with their names' atoms (it holds a
/// reference to their context, to free them).
pub(crate) struct OwVars {
    context: Context,
    slots: Vec<Slot>,
}

/// The variables that differ from one activation to the next (the transaction id and the
/// deadline, in milliseconds, rarely repeat; writing one again changes nothing).
const PER_ACTIVATION: [&str; 3] = ["__OW_ACTIVATION_ID", "__OW_TRANSACTION_ID", "__OW_DEADLINE"];

struct Slot {
    name: &'static str,
    atom: qjs::JSAtom,
    /// The value last written; unused for a [`PER_ACTIVATION`] variable.
    value: String,
    /// Written on every run, without a comparison.
    per_activation: bool,
}

impl OwVars {
    /// None written yet, in `context`.
    pub(crate) fn new(context: &Context) -> OwVars {
        OwVars {
            context: context.clone(),
            slots: Vec::new(),
        }
    }

    /// Writes `env`'s variables into `obj` (the isolate's `process.env`, in this context,
    /// whose lock the caller holds): the per-activation ones always, the others when they
    /// changed since the last call. A different set of names (`__OW_API_KEY` comes and goes)
    /// removes the old ones first. Fails as QuickJS does: out of memory, or a setter the
    /// action defined threw (a panic of a host function that setter called is not raised
    /// again here, as rquickjs would: the failure poisons the isolate, which is dropped).
    pub(crate) fn write(&mut self, obj: &Object<'_>, env: &OwEnv) -> rquickjs::Result<()> {
        let ctx = self.context.as_raw().as_ptr();
        let vars = env.vars();
        // `vars` lists the same `'static` names in the same order every time: comparing
        // where they are is enough (a different list only costs a rebuild).
        let at = |name: &str| (name.as_ptr(), name.len());
        let same = vars
            .clone()
            .map(|(name, _)| at(name))
            .eq(self.slots.iter().map(|slot| at(slot.name)));
        if !same {
            let old = std::mem::take(&mut self.slots);
            for slot in &old {
                self.free(slot.atom);
            }
            for slot in old {
                obj.remove(slot.name)?;
            }
            for (name, _) in vars.clone() {
                // SAFETY: `ctx` is live (`self.context` holds it); the atom is freed in `free`.
                let atom = unsafe {
                    qjs::JS_NewAtomLen(ctx, name.as_ptr().cast(), name.len() as qjs::size_t)
                };
                if atom == qjs::JS_ATOM_NULL {
                    // QuickJS may fail to grow its atom table without throwing.
                    // SAFETY: as above.
                    unsafe { qjs::JS_ThrowOutOfMemory(ctx) };
                    return Err(rquickjs::Error::Exception);
                }
                self.slots.push(Slot {
                    name,
                    atom,
                    value: String::new(),
                    per_activation: PER_ACTIVATION.contains(&name),
                });
                // The property exists even when its value stays empty (not written below).
                obj.set(name, "")?;
            }
        }
        for ((_, value), slot) in vars.zip(self.slots.iter_mut()) {
            if slot.per_activation || slot.value != value {
                // SAFETY: a live context and an object of it; `JS_SetProperty` takes over the
                // new string (also when it fails), and an exception value is never stored.
                let stored = unsafe {
                    let text = qjs::JS_NewStringLen(
                        ctx,
                        value.as_ptr().cast(),
                        value.len() as qjs::size_t,
                    );
                    !qjs::JS_IsException(text)
                        && qjs::JS_SetProperty(ctx, obj.as_raw(), slot.atom, text) >= 0
                };
                if !stored {
                    return Err(rquickjs::Error::Exception);
                }
                if !slot.per_activation {
                    slot.value.clear();
                    slot.value.push_str(value);
                }
            }
        }
        Ok(())
    }

    fn free(&self, atom: qjs::JSAtom) {
        // SAFETY: an atom this made with `JS_NewAtomLen` in `self.context`, which is alive
        // until after `drop`; freed once.
        unsafe { qjs::JS_FreeAtom(self.context.as_raw().as_ptr(), atom) }
    }
}

impl Drop for OwVars {
    fn drop(&mut self) {
        for slot in &self.slots {
            self.free(slot.atom);
        }
    }
}

#[cfg(test)]
mod tests {
    use rquickjs::{Persistent, Runtime, String as JsString};

    use super::*;

    fn env(api_key: Option<&str>, deadline: &str) -> OwEnv {
        OwEnv {
            api_host: "https://shoal.test".into(),
            api_key: api_key.map(Into::into),
            namespace: "guest".into(),
            action_name: "/guest/a".into(),
            action_version: "0.0.1".into(),
            activation_id: "0".repeat(32),
            transaction_id: "tid".into(),
            deadline: deadline.into(),
        }
    }

    #[test]
    fn names_that_come_and_go_leave_no_atom_behind() {
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        let atoms = || rt.memory_usage().atom_count;
        let baseline = atoms();
        let mut vars = OwVars::new(&context);
        let obj = context.with(|ctx| {
            let obj = Object::new(ctx.clone()).unwrap();
            vars.write(&obj, &env(Some("k0"), "1")).unwrap();
            Persistent::save(&ctx, obj)
        });
        let settled = atoms();
        context.with(|ctx| {
            let obj = obj.clone().restore(&ctx).unwrap();
            for i in 1..=1000 {
                let key = format!("k{i}");
                vars.write(&obj, &env((i % 2 == 0).then_some(&key), "1"))
                    .unwrap();
            }
            let key: JsString = obj.get("__OW_API_KEY").unwrap();
            assert_eq!(key.to_string().unwrap(), "k1000");
            assert_eq!(obj.keys::<String>().count(), 8);
        });
        assert_eq!(atoms(), settled, "a rebuild frees the atoms it replaces");
        drop((vars, obj));
        assert_eq!(atoms(), baseline, "dropped, it frees its atoms");
    }
}
