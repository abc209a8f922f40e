//! The HTTP side of an upgrade, read by the tap itself so that a refused request gets a real
//! status (tungstenite would drop it silently) and an `upgrade_rejected` event.

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Upper bound of a request head; browsers send well under 8 KiB.
const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// The request line and headers of an upgrade request.
#[derive(Clone, Debug, Default)]
pub struct RequestInfo {
    pub method: String,
    /// The request target as sent: path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl RequestInfo {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The value of `name` in the query string, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl RequestInfo {
    /// Reads one HTTP request head from `stream` (at most 16 KiB): for a server that routes
    /// requests itself before handing a WebSocket upgrade to [`Tap::accept_with`]. Returns
    /// it and the bytes read past its end.
    ///
    /// [`Tap::accept_with`]: crate::Tap::accept_with
    pub async fn read_from<S: AsyncRead + Unpin>(
        stream: &mut S,
    ) -> io::Result<(RequestInfo, Vec<u8>)> {
        read_head(stream).await.map_err(|e| match e {
            HeadError::Io(e) => e,
            HeadError::Malformed(why) => io::Error::new(io::ErrorKind::InvalidData, why),
            HeadError::Eof => io::Error::new(io::ErrorKind::UnexpectedEof, "no request head"),
        })
    }
}

/// Why a request head could not be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    Io(io::Error),
    /// Not HTTP, or too large: answer 400.
    Malformed(&'static str),
    /// The peer closed before sending a whole head.
    Eof,
}

/// Reads one request head. Returns it and any bytes read past its end (a client may send its
/// first frames right behind the request).
pub(crate) async fn read_head<S: AsyncRead + Unpin>(
    s: &mut S,
) -> Result<(RequestInfo, Vec<u8>), HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = s.read(&mut chunk).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Eof);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let info = RequestInfo {
                    method: req.method.unwrap_or("").to_string(),
                    target: req.path.unwrap_or("").to_string(),
                    headers: req
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                };
                return Ok((info, buf[len..].to_vec()));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(HeadError::Malformed("request head too large"));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HeadError::Malformed("too many headers"));
            }
            Err(_) => return Err(HeadError::Malformed("not an HTTP request")),
        }
    }
}

fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Checks a WebSocket upgrade request (RFC 6455 §4.2.1). `Err((status, reason))` otherwise.
pub(crate) fn check_upgrade(req: &RequestInfo) -> Result<String, (u16, &'static str)> {
    if req.method != "GET" {
        return Err((405, "method must be GET"));
    }
    if !has_token(req.header("Upgrade"), "websocket") {
        // What `ws` and Python `websockets` answer to a plain GET, e.g. through a proxy that
        // dropped the Upgrade header.
        return Err((426, "missing Upgrade: websocket"));
    }
    if !has_token(req.header("Connection"), "upgrade") {
        return Err((400, "missing Connection: Upgrade"));
    }
    if req.header("Sec-WebSocket-Version").map(str::trim) != Some("13") {
        return Err((426, "unsupported Sec-WebSocket-Version"));
    }
    let Some(key) = req.header("Sec-WebSocket-Key").map(str::trim) else {
        return Err((400, "missing Sec-WebSocket-Key"));
    };
    if !valid_key(key) {
        return Err((400, "invalid Sec-WebSocket-Key"));
    }
    Ok(key.to_string())
}

/// A key is the base64 of 16 bytes: 22 characters of the alphabet and `==`.
fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 24
        && b[22..] == *b"=="
        && b[..22]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
        // The last of the 22 characters carries only 2 meaningful bits.
        && b"AQgw".contains(&b[21])
}

pub(crate) fn status_text(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
}

/// Writes a complete response with a text body and closes the write side.
pub(crate) async fn respond<S: AsyncWrite + Unpin>(
    s: &mut S,
    status: u16,
    extra_headers: &[(&str, &str)],
    content_type: &str,
    body: &str,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        status_text(status),
        body.len()
    );
    for (k, v) in extra_headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await?;
    s.write_all(body.as_bytes()).await?;
    s.flush().await?;
    s.shutdown().await
}

/// Writes the `101 Switching Protocols` answer to a checked request.
pub(crate) async fn accept_upgrade<S: AsyncWrite + Unpin>(
    s: &mut S,
    key: &str,
    subprotocol: Option<&str>,
    headers: &[(String, String)],
) -> io::Result<()> {
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    );
    if let Some(p) = subprotocol {
        head.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    for (k, v) in headers {
        if !k.is_empty() && !k.contains(['\r', '\n', ':']) && !v.contains(['\r', '\n']) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await?;
    s.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!valid_key("dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!valid_key("not a key at all, no....."));
    }

    #[test]
    fn query() {
        let r = RequestInfo {
            target: "/feed?x=1&token=a%2Bb%3D&y".into(),
            ..Default::default()
        };
        assert_eq!(r.query_param("token").as_deref(), Some("a+b="));
        assert_eq!(r.path(), "/feed");
        assert_eq!(r.query_param("z"), None);
        let odd = RequestInfo {
            target: "/?token=%4".into(),
            ..Default::default()
        };
        assert_eq!(odd.query_param("token").as_deref(), Some("%4"));
    }
}
