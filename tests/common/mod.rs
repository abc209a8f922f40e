//! Helpers shared by integration tests. Each test crate uses a part of them.
#![allow(dead_code)]

pub mod conformance;
pub mod node;
pub mod scenario;
pub mod tmux;
