//! `--record FILE`: the feed written down as a log (feed-protocol.md, "Recorded logs").
//!
//! Each event is written as received, one frame per line. Lines go into a buffer whole and the
//! buffer only ever holds whole lines, so a flush (at least once a second, and on stop) never
//! leaves half a line in the file. A `.zst` file is a series of zstd frames, one per flush:
//! compressed data is held in memory until its frame ends, so a process killed at any moment
//! leaves a file that ends at a frame boundary, which is a line boundary.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Written at least this often while events arrive (and by [`Recorder::tick`] otherwise).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

enum Sink {
    Plain(BufWriter<File>),
    #[cfg(feature = "cli")]
    Zstd {
        /// The frame being compressed, into memory.
        frame: zstd::stream::write::Encoder<'static, Vec<u8>>,
        file: File,
    },
}

#[cfg(feature = "cli")]
const ZSTD_LEVEL: i32 = 3;

impl Sink {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Sink::Plain(w) => w,
            #[cfg(feature = "cli")]
            Sink::Zstd { frame, .. } => frame,
        }
    }

    /// Puts what was written in the file: for zstd, ends the frame, writes it whole and
    /// starts the next.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            #[cfg(feature = "cli")]
            Sink::Zstd { frame, file } => {
                let next = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
                let done = std::mem::replace(frame, next).finish()?;
                file.write_all(&done)
            }
        }
    }
}

/// The frame with `"server":NAME` added as its first field, for a file that mixes several
/// feeds. `None` when the frame already has a `server` key (say `null`) or is not an object:
/// the caller then writes the re-serialised event instead.
pub fn frame_with_server(raw: &str, server: &str) -> Option<String> {
    let body = raw.trim_start().strip_prefix('{')?;
    if raw.contains("\"server\"") {
        return None;
    }
    let name = serde_json::to_string(server).ok()?;
    let sep = if body.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    Some(format!("{{\"server\":{name}{sep}{body}"))
}

pub struct Recorder {
    path: PathBuf,
    sink: Option<Sink>,
    line: Vec<u8>,
    lines: u64,
    dirty: bool,
    last_flush: Instant,
}

impl Recorder {
    /// Creates (or truncates) `path`; zstd when it ends in `.zst`.
    pub fn create(path: &Path) -> io::Result<Recorder> {
        let file = File::create(path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
        })?;
        let zst = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zst"));
        let sink = if zst {
            #[cfg(feature = "cli")]
            {
                let frame = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
                Sink::Zstd { frame, file }
            }
            #[cfg(not(feature = "cli"))]
            {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "this build has no zstd support (feature `cli`)",
                ));
            }
        } else {
            Sink::Plain(BufWriter::with_capacity(256 << 10, file))
        };
        Ok(Recorder {
            path: path.to_path_buf(),
            sink: Some(sink),
            line: Vec::with_capacity(1024),
            lines: 0,
            dirty: false,
            last_flush: Instant::now(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Appends one event frame as one line. A frame is a single JSON value, whose strings
    /// cannot hold raw newlines; any `\r` or `\n` in it is whitespace between tokens and
    /// becomes a space, so that one frame stays one line.
    pub fn write_frame(&mut self, raw: &str) -> io::Result<()> {
        let Some(sink) = self.sink.as_mut() else {
            return Err(io::Error::other("the recording is already finished"));
        };
        self.line.clear();
        self.line.extend_from_slice(raw.trim_end().as_bytes());
        for b in &mut self.line {
            if *b == b'\n' || *b == b'\r' {
                *b = b' ';
            }
        }
        self.line.push(b'\n');
        // One call with the whole line: the buffer flushes only whole lines ahead of it.
        sink.writer().write_all(&self.line)?;
        self.lines += 1;
        self.dirty = true;
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Flushes if anything waits for longer than [`FLUSH_EVERY`]; call it at least once a
    /// second when no event arrives.
    pub fn tick(&mut self) -> io::Result<()> {
        if self.dirty && self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything buffered to the file (for zstd: ends the current frame).
    pub fn flush(&mut self) -> io::Result<()> {
        self.last_flush = Instant::now();
        let was_dirty = std::mem::replace(&mut self.dirty, false);
        match self.sink.as_mut() {
            Some(sink) if was_dirty => sink.flush(),
            _ => Ok(()),
        }
    }

    /// Flushes and closes the file (for zstd: ends the frame). Idempotent.
    pub fn finish(&mut self) -> io::Result<()> {
        match self.sink.take() {
            None => Ok(()),
            Some(Sink::Plain(mut w)) => {
                w.flush()?;
                w.get_ref().sync_data()
            }
            #[cfg(feature = "cli")]
            Some(Sink::Zstd { frame, mut file }) => {
                file.write_all(&frame.finish()?)?;
                file.sync_data()
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.jsonl");
        let mut rec = Recorder::create(&path).unwrap();
        rec.write_frame(r#"{"type":"hello","ts":"2026-11-30T01:00:00Z"}"#)
            .unwrap();
        rec.write_frame(
            "{\"type\":\"ping\",\r\n \"ts\":\"2026-11-30T01:00:01Z\",\"conn\":\"c1\"}\n",
        )
        .unwrap();
        rec.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<_> = text.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2);
        assert!(text.ends_with('\n'));
        for l in lines {
            crate::event::parse_event(l.as_bytes()).unwrap();
        }
        assert!(rec.write_frame("{}").is_err());
    }

    #[test]
    fn several_feeds_stamp_the_server_name() {
        let raw = r#"{"type":"ping","ts":"2026-11-30T01:00:00Z","conn":"c1"}"#;
        let stamped = frame_with_server(raw, "chat-\"2\"").unwrap();
        let ev = crate::event::parse_event(stamped.as_bytes()).unwrap();
        assert_eq!(ev.server.as_deref(), Some("chat-\"2\""));
        assert_eq!(ev.kind.conn(), Some("c1"));
        let already = r#"{"type":"ping","server":null,"ts":"2026-11-30T01:00:00Z","conn":"c1"}"#;
        assert_eq!(frame_with_server(already, "x"), None);
        assert_eq!(frame_with_server("[1]", "x"), None);
    }

    #[cfg(feature = "cli")]
    #[test]
    fn zst_files_are_zstd() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.jsonl.zst");
        let mut rec = Recorder::create(&path).unwrap();
        for i in 0..1000 {
            rec.write_frame(&format!(
                r#"{{"type":"ping","ts":"2026-11-30T01:00:00Z","conn":"c{i}"}}"#
            ))
            .unwrap();
        }
        rec.finish().unwrap();
        let raw = std::fs::read(&path).unwrap();
        let text = String::from_utf8(zstd::decode_all(&raw[..]).unwrap()).unwrap();
        assert_eq!(text.lines().count(), 1000);
        assert!(raw.len() < text.len() / 4);
    }

    /// What a recorder killed at any moment leaves: whatever the file holds decodes to whole
    /// lines, ending with the last flushed one.
    #[cfg(feature = "cli")]
    #[test]
    fn a_zstd_recording_killed_between_flushes_ends_at_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.jsonl.zst");
        let mut rec = Recorder::create(&path).unwrap();
        let mut rng = fastrand::Rng::with_seed(3);
        let mut line = |i: u32| {
            format!(
                r#"{{"type":"message","ts":"2026-11-30T01:00:00Z","conn":"c{i}","dir":"in","bytes":{},"pad":"{}"}}"#,
                rng.u32(..),
                rng.u64(..)
            )
        };
        for i in 0..1000 {
            rec.write_frame(&line(i)).unwrap();
        }
        rec.flush().unwrap();
        // Megabytes more, unflushed: the moment of the kill.
        for i in 0..60_000 {
            rec.write_frame(&line(i)).unwrap();
        }
        let raw = std::fs::read(&path).unwrap();
        let mut out = Vec::new();
        let mut dec = zstd::stream::read::Decoder::new(&raw[..]).unwrap();
        std::io::Read::read_to_end(&mut dec, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with('\n'),
            "ends mid-line: {:?}",
            &text[text.len() - 40..]
        );
        assert_eq!(text.lines().count(), 1000);
        for i in 0..3 {
            rec.flush().unwrap();
            rec.write_frame(&line(i)).unwrap();
        }
        rec.finish().unwrap();
        let all = zstd::decode_all(&std::fs::read(&path).unwrap()[..]).unwrap();
        assert_eq!(String::from_utf8(all).unwrap().lines().count(), 61_003);
    }

    #[cfg(feature = "cli")]
    #[test]
    fn flushed_zstd_is_readable_before_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.zst");
        let mut rec = Recorder::create(&path).unwrap();
        rec.write_frame(r#"{"type":"hello","ts":"2026-11-30T01:00:00Z"}"#)
            .unwrap();
        rec.flush().unwrap();
        let raw = std::fs::read(&path).unwrap();
        // The frame is not ended, so read it as a stream up to what was flushed.
        let mut out = Vec::new();
        let mut dec = zstd::stream::read::Decoder::new(&raw[..]).unwrap();
        let _ = std::io::Read::read_to_end(&mut dec, &mut out);
        assert_eq!(
            out,
            b"{\"type\":\"hello\",\"ts\":\"2026-11-30T01:00:00Z\"}\n"
        );
    }
}
