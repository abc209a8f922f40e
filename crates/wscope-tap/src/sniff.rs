//! Reads the close code as the client sent it. tungstenite reports a received reserved code
//! (1004-1006, 1015-2999, below 1000) as 1002; the spec wants the number as received. This
//! wrapper follows the frame boundaries of the incoming byte stream (header lengths only, so
//! it costs a few comparisons per read) and copies the payload of the first close frame.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The first close frame the peer sent: its status (None: no status) and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawClose {
    pub(crate) code: Option<u16>,
    pub(crate) reason: String,
}

#[derive(Debug)]
enum Scan {
    /// Collecting a frame header; `need` is its full length once known.
    Header { buf: [u8; 14], have: usize },
    Payload {
        remaining: u64,
        mask: Option<[u8; 4]>,
        offset: usize,
        close: Option<Vec<u8>>,
    },
}

#[derive(Debug)]
pub(crate) struct FrameScanner {
    scan: Scan,
    close: Option<RawClose>,
}

impl Default for FrameScanner {
    fn default() -> FrameScanner {
        FrameScanner {
            scan: Scan::Header {
                buf: [0; 14],
                have: 0,
            },
            close: None,
        }
    }
}

fn header_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < 2 {
        return None;
    }
    let ext = match buf[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if buf[1] & 0x80 != 0 { 4 } else { 0 };
    Some(2 + ext + mask)
}

impl FrameScanner {
    pub(crate) fn close(&self) -> Option<&RawClose> {
        self.close.as_ref()
    }

    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.scan {
                Scan::Header { buf, have } => {
                    let want = header_len(&buf[..*have]).unwrap_or(2);
                    let take = (want - *have).min(data.len());
                    buf[*have..*have + take].copy_from_slice(&data[..take]);
                    *have += take;
                    data = &data[take..];
                    let h = &buf[..*have];
                    match header_len(h) {
                        Some(full) if full == *have => self.start_payload(),
                        _ => {}
                    }
                }
                Scan::Payload {
                    remaining,
                    mask,
                    offset,
                    close,
                } => {
                    let take = (*remaining).min(data.len() as u64) as usize;
                    if let Some(bytes) = close {
                        for (i, b) in data[..take].iter().enumerate() {
                            let m = mask.map_or(0, |m| m[(*offset + i) % 4]);
                            if bytes.len() < 125 {
                                bytes.push(b ^ m);
                            }
                        }
                    }
                    *offset += take;
                    *remaining -= take as u64;
                    data = &data[take..];
                    if *remaining == 0 {
                        self.end_payload();
                    }
                }
            }
        }
    }

    fn start_payload(&mut self) {
        let Scan::Header { buf, have } = &self.scan else {
            return;
        };
        let h = &buf[..*have];
        let opcode = h[0] & 0x0f;
        let (len, mut at) = match h[1] & 0x7f {
            126 => (u16::from_be_bytes([h[2], h[3]]) as u64, 4),
            127 => (
                u64::from_be_bytes(h[2..10].try_into().unwrap_or([0; 8])),
                10,
            ),
            n => (n as u64, 2),
        };
        let mask = (h[1] & 0x80 != 0).then(|| {
            let m = [h[at], h[at + 1], h[at + 2], h[at + 3]];
            at += 4;
            m
        });
        let capture = opcode == 0x8 && self.close.is_none();
        self.scan = Scan::Payload {
            remaining: len,
            mask,
            offset: 0,
            close: capture.then(Vec::new),
        };
        if len == 0 {
            self.end_payload();
        }
    }

    fn end_payload(&mut self) {
        if let Scan::Payload {
            close: Some(bytes), ..
        } = &self.scan
        {
            self.close = Some(if bytes.len() >= 2 {
                RawClose {
                    code: Some(u16::from_be_bytes([bytes[0], bytes[1]])),
                    reason: String::from_utf8_lossy(&bytes[2..]).into_owned(),
                }
            } else {
                RawClose {
                    code: None,
                    reason: String::new(),
                }
            });
        }
        self.scan = Scan::Header {
            buf: [0; 14],
            have: 0,
        };
    }
}

/// A transport whose incoming WebSocket frames are scanned by a [`FrameScanner`].
pub(crate) struct CloseSniffer<S> {
    inner: S,
    pub(crate) scanner: FrameScanner,
}

impl<S> CloseSniffer<S> {
    /// `already_read`: bytes of the stream past the HTTP head, read before this wrapper.
    pub(crate) fn new(inner: S, already_read: &[u8]) -> CloseSniffer<S> {
        let mut scanner = FrameScanner::default();
        scanner.feed(already_read);
        CloseSniffer { inner, scanner }
    }

    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CloseSniffer<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            this.scanner.feed(&buf.filled()[before..]);
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CloseSniffer<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x11, 0x22, 0x33, 0x44];
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n < 65536 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    }

    #[test]
    fn finds_the_close_behind_data_frames_in_any_split() {
        let mut stream = masked_frame(0x1, b"hello");
        stream.extend(masked_frame(0x2, &vec![7u8; 70_000]));
        stream.extend(masked_frame(0x9, b""));
        let mut close = 1014u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"odd code");
        stream.extend(masked_frame(0x8, &close));
        for split in [1, 2, 3, 7, 100, 4096, stream.len()] {
            let mut s = FrameScanner::default();
            for chunk in stream.chunks(split) {
                s.feed(chunk);
            }
            let c = s.close().expect("close seen");
            assert_eq!(
                (c.code, c.reason.as_str()),
                (Some(1014), "odd code"),
                "split {split}"
            );
        }
    }

    #[test]
    fn close_without_status() {
        let mut s = FrameScanner::default();
        s.feed(&masked_frame(0x8, b""));
        assert_eq!(s.close().unwrap().code, None);
    }
}
