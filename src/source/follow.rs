//! A log being written, read as `tail -F` does: what is there, then each line as it is
//! appended. A file cut to a shorter length (truncated in place) is read again from its
//! start; one replaced under its name (rotated) is finished, then the new one is read.

use super::log::{LogReader, parse_chunk};
use crate::event::Event;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often an idle log is looked at again.
const POLL: Duration = Duration::from_millis(200);

/// A file whose reads wait for more data instead of ending; it ends (a read of 0) only once
/// `stop` is set.
pub struct FollowedFile {
    path: PathBuf,
    file: File,
    /// Device and inode of `file`, to see the name pointing elsewhere.
    id: (u64, u64),
    pos: u64,
    stop: Arc<AtomicBool>,
}

impl FollowedFile {
    pub fn open(path: &Path, stop: Arc<AtomicBool>) -> io::Result<FollowedFile> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::other("is a directory, not a log file"));
        }
        Ok(FollowedFile {
            path: path.to_path_buf(),
            file,
            id: (meta.dev(), meta.ino()),
            pos: 0,
            stop,
        })
    }

    /// After a read found nothing: whether the name now means another file, or this one
    /// shrank; either way reading starts again at the top of what the name holds.
    fn reopen_if_moved(&mut self) -> io::Result<bool> {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            // Removed and not yet replaced: keep waiting.
            return Ok(false);
        };
        let moved = (meta.dev(), meta.ino()) != self.id;
        if !moved && meta.len() >= self.pos {
            return Ok(false);
        }
        self.file = File::open(&self.path)?;
        self.id = (meta.dev(), meta.ino());
        self.pos = 0;
        Ok(true)
    }
}

impl Read for FollowedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.file.read(buf)?;
            if n > 0 {
                self.pos += n as u64;
                return Ok(n);
            }
            if self.reopen_if_moved()? {
                continue;
            }
            if self.stop.load(Ordering::Relaxed) {
                return Ok(0);
            }
            std::thread::sleep(POLL);
        }
    }
}

/// Follows the log at `path` until `stop` is set, handing on each batch of events as its
/// lines arrive, and the lines that were no events (count, why). Returns when stopped, or
/// with the error that ended reading.
pub fn follow_log(
    path: &Path,
    stop: Arc<AtomicBool>,
    on_events: &mut dyn FnMut(Vec<Event>),
    on_skipped: &mut dyn FnMut(u64, String),
) -> io::Result<()> {
    let file = FollowedFile::open(path, stop)?;
    let mut reader = LogReader::from_reader(Box::new(file))?.following();
    while let Some(chunk) = reader.next_chunk()? {
        let parsed = parse_chunk(chunk);
        if parsed.skipped.count > 0 {
            let why = parsed.skipped.first.first();
            let why = why.map(|l| format!("line {}: {}", l.line, l.reason));
            on_skipped(parsed.skipped.count, why.unwrap_or_default());
        }
        if !parsed.events.is_empty() {
            on_events(parsed.events);
        }
        reader.recycle(parsed.spent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::mpsc;

    fn line(ty: &str, secs: u32) -> String {
        format!(
            "{{\"type\":\"{ty}\",\"ts\":\"2026-11-30T01:00:{secs:02}Z\",\"conn\":\"c{secs}\"}}\n"
        )
    }

    #[test]
    fn lines_are_handed_on_as_they_are_written_truncation_and_rotation_included() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.jsonl");
        let mut out = File::create(&path).unwrap();
        out.write_all(line("open", 1).as_bytes()).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Vec<String>>();
        let follower = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut send = |evs: Vec<Event>| {
                    let _ = tx.send(
                        evs.iter()
                            .map(|e| e.kind.conn().unwrap_or("").to_string())
                            .collect(),
                    );
                };
                follow_log(&path, stop, &mut send, &mut |_, _| {})
            })
        };
        let next = || rx.recv_timeout(Duration::from_secs(5)).expect("a batch");
        assert_eq!(next(), ["c1"]);
        // Half a line waits for its end.
        let second = line("open", 2);
        out.write_all(&second.as_bytes()[..10]).unwrap();
        out.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(rx.try_recv().is_err());
        out.write_all(&second.as_bytes()[10..]).unwrap();
        assert_eq!(next(), ["c2"]);
        // Truncated in place: read again from the top.
        let out = File::create(&path).unwrap();
        drop(out);
        std::fs::write(&path, line("open", 3)).unwrap();
        assert_eq!(next(), ["c3"]);
        // Rotated: the old name now holds a new file.
        std::fs::rename(&path, dir.path().join("live.jsonl.1")).unwrap();
        std::fs::write(&path, line("close", 4)).unwrap();
        assert_eq!(next(), ["c4"]);
        stop.store(true, Ordering::Relaxed);
        follower.join().unwrap().unwrap();
    }
}
