//! Well-known timeouts of proxies, load balancers and platforms. When a measured duration
//! matches one, the finding names the likely culprit.

/// (seconds, what is known to cut connections at that age or idle time)
const IDLE_LIMITS: &[(f64, &str)] = &[
    (30.0, "GCP load balancer backend timeout (30 s default)"),
    (55.0, "Heroku router (55 s idle)"),
    (
        60.0,
        "nginx proxy_read_timeout (60 s default) or AWS ALB idle timeout (60 s)",
    ),
    (100.0, "Cloudflare proxy (100 s idle)"),
    (120.0, "Cloudflare (120 s, as some documents say)"),
    (300.0, "Envoy stream idle timeout (5 min)"),
    (350.0, "AWS NLB idle timeout (350 s)"),
    (600.0, "AWS API Gateway idle timeout (10 min)"),
];

const LIFETIME_CAPS: &[(f64, &str)] = &[
    (
        30.0,
        "GCP load balancer backend timeout (30 s default), a maximum WebSocket lifetime",
    ),
    (7200.0, "AWS API Gateway connection lifetime cap (2 h)"),
    (14400.0, "Azure Front Door lifetime cap (4 h)"),
];

fn matching(table: &[(f64, &'static str)], secs: f64) -> Vec<&'static str> {
    let mut hits: Vec<_> = table
        .iter()
        .filter(|(limit, _)| (secs - limit).abs() <= (limit * 0.1).max(1.0))
        .collect();
    // The closest default first: it is the likeliest.
    hits.sort_by(|a, b| (secs - a.0).abs().total_cmp(&(secs - b.0).abs()));
    hits.into_iter().map(|(_, name)| *name).collect()
}

/// Intermediaries whose default idle timeout is within 10 % of `secs`.
pub fn idle_culprits(secs: f64) -> Vec<&'static str> {
    matching(IDLE_LIMITS, secs)
}

/// Intermediaries whose default lifetime cap is within 10 % of `secs`.
pub fn lifetime_culprits(secs: f64) -> Vec<&'static str> {
    matching(LIFETIME_CAPS, secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_usual_suspects() {
        assert!(idle_culprits(60.2)[0].contains("nginx"));
        assert!(idle_culprits(99.0)[0].contains("Cloudflare"));
        assert!(idle_culprits(2.0).is_empty());
        assert!(lifetime_culprits(7150.0)[0].contains("API Gateway"));
    }
}
