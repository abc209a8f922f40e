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

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::close_code_name(1006), "Abnormal Closure");
        assert_eq!(super::close_code_name(4001), "Application");
        assert_eq!(super::close_code_name(999), "Invalid/Unassigned");
    }
}
