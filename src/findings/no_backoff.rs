//! `no-backoff`: looping clients whose reconnect gaps do not grow.

use super::reconnect_loop::{by_opens, client_list};
use super::{Finding, Rule, Rules, Severity, round2, thresholds};
use crate::model::{LoopingClient, Model};
use serde::Serialize;

thresholds! {
    /// Reconnect gaps of a looping client that stay flat.
    pub struct NoBackoff {
        /// Over at least this many reconnects...
        min_reconnects: usize = 5,
        /// ...the last gap is less than this multiple of the first.
        growth: f64 = 1.5,
    }
}

#[derive(Serialize)]
struct Evidence {
    clients: Vec<super::reconnect_loop::ClientEntry>,
    count: u64,
    median_gap_seconds: f64,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Rule for NoBackoff {
    const ID: &'static str = "no-backoff";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let looping = by_opens(m);
        let flat: Vec<&LoopingClient> = looping
            .iter()
            .copied()
            .filter(|c| {
                c.gaps.len() >= self.min_reconnects
                    && c.gaps.last().copied().unwrap_or(0.0) < self.growth * c.gaps[0]
            })
            .collect();
        if flat.is_empty() {
            return None;
        }
        let mut gaps: Vec<f64> = flat.iter().flat_map(|c| c.gaps.iter().copied()).collect();
        let median_gap = median(&mut gaps).unwrap_or(0.0);
        let evidence = Evidence {
            clients: client_list(&flat),
            count: flat.len() as u64,
            median_gap_seconds: round2(median_gap),
        };
        Some(Finding::new(
            Self::ID,
            Severity::Warning,
            format!(
                "{} of {} looping clients reconnect at a steady {median_gap:.1} s with no backoff, hammering the server",
                flat.len(),
                looping.len()
            ),
            &evidence,
            "Reconnect with exponential backoff and full jitter (e.g. wait random(0, min(30 s, 0.5 s × 2^attempt))), reset only after a connection has stayed up for a while; a fixed retry interval turns every outage into a thundering herd.",
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_works() {
        assert_eq!(super::median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(super::median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(super::median(&mut []), None);
    }
}
