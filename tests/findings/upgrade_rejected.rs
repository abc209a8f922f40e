//! `upgrade-rejected`.

use super::*;

#[test]
fn upgrade_rejected_by_share() {
    let mut s = Scenario::new();
    for i in 0..10 {
        s.at(i as f64).open(&format!("c{i}"));
    }
    for _ in 0..6 {
        s.advance(1.0).reject(400);
    }
    let f = get(&s.findings(), "upgrade-rejected");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(ev(&f, "count"), json!(6));
    assert_eq!(ev(&f, "by_status"), json!({"400": 6}));
    assert_eq!(ev(&f, "rejected_pct"), json!(37.5));
    assert!(f.remedy.contains("proxy_http_version 1.1"));

    for _ in 0..10 {
        s.advance(1.0).reject(426);
    }
    let f = get(&s.findings(), "upgrade-rejected");
    assert_eq!(f.severity, Severity::Critical);

    let mut s = Scenario::new();
    for i in 0..200 {
        s.open(&format!("c{i}"));
    }
    for _ in 0..5 {
        s.reject(400);
    }
    assert!(
        find(&s.findings(), "upgrade-rejected").is_none(),
        "2.4 % is below 5 %"
    );
}
