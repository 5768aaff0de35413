//! The activation journal: what makes a record durable before SQLite has it.
//!
//! A commit of a few records to SQLite costs a WAL frame per page it touches (the table and
//! its four indexes), its locks and its share of the checkpoints: about 10 µs per record when
//! every answer waits for its own commit. The journal makes the acknowledgement one `write`
//! of the records already encoded, appended to a *segment* file; SQLite then takes the
//! records in larger batches off the answer's path ([`super::writer`]), and the segment is
//! deleted once they are committed. A process that stops first leaves its segments behind,
//! and the next open replays them ([`replay`]).
//!
//! Durability is SQLite's `synchronous=NORMAL`, which the activation writer used before: the
//! write reaches the OS page cache, not the disk, so an acknowledged record survives a crash
//! of the process, not a power loss.
//!
//! A segment is a sequence of frames: `len: u32 | crc32(body): u32 | body`, little-endian,
//! where `body` is the record's kind, start and its five text fields, each `len: u32 | bytes`.
//! A crash can leave the last frame torn; reading stops at the first frame that is short or
//! fails its checksum, which can only be one whose write never returned, so was never
//! acknowledged. A write that fails is cut off again (the file truncated to its length before
//! it), so the records it refused do not come back at the next open.
//!
//! Each segment is `flock`ed by the process that writes it until the file is deleted, so a
//! second process opening the same data directory (`shoal namespace …` beside a running
//! server) never replays a live one. A segment is created under a temporary name, locked,
//! then renamed, so no other process sees it unlocked; a reader that locks a segment checks
//! it was not deleted meanwhile (its writer committed it).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::log_queue::{Entry, Kind};
use crate::{ActivationRecord, StoreError};

/// The directory, inside the data directory, that holds the segments.
pub(crate) const JOURNAL_DIR: &str = "activation-journal";

/// A segment's file name ends with this.
const SUFFIX: &str = "seg";

/// A segment being created (not yet locked) ends with this instead.
const CREATING: &str = "new";

/// Bytes of a frame's header: the body's length and checksum.
const HEADER: usize = 8;

/// One segment file, locked by this process for as long as it exists.
pub(crate) struct Segment {
    file: File,
    path: PathBuf,
    /// Bytes written so far.
    len: u64,
}

impl Segment {
    /// Deletes the file (its records are committed), then releases its lock.
    pub(crate) fn remove(self) -> io::Result<()> {
        let removed = std::fs::remove_file(&self.path);
        drop(self.file);
        removed
    }

    /// [`Segment::remove`] once its records are committed: a segment left behind is only
    /// logged, since committing it again at the next open rewrites the same rows.
    pub(crate) fn discard(self) {
        if let Err(error) = self.remove() {
            tracing::warn!(%error, "a committed activation journal segment was not removed");
        }
    }
}

/// The appending side: the open segment and the buffer records are encoded in.
pub(crate) struct Journal {
    dir: PathBuf,
    /// `{nanoseconds at open}-{pid}-`, zero-padded: unique to this store, so names never
    /// collide, and they sort in the order stores were opened.
    prefix: String,
    /// The next segment's number; zero-padded in the name, so names sort in write order.
    seq: u64,
    current: Option<Segment>,
    buf: Vec<u8>,
}

impl Journal {
    /// A journal writing into `data_dir`'s [`JOURNAL_DIR`] (created if missing). Opens no
    /// segment until the first append.
    pub(crate) fn open(data_dir: &Path) -> io::Result<Journal> {
        let dir = data_dir.join(JOURNAL_DIR);
        std::fs::create_dir_all(&dir)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(Journal {
            dir,
            prefix: format!("{nanos:020}-{:010}-", std::process::id()),
            seq: 0,
            current: None,
            buf: Vec::new(),
        })
    }

    /// Appends `entries` to the open segment (opening one if none is) in one `write`: a
    /// memory copy of each record, its checksum and one system call. On an error the segment
    /// is cut back to where it was (best effort; seal it, [`Journal::seal`], so that nothing
    /// can follow a torn frame).
    pub(crate) fn append(&mut self, entries: &[Entry]) -> io::Result<()> {
        self.buf.clear();
        for entry in entries {
            encode(&mut self.buf, entry.kind, &entry.rec)?;
        }
        if self.current.is_none() {
            self.current = Some(self.create()?);
        }
        if let Some(segment) = &mut self.current {
            if let Err(e) = segment.file.write_all(&self.buf) {
                let _ = segment.file.set_len(segment.len);
                return Err(e);
            }
            segment.len += self.buf.len() as u64;
        }
        // A burst of large records must not pin a large buffer for the process's life.
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        Ok(())
    }

    /// Whether the journal takes a round again (after a failed append): creates a segment
    /// the way an append does, writes one block of zeros to it (which reads as no records),
    /// then removes it.
    pub(crate) fn probe(&mut self) -> io::Result<()> {
        let mut segment = self.create()?;
        let written = segment.file.write_all(&[0; 4096]);
        let removed = segment.remove();
        written.and(removed)
    }

    /// Ends the open segment, if any, and hands it over: nothing is appended to it again.
    pub(crate) fn seal(&mut self) -> Option<Segment> {
        self.current.take()
    }

    /// A new, empty, locked segment file (and the directory again, if it was removed). A
    /// process replaying the journal beside this one may take a segment being created (see
    /// [`replay`]); then it tries again, under the next name, twice at most.
    fn create(&mut self) -> io::Result<Segment> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.try_create() {
                Err(e)
                    if tries < 3
                        && matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::NotFound
                        ) => {}
                created => return created,
            }
        }
    }

    fn try_create(&mut self) -> io::Result<Segment> {
        let name = format!("{}{:012}", self.prefix, self.seq);
        self.seq += 1;
        let creating = self.dir.join(&name).with_extension(CREATING);
        let open = || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&creating)
        };
        let file = match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir)?;
                open()?
            }
            opened => opened?,
        };
        file.try_lock().map_err(io::Error::from)?;
        let path = creating.with_extension(SUFFIX);
        std::fs::rename(&creating, &path)?;
        Ok(Segment { file, path, len: 0 })
    }
}

/// Commits, with `commit`, the records of every segment in `data_dir` that no live process
/// holds (what a process that stopped first left uncommitted), oldest first and one segment
/// at a time, removing each once committed; returns how many records there were. A segment
/// another process holds, or deletes meanwhile, is left alone; a segment never renamed into
/// place (its process stopped while creating it, before anything was written to it) is
/// removed. An error names the segment.
pub(crate) fn replay(
    data_dir: &Path,
    mut commit: impl FnMut(&[Entry]) -> Result<(), StoreError>,
) -> Result<usize, StoreError> {
    let dir = data_dir.join(JOURNAL_DIR);
    let mut paths = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(listing) => {
            for entry in listing {
                let entry = entry?;
                if entry.file_type()?.is_file() {
                    paths.push(entry.path());
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    }
    paths.sort();
    let mut records = 0;
    for path in paths {
        let failed = |e: &dyn std::fmt::Display| {
            StoreError::Io(format!(
                "cannot commit the activation journal segment {} (records shoal acknowledged \
                 and has not committed yet): {e}",
                path.display()
            ))
        };
        let replayed = replay_one(&path, &mut commit).map_err(|e| failed(&e))?;
        records += replayed;
    }
    Ok(records)
}

/// [`replay`] of the file at `path`: how many records it committed.
fn replay_one(
    path: &Path,
    commit: &mut impl FnMut(&[Entry]) -> Result<(), StoreError>,
) -> Result<usize, StoreError> {
    let extension = path.extension().and_then(|x| x.to_str());
    if !matches!(extension, Some(SUFFIX | CREATING)) {
        return Ok(0);
    }
    let Some(mut file) = claim(path)? else {
        return Ok(0);
    };
    if extension == Some(CREATING) {
        // Renamed into place since the listing (it is then the next open's to replay).
        match std::fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            removed => removed?,
        }
        return Ok(0);
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let (entries, read) = decode(&bytes);
    if read < bytes.len() {
        tracing::warn!(
            segment = %path.display(),
            at = read,
            ignored = bytes.len() - read,
            "an activation journal segment ends in a torn or corrupt frame, ignored"
        );
    }
    commit(&entries)?;
    let len = bytes.len() as u64;
    Segment {
        file,
        path: path.to_path_buf(),
        len,
    }
    .discard();
    Ok(entries.len())
}

/// The file at `path`, opened and locked, if it still exists and no other process holds
/// it.
fn claim(path: &Path) -> io::Result<Option<File>> {
    use std::os::unix::fs::MetadataExt;
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        // Committed and removed by its writer since the directory was listed.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    // Removed between the open and the lock: its writer committed it.
    Ok((file.metadata()?.nlink() > 0).then_some(file))
}

/// Appends one frame holding `rec` as `kind` to `buf`; refuses a text of 4 GiB or more.
fn encode(buf: &mut Vec<u8>, kind: Kind, rec: &ActivationRecord) -> io::Result<()> {
    let at = buf.len();
    buf.extend_from_slice(&[0; HEADER]);
    buf.push(match kind {
        Kind::Final => 0,
        Kind::Settles => 1,
        Kind::Accepted => 2,
    });
    buf.extend_from_slice(&rec.start.to_le_bytes());
    for text in [
        &rec.namespace,
        &rec.activation_id,
        &rec.name,
        &rec.filter_name,
        &rec.doc,
    ] {
        buf.extend_from_slice(&length(text.len())?.to_le_bytes());
        buf.extend_from_slice(text.as_bytes());
    }
    let body = &buf[at + HEADER..];
    let (len, crc) = (length(body.len())?, crc32fast::hash(body));
    buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    buf[at + 4..at + HEADER].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// `n` as a frame's `u32` length. The request and result limits keep records far below
/// 4 GiB; one past it is refused rather than written as a frame that reads back corrupt.
fn length(n: usize) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record over 4 GiB"))
}

/// The records of a segment's bytes up to the first torn or corrupt frame, and how many
/// bytes they took.
fn decode(bytes: &[u8]) -> (Vec<Entry>, usize) {
    let (mut entries, mut rest) = (Vec::new(), bytes);
    while let Some((entry, after)) = frame(rest) {
        entries.push(entry);
        rest = after;
    }
    (entries, bytes.len() - rest.len())
}

/// The first frame of `bytes` and what follows it; `None` if it is torn or corrupt.
fn frame(bytes: &[u8]) -> Option<(Entry, &[u8])> {
    let (len, bytes) = u32_at(bytes)?;
    let (crc, bytes) = u32_at(bytes)?;
    let (body, after) = bytes.split_at_checked(len as usize)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let (kind, body) = body.split_first()?;
    let kind = match kind {
        0 => Kind::Final,
        1 => Kind::Settles,
        2 => Kind::Accepted,
        _ => return None,
    };
    let (start, mut rest) = body.split_first_chunk::<8>()?;
    let mut text = || -> Option<String> {
        let (n, after) = u32_at(rest)?;
        let (text, after) = after.split_at_checked(n as usize)?;
        rest = after;
        Some(std::str::from_utf8(text).ok()?.to_owned())
    };
    let rec = ActivationRecord {
        namespace: text()?,
        activation_id: text()?,
        name: text()?,
        filter_name: text()?,
        start: i64::from_le_bytes(*start),
        doc: text()?,
    };
    let entry = Entry {
        rec: Arc::new(rec),
        kind,
        ack: None,
    };
    Some((entry, after))
}

/// The little-endian `u32` that `bytes` starts with, and what follows it.
fn u32_at(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (n, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*n), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32, kind: Kind) -> Entry {
        Entry {
            rec: Arc::new(ActivationRecord {
                namespace: "guest".into(),
                activation_id: format!("{n:032x}"),
                name: "fé".into(),
                filter_name: "pkg/fé".into(),
                start: -i64::from(n),
                doc: format!("{{\"n\":{n}}}"),
            }),
            kind,
            ack: None,
        }
    }

    fn summary(entries: &[Entry]) -> Vec<(Kind, ActivationRecord)> {
        entries
            .iter()
            .map(|e| (e.kind, ActivationRecord::clone(&e.rec)))
            .collect()
    }

    /// What [`replay`] commits, segment by segment, and its count.
    fn replayed(dir: &Path) -> (Vec<Vec<(Kind, ActivationRecord)>>, usize) {
        let mut segments = Vec::new();
        let records = replay(dir, |entries| {
            segments.push(summary(entries));
            Ok(())
        })
        .unwrap();
        (segments, records)
    }

    #[test]
    fn segments_replay_in_order_and_only_once_their_writer_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        let first = vec![entry(1, Kind::Accepted), entry(2, Kind::Final)];
        let second = vec![entry(1, Kind::Settles)];
        journal.append(&first).unwrap();
        let sealed = journal.seal().unwrap();
        journal.append(&second).unwrap();
        // Both segments are held by this journal: nobody else may replay them.
        assert_eq!(replayed(dir.path()), (vec![], 0));
        // What is not a segment is left alone; a segment never renamed into place (its
        // process stopped while creating it) is removed; a probe leaves nothing behind.
        let journal_dir = dir.path().join(JOURNAL_DIR);
        std::fs::write(journal_dir.join("notes.txt"), b"kept").unwrap();
        std::fs::create_dir(journal_dir.join("0-0-0.seg")).unwrap();
        std::fs::write(journal_dir.join("0-0-1.new"), b"").unwrap();
        journal.probe().unwrap();
        assert_eq!(replayed(dir.path()), (vec![], 0));
        assert!(!journal_dir.join("0-0-1.new").exists());
        std::fs::remove_file(journal_dir.join("notes.txt")).unwrap();
        std::fs::remove_dir(journal_dir.join("0-0-0.seg")).unwrap();
        assert_eq!(std::fs::read_dir(&journal_dir).unwrap().count(), 2);
        drop(sealed);
        drop(journal);
        assert_eq!(
            replayed(dir.path()),
            (vec![summary(&first), summary(&second)], 3)
        );
        // Committed, they are gone for good.
        assert_eq!(std::fs::read_dir(&journal_dir).unwrap().count(), 0);
        assert_eq!(replayed(dir.path()), (vec![], 0));
    }

    #[test]
    fn a_segment_that_cannot_be_committed_stays_and_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        journal.append(&[entry(1, Kind::Final)]).unwrap();
        drop(journal);
        let refused = replay(dir.path(), |_| Err(StoreError::Io("disk full".into())));
        let why = refused.unwrap_err().to_string();
        assert!(why.contains(".seg") && why.contains("disk full"), "{why}");
        assert_eq!(replayed(dir.path()).1, 1);
    }

    #[test]
    fn a_torn_or_corrupt_frame_ends_the_segment() {
        let mut bytes = Vec::new();
        for n in 0..3 {
            encode(&mut bytes, Kind::Final, &entry(n, Kind::Final).rec).unwrap();
        }
        let (whole, read) = decode(&bytes);
        assert_eq!(read, bytes.len());
        assert_eq!(whole.len(), 3);
        // A write that stopped in the middle of the last frame: the first two stand.
        for cut in 1..bytes.len() {
            let (kept, _) = decode(&bytes[..cut]);
            assert_eq!(
                summary(&kept),
                summary(&whole[..kept.len()]),
                "cut at {cut}"
            );
            assert!(kept.len() < 3, "cut at {cut}");
        }
        // A flipped bit in the second frame: only the first stands.
        let second = bytes.len() / 3 + HEADER + 3;
        bytes[second] ^= 1;
        let (kept, read) = decode(&bytes);
        assert_eq!(
            (summary(&kept), read),
            (summary(&whole[..1]), bytes.len() / 3)
        );
    }
}
