//! The numbers of findings.md, in one place so they can be configured.

/// Defaults are the values of findings.md.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    pub idle_min_cuts: u64,
    pub idle_cluster_share: f64,
    pub idle_tolerance: f64,
    pub idle_tolerance_min_secs: f64,
    pub idle_min_secs: f64,
    pub idle_critical_share_of_closes: f64,
    pub cap_min_closes: u64,
    pub cap_tolerance: f64,
    pub cap_min_secs: f64,
    pub reject_min: u64,
    pub reject_min_pct: f64,
    pub reject_critical_pct: f64,
    pub unpinged_min_secs: f64,
    pub leak_critical: u64,
    pub loop_critical_clients: u64,
    pub backoff_min_reconnects: usize,
    pub backoff_growth: f64,
    pub mobile_min_closes: u64,
    pub mobile_ratio: f64,
    pub mobile_after_background_share: f64,
    pub rate_min_closes: u64,
    pub rate_alarm_pct: f64,
    pub rate_critical_pct: f64,
    pub restart_min_closes: usize,
    pub server_errors_min: u64,
    /// How many ids an evidence list holds at most.
    pub evidence_list_max: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            idle_min_cuts: 10,
            idle_cluster_share: 0.5,
            idle_tolerance: 0.10,
            idle_tolerance_min_secs: 1.0,
            idle_min_secs: 2.0,
            idle_critical_share_of_closes: 0.20,
            cap_min_closes: 10,
            cap_tolerance: 0.02,
            cap_min_secs: 10.0,
            reject_min: 5,
            reject_min_pct: 5.0,
            reject_critical_pct: 50.0,
            unpinged_min_secs: 60.0,
            leak_critical: 100,
            loop_critical_clients: 10,
            backoff_min_reconnects: 5,
            backoff_growth: 1.5,
            mobile_min_closes: 10,
            mobile_ratio: 2.0,
            mobile_after_background_share: 0.5,
            rate_min_closes: 10,
            rate_alarm_pct: 5.0,
            rate_critical_pct: 20.0,
            restart_min_closes: 20,
            server_errors_min: 5,
            evidence_list_max: 20,
        }
    }
}
