//! `idle-timeout`.

use super::*;

#[test]
fn idle_timeout_found_with_its_culprit() {
    let mut s = Scenario::new();
    s.hello(Some((90_000, 5_000)));
    for i in 0..20 {
        let id = format!("c{i}");
        s.at(i as f64 * 3.0).open(&id);
        s.at(i as f64 * 3.0 + 60.0 + (i % 3) as f64 * 0.1).cut(&id);
    }
    let f = get(&s.findings(), "idle-timeout");
    assert_eq!(f.severity, Severity::Critical);
    let d = ev(&f, "idle_seconds").as_f64().unwrap();
    assert!((d - 60.1).abs() <= 0.2, "{d}");
    assert_eq!(ev(&f, "count"), json!(20));
    assert_eq!(ev(&f, "ping_interval_seconds"), json!(90.0));
    assert!(ev(&f, "likely")[0].as_str().unwrap().contains("nginx"));
    assert!(f.remedy.contains("proxy_read_timeout"));
}

#[test]
fn idle_timeout_not_found_for_scattered_cuts_or_few_cuts() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    for i in 0..30 {
        let id = format!("c{i}");
        s.at(i as f64).open(&id);
        s.at(i as f64 + 3.0 + (i * i * 7 % 400) as f64).cut(&id);
    }
    assert!(find(&s.findings(), "idle-timeout").is_none());

    let mut s = Scenario::new();
    for i in 0..9 {
        let id = format!("c{i}");
        s.at(i as f64).open(&id).advance(60.0).cut(&id);
    }
    assert!(
        find(&s.findings(), "idle-timeout").is_none(),
        "9 cuts are too few"
    );
}
