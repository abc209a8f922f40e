//! The few numbers the model itself needs while it folds events: the windows inside which it
//! must remember something that would otherwise be forgotten (a client's short connections, a
//! burst of server closes, a connection's last trip to the background, a timer's grace).
//!
//! They belong to the findings that use them; the findings catalogue fills this in
//! (`findings::Rules::model_params`), so a threshold is defined once and the model never reads
//! a finding.

/// Windows and limits the model folds events with. Times in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// A connection shorter than this counts toward a reconnect loop.
    pub short_lived_secs: f64,
    /// A loop is this many short connections...
    pub loop_min_opens: usize,
    /// ...opened within this long.
    pub loop_window_secs: f64,
    /// Server-initiated 1001/1012 closes within this window form a restart...
    pub restart_window_secs: f64,
    /// ...when there are at least this many.
    pub restart_min_closes: usize,
    /// A mobile cut this soon after the app went to the background counts as lost to it.
    pub after_background_secs: f64,
    /// A timer may run this long (or its interval, if longer) after its connection closed.
    pub timer_grace_secs: f64,
}

/// Seconds to event-time nanoseconds, saturating.
pub(crate) fn nanos(secs: f64) -> i64 {
    (secs * 1e9).clamp(0.0, i64::MAX as f64) as i64
}
