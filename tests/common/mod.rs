//! Helpers shared by integration tests. Each test crate uses a part of them.
#![allow(dead_code)]

pub mod capture;
pub mod conformance;
pub mod nats;
pub mod nginx;
pub mod node;
pub mod probe;
pub mod require;
pub mod scenario;
pub mod tap;
pub mod tmux;

/// A port on 127.0.0.1 with nothing listening (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// Polls `cond` until it holds; panics naming `what` after `timeout`. For tests that wait
/// for something to happen rather than sleep and hope it did.
pub fn wait_until(what: &str, timeout: std::time::Duration, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    let mut delay = std::time::Duration::from_millis(10);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(delay);
        delay = (delay * 2).min(std::time::Duration::from_millis(100));
    }
}

/// A JSON report's findings by id.
pub fn findings_by_id(
    report: &serde_json::Value,
) -> std::collections::HashMap<&str, &serde_json::Value> {
    report["findings"]
        .as_array()
        .expect("the report lists its findings")
        .iter()
        .map(|f| (f["id"].as_str().expect("a finding has an id"), f))
        .collect()
}
