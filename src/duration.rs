//! Durations as people type them on a command line or in the dashboard.

/// `30s`, `2m`, `1h30m`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Ok(std::time::Duration::from_secs_f64(secs));
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (try 30s, 2m or 1h)"))
}
