//! Names of WebSocket close codes (RFC 6455 §7.4 and the IANA registry).

/// The name of a close code, for people: `1006` → "Abnormal Closure".
pub fn close_code_name(code: u16) -> &'static str {
    match code {
        1000 => "Normal Closure",
        1001 => "Going Away",
        1002 => "Protocol Error",
        1003 => "Unsupported Data",
        1004 => "Reserved",
        1005 => "No Status Received",
        1006 => "Abnormal Closure",
        1007 => "Invalid Payload Data",
        1008 => "Policy Violation",
        1009 => "Message Too Big",
        1010 => "Mandatory Extension",
        1011 => "Internal Error",
        1012 => "Service Restart",
        1013 => "Try Again Later",
        1014 => "Bad Gateway",
        1015 => "TLS Handshake Failure",
        3000..=3999 => "Registered (library/framework)",
        4000..=4999 => "Application",
        _ => "Invalid/Unassigned",
    }
}

/// The same names, short and lowercase, for narrow bar labels: `1006` → "abnormal".
pub fn short_name(code: u16) -> &'static str {
    match code {
        1000 => "normal",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1004 => "reserved",
        1005 => "no status",
        1006 => "abnormal",
        1007 => "invalid payload",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "missing extension",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake",
        1016..=2999 => "reserved",
        3000..=3999 => "registered",
        4000..=4999 => "application",
        _ => "invalid",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::close_code_name(1006), "Abnormal Closure");
        assert_eq!(super::close_code_name(4001), "Application");
        assert_eq!(super::close_code_name(999), "Invalid/Unassigned");
    }
}
