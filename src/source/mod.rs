//! Where events come from: recorded logs, live admin feeds (and the in-process tap), and
//! where they go when recorded.

pub mod feed;
pub mod log;
pub mod log_index;
mod parallel;
pub mod record;
