//! The HTTP upgrade, written and read by hand so that a refusal (any status, or no HTTP at all)
//! is seen as it came, with its headers, and the upgrade is timed on its own.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::connect::{Stream, ms_since, secs};
use super::target::{HeaderArg, Target};
use crate::sanitize::inert;

/// What the request carries besides the upgrade itself.
#[derive(Clone, Debug, Default)]
pub struct RequestOptions {
    pub headers: Vec<HeaderArg>,
    pub origin: Option<String>,
    pub subprotocols: Vec<String>,
}

/// The response headers that tell what sits in front of the server and what it agreed to.
pub const HEADERS_THAT_MATTER: &[&str] = &[
    "server",
    "via",
    "upgrade",
    "connection",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
];

/// An HTTP answer to the upgrade request. Strings are made inert: they come from the network.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Lower-case name → value (repeated headers joined with ", ").
    pub headers: BTreeMap<String, String>,
    /// The start of the body that came with the headers (useful on a refusal).
    pub body_excerpt: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The subset of headers a report shows.
    pub fn headers_that_matter(&self) -> BTreeMap<String, String> {
        self.headers
            .iter()
            .filter(|(k, _)| HEADERS_THAT_MATTER.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Why the upgrade did not give a usable WebSocket.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// An HTTP answer other than 101.
    Status,
    /// The connection closed, or stayed silent, without an HTTP answer.
    NoAnswer(String),
    /// Bytes came back that are not HTTP (shown inert).
    NotHttp(String),
    /// The TLS handshake failed.
    Tls(String),
    /// 101, but `Sec-WebSocket-Accept` is missing or wrong.
    BadAccept {
        expected: String,
        got: Option<String>,
    },
    /// 101 without `Upgrade: websocket` and `Connection: upgrade`.
    NotWebSocket,
    /// 101 with a subprotocol the client did not offer.
    BadSubprotocol(String),
}

impl Failure {
    /// A stable word for JSON and the finding's evidence.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Status => "http-status",
            Failure::NoAnswer(_) => "no-answer",
            Failure::NotHttp(_) => "not-http",
            Failure::Tls(_) => "tls",
            Failure::BadAccept { .. } => "bad-accept",
            Failure::NotWebSocket => "not-websocket",
            Failure::BadSubprotocol(_) => "bad-subprotocol",
        }
    }
}

/// The answer read, and whether it is a valid upgrade.
pub struct Outcome {
    pub response: Option<Response>,
    pub upgrade_ms: Option<f64>,
    /// On success, the bytes read past the 101's headers: the first WebSocket frames, if any.
    pub result: Result<Vec<u8>, Failure>,
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 128;
const BODY_EXCERPT: usize = 300;

pub fn build_request(target: &Target, key: &str, opts: &RequestOptions) -> String {
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: wscope/{}\r\n",
        target.path_and_query,
        target.host_header,
        env!("CARGO_PKG_VERSION"),
    );
    if let Some(origin) = &opts.origin {
        req.push_str(&format!("Origin: {origin}\r\n"));
    }
    if !opts.subprotocols.is_empty() {
        req.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            opts.subprotocols.join(", ")
        ));
    }
    for h in &opts.headers {
        req.push_str(&format!("{}: {}\r\n", h.name, h.value));
    }
    req.push_str("\r\n");
    req
}

/// Sends the upgrade request with a fresh random key and reads the answer.
pub async fn upgrade(
    stream: &mut Stream,
    target: &Target,
    opts: &RequestOptions,
    timeout: Duration,
) -> Outcome {
    let key = generate_key();
    let request = build_request(target, &key, opts);
    let start = Instant::now();
    let exchange = async {
        let unsent =
            |e: std::io::Error| Failure::NoAnswer(format!("the request could not be sent: {e}"));
        stream.write_all(request.as_bytes()).await.map_err(unsent)?;
        // TLS holds written bytes in records until flushed.
        stream.flush().await.map_err(unsent)?;
        read_head(stream).await
    };
    let read = tokio::time::timeout(timeout, exchange).await;
    let upgrade_ms = Some(ms_since(start));
    let (response, leftover) = match read {
        Ok(Ok(answer)) => answer,
        Ok(Err(failure)) => {
            return Outcome {
                response: None,
                upgrade_ms,
                result: Err(failure),
            };
        }
        Err(_) => {
            return Outcome {
                response: None,
                upgrade_ms,
                result: Err(Failure::NoAnswer(format!(
                    "no answer within {}",
                    secs(timeout)
                ))),
            };
        }
    };
    let result = check(&response, &key, &opts.subprotocols).map(|()| leftover);
    Outcome {
        response: Some(response),
        upgrade_ms,
        result,
    }
}

/// Reads until the end of the response headers.
async fn read_head(stream: &mut Stream) -> Result<(Response, Vec<u8>), Failure> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| Failure::NoAnswer(format!("read failed: {e}")))?;
        if n == 0 {
            return Err(if buf.is_empty() {
                Failure::NoAnswer("the connection was closed without an answer".to_string())
            } else {
                not_http_or_cut(&buf)
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_head(&buf)? {
            Some((response, head_len)) => {
                let mut leftover = buf.split_off(head_len);
                if response.status != 101 {
                    let excerpt =
                        String::from_utf8_lossy(&leftover[..leftover.len().min(BODY_EXCERPT)]);
                    let response = Response {
                        body_excerpt: inert(&one_line(&excerpt)).into_owned(),
                        ..response
                    };
                    leftover.clear();
                    return Ok((response, leftover));
                }
                return Ok((response, leftover));
            }
            None if buf.len() > MAX_HEAD => {
                return Err(Failure::NotHttp(format!(
                    "response headers longer than {MAX_HEAD} bytes"
                )));
            }
            None => {}
        }
    }
}

/// A body excerpt on one line: an HTML error page loses its tags, all runs of white space
/// (line breaks included) become one space.
fn one_line(body: &str) -> String {
    let mut text = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' if body.trim_start().starts_with('<') => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn not_http_or_cut(buf: &[u8]) -> Failure {
    if buf.starts_with(b"HTTP/") {
        Failure::NoAnswer(
            "the connection was closed in the middle of the response headers".to_string(),
        )
    } else {
        Failure::NotHttp(first_bytes(buf))
    }
}

/// The first bytes, printable: what a non-HTTP service says tells which one it is.
fn first_bytes(buf: &[u8]) -> String {
    let head = &buf[..buf.len().min(48)];
    if head.first().is_some_and(|b| b.is_ascii_graphic()) {
        // Text (a banner, a malformed HTTP answer): its first line, with controls escaped.
        let text = String::from_utf8_lossy(head);
        inert(text.lines().next().unwrap_or_default().trim_end()).into_owned()
    } else {
        let hex: Vec<String> = head.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("bytes {}", hex.join(" "))
    }
}

/// `Some((response, header length))` once the head is complete, `None` while more is needed.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Response, usize)>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Failure::NotHttp(format!(
                "more than {MAX_HEADERS} response headers"
            )));
        }
        Err(_) => return Err(Failure::NotHttp(first_bytes(buf))),
    };
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for h in parsed.headers.iter() {
        let value = inert(String::from_utf8_lossy(h.value).trim()).into_owned();
        map.entry(h.name.to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let response = Response {
        status: parsed.code.unwrap_or(0),
        reason: inert(parsed.reason.unwrap_or("")).into_owned(),
        headers: map,
        body_excerpt: String::new(),
    };
    Ok(Some((response, len)))
}

/// RFC 6455 4.1: what a client must check in a 101 before using the connection.
pub fn check(response: &Response, key: &str, offered: &[String]) -> Result<(), Failure> {
    if response.status != 101 {
        return Err(Failure::Status);
    }
    let has_token = |name: &str, token: &str| {
        response
            .header(name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("upgrade", "websocket") || !has_token("connection", "upgrade") {
        return Err(Failure::NotWebSocket);
    }
    let expected = derive_accept_key(key.as_bytes());
    let got = response.header("sec-websocket-accept");
    if got != Some(expected.as_str()) {
        return Err(Failure::BadAccept {
            expected,
            got: got.map(str::to_string),
        });
    }
    if let Some(chosen) = response.header("sec-websocket-protocol")
        && !offered.iter().any(|p| p == chosen)
    {
        return Err(Failure::BadSubprotocol(chosen.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn head(text: &str) -> Response {
        parse_head(text.as_bytes()).unwrap().unwrap().0
    }

    #[test]
    fn accepts_a_correct_101_and_only_that() {
        let ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(check(&head(ok), KEY, &[]), Ok(()));
        let wrong = ok.replace("s3pP", "AAAA");
        assert!(matches!(
            check(&head(&wrong), KEY, &[]),
            Err(Failure::BadAccept { .. })
        ));
        let no_upgrade = ok.replace("Upgrade: websocket\r\n", "");
        assert_eq!(
            check(&head(&no_upgrade), KEY, &[]),
            Err(Failure::NotWebSocket)
        );
        let proto = ok.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n");
        assert_eq!(
            check(&head(&proto), KEY, &[]),
            Err(Failure::BadSubprotocol("chat".into()))
        );
        assert_eq!(check(&head(&proto), KEY, &["chat".into()]), Ok(()));
        let refused = head("HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n");
        assert_eq!(check(&refused, KEY, &[]), Err(Failure::Status));
    }

    #[test]
    fn parses_heads_incrementally_and_keeps_what_follows() {
        let text =
            b"HTTP/1.1 101 Switching Protocols\r\nVia: 1.1 lb\r\nVia: 1.1 cdn\r\n\r\n\x81\x02hi";
        assert!(parse_head(&text[..20]).unwrap().is_none());
        let (r, len) = parse_head(text).unwrap().unwrap();
        assert_eq!(r.header("via"), Some("1.1 lb, 1.1 cdn"));
        assert_eq!(&text[len..], b"\x81\x02hi");
        assert!(
            matches!(parse_head(b"SSH-2.0-OpenSSH_9.2\r\n"), Err(Failure::NotHttp(s)) if s.starts_with("SSH-2.0"))
        );
        assert!(
            matches!(parse_head(b"\x15\x03\x01\x00\x02\x02\x46"), Err(Failure::NotHttp(s)) if s.starts_with("bytes 15 03"))
        );
    }

    #[test]
    fn body_excerpts_fit_on_one_line() {
        let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center>\
                    <h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>";
        assert_eq!(one_line(page), "502 Bad Gateway 502 Bad Gateway nginx");
        assert_eq!(
            one_line("Connection header did not include 'upgrade'\n"),
            "Connection header did not include 'upgrade'"
        );
        assert_eq!(one_line("a < b\tand c > d"), "a < b and c > d");
    }

    #[test]
    fn request_has_a_fresh_key_and_the_options() {
        let t = Target::parse("ws://127.0.0.1:9/chat").unwrap();
        let opts = RequestOptions {
            headers: vec![HeaderArg {
                name: "Authorization".into(),
                value: "Bearer x".into(),
            }],
            origin: Some("https://app.example".into()),
            subprotocols: vec!["v1".into(), "v2".into()],
        };
        let req = build_request(&t, KEY, &opts);
        assert!(req.starts_with("GET /chat HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"));
        for line in [
            "Origin: https://app.example\r\n",
            "Sec-WebSocket-Protocol: v1, v2\r\n",
            "Authorization: Bearer x\r\n",
            "Sec-WebSocket-Version: 13\r\n",
        ] {
            assert!(req.contains(line), "{line}");
        }
        assert!(req.ends_with("\r\n\r\n"));
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 24, "16 random bytes in base64");
    }
}
