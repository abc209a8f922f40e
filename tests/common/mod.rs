//! Helpers shared by integration tests. Each test crate uses a part of them.
#![allow(dead_code)]

pub mod capture;
pub mod conformance;
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
