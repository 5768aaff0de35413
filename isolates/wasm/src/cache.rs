//! Prepared modules: compiled once per code digest, checked for one of the two ABIs, linked
//! into an `InstancePre`, kept in memory and (optionally) serialized to disk so a restart does
//! not recompile. Both are bounded: action code is a tenant's to make as large and as many as
//! it likes (a module with a 16 MB data segment, updated in a loop), so past
//! [`MAX_CACHED_BYTES`] of compiled code the oldest modules leave memory (and are loaded from
//! disk again when next used), and past [`MAX_DISK_BYTES`] the oldest artefacts leave disk.

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

/// Most bytes of compiled code the cache keeps in memory.
const MAX_CACHED_BYTES: u64 = 1 << 30;

/// Most bytes of artefacts the cache directory keeps.
const MAX_DISK_BYTES: u64 = 2 << 30;

/// One action code, ready to instantiate. Shared by every activation of that code; lives
/// while the cache keeps it and activations use it.
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
    /// The digests of `modules` in the order they were prepared (a digest prepared twice at
    /// once may stand twice; one already dropped is skipped).
    order: Mutex<VecDeque<[u8; 32]>>,
    /// Compiled code bytes of `modules`.
    bytes: AtomicU64,
    /// Most of those bytes kept, and most artefact bytes on disk.
    max_bytes: u64,
    max_disk_bytes: u64,
    dir: Option<PathBuf>,
    compiled: AtomicU64,
    evicted: AtomicU64,
}

impl ModuleCache {
    /// A cache whose artefacts live under `dir/<engine compatibility hash>/`.
    pub(crate) fn new(engine: &Engine, dir: Option<&Path>) -> Result<Self, WasmError> {
        Self::with_limits(engine, dir, MAX_CACHED_BYTES, MAX_DISK_BYTES)
    }

    /// The same with other bounds: `max_bytes` of compiled code in memory, `max_disk_bytes`
    /// of artefacts on disk.
    fn with_limits(
        engine: &Engine,
        dir: Option<&Path>,
        max_bytes: u64,
        max_disk_bytes: u64,
    ) -> Result<Self, WasmError> {
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
            order: Mutex::default(),
            bytes: AtomicU64::new(0),
            max_bytes,
            max_disk_bytes,
            dir,
            compiled: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
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
        self.keep(code.digest, prepared);
        Ok(Lookup { entry, fresh: true })
    }

    /// Keeps `prepared`, then drops the oldest modules until the rest fit in `max_bytes`
    /// (the newest stays, however large).
    fn keep(&self, digest: [u8; 32], prepared: Arc<Prepared>) {
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        self.bytes.fetch_add(prepared.code_bytes, Ordering::Relaxed);
        if let Some(old) = self.modules.insert(digest, prepared) {
            self.bytes.fetch_sub(old.code_bytes, Ordering::Relaxed);
        }
        order.push_back(digest);
        // Each entry is looked at once at most.
        for _ in 0..order.len() {
            if self.bytes.load(Ordering::Relaxed) <= self.max_bytes {
                break;
            }
            let Some(oldest) = order.pop_front() else {
                break;
            };
            if oldest == digest {
                order.push_back(oldest);
                continue;
            }
            if let Some((_, gone)) = self.modules.remove(&oldest) {
                self.bytes.fetch_sub(gone.code_bytes, Ordering::Relaxed);
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// (prepared modules, their compiled code bytes, compilations or disk loads so far,
    /// modules dropped to stay within the bound).
    pub(crate) fn figures(&self) -> (u64, u64, u64, u64) {
        (
            self.modules.len() as u64,
            self.bytes.load(Ordering::Relaxed),
            self.compiled.load(Ordering::Relaxed),
            self.evicted.load(Ordering::Relaxed),
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
        if let Some(path) = path {
            let stored =
                store_artefact(&module, &path).and_then(|()| prune(&path, self.max_disk_bytes));
            if let Err(e) = stored {
                tracing::warn!(path = %path.display(), "cannot cache the compiled WASM module: {e}");
            }
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

/// Deletes the oldest files (by modification time) of `newest`'s directory until what is left
/// weighs at most `max_bytes`; `newest`, just written, stays. One `stat` per file, on a cold
/// start that compiled.
fn prune(newest: &Path, max_bytes: u64) -> std::io::Result<()> {
    let Some(dir) = newest.parent() else {
        return Ok(());
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() {
            files.push((meta.modified()?, meta.len(), entry.path()));
        }
    }
    let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
    files.sort();
    for (_, len, path) in files {
        if total <= max_bytes {
            break;
        }
        if path != newest {
            // Gone already (another writer pruned it) is as good as deleted.
            match std::fs::remove_file(&path) {
                Ok(()) => total -= len,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => total -= len,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct-ABI module whose `run` answers `n`, with a `pad`-byte data segment.
    fn module(n: usize, pad: usize) -> ActionCode {
        let wat = format!(
            r#"(module (memory (export "memory") 2)
                 (data (i32.const 0) "{}")
                 (func (export "alloc") (param i32) (result i32) i32.const 0)
                 (func (export "run") (param i32 i32) (result i64) i64.const {n}))"#,
            "x".repeat(pad)
        );
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&n.to_le_bytes());
        ActionCode {
            fqn: format!("/guest/m{n}"),
            name: format!("m{n}"),
            version: "0.0.1".into(),
            kind: "wasm".into(),
            code: wat.into(),
            binary: false,
            main: "main".into(),
            digest,
            image: None,
            host_tags: Default::default(),
        }
    }

    fn dir_bytes(dir: &Path) -> u64 {
        let mut total = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                total += dir_bytes(&entry.path());
            } else {
                total += entry.metadata().unwrap().len();
            }
        }
        total
    }

    #[test]
    fn many_large_modules_stay_within_the_memory_and_disk_bounds() {
        let engine = Engine::default();
        let linkers = Linkers::new(&engine).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (max_bytes, max_disk) = (300_000, 600_000);
        let cache =
            ModuleCache::with_limits(&engine, Some(dir.path()), max_bytes, max_disk).unwrap();
        let (_, one, _, _) = {
            cache.get(&engine, &linkers, &module(0, 100_000)).unwrap();
            cache.figures()
        };
        assert!(one >= 100_000, "a module's code bytes hold its data: {one}");
        for n in 1..20 {
            let lookup = cache.get(&engine, &linkers, &module(n, 100_000)).unwrap();
            assert!(lookup.fresh);
            let (resident, bytes, _, _) = cache.figures();
            assert!(bytes <= max_bytes, "{resident} modules, {bytes} bytes");
            assert!(dir_bytes(dir.path()) <= max_disk);
        }
        let (resident, _, compiled, evicted) = cache.figures();
        assert_eq!(compiled, 20);
        assert_eq!(resident + evicted, 20);
        assert!(evicted >= 14, "{evicted}");
        // The newest is still in memory; an evicted one is prepared again on its next use.
        assert!(
            !cache
                .get(&engine, &linkers, &module(19, 100_000))
                .unwrap()
                .fresh
        );
        assert!(
            cache
                .get(&engine, &linkers, &module(0, 100_000))
                .unwrap()
                .fresh
        );
    }
}
