//! Where events come from: live admin feeds, and where they go when recorded.

pub mod feed;
pub mod record;
