//! Prepared modules: compiled once per code digest, checked for one of the two ABIs, linked
//! into an `InstancePre`, kept in memory and (optionally) serialized to disk so a restart does
//! not recompile.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use dashmap::DashMap;
use shoal_router::{ActionCode, PrepareError};
use wasmtime::{Engine, ExternType, InstancePre, Linker, Module, ValType};

use crate::WasmError;
use crate::command::{self, CommandState};
use crate::direct::{self, DirectState};

/// A module ready to instantiate, with the ABI its exports chose.
#[derive(Clone)]
pub(crate) enum Entry {
    /// A WASI preview 1 command (exports `_start`).
    Command(InstancePre<CommandState>),
    /// The direct ABI (exports `memory`, `alloc` and `run`; no WASI).
    Direct(InstancePre<DirectState>),
}

/// The two linkers, one per ABI. Built once per executor.
pub(crate) struct Linkers {
    command: Linker<CommandState>,
    direct: Linker<DirectState>,
}

impl Linkers {
    /// WASI preview 1 for commands, `shoal.log` for direct modules.
    pub(crate) fn new(engine: &Engine) -> Result<Self, WasmError> {
        let engine_error = |e: wasmtime::Error| WasmError::Engine(format!("{e:#}"));
        Ok(Linkers {
            command: command::linker(engine).map_err(engine_error)?,
            direct: direct::linker(engine).map_err(engine_error)?,
        })
    }

    /// Chooses the ABI from `module`'s exports (`_start` first) and links it; says why when
    /// the module fits neither or imports what its ABI does not offer.
    fn link(&self, module: &Module) -> Result<Entry, PrepareError> {
        let func = |name: &str, params: &[ValType], results: &[ValType]| {
            matches!(
                module.get_export(name),
                Some(ExternType::Func(f)) if same(f.params(), params) && same(f.results(), results)
            )
        };
        if func(command::ENTRY, &[], &[]) {
            return self.command.instantiate_pre(module).map(Entry::Command).map_err(|e| {
                PrepareError(format!(
                    "The WASM module needs imports shoal does not provide (a WASI command may import only WASI preview 1): {e:#}"
                ))
            });
        }
        let memory =
            matches!(module.get_export(direct::MEMORY), Some(ExternType::Memory(m)) if !m.is_64());
        if memory
            && func(direct::ALLOC, &[ValType::I32], &[ValType::I32])
            && func(direct::RUN, &[ValType::I32, ValType::I32], &[ValType::I64])
        {
            return self.direct.instantiate_pre(module).map(Entry::Direct).map_err(|e| {
                PrepareError(format!(
                    "The WASM module needs imports shoal does not provide (a direct-ABI module may import only `{}.{}`): {e:#}",
                    direct::LOG.0,
                    direct::LOG.1
                ))
            });
        }
        Err(PrepareError(format!(
            "The WASM module exports neither a WASI command entry point `{}: () -> ()` nor the direct ABI (`{}`, `{}: (i32) -> i32`, `{}: (i32, i32) -> i64`).",
            command::ENTRY,
            direct::MEMORY,
            direct::ALLOC,
            direct::RUN
        )))
    }
}

/// Whether the value types of an export's signature are exactly `want`.
fn same(types: impl ExactSizeIterator<Item = ValType>, want: &[ValType]) -> bool {
    types.len() == want.len() && types.zip(want).all(|(t, w)| ValType::eq(&t, w))
}

/// One action code, ready to instantiate. Shared by every activation of that code; lives
/// until the executor is dropped.
pub(crate) struct Prepared {
    /// The linked module: instantiating it resolves no imports.
    entry: Entry,
    /// Bytes of compiled machine code (what `stats` reports per module).
    code_bytes: u64,
}

/// What [`ModuleCache::get`] hands out: the prepared module and whether this call compiled (or
/// loaded) it, i.e. paid a cold start.
pub(crate) struct Lookup {
    pub(crate) entry: Entry,
    pub(crate) fresh: bool,
}

/// Prepared modules by code digest, plus the on-disk artefact directory.
pub(crate) struct ModuleCache {
    modules: DashMap<[u8; 32], Arc<Prepared>>,
    dir: Option<PathBuf>,
    compiled: AtomicU64,
}

impl ModuleCache {
    /// A cache whose artefacts live under `dir/<engine compatibility hash>/`.
    pub(crate) fn new(engine: &Engine, dir: Option<&Path>) -> Result<Self, WasmError> {
        let dir = match dir {
            Some(base) => {
                let mut h = DefaultHasher::new();
                engine.precompile_compatibility_hash().hash(&mut h);
                let dir = base.join(format!("{:016x}", h.finish()));
                std::fs::create_dir_all(&dir).map_err(|source| WasmError::CacheDir {
                    path: dir.clone(),
                    source,
                })?;
                Some(dir)
            }
            None => None,
        };
        Ok(ModuleCache {
            modules: DashMap::new(),
            dir,
            compiled: AtomicU64::new(0),
        })
    }

    /// The prepared module for `code`: from memory, else from disk, else compiled now.
    pub(crate) fn get(
        &self,
        engine: &Engine,
        linkers: &Linkers,
        code: &ActionCode,
    ) -> Result<Lookup, PrepareError> {
        if let Some(p) = self.modules.get(&code.digest) {
            return Ok(Lookup {
                entry: p.entry.clone(),
                fresh: false,
            });
        }
        let module = self.load_or_compile(engine, code)?;
        let entry = linkers.link(&module)?;
        let range = module.image_range();
        let prepared = Arc::new(Prepared {
            entry: entry.clone(),
            code_bytes: (range.end as usize).saturating_sub(range.start as usize) as u64,
        });
        self.modules.insert(code.digest, prepared);
        Ok(Lookup { entry, fresh: true })
    }

    /// (prepared modules, their compiled code bytes, compilations or disk loads so far).
    pub(crate) fn figures(&self) -> (u64, u64, u64) {
        let bytes = self.modules.iter().map(|p| p.code_bytes).sum();
        (
            self.modules.len() as u64,
            bytes,
            self.compiled.load(Ordering::Relaxed),
        )
    }

    fn load_or_compile(&self, engine: &Engine, code: &ActionCode) -> Result<Module, PrepareError> {
        self.compiled.fetch_add(1, Ordering::Relaxed);
        let path = self
            .dir
            .as_ref()
            .map(|d| d.join(format!("{}.cwasm", hex(&code.digest))));
        if let Some(path) = path.as_ref().filter(|p| p.is_file()) {
            // SAFETY: the file is one this cache wrote with `Module::serialize` into a directory
            // the platform owns; wasmtime checks its header against the engine's settings and
            // refuses it (we then recompile) when they differ.
            match unsafe { Module::deserialize_file(engine, path) } {
                Ok(module) => return Ok(module),
                Err(e) => tracing::warn!(path = %path.display(), "stale WASM artefact: {e:#}"),
            }
        }
        let bytes = wasm_bytes(code)?;
        let module = Module::new(engine, &bytes)
            .map_err(|e| PrepareError(format!("The WASM module is invalid: {e:#}")))?;
        if let Some(path) = path
            && let Err(e) = store_artefact(&module, &path)
        {
            tracing::warn!(path = %path.display(), "cannot cache the compiled WASM module: {e}");
        }
        Ok(module)
    }
}

/// The module bytes of an action: base64-decoded when `binary` (a `.wasm` file, or WAT text
/// that was base64-encoded), the text itself otherwise (WAT). wasmtime tells binary from text.
fn wasm_bytes(code: &ActionCode) -> Result<Vec<u8>, PrepareError> {
    if !code.binary {
        return Ok(code.code.as_bytes().to_vec());
    }
    let compact: String = code
        .code
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| PrepareError(format!("The WASM binary is not valid base64: {e}")))
}

/// Writes the serialized module next to its final name, then renames it into place, so a
/// concurrent reader never sees half a file.
fn store_artefact(module: &Module, path: &Path) -> std::io::Result<()> {
    let bytes = module.serialize().map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
