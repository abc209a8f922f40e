//! `wscope demo`.
