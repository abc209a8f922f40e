//! wscope: why do my WebSockets drop?
//!
//! The crate is a pipeline: `source` (live feed, in-process tap, log file, capture) produces
//! [`event::Event`]s, `model` folds them into state (a pure function of events and event
//! time), [`findings`] judge the model, and `ui` and `report` show it. The events are the
//! `wscope-protocol` crate's, the tap is the `wscope-tap` crate, both shared with servers.

pub use wscope_protocol as event;
pub mod findings;
pub mod model;
pub mod report;
pub mod sanitize;
pub mod scenario;
#[cfg(feature = "cli")]
pub mod source;

pub use wscope_tap as tap;

#[cfg(feature = "cli")]
pub mod demo;

#[cfg(feature = "cli")]
pub mod commands;
#[cfg(feature = "cli")]
pub mod duration;
#[cfg(feature = "cli")]
pub mod probe;
#[cfg(feature = "cli")]
pub mod ui;
