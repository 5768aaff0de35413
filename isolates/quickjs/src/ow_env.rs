//! The `__OW_*` variables in an isolate's `process.env`, kept up to date per activation.
//!
//! Three of them ([`PER_ACTIVATION`]) change on every warm start, so setting them is on the
//! warm path: each variable's name is made a QuickJS atom once per isolate (not looked up in
//! the runtime's atom table per run); those three are written on every run, the others only
//! when they differ from the value last written. What a run costs is a comparison per other
//! variable and, per value written, a new JS string and one property store.

use rquickjs::{Context, Object, qjs};
use shoal_router::OwEnv;

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
