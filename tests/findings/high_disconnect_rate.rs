//! `high-disconnect-rate`.

use super::*;

#[test]
fn high_disconnect_rate_levels() {
    let spike = |closes: usize| {
        let mut s = Scenario::new();
        for i in 0..100 {
            s.open(&format!("c{i}"));
        }
        s.at(120.0);
        for i in 0..closes {
            s.advance(1.0)
                .close(&format!("c{i}"), 1006, Initiator::None);
        }
        s.findings()
    };
    let f = get(&spike(15), "high-disconnect-rate");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(ev(&f, "peak_pct_per_min"), json!(15.0));
    assert!(
        ev(&f, "at")
            .as_str()
            .unwrap()
            .starts_with("2026-11-30T01:02:")
    );
    let f = get(&spike(25), "high-disconnect-rate");
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        find(&spike(9), "high-disconnect-rate").is_none(),
        "fewer than 10 closes"
    );

    let mut s = Scenario::new();
    for i in 0..1000 {
        s.open(&format!("c{i}"));
    }
    for i in 0..10 {
        s.advance(5.0)
            .close(&format!("c{i}"), 1006, Initiator::None);
    }
    assert!(
        find(&s.findings(), "high-disconnect-rate").is_none(),
        "1 % of 1000"
    );
}
