//! A recorded log read a window at a time, so replaying a log of any size holds only a few
//! windows of events. Opening reads the log once (on every core) and keeps, per chunk of
//! whole lines, where it lies and what times it holds; a window is read and parsed again when
//! needed.
//!
//! Plain files are read at a window's offset. A compressed log cannot seek: its stream goes
//! forward to the window, and starts again from the top only when asked for an earlier one.

use super::log::{Chunk, LogReader, Skipped, Span, parse_chunk};
use super::parallel::{Progress, default_threads, read_chunks};
use crate::event::{Event, Ts};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// One window: a chunk of whole lines and a summary of its events.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub span: Span,
    /// Index in the log of its first event.
    pub first_event: u64,
    pub events: u64,
    /// The latest event time in the window (logs may be slightly out of order).
    pub max_ts: Ts,
}

pub struct IndexedLog {
    path: PathBuf,
    compressed: bool,
    bom: u64,
    windows: Vec<Window>,
    events: u64,
    skipped: Skipped,
    start: Option<Ts>,
    end: Option<Ts>,
    file: Option<File>,
    /// For compressed logs: the decompressed stream and how far into it it has read.
    stream: Option<(u64, Box<dyn Read + Send>)>,
    /// Windows decoded from a capture, held in memory: a capture is not a log that can be
    /// parsed again a window at a time, and its events (aggregated) are far fewer than its
    /// packets.
    held: Option<Vec<Vec<Event>>>,
}

/// Events per window of a log held in memory.
const HELD_WINDOW: usize = 4096;

impl IndexedLog {
    /// Reads the log at `path` once to index it.
    pub fn open(path: &Path, progress: Progress<'_>) -> io::Result<IndexedLog> {
        IndexedLog::open_with(path, None, progress)
    }

    /// [`IndexedLog::open`] with windows of about `chunk_size` bytes (tests make many).
    pub fn open_with(
        path: &Path,
        chunk_size: Option<usize>,
        progress: Progress<'_>,
    ) -> io::Result<IndexedLog> {
        let reader = open_reader(path, chunk_size)?;
        let compressed = reader.is_compressed();
        let mut windows = Vec::new();
        let mut events = 0u64;
        let (mut start, mut end) = (None, None::<Ts>);
        let skipped = read_chunks(
            reader,
            default_threads(),
            &mut |span, evs| {
                if evs.is_empty() {
                    return;
                }
                let max_ts = evs.iter().map(|e| e.ts).max().unwrap_or_default();
                start.get_or_insert(evs[0].ts);
                end = end.max(Some(max_ts));
                windows.push(Window {
                    span: *span,
                    first_event: events,
                    events: evs.len() as u64,
                    max_ts,
                });
                events += evs.len() as u64;
            },
            progress,
        )?;
        // Offsets leave out a byte-order mark: look for one at the top of the decoded log.
        let mut head = [0u8; 3];
        let mut decoded = open_reader(path, None)?.into_input();
        let bom = match decoded.read_exact(&mut head) {
            Ok(()) if head == *b"\xef\xbb\xbf" => 3,
            _ => 0,
        };
        Ok(IndexedLog {
            path: path.to_path_buf(),
            compressed,
            bom,
            windows,
            events,
            skipped,
            start,
            end,
            file: None,
            stream: None,
            held: None,
        })
    }

    /// A log of events already read (from a capture, or standard input), held in memory in
    /// windows.
    pub fn from_events(name: &Path, events: Vec<Event>, skipped: Skipped) -> IndexedLog {
        let mut windows = Vec::new();
        let mut held = Vec::new();
        let mut first_event = 0u64;
        let mut rest = events.into_iter().peekable();
        while rest.peek().is_some() {
            let window: Vec<Event> = rest.by_ref().take(HELD_WINDOW).collect();
            windows.push(Window {
                span: Span {
                    offset: 0,
                    len: 0,
                    first_line: first_event + 1,
                    unterminated: false,
                },
                first_event,
                events: window.len() as u64,
                max_ts: window.iter().map(|e| e.ts).max().unwrap_or_default(),
            });
            first_event += window.len() as u64;
            held.push(window);
        }
        IndexedLog {
            path: name.to_path_buf(),
            compressed: false,
            bom: 0,
            start: held.first().and_then(|w| w.first()).map(|e| e.ts),
            end: windows.iter().map(|w| w.max_ts).max(),
            windows,
            events: first_event,
            skipped,
            file: None,
            stream: None,
            held: Some(held),
        }
    }

    /// Number of valid events.
    pub fn len(&self) -> u64 {
        self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// Lines that were not valid events, found while indexing.
    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    /// Time of the first event.
    pub fn start(&self) -> Option<Ts> {
        self.start
    }

    /// The latest event time.
    pub fn end(&self) -> Option<Ts> {
        self.end
    }

    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The window holding event `index` (the last window past the end).
    pub fn window_of(&self, index: u64) -> usize {
        self.windows
            .partition_point(|w| w.first_event + w.events <= index)
            .min(self.windows.len().saturating_sub(1))
    }

    /// Reads and parses window `i` again.
    pub fn load(&mut self, i: usize) -> io::Result<Vec<Event>> {
        let window = self
            .windows
            .get(i)
            .cloned()
            .ok_or_else(|| io::Error::other(format!("no window {i}")))?;
        if let Some(held) = &self.held {
            return Ok(held[i].clone());
        }
        let mut bytes = vec![0; window.span.len as usize];
        if self.compressed {
            self.read_compressed(window.span.offset, &mut bytes)?;
        } else {
            let file = match &mut self.file {
                Some(f) => f,
                None => self.file.insert(File::open(&self.path)?),
            };
            file.seek(SeekFrom::Start(self.bom + window.span.offset))?;
            file.read_exact(&mut bytes).map_err(changed)?;
        }
        let parsed = parse_chunk(Chunk::reread(bytes, window.span));
        if parsed.events.len() as u64 != window.events {
            return Err(changed(io::Error::other("different events")));
        }
        Ok(parsed.events)
    }

    fn read_compressed(&mut self, offset: u64, into: &mut [u8]) -> io::Result<()> {
        let offset = self.bom + offset;
        let behind = self.stream.as_ref().is_none_or(|(at, _)| *at > offset);
        if behind {
            self.stream = Some((0, LogReader::open(&self.path)?.into_input()));
        }
        let Some((at, stream)) = &mut self.stream else {
            unreachable!("set above")
        };
        let skip = offset - *at;
        let skipped = io::copy(&mut stream.take(skip), &mut io::sink())?;
        *at += skipped;
        if skipped < skip {
            return Err(changed(io::Error::from(io::ErrorKind::UnexpectedEof)));
        }
        stream.read_exact(into).map_err(changed)?;
        *at += into.len() as u64;
        Ok(())
    }
}

fn open_reader(path: &Path, chunk_size: Option<usize>) -> io::Result<LogReader> {
    let reader = LogReader::open(path)?;
    Ok(match chunk_size {
        Some(n) => reader.with_chunk_size(n),
        None => reader,
    })
}

fn changed(e: io::Error) -> io::Error {
    io::Error::other(format!("the log changed since it was opened ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Dir, Initiator};
    use crate::scenario::Scenario;
    use std::io::Write;

    /// A byte-order mark, 2,000 events with bad lines among them, a truncated last line.
    fn lines() -> String {
        let mut s = Scenario::new();
        s.hello(Some((30_000, 5_000)));
        for i in 0..400 {
            let conn = format!("c{i}");
            s.advance(0.5).open(&conn).ping(&conn).pong(&conn);
            s.message(&conn, Dir::In)
                .close(&conn, 1006, Initiator::None);
        }
        let mut text = String::from("\u{feff}");
        for (i, line) in s.to_jsonl().lines().enumerate() {
            text.push_str(line);
            text.push('\n');
            if i % 50 == 7 {
                text.push_str("not an event\n");
            }
        }
        text.push_str(r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","con"#);
        text
    }

    fn all_events(path: &Path) -> (Vec<Event>, Skipped) {
        let mut events = Vec::new();
        let skipped = super::super::log::read_log(
            LogReader::open(path).unwrap(),
            &mut |e| events.push(e.clone()),
            &mut |_| {},
        )
        .unwrap();
        (events, skipped)
    }

    fn check(path: &Path) {
        let (expected, skipped) = all_events(path);
        assert!(
            skipped.count > 30 && expected.len() == 2001,
            "{}",
            skipped.count
        );
        let mut log = IndexedLog::open_with(path, Some(4096), &mut |_| {}).unwrap();
        assert!(log.windows().len() > 10, "{}", log.windows().len());
        assert_eq!(log.len(), expected.len() as u64);
        assert_eq!(log.skipped(), &skipped);
        assert_eq!(log.start(), expected.first().map(|e| e.ts));
        // Windows in any order, again and again, give the events of a whole read.
        let n = log.windows().len();
        let order: Vec<usize> = (0..n).rev().chain(0..n).chain([3, 1, n - 1, 0]).collect();
        for i in order {
            let w = log.windows()[i].clone();
            let events = log.load(i).unwrap();
            let from = w.first_event as usize;
            assert_eq!(events, expected[from..from + events.len()], "window {i}");
            assert_eq!(log.window_of(w.first_event), i);
            assert_eq!(log.window_of(w.first_event + w.events - 1), i);
        }
    }

    #[test]
    fn windows_read_again_give_the_whole_log() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("log.jsonl");
        std::fs::write(&plain, lines()).unwrap();
        check(&plain);
        let packed = dir.path().join("log.jsonl.zst");
        std::fs::write(&packed, zstd::encode_all(lines().as_bytes(), 3).unwrap()).unwrap();
        check(&packed);
    }

    #[test]
    fn a_log_changed_after_opening_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, lines()).unwrap();
        let mut log = IndexedLog::open_with(&path, Some(4096), &mut |_| {}).unwrap();
        let last = log.windows().len() - 1;
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(100).unwrap();
        f.flush().unwrap();
        let err = log.load(last).unwrap_err();
        assert!(err.to_string().contains("changed"), "{err}");
        assert!(log.load(0).is_err());
    }
}
