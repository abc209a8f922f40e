//! The HTTP upgrade as seen on the wire: the client's request and the server's answer.

/// A request head larger than this is no upgrade request worth following.
pub const MAX_HEAD: usize = 16 * 1024;
/// Header values kept from the wire are cut to this many bytes.
const MAX_VALUE: usize = 512;
const MAX_HEADERS: usize = 64;

/// What a finding or the dashboard uses of an upgrade request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    /// The path without its query (a query often carries tokens).
    pub path: Option<String>,
    pub user_agent: Option<String>,
    pub forwarded_for: Option<String>,
    pub origin: Option<String>,
    /// It asks for a WebSocket: `Upgrade: websocket`, or the `Sec-WebSocket-Key` a proxy that
    /// drops hop-by-hop headers still passes on.
    pub wants_websocket: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub subprotocol: Option<String>,
}

pub enum Head<T> {
    /// The head and how many bytes it took.
    Complete(T, usize),
    Partial,
    /// Not HTTP (or over [`MAX_HEAD`]).
    Invalid,
}

/// Whether these first bytes of a client's stream start an HTTP request.
pub fn looks_like_request(data: &[u8]) -> bool {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
    ];
    METHODS
        .iter()
        .any(|m| data.starts_with(m) || (data.len() < m.len() && m.starts_with(data)))
}

/// Whether these first bytes of a stream are a TLS record (handshake or application data):
/// content type 20 to 23, version 3.x.
pub fn looks_like_tls(data: &[u8]) -> bool {
    data.len() >= 3 && (20..=23).contains(&data[0]) && data[1] == 3 && data[2] <= 4
}

pub fn parse_request(data: &[u8]) -> Head<Request> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let n = match req.parse(data) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if data.len() < MAX_HEAD => return Head::Partial,
        _ => return Head::Invalid,
    };
    let mut out = Request {
        path: req
            .path
            .map(|p| cut(p.split('?').next().unwrap_or(p).as_bytes())),
        ..Request::default()
    };
    let is_get = req.method == Some("GET");
    let mut forwarded = None;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("user-agent") {
            out.user_agent = Some(cut(h.value));
        } else if name.eq_ignore_ascii_case("x-forwarded-for") {
            out.forwarded_for = Some(cut(h.value));
        } else if name.eq_ignore_ascii_case("forwarded") {
            forwarded = forwarded_for(h.value);
        } else if name.eq_ignore_ascii_case("origin") {
            out.origin = Some(cut(h.value));
        } else if name.eq_ignore_ascii_case("upgrade") {
            out.wants_websocket |= h.value.eq_ignore_ascii_case(b"websocket");
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            out.wants_websocket = true;
        }
    }
    out.wants_websocket &= is_get;
    if out.forwarded_for.is_none() {
        out.forwarded_for = forwarded;
    }
    Head::Complete(out, n)
}

pub fn parse_response(data: &[u8]) -> Head<Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(data) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if data.len() < MAX_HEAD => return Head::Partial,
        _ => return Head::Invalid,
    };
    let subprotocol = resp
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-protocol"))
        .map(|h| cut(h.value));
    Head::Complete(
        Response {
            status: resp.code.unwrap_or(0),
            reason: resp.reason.map(|r| cut(r.as_bytes())).unwrap_or_default(),
            subprotocol,
        },
        n,
    )
}

/// The `for=` addresses of a `Forwarded` header (RFC 7239), comma-separated like
/// `X-Forwarded-For`: quotes, brackets and ports taken off.
fn forwarded_for(value: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(value);
    let addrs: Vec<String> = text
        .split(',')
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            k.trim().eq_ignore_ascii_case("for").then(|| {
                let v = v.trim().trim_matches('"');
                match v.strip_prefix('[') {
                    Some(rest) => rest.split(']').next().unwrap_or(rest).to_string(),
                    None => v.split(':').next().unwrap_or(v).to_string(),
                }
            })
        })
        .collect();
    (!addrs.is_empty()).then(|| cut(addrs.join(", ").as_bytes()))
}

/// A header value as text: invalid UTF-8 replaced, cut to [`MAX_VALUE`] bytes at a character
/// boundary. Control characters stay; they are made inert where text is printed.
fn cut(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(&value[..value.len().min(MAX_VALUE + 3)]);
    if text.len() <= MAX_VALUE {
        return text.into_owned();
    }
    let mut end = MAX_VALUE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_request_gives_what_findings_use() {
        let req = b"GET /ws?token=secret HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            User-Agent: okhttp/4.12\r\nOrigin: https://app.example\r\n\
            Forwarded: for=\"[2001:db8::1]:4711\";proto=https, for=198.51.100.7\r\n\r\nrest";
        let Head::Complete(r, n) = parse_request(req) else {
            panic!("not parsed")
        };
        assert_eq!(&req[n..], b"rest");
        assert_eq!(r.path.as_deref(), Some("/ws"));
        assert_eq!(r.user_agent.as_deref(), Some("okhttp/4.12"));
        assert_eq!(r.origin.as_deref(), Some("https://app.example"));
        assert_eq!(
            r.forwarded_for.as_deref(),
            Some("2001:db8::1, 198.51.100.7")
        );
        assert!(r.wants_websocket);
        assert!(matches!(parse_request(&req[..40]), Head::Partial));
        assert!(matches!(
            parse_request(b"\x16\x03\x01\x02\x00"),
            Head::Invalid
        ));
    }

    #[test]
    fn a_proxy_without_upgrade_headers_still_asks_for_a_websocket() {
        let req =
            b"GET /ws HTTP/1.1\r\nSec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let Head::Complete(r, _) = parse_request(req) else {
            panic!()
        };
        assert!(r.wants_websocket);
        let plain = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(matches!(
            parse_request(plain),
            Head::Complete(
                Request {
                    wants_websocket: false,
                    ..
                },
                _
            )
        ));
    }

    #[test]
    fn responses() {
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
            Sec-WebSocket-Protocol: chat.v2\r\n\r\n\x81\x01x";
        let Head::Complete(r, n) = parse_response(ok) else {
            panic!()
        };
        assert_eq!((r.status, r.subprotocol.as_deref()), (101, Some("chat.v2")));
        assert_eq!(&ok[n..], b"\x81\x01x");
        let Head::Complete(r, _) = parse_response(b"HTTP/1.1 426 Upgrade Required\r\n\r\n") else {
            panic!()
        };
        assert_eq!((r.status, r.reason.as_str()), (426, "Upgrade Required"));
    }

    #[test]
    fn first_bytes() {
        assert!(looks_like_request(b"GET / HTTP/1.1"));
        assert!(looks_like_request(b"GE"));
        assert!(!looks_like_request(b"\x81\x05hello"));
        assert!(looks_like_tls(b"\x16\x03\x01\x00\xa5"));
        assert!(looks_like_tls(b"\x17\x03\x03\x00\x20"));
        assert!(!looks_like_tls(b"GET /"));
        assert_eq!(cut(&[b'a'; 2000]).len(), MAX_VALUE);
    }
}
