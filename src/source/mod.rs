//! Where events come from: recorded logs (and live feeds and the in-process tap).

pub mod log;
