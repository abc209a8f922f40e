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

/// Twelve random mobile drops (idle 3-45 s), six of which happen to fall within the ±1 s floor
/// of one value: the cluster holds fewer than 10 cuts, so it is no idle timeout.
#[test]
fn a_small_cluster_of_random_drops_is_no_idle_timeout() {
    let mut s = Scenario::new();
    let idles = [
        3.1, 3.4, 3.6, 3.9, 4.2, 4.5, 12.0, 19.0, 27.0, 33.0, 40.0, 45.0,
    ];
    for (i, idle) in idles.iter().enumerate() {
        let id = format!("m{i}");
        s.at(i as f64 * 100.0)
            .open_as(&id, "10.0.0.9:1", "App/1 (iPhone; iOS 18)");
        s.advance(*idle).cut(&id);
    }
    let fs = s.findings();
    assert!(find(&fs, "idle-timeout").is_none(), "{:?}", fs);
}

/// The summary says how strong the evidence is: how many of all cuts, within what spread.
#[test]
fn idle_timeout_summary_weighs_its_evidence() {
    let mut s = Scenario::new();
    for i in 0..40 {
        let id = format!("c{i}");
        s.at(i as f64).open(&id).advance(4.0).cut(&id);
    }
    let f = get(&s.findings(), "idle-timeout");
    assert!(
        f.summary
            .starts_with("40 of 40 cuts came after 4.0 s (± 1.0 s)"),
        "{}",
        f.summary
    );
    assert_eq!(ev(&f, "cuts"), json!(40));
    assert_eq!(ev(&f, "spread_seconds"), json!(1.0));
}
