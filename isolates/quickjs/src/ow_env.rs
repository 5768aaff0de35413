//! The `__OW_*` variables in an isolate's `process.env`, kept up to date per activation.
//!
//! Three of them ([`PER_ACTIVATION`]) change on every warm start, so setting them is on the
//! warm path: each variable's name is made a QuickJS atom once per isolate (not looked up in
//! the runtime's atom table per run); those three are written on every run, the others only
//! when they differ from the value last written. What a run costs is a comparison per other
//! variable and, per value written, a new JS string and one property store.

use rquickjs::{Ctx, Object, qjs};
use shoal_router::OwEnv;

/// The variables last written to one `process.env`, with their names' atoms. Belongs to one
/// isolate and must be dropped before its context (it frees the atoms through it).
pub(crate) struct OwVars {
    ctx: *mut qjs::JSContext,
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
    /// None written yet, in the context `ctx` that outlives this.
    pub(crate) fn new(ctx: &Ctx<'_>) -> OwVars {
        OwVars {
            ctx: ctx.as_raw().as_ptr(),
            slots: Vec::new(),
        }
    }

    /// Writes `env`'s variables into `obj` (the isolate's `process.env`, in the context this
    /// was made for), each only if it changed since the last call. A different set of names
    /// (`__OW_API_KEY` comes and goes) removes the old ones first. Fails as QuickJS does (out
    /// of memory, or a setter defined by the action threw).
    pub(crate) fn write(&mut self, obj: &Object<'_>, env: &OwEnv) -> rquickjs::Result<()> {
        let vars = env.vars();
        // `vars` lists the same `'static` names in the same order every time: comparing where
        // they point is enough (a different list only costs a rebuild).
        let same = vars
            .clone()
            .map(|(name, _)| name.as_ptr())
            .eq(self.slots.iter().map(|s| s.name.as_ptr()));
        if !same {
            let old = std::mem::take(&mut self.slots);
            for slot in &old {
                self.free(slot.atom);
            }
            for slot in old {
                obj.remove(slot.name)?;
            }
            for (name, _) in vars.clone() {
                // SAFETY: `ctx` is this isolate's live context; the atom is freed in `free`.
                let atom = unsafe {
                    qjs::JS_NewAtomLen(self.ctx, name.as_ptr().cast(), name.len() as qjs::size_t)
                };
                if atom == qjs::JS_ATOM_NULL {
                    return Err(rquickjs::Error::Exception);
                }
                self.slots.push(Slot {
                    name,
                    atom,
                    value: String::new(),
                    per_activation: PER_ACTIVATION.contains(&name),
                });
                obj.set(name, "")?;
            }
        }
        for ((_, value), slot) in vars.zip(self.slots.iter_mut()) {
            if slot.per_activation || slot.value != value {
                // SAFETY: a live context and object of it; `JS_SetProperty` takes over the
                // new string (also when it fails), and an exception value is never stored.
                let stored = unsafe {
                    let text = qjs::JS_NewStringLen(
                        self.ctx,
                        value.as_ptr().cast(),
                        value.len() as qjs::size_t,
                    );
                    !qjs::JS_IsException(text)
                        && qjs::JS_SetProperty(self.ctx, obj.as_raw(), slot.atom, text) >= 0
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
        // SAFETY: an atom this made with `JS_NewAtomLen` in the live context, freed once.
        unsafe { qjs::JS_FreeAtom(self.ctx, atom) }
    }
}

impl Drop for OwVars {
    fn drop(&mut self) {
        for slot in &self.slots {
            self.free(slot.atom);
        }
    }
}
