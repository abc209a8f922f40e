//! WebSocket frames out of one direction of a reassembled TCP stream.
//!
//! Payloads are skipped, not buffered: only what a finding needs is kept (a control frame's
//! payload, at most 125 bytes: the close code and reason, the ping data to match a pong; and a
//! data frame's first bytes, enough to tell an Engine.IO heartbeat). Memory per direction is
//! therefore a few hundred bytes whatever the traffic.
//!
//! A stream seen from its middle (a capture started while the connection was open, or bytes
//! the capture lost) has no known frame boundary: the parser looks for one, accepting a
//! position only when what it finds there is a plausible header whose frame ends exactly where
//! the data does or is followed by another plausible header.

use std::io::Cursor;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// The longest frame header: 2 bytes, a 64-bit length, a mask.
const MAX_HEADER: usize = 14;
/// Data frames keep this many payload bytes (an Engine.IO heartbeat is `2` or `3`).
const DATA_HEAD: usize = 2;
/// A resynchronised frame longer than this is taken for noise: real frames of a terabyte do
/// not occur, random bytes that read as such do.
const MAX_PLAUSIBLE_LEN: u64 = 1 << 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

/// The payload bytes kept of a frame, inline: no allocation per frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    bytes: [u8; 125],
    len: u8,
}

impl Default for Head {
    fn default() -> Head {
        Head {
            bytes: [0; 125],
            len: 0,
        }
    }
}

impl Head {
    fn extend(&mut self, data: &[u8]) {
        let at = self.len as usize;
        let n = data.len().min(self.bytes.len() - at);
        self.bytes[at..at + n].copy_from_slice(&data[..n]);
        self.len += n as u8;
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    fn len(&self) -> usize {
        self.len as usize
    }
}

impl std::ops::Deref for Head {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// One whole frame, as far as the parser kept it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: Kind,
    pub fin: bool,
    /// Payload length on the wire.
    pub len: u64,
    /// The payload, unmasked: whole for control frames, the first bytes for data frames.
    pub head: Head,
    /// Some payload bytes were lost in a capture gap: `head` is not to be trusted.
    pub damaged: bool,
}

struct Current {
    kind: Kind,
    fin: bool,
    len: u64,
    remaining: u64,
    mask: Option<[u8; 4]>,
    keep: usize,
    head: Head,
    damaged: bool,
}

/// Frames of one direction. `masked` is what RFC 6455 requires of the sender: client frames
/// are masked, server frames are not.
pub struct FrameParser {
    masked: bool,
    synced: bool,
    header: [u8; MAX_HEADER],
    header_len: usize,
    current: Option<Current>,
    /// Bytes passed over while looking for a frame boundary.
    pub unsynced_bytes: u64,
}

impl FrameParser {
    /// A parser at a known frame boundary (right after the upgrade).
    pub fn new(masked: bool) -> FrameParser {
        FrameParser {
            masked,
            synced: true,
            header: [0; MAX_HEADER],
            header_len: 0,
            current: None,
            unsynced_bytes: 0,
        }
    }

    /// A parser that must first find a frame boundary.
    pub fn unsynced(masked: bool) -> FrameParser {
        FrameParser {
            synced: false,
            ..FrameParser::new(masked)
        }
    }

    /// Bytes that follow the previous ones in the stream.
    pub fn push(&mut self, mut data: &[u8], out: &mut impl FnMut(Frame)) {
        while !data.is_empty() {
            if !self.synced {
                match self.find_boundary(data) {
                    Some(at) => {
                        self.unsynced_bytes += at as u64;
                        data = &data[at..];
                        self.synced = true;
                    }
                    None => {
                        self.unsynced_bytes += data.len() as u64;
                        return;
                    }
                }
            }
            if let Some(cur) = &mut self.current {
                let take = cur.remaining.min(data.len() as u64) as usize;
                if cur.head.len() < cur.keep {
                    let room = cur.keep - cur.head.len();
                    cur.head.extend(&data[..take.min(room)]);
                }
                cur.remaining -= take as u64;
                data = &data[take..];
                if cur.remaining == 0 {
                    self.finish_frame(out);
                }
                continue;
            }
            // A header, perhaps split over several pushes.
            let take = (MAX_HEADER - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&data[..take]);
            let have = self.header_len + take;
            match parse_header(&self.header[..have], self.masked) {
                Parsed::Incomplete => {
                    self.header_len = have;
                    data = &data[take..];
                }
                Parsed::Invalid => {
                    // Not a frame: the stream is not where we thought. Look again from the
                    // byte after the one we took for a header.
                    let used_before = self.header_len;
                    self.header_len = 0;
                    self.synced = false;
                    self.unsynced_bytes += used_before as u64;
                    if used_before == 0 {
                        self.unsynced_bytes += 1;
                        data = &data[1..];
                    }
                }
                Parsed::Header(h) => {
                    let from_this_push = h.size - self.header_len;
                    self.header_len = 0;
                    data = &data[from_this_push..];
                    let keep = match h.kind {
                        Kind::Close | Kind::Ping | Kind::Pong => h.len as usize,
                        _ => DATA_HEAD.min(h.len as usize),
                    };
                    self.current = Some(Current {
                        kind: h.kind,
                        fin: h.fin,
                        len: h.len,
                        remaining: h.len,
                        mask: h.mask,
                        keep,
                        head: Head::default(),
                        damaged: false,
                    });
                    if h.len == 0 {
                        self.finish_frame(out);
                    }
                }
            }
        }
    }

    /// `len` bytes of the stream were lost. Inside a payload the frame goes on (its kept bytes
    /// are marked damaged); anywhere else the boundary is lost and looked for again.
    pub fn gap(&mut self, len: u64) {
        if self.synced
            && let Some(cur) = &mut self.current
            && cur.remaining > len
        {
            cur.remaining -= len;
            cur.damaged = true;
            // Kept bytes after the hole would be at the wrong place.
            cur.keep = cur.head.len();
            return;
        }
        self.current = None;
        self.header_len = 0;
        self.synced = false;
    }

    fn finish_frame(&mut self, out: &mut impl FnMut(Frame)) {
        let Some(mut cur) = self.current.take() else {
            return;
        };
        if let Some(mask) = cur.mask {
            // Kept bytes start at payload offset 0, so the mask lines up.
            let len = cur.head.len();
            for (i, b) in cur.head.bytes[..len].iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        out(Frame {
            kind: cur.kind,
            fin: cur.fin,
            len: cur.len,
            head: cur.head,
            damaged: cur.damaged,
        });
    }

    /// The first offset in `data` where a frame plausibly starts.
    fn find_boundary(&self, data: &[u8]) -> Option<usize> {
        (0..data.len()).find(|&at| plausible_at(data, at, self.masked))
    }
}

/// Whether a segment's payload plausibly starts with a frame masked (a client's) or not (a
/// server's): what tells the two ends of a connection joined midway apart.
pub(super) fn starts_frame(data: &[u8], masked: bool) -> bool {
    plausible_at(data, 0, masked)
}

/// A plausible header at `at`, whose frame ends where the data does or is followed by
/// another plausible header; a frame that runs past the data is believed only at its start,
/// where writes of whole frames usually begin.
fn plausible_at(data: &[u8], at: usize, masked: bool) -> bool {
    let Parsed::Header(h) = parse_header(&data[at..], masked) else {
        return false;
    };
    if h.len > MAX_PLAUSIBLE_LEN {
        return false;
    }
    let end = at as u64 + h.size as u64 + h.len;
    let avail = data.len() as u64;
    if end == avail {
        return true;
    }
    if end < avail {
        return matches!(
            parse_header(&data[end as usize..], masked),
            Parsed::Header(_) | Parsed::Incomplete
        );
    }
    at == 0
}

struct Header {
    kind: Kind,
    fin: bool,
    len: u64,
    mask: Option<[u8; 4]>,
    size: usize,
}

enum Parsed {
    Header(Header),
    Incomplete,
    Invalid,
}

/// Reads a header with tungstenite, then checks what RFC 6455 requires of it beyond its
/// layout: known opcode, no reserved bits but RSV1 (permessage-deflate) on data frames, short
/// and final control frames, masking by direction, minimal length encoding.
fn parse_header(bytes: &[u8], masked: bool) -> Parsed {
    if bytes.len() >= 2 {
        // Cheap checks first: most positions tried while resynchronising fail here.
        let (b0, b1) = (bytes[0], bytes[1]);
        let opcode = b0 & 0x0f;
        let control = opcode >= 8;
        if b0 & 0x30 != 0
            || !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10)
            || (b1 & 0x80 != 0) != masked
            || (control && (b0 & 0x80 == 0 || b0 & 0x40 != 0 || b1 & 0x7f > 125))
        {
            return Parsed::Invalid;
        }
    }
    let mut cursor = Cursor::new(bytes);
    let (header, len) = match FrameHeader::parse(&mut cursor) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Parsed::Incomplete,
        Err(_) => return Parsed::Invalid,
    };
    let size = cursor.position() as usize;
    let minimal = match bytes[1] & 0x7f {
        126 => len >= 126,
        127 => len > u16::MAX as u64,
        _ => true,
    };
    let kind = match header.opcode {
        OpCode::Data(Data::Continue) => Kind::Continuation,
        OpCode::Data(Data::Text) => Kind::Text,
        OpCode::Data(Data::Binary) => Kind::Binary,
        OpCode::Control(Control::Close) => Kind::Close,
        OpCode::Control(Control::Ping) => Kind::Ping,
        OpCode::Control(Control::Pong) => Kind::Pong,
        _ => return Parsed::Invalid,
    };
    if !minimal {
        return Parsed::Invalid;
    }
    Parsed::Header(Header {
        kind,
        fin: header.is_final,
        len,
        mask: header.mask,
        size,
    })
}

/// A close frame's status code and reason: no payload is no status (1005 to the reader); a
/// one-byte payload is malformed and also has none.
pub fn close_payload(head: &[u8]) -> (Option<u16>, String) {
    if head.len() < 2 {
        return (None, String::new());
    }
    let code = u16::from_be_bytes([head[0], head[1]]);
    (Some(code), String::from_utf8_lossy(&head[2..]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::super::synth::frame;
    use super::*;

    fn frames_of(p: &mut FrameParser, pieces: &[&[u8]]) -> Vec<Frame> {
        let mut got = Vec::new();
        for piece in pieces {
            p.push(piece, &mut |f| got.push(f));
        }
        got
    }

    #[test]
    fn every_length_encoding_masked_and_split_anywhere() {
        let mask = Some([1, 2, 3, 4]);
        let mut stream = Vec::new();
        stream.extend(frame(1, true, mask, b"2"));
        stream.extend(frame(2, true, mask, &vec![7; 300]));
        stream.extend(frame(2, true, mask, &vec![7; 70_000]));
        let mut close = 1001u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"going away");
        stream.extend(frame(8, true, mask, &close));
        for cut in [1, 2, 3, 5, 13, 14, 100, 7000] {
            let mut p = FrameParser::new(true);
            let pieces: Vec<&[u8]> = stream.chunks(cut).collect();
            let got = frames_of(&mut p, &pieces);
            let lens: Vec<u64> = got.iter().map(|f| f.len).collect();
            assert_eq!(lens, [1, 300, 70_000, 12], "cut {cut}");
            assert_eq!(got[0].head.as_slice(), b"2");
            assert_eq!(got[3].kind, Kind::Close);
            assert_eq!(
                close_payload(&got[3].head),
                (Some(1001), "going away".into())
            );
            assert_eq!(p.unsynced_bytes, 0);
        }
    }

    #[test]
    fn finds_the_boundary_in_the_middle_of_a_stream() {
        let mut stream = frame(2, true, None, &[0x81; 40]); // payload that looks like headers
        let start = stream.len();
        stream.extend(frame(9, true, None, b"hb"));
        stream.extend(frame(1, true, None, b"hello"));
        let mut p = FrameParser::unsynced(false);
        // Joined mid-payload, 10 bytes into the first frame.
        let got = frames_of(&mut p, &[&stream[10..]]);
        let kinds: Vec<Kind> = got.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [Kind::Ping, Kind::Text]);
        assert_eq!(p.unsynced_bytes, (start - 10) as u64);
    }

    #[test]
    fn a_gap_inside_a_payload_keeps_the_boundary() {
        let a = frame(2, true, None, &[0; 1000]);
        let b = frame(8, true, None, &[0x03, 0xe8]);
        let mut p = FrameParser::new(false);
        let mut got = Vec::new();
        p.push(&a[..100], &mut |f| got.push(f));
        p.gap(500);
        p.push(&a[600..], &mut |f| got.push(f));
        p.push(&b, &mut |f| got.push(f));
        assert_eq!(got.len(), 2);
        assert_eq!(close_payload(&got[1].head).0, Some(1000));
        // A gap over a header: the next boundary is found again.
        p.gap(3);
        p.push(&frame(9, true, None, b""), &mut |f| got.push(f));
        assert_eq!(got.last().map(|f| f.kind), Some(Kind::Ping));
    }

    #[test]
    fn wrong_masking_and_reserved_bits_are_no_frames() {
        for bytes in [
            frame(1, true, None, b"x"),               // a client frame must be masked
            vec![0x83, 0x80, 0, 0, 0, 0],             // opcode 3 is reserved
            vec![0x09, 0x80, 0, 0, 0, 0],             // a ping must be final
            vec![0xa1, 0x80, 0, 0, 0, 0],             // RSV2
            vec![0x82, 0xfe, 0x00, 0x05, 1, 2, 3, 4], // 16-bit length for 5 bytes
        ] {
            let mut p = FrameParser::new(true);
            assert!(frames_of(&mut p, &[&bytes]).is_empty(), "{bytes:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_taken_without_panic(data in proptest::collection::vec(0u8..=255, 0..600),
                                             cut in 1usize..50, masked: bool) {
            let mut p = FrameParser::unsynced(masked);
            for piece in data.chunks(cut) {
                p.push(piece, &mut |f| assert!(f.head.len() <= 125));
                if piece.len() % 7 == 3 {
                    p.gap(piece.len() as u64);
                }
            }
        }
    }
}
