//! What the user asked to probe: the `ws://` / `wss://` URL and the extra request headers,
//! checked before any connection is made so that bad input is a one-line error.

use tokio_tungstenite::tungstenite::http::Uri;

/// A parsed `ws://` or `wss://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL as given, for reports.
    pub url: String,
    pub tls: bool,
    /// Host name or IP address, without the brackets of an IPv6 literal.
    pub host: String,
    pub port: u16,
    /// Path and query of the request line; `/` when the URL has none.
    pub path_and_query: String,
    /// The value of the `Host` header: the host, and the port when it is not the default.
    pub host_header: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, super::ProbeError> {
        Target::parse_url(url).map_err(super::ProbeError::Url)
    }

    fn parse_url(url: &str) -> Result<Target, String> {
        let uri: Uri = url.parse().map_err(|e| {
            format!("invalid URL {url:?}: {e} (expected ws://host[:port]/path or wss://…)")
        })?;
        let tls = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            Some(other) => {
                return Err(format!(
                    "invalid URL {url:?}: scheme {other:?} is not ws or wss (use ws:// for http, wss:// for https)"
                ));
            }
            None => {
                return Err(format!(
                    "invalid URL {url:?}: expected ws://host[:port]/path or wss://…"
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("invalid URL {url:?}: no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "invalid URL {url:?}: user credentials in the URL are not supported (use --header Authorization:…)"
            ));
        }
        let raw_host = authority.host();
        let host = raw_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(format!("invalid URL {url:?}: no host"));
        }
        let default_port = if tls { 443 } else { 80 };
        // `http::Uri` accepts any digits as a port; a port must fit in 1..=65535.
        let port_text = authority
            .as_str()
            .strip_prefix(raw_host)
            .and_then(|rest| rest.strip_prefix(':'));
        let port = match port_text {
            None => default_port,
            Some(text) => match text.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(format!("invalid URL {url:?}: bad port {text:?}")),
            },
        };
        let host_header = if port == default_port {
            raw_host.to_string()
        } else {
            format!("{raw_host}:{port}")
        };
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        let path_and_query = if path_and_query.starts_with('/') {
            path_and_query.to_string()
        } else {
            format!("/{path_and_query}")
        };
        Ok(Target {
            url: url.to_string(),
            tls,
            host,
            port,
            path_and_query,
            host_header,
        })
    }
}

/// One `--header K:V`: a header name that is an HTTP token, and a value without line breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderArg {
    pub name: String,
    pub value: String,
}

/// Headers the probe writes itself; letting the user set them would break the handshake.
const RESERVED: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "content-length",
    "transfer-encoding",
];

pub fn parse_header_arg(s: &str) -> Result<HeaderArg, String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not NAME:VALUE (for example Authorization:Bearer abc)"))?;
    let name = name.trim();
    let value = value.trim();
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_token_char) {
        return Err(format!("{name:?} is not a valid header name"));
    }
    if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return Err(format!("the value of header {name} contains a line break"));
    }
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "header {name} is set by the probe itself (use --origin and --subprotocol for those)"
        ));
    }
    Ok(HeaderArg {
        name: name.to_string(),
        value: value.to_string(),
    })
}

/// A value for `Origin` or `Sec-WebSocket-Protocol`: one line, non-empty.
pub fn parse_header_value(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("must not be empty".to_string());
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(format!("{s:?} contains control characters"));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ws_and_wss_urls() {
        let t = Target::parse("ws://127.0.0.1:8080/chat?room=1").unwrap();
        assert!(!t.tls);
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8080));
        assert_eq!(t.path_and_query, "/chat?room=1");
        assert_eq!(t.host_header, "127.0.0.1:8080");

        let t = Target::parse("wss://example.com").unwrap();
        assert!(t.tls);
        assert_eq!((t.port, t.path_and_query.as_str()), (443, "/"));
        assert_eq!(t.host_header, "example.com");

        let t = Target::parse("ws://[::1]:9000/ws").unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(t.host_header, "[::1]:9000");
    }

    #[test]
    fn rejects_what_is_not_a_websocket_url() {
        for bad in [
            "",
            "not a url",
            "http://example.com/",
            "example.com/ws",
            "ws://",
            "ws://user:pw@host/",
            "ws://host:0/",
            "ws://host:99999/",
        ] {
            let err = Target::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid URL"), "{bad}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn header_args() {
        let h = parse_header_arg("Authorization: Bearer a:b").unwrap();
        assert_eq!(
            (h.name.as_str(), h.value.as_str()),
            ("Authorization", "Bearer a:b")
        );
        assert!(parse_header_arg("no-colon").is_err());
        assert!(parse_header_arg("bad name:x").is_err());
        assert!(parse_header_arg(":x").is_err());
        assert!(parse_header_arg("X-A:b\r\nEvil: 1").is_err());
        assert!(parse_header_arg("Upgrade: h2c").is_err());
        assert!(parse_header_value("").is_err());
        assert_eq!(
            parse_header_value(" https://a.example ").unwrap(),
            "https://a.example"
        );
    }
}
