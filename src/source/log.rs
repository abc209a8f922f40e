//! Reading recorded logs: JSON Lines, plain or zstd-compressed, from a file or stdin.
//!
//! A log is read in chunks of whole lines. Lines that are not valid events (not JSON, wrong
//! types, missing `type`/`ts`, over 1 MiB, invalid UTF-8, a truncated last line) are skipped
//! and counted, with the first few kept for `--verbose`, and reading goes on.
//!
//! [`read_log`] reads whole logs with chunks parsed on every core; [`super::log_index`] reads
//! them a window at a time.

use crate::event::snapshot::starts_a_snapshot;
use crate::event::{Event, ParseError, parse_event, parse_event_str};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

pub use super::parallel::{Progress, default_threads, read_chunks, read_log};

/// The first 4 bytes of a stream (fewer if it is shorter): what tells a format apart.
pub fn read_head(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match input.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(head[..n].to_vec())
}

/// Lines longer than this are skipped (feed-protocol.md)...
pub const MAX_LINE: usize = 1 << 20;
/// ...except `snapshot` lines, up to this: a server with 10,000 open connections writes a
/// snapshot of several MiB, and skipping it would lose every open connection (DESIGN.md).
pub const MAX_SNAPSHOT_LINE: usize = 256 << 20;

/// The longest line allowed, judged from its first bytes.
fn line_limit(line_start: &[u8]) -> usize {
    if starts_a_snapshot(&line_start[..line_start.len().min(SNAPSHOT_HEAD)]) {
        MAX_SNAPSHOT_LINE
    } else {
        MAX_LINE
    }
}

/// How far into a line its own `"type":"snapshot"` is looked for.
const SNAPSHOT_HEAD: usize = 256;

/// How many skipped lines are kept with their reason.
const KEEP_SKIPPED: usize = 20;
const CHUNK: usize = 1 << 20;

/// A line that was not a valid event.
#[derive(Clone, Debug, PartialEq)]
pub struct SkippedLine {
    /// 1-based line number in the log.
    pub line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Skipped {
    pub count: u64,
    /// The first few, for `--verbose`.
    pub first: Vec<SkippedLine>,
}

impl Skipped {
    fn add(&mut self, line: u64, reason: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.len() < KEEP_SKIPPED {
            self.first.push(SkippedLine {
                line,
                reason: reason(),
            });
        }
    }

    pub(super) fn merge(&mut self, other: Skipped) {
        self.count += other.count;
        for s in other.first {
            if self.first.len() < KEEP_SKIPPED {
                self.first.push(s);
            }
        }
    }
}

/// A run of whole lines and the number of its first line.
pub struct Chunk {
    pub(super) bytes: Vec<u8>,
    pub(super) span: Span,
    /// Lines already skipped while cutting this chunk (over-long ones).
    pub(super) skipped: Skipped,
}

/// Where a chunk sits in the log, enough to read it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Offset of its first byte in the (decompressed) log, after any byte-order mark.
    pub offset: u64,
    pub len: u64,
    /// 1-based number of its first line.
    pub first_line: u64,
    /// The chunk ends at end of input without a newline: its last line may be truncated.
    pub unterminated: bool,
}

impl Chunk {
    /// The bytes of `span`, read again, as a chunk to parse.
    pub(super) fn reread(bytes: Vec<u8>, span: Span) -> Chunk {
        Chunk {
            bytes,
            span,
            skipped: Skipped::default(),
        }
    }
}

/// Events parsed from one chunk, in order.
pub struct Parsed {
    pub events: Vec<Event>,
    pub skipped: Skipped,
    /// The chunk's bytes, done with: hand them back with [`LogReader::recycle`].
    pub spent: Vec<u8>,
}

/// Splits a byte stream into chunks of whole lines.
pub struct LogReader {
    input: Box<dyn Read + Send>,
    buf: Vec<u8>,
    next_line: u64,
    /// Inside a line longer than [`MAX_LINE`]: drop bytes until its newline.
    discarding: bool,
    eof: bool,
    /// zstd input: a recording killed mid-write ends in an incomplete frame, which is the end
    /// of the log (its last line may be truncated), not a failure to read it...
    compressed: bool,
    /// ...but it is said: the data after the last whole block is lost (one skipped "line").
    cut_short: bool,
    bytes_read: u64,
    /// Line-at-a-time iteration state (for replay).
    skipped: Skipped,
    /// Spent chunk buffers, reused for the next chunks.
    pool: Vec<Vec<u8>>,
    /// Offset in the log of `buf[0]` (after any byte-order mark).
    buf_start: u64,
    /// The log began with a UTF-8 byte-order mark, which offsets leave out.
    bom: bool,
    chunk_size: usize,
    /// The input is a log being written: whatever arrived is shipped at once.
    following: bool,
}

fn zstd_magic(head: &[u8]) -> bool {
    head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

impl LogReader {
    /// Opens a log; `-` is standard input. `.zst` files (or zstd data) are decompressed.
    pub fn open(path: &Path) -> io::Result<LogReader> {
        let input: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(io::stdin())
        } else {
            let meta = std::fs::metadata(path)?;
            if meta.is_dir() {
                return Err(io::Error::other("is a directory, not a log file"));
            }
            Box::new(File::open(path)?)
        };
        LogReader::from_reader(input)
    }

    /// Reads a log from any byte stream, detecting zstd by its magic number.
    pub fn from_reader(mut input: Box<dyn Read + Send>) -> io::Result<LogReader> {
        let head = read_head(&mut input)?;
        let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head.clone()).chain(input));
        let compressed = zstd_magic(&head);
        let input: Box<dyn Read + Send> = if compressed {
            Box::new(zstd::Decoder::new(chained)?)
        } else {
            chained
        };
        Ok(LogReader {
            input,
            buf: Vec::with_capacity(CHUNK + 64 * 1024),
            next_line: 1,
            discarding: false,
            eof: false,
            compressed,
            cut_short: false,
            bytes_read: 0,
            skipped: Skipped::default(),
            pool: Vec::new(),
            buf_start: 0,
            bom: false,
            chunk_size: CHUNK,
            following: false,
        })
    }

    /// Ships each read's whole lines at once instead of gathering 64 KiB: the input is a log
    /// being written ([`super::follow`]), whose reads wait for lines.
    pub fn following(mut self) -> LogReader {
        self.following = true;
        self
    }

    /// Cuts chunks of about `bytes` instead of the default 4 MiB (tests make many).
    pub fn with_chunk_size(mut self, bytes: usize) -> LogReader {
        self.chunk_size = bytes.max(1);
        self
    }

    /// The decoded byte stream, from where reading stands (the top, before any chunk).
    pub(super) fn into_input(self) -> Box<dyn Read + Send> {
        self.input
    }

    /// Whether the input is zstd-compressed.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Bytes of byte-order mark before offset 0 of the log (known once reading began).
    pub fn bom_len(&self) -> u64 {
        if self.bom { 3 } else { 0 }
    }

    /// Takes back a spent chunk buffer (see [`Parsed::spent`]) for reuse.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        if self.pool.len() < 8 {
            self.pool.push(buf);
        }
    }

    /// Bytes of (decompressed) log read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    fn fill(&mut self) -> io::Result<()> {
        let start = self.buf.len();
        self.buf.resize(start + self.chunk_size, 0);
        let mut filled = start;
        while filled < self.buf.len() {
            match self.input.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => filled += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.compressed && e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.eof = true;
                    self.cut_short = true;
                    break;
                }
                Err(e) => {
                    self.buf.truncate(filled);
                    return Err(e);
                }
            }
            // A pipe gives what it has: go on with that rather than wait for a full chunk.
            if filled > start
                && (self.following || filled - start >= (64 * 1024).min(self.chunk_size))
            {
                break;
            }
        }
        let first = self.bytes_read == 0;
        self.bytes_read += (filled - start) as u64;
        self.buf.truncate(filled);
        // A UTF-8 byte-order mark (Windows tools) would make line 1, the `hello`, invalid.
        if first && self.buf.starts_with(b"\xef\xbb\xbf") {
            self.buf.drain(..3);
            self.bom = true;
        }
        Ok(())
    }

    /// The next chunk of whole lines, or `None` at the end of the log.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        let mut skipped = Skipped::default();
        loop {
            if self.discarding {
                match memchr::memchr(b'\n', &self.buf) {
                    Some(i) => {
                        self.buf.drain(..=i);
                        self.buf_start += i as u64 + 1;
                        self.discarding = false;
                        self.next_line += 1;
                    }
                    None => self.discard_buffer(),
                }
            }
            if !self.discarding {
                if let Some(cut) = memchr::memrchr(b'\n', &self.buf) {
                    // Ship every whole line; over-long lines inside are caught by the parser.
                    // The partial line after the cut moves to a recycled buffer: fresh 4 MiB
                    // buffers cost a page fault per 4 KiB.
                    let mut rest = self.pool.pop().unwrap_or_default();
                    rest.extend_from_slice(&self.buf[cut + 1..]);
                    self.buf.truncate(cut + 1);
                    let bytes = std::mem::replace(&mut self.buf, rest);
                    let span = self.span_of(&bytes, false);
                    self.next_line += memchr::memchr_iter(b'\n', &bytes).count() as u64;
                    return Ok(Some(Chunk {
                        bytes,
                        span,
                        skipped,
                    }));
                }
                let limit = line_limit(&self.buf);
                if self.buf.len() > limit {
                    // One line over the limit: skip it whole, whatever its length.
                    skipped.add(self.next_line, || format!("line longer than {limit} bytes"));
                    self.discarding = true;
                    self.discard_buffer();
                    continue;
                }
            }
            if self.eof {
                if std::mem::take(&mut self.cut_short) {
                    skipped.add(self.next_line, || {
                        "the compressed log ends inside a zstd frame (cut short): what followed \
                         is lost"
                            .to_string()
                    });
                }
                if self.discarding || self.buf.is_empty() {
                    let span = self.span_of(&[], false);
                    return Ok((skipped.count > 0).then(|| Chunk {
                        bytes: Vec::new(),
                        span,
                        skipped: std::mem::take(&mut skipped),
                    }));
                }
                let bytes = std::mem::take(&mut self.buf);
                let span = self.span_of(&bytes, true);
                self.next_line += 1;
                return Ok(Some(Chunk {
                    bytes,
                    span,
                    skipped,
                }));
            }
            self.fill()?;
        }
    }

    /// Lines skipped so far.
    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    fn discard_buffer(&mut self) {
        self.buf_start += self.buf.len() as u64;
        self.buf.clear();
    }

    /// The span of `bytes`, cut from the front of the buffer; moves the buffer's offset past it.
    fn span_of(&mut self, bytes: &[u8], unterminated: bool) -> Span {
        let span = Span {
            offset: self.buf_start,
            len: bytes.len() as u64,
            first_line: self.next_line,
            unterminated,
        };
        self.buf_start += span.len;
        span
    }
}

/// Parses every line of a chunk.
pub fn parse_chunk(chunk: Chunk) -> Parsed {
    let capacity = chunk.bytes.len() / 96;
    parse_chunk_into(chunk, Vec::with_capacity(capacity))
}

/// [`parse_chunk`] into a reused vector (cleared first).
pub(super) fn parse_chunk_into(chunk: Chunk, mut events: Vec<Event>) -> Parsed {
    events.clear();
    // Lines of a busy log are about 100 bytes: growing the vector by doubling would copy it
    // and fault in fresh pages several times per chunk.
    events.reserve(chunk.bytes.len() / 64);
    let mut skipped = chunk.skipped;
    // The last line of an unterminated chunk is the log's last, which may be cut short.
    let unterminated = chunk.span.unterminated;
    let mut handle =
        |i: usize, line: &[u8], last: bool, parse: &dyn Fn() -> Result<Event, ParseError>| {
            let line_no = chunk.span.first_line + i as u64;
            if line.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            if line.len() > MAX_LINE && line.len() > line_limit(line) {
                let limit = line_limit(line);
                skipped.add(line_no, || format!("line longer than {limit} bytes"));
                return;
            }
            match parse() {
                Ok(ev) => events.push(ev),
                Err(e) => skipped.add(line_no, || describe(&e, last && unterminated)),
            }
        };
    // One UTF-8 check for the whole chunk (cheap) spares serde_json checking every string;
    // only a chunk holding invalid bytes is checked line by line.
    match std::str::from_utf8(&chunk.bytes) {
        Ok(text) => {
            let (mut start, mut i) = (0, 0);
            while start < text.len() {
                let newline = memchr::memchr(b'\n', &text.as_bytes()[start..]);
                let end = newline.map_or(text.len(), |n| start + n);
                // Cut at ASCII newlines, so on char boundaries.
                let line = &text[start..end];
                let line = line.strip_suffix('\r').unwrap_or(line);
                handle(i, line.as_bytes(), newline.is_none(), &|| {
                    parse_event_str(line)
                });
                (start, i) = (end + 1, i + 1);
            }
        }
        Err(_) => {
            // A chunk ends with its last line's newline unless unterminated: the piece after
            // that newline is empty, not a line.
            let mut lines = chunk.bytes.split(|&b| b == b'\n').peekable();
            let mut i = 0;
            while let Some(line) = lines.next() {
                let last = lines.peek().is_none();
                if last && !unterminated {
                    break;
                }
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                handle(i, line, last, &|| parse_event(line));
                i += 1;
            }
        }
    }
    let mut spent = chunk.bytes;
    spent.clear();
    Parsed {
        events,
        skipped,
        spent,
    }
}

fn describe(e: &ParseError, last: bool) -> String {
    if last {
        format!("truncated last line ({e})")
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> (Vec<Event>, Skipped) {
        let reader = LogReader::from_reader(Box::new(io::Cursor::new(bytes.to_vec()))).unwrap();
        let mut events = Vec::new();
        let skipped = read_log(reader, &mut |e| events.push(e.clone()), &mut |_| {}).unwrap();
        (events, skipped)
    }

    const OK: &str = r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c18"}"#;

    #[test]
    fn skips_and_counts_bad_lines_with_numbers() {
        let mut log = format!("{OK}\nnot json\n\n{OK}\n{{\"type\":\"ping\"}}\n").into_bytes();
        log.extend_from_slice(
            b"{\"type\":\"ping\",\"ts\":\"2026-11-30T01:00:30Z\",\"conn\":\"\xff\xfe\"}\n",
        );
        log.extend_from_slice(format!("{OK}\n{{\"type\":\"pi").as_bytes());
        let (events, skipped) = read(&log);
        assert_eq!(events.len(), 3);
        assert_eq!(skipped.count, 4);
        let lines: Vec<u64> = skipped.first.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![2, 5, 6, 8]);
        assert!(
            skipped.first[3].reason.contains("truncated"),
            "{:?}",
            skipped.first[3]
        );
    }

    #[test]
    fn over_long_lines_are_skipped_and_reading_goes_on() {
        let long = format!(
            "{{\"type\":\"x\",\"pad\":\"{}\"}}",
            "a".repeat(3 * MAX_LINE)
        );
        let log = format!("{OK}\n{long}\n{OK}\n{long}");
        let (events, skipped) = read(log.as_bytes());
        assert_eq!(events.len(), 2);
        assert_eq!(skipped.count, 2);
        assert_eq!(skipped.first[0].line, 2);
    }

    #[test]
    fn only_a_top_level_snapshot_lifts_the_line_limit() {
        let pad = "a".repeat(3 * MAX_LINE);
        let nested = [
            format!(r#"{{"type":"error","x":{{"type":"snapshot"}},"message":"{pad}"}}"#),
            format!(r#"{{"message":"{{\"type\":\"snapshot\"}}","type":"error","pad":"{pad}"}}"#),
            format!(r#"[{{"type":"snapshot"}},"{pad}"]"#),
            format!(r#"{{"a":["type","snapshot"],"message":"{pad}"}}"#),
        ];
        for line in &nested {
            assert_eq!(line_limit(line.as_bytes()), MAX_LINE, "{}", &line[..60]);
            let (events, skipped) = read(format!("{OK}\n{line}\n{OK}\n").as_bytes());
            assert_eq!((events.len(), skipped.count), (2, 1));
            assert!(
                skipped.first[0].reason.contains("longer"),
                "{:?}",
                skipped.first
            );
        }
        for top in [
            r#"{"type":"snapshot","ts":"2026-11-30T01:00:00Z"}"#,
            r#" { "ts" : "2026-11-30T01:00:00.123456789Z", "server":"eu-1", "type" : "snapshot" }"#,
        ] {
            assert_eq!(line_limit(top.as_bytes()), MAX_SNAPSHOT_LINE, "{top}");
        }
    }

    #[test]
    fn big_snapshots_are_kept() {
        let conns: Vec<String> = (0..40_000)
            .map(|i| format!(r#"{{"conn":"c{i}","opened":"2026-11-30T00:41:02Z","remote":"203.0.113.7:51234"}}"#))
            .collect();
        let snap = format!(
            r#"{{"type":"snapshot","ts":"2026-11-30T01:00:00Z","connections":[{}],"timers":[]}}"#,
            conns.join(",")
        );
        assert!(snap.len() > 2 * MAX_LINE);
        let (events, skipped) = read(format!("{OK}\n{snap}\n{OK}\n").as_bytes());
        assert_eq!((events.len(), skipped.count), (3, 0));
        match &events[1].kind {
            crate::event::EventKind::Snapshot(s) => assert_eq!(s.conn_count(), 40_000),
            other => panic!("{other:?}"),
        }
    }

    /// What a recorder killed mid-write leaves: flushed blocks, then a frame never finished.
    #[test]
    fn reads_a_zstd_log_cut_short() {
        use std::io::Write;
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        for _ in 0..1000 {
            writeln!(enc, "{OK}").unwrap();
        }
        enc.flush().unwrap();
        let flushed = enc.get_ref().len();
        write!(enc, "{OK}\n{{\"type\":\"pi").unwrap();
        enc.flush().unwrap();
        let packed = enc.get_ref().clone();
        let (events, skipped) = read(&packed[..flushed]);
        assert_eq!((events.len(), skipped.count), (1000, 1));
        assert!(skipped.first[0].reason.contains("cut short"), "{skipped:?}");
        let (events, skipped) = read(&packed);
        assert_eq!((events.len(), skipped.count), (1001, 2));
        assert!(skipped.first.iter().all(|s| s.line == 1002), "{skipped:?}");
        assert!(skipped.first.iter().any(|s| s.reason.contains("truncated")));
        // Cut inside its first block: no event, and it says so rather than nothing.
        let (events, skipped) = read(&packed[..flushed / 2]);
        assert_eq!((events.len(), skipped.count), (0, 1));
        assert!(skipped.first[0].reason.contains("cut short"), "{skipped:?}");
        // A finished log is not cut short.
        let whole = zstd::encode_all(format!("{OK}\n").as_bytes(), 3).unwrap();
        assert_eq!(read(&whole).1.count, 0);
    }

    /// A byte-order mark (Windows editors, PowerShell) must not cost the `hello` of line 1.
    #[test]
    fn a_byte_order_mark_is_not_part_of_line_one() {
        let log = format!("\u{feff}{OK}\n{OK}\n");
        let (events, skipped) = read(log.as_bytes());
        assert_eq!((events.len(), skipped.count), (2, 0));
        let packed = zstd::encode_all(log.as_bytes(), 3).unwrap();
        assert_eq!(read(&packed).0.len(), 2);
    }

    #[test]
    fn reads_zstd() {
        let log = format!("{OK}\n{OK}\n");
        let packed = zstd::encode_all(log.as_bytes(), 3).unwrap();
        let (events, skipped) = read(&packed);
        assert_eq!((events.len(), skipped.count), (2, 0));
    }
}
