//! The files of a zip action, unzipped once per action version and shared (`Arc`) by every
//! isolate of it; and [`DigestCache`], the bounded per-digest cache engines keep them (and
//! compiled code) in.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use base64::Engine as _;
use parking_lot::{Condvar, Mutex};

/// OpenWhisk's limit on an action's `exec` (48 MB), applied to the decoded zip.
const MAX_ZIP_BYTES: usize = 48 * 1024 * 1024;
/// Most bytes the unzipped files of one action may hold in host memory (a zip bomb is
/// refused, not inflated).
const MAX_UNZIPPED_BYTES: u64 = 256 * 1024 * 1024;
/// Most files one zip action may hold.
const MAX_FILES: usize = 100_000;
/// Most zips unpacked at once in the process: each may hold up to [`MAX_UNZIPPED_BYTES`]
/// while it unpacks, so many creates or cold starts of large zips at once wait here instead
/// of multiplying that.
const MAX_CONCURRENT_UNZIPS: usize = 4;

/// Lets at most `max` holders of a [`Permit`] in at once; the others wait (on a blocking
/// thread or an isolate worker, which the pool hands off when it is held too long).
struct Gate {
    inside: Mutex<usize>,
    left: Condvar,
    max: usize,
}

/// A place inside a [`Gate`], given back on drop.
struct Permit<'a>(&'a Gate);

impl Gate {
    const fn new(max: usize) -> Gate {
        Gate {
            inside: Mutex::new(0),
            left: Condvar::new(),
            max,
        }
    }

    fn enter(&self) -> Permit<'_> {
        let mut inside = self.inside.lock();
        while *inside >= self.max {
            self.left.wait(&mut inside);
        }
        *inside += 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.inside.lock() -= 1;
        self.0.left.notify_one();
    }
}

static UNZIPPING: Gate = Gate::new(MAX_CONCURRENT_UNZIPS);

/// The text files of a zip action by path (relative to the zip's root, `/`-separated, no
/// leading slash). Files that are not UTF-8 are kept with replacement characters (the
/// loader only reads `.js`, `.cjs` and `.json` files). Costs the unzipped text of the action.
#[derive(Debug, Default)]
pub struct ActionFiles {
    files: HashMap<Box<str>, Box<str>>,
    /// The bytes of every path and text.
    bytes: usize,
}

impl ActionFiles {
    /// Unzips a base64 zip (an action's `exec.code` when `binary`). `Err` is why the action
    /// can never initialise, in the words of OpenWhisk's nodejs runtime where it has them.
    pub fn unzip(code: &str) -> Result<ActionFiles, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(code.trim())
            .map_err(|_| "the action's code is not valid base64".to_string())?;
        if bytes.len() > MAX_ZIP_BYTES {
            return Err(format!(
                "the zip file is larger than OpenWhisk's {} MB limit",
                MAX_ZIP_BYTES / (1024 * 1024)
            ));
        }
        if bytes.starts_with(&[0x1f, 0x8b]) {
            return Err("tar.gz actions are not supported by shoal's JS isolates; send a zip file or annotate the action with engine=container".into());
        }
        let _permit = UNZIPPING.enter();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| format!("Failed to unzip the action: {e}"))?;
        if archive.len() > MAX_FILES {
            return Err(format!("the zip file holds more than {MAX_FILES} files"));
        }
        let mut files = HashMap::new();
        let mut bytes = 0;
        let mut left = MAX_UNZIPPED_BYTES;
        for i in 0..archive.len() {
            let entry = archive
                .by_index(i)
                .map_err(|e| format!("Failed to unzip the action: {e}"))?;
            if entry.is_dir() {
                continue;
            }
            let Some(path) = entry.enclosed_name() else {
                continue;
            };
            let path: Vec<String> = path
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let mut data = Vec::new();
            entry
                .take(left + 1)
                .read_to_end(&mut data)
                .map_err(|e| format!("Failed to unzip the action: {e}"))?;
            let text = match String::from_utf8(data) {
                Ok(text) => text,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            // Counted as kept: replacement characters can triple non-UTF-8 data.
            left = left.checked_sub(text.len() as u64).ok_or_else(|| {
                format!(
                    "the zip file unpacks to more than {} MiB",
                    MAX_UNZIPPED_BYTES / (1024 * 1024)
                )
            })?;
            let path = path.join("/");
            bytes += path.len() + text.len();
            files.insert(path.into(), text.into());
        }
        Ok(ActionFiles { files, bytes })
    }

    /// The text of the file at `path`, if the zip has it.
    pub fn file(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(|text| &**text)
    }

    /// Every file's path.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(|path| &**path)
    }

    /// Whether the zip has a file at `path`.
    pub fn has(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
}

impl Weighed for ActionFiles {
    fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The default byte budget of an engine's code cache: what distinct actions' prepared code
/// (bytecode, unzipped files) may hold in all, however many entries that is.
pub const CODE_CACHE_BYTES: usize = 256 * 1024 * 1024;

/// What a [`DigestCache`] entry costs in memory.
pub trait Weighed {
    /// About how many bytes the value holds.
    fn bytes(&self) -> usize;
}

/// Values derived from action code (unzipped files, bytecode), keyed by
/// [`shoal_router::ActionCode::digest`] and shared by every worker of an executor. Holds at
/// most `capacity` entries weighing at most `max_bytes` together: past either, arbitrary
/// entries are dropped (and derived again on their next use), and a value heavier than the
/// whole budget is handed out without being kept. Isolates still using a dropped value keep
/// it alive until they go.
pub struct DigestCache<T> {
    entries: Mutex<Entries<T>>,
    capacity: usize,
    max_bytes: usize,
}

struct Entries<T> {
    by_digest: HashMap<[u8; 32], Arc<T>>,
    bytes: usize,
}

impl<T: Weighed> DigestCache<T> {
    /// An empty cache of at most `capacity` (at least 1) entries and `max_bytes` in all.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        DigestCache {
            entries: Mutex::new(Entries {
                by_digest: HashMap::new(),
                bytes: 0,
            }),
            capacity: capacity.max(1),
            max_bytes,
        }
    }

    /// The value for `digest`, deriving (and keeping) it with `make` on first use. `make`
    /// runs outside the lock; two threads may derive the same value at once.
    pub fn get_or_try<E>(
        &self,
        digest: &[u8; 32],
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if let Some(found) = self.entries.lock().by_digest.get(digest) {
            return Ok(Arc::clone(found));
        }
        let made = Arc::new(make()?);
        let weight = made.bytes();
        if weight > self.max_bytes {
            return Ok(made);
        }
        let mut entries = self.entries.lock();
        if let Some(old) = entries.by_digest.remove(digest) {
            entries.bytes -= old.bytes();
        }
        while entries.by_digest.len() >= self.capacity || entries.bytes + weight > self.max_bytes {
            let Some(victim) = entries.by_digest.keys().next().copied() else {
                break;
            };
            if let Some(gone) = entries.by_digest.remove(&victim) {
                entries.bytes -= gone.bytes();
            }
        }
        entries.bytes += weight;
        entries.by_digest.insert(*digest, Arc::clone(&made));
        Ok(made)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip(files: &[(&str, &[u8])]) -> String {
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in files {
            out.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(data).unwrap();
        }
        let bytes = out.finish().unwrap().into_inner();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn unzips_text_files_by_relative_path() {
        let code = zip(&[
            ("index.js", b"exports.main = () => 1"),
            ("lib/a.json", b"{}"),
            ("../escape.js", b"bad"),
            ("bin.dat", &[0xff, 0xfe]),
        ]);
        let files = ActionFiles::unzip(&code).unwrap();
        assert_eq!(files.file("index.js"), Some("exports.main = () => 1"));
        assert_eq!(files.file("lib/a.json"), Some("{}"));
        assert!(!files.has("../escape.js") && !files.has("escape.js"));
        assert_eq!(files.file("bin.dat"), Some("\u{fffd}\u{fffd}"));
    }

    #[test]
    fn bad_archives_are_refused_with_a_reason() {
        assert!(
            ActionFiles::unzip("not base64!")
                .unwrap_err()
                .contains("base64")
        );
        let text = base64::engine::general_purpose::STANDARD.encode(b"just text, no zip");
        assert!(
            ActionFiles::unzip(&text)
                .unwrap_err()
                .starts_with("Failed to unzip")
        );
        let gzip = base64::engine::general_purpose::STANDARD.encode([0x1f, 0x8b, 8, 0]);
        assert!(ActionFiles::unzip(&gzip).unwrap_err().contains("tar.gz"));
    }

    #[test]
    fn the_gate_lets_at_most_its_number_in_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let gate = Gate::new(2);
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        let _permit = gate.enter();
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::yield_now();
                        now.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(*gate.inside.lock(), 0, "every permit was given back");
    }

    impl Weighed for usize {
        fn bytes(&self) -> usize {
            *self
        }
    }

    #[test]
    fn the_cache_keeps_within_its_byte_budget() {
        let cache = DigestCache::new(100, 10);
        for d in 1..=3u8 {
            cache.get_or_try::<()>(&[d; 32], || Ok(4)).unwrap();
        }
        let entries = cache.entries.lock();
        assert_eq!(
            entries.by_digest.len(),
            2,
            "three entries of 4 bytes do not fit 10"
        );
        assert_eq!(entries.bytes, 8);
        drop(entries);
        let huge = cache.get_or_try::<()>(&[9; 32], || Ok(11)).unwrap();
        assert_eq!(*huge, 11, "a value over the budget is still handed out");
        assert!(
            !cache.entries.lock().by_digest.contains_key(&[9; 32]),
            "but not kept"
        );
        assert_eq!(cache.entries.lock().bytes, 8);
    }

    #[test]
    fn the_cache_derives_once_and_stays_bounded() {
        let cache = DigestCache::new(2, usize::MAX);
        let mut made = 0;
        for round in 0..2 {
            let v = cache
                .get_or_try::<()>(&[1; 32], || {
                    made += 1;
                    Ok(round)
                })
                .unwrap();
            assert_eq!(*v, 0);
        }
        assert_eq!(made, 1);
        for d in 2..10u8 {
            cache.get_or_try::<()>(&[d; 32], || Ok(0)).unwrap();
        }
        assert!(cache.entries.lock().by_digest.len() <= 2);
    }
}
