//! `heartbeat-missing`.

use super::*;

#[test]
fn heartbeat_missing_without_heartbeat() {
    let mut s = Scenario::new();
    s.hello(None);
    s.open("a")
        .advance(90.0)
        .close("a", 1000, Initiator::Client);
    let f = get(&s.findings(), "heartbeat-missing");
    assert_eq!(ev(&f, "pings_seen"), json!(0));
    assert_eq!(ev(&f, "longest_unpinged_seconds"), json!(90.0));

    let mut s = Scenario::new();
    s.hello(None);
    s.open("a")
        .advance(30.0)
        .close("a", 1000, Initiator::Client);
    assert!(
        find(&s.findings(), "heartbeat-missing").is_none(),
        "30 s is under a minute"
    );
}

#[test]
fn heartbeat_missing_with_heartbeat_configured() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    s.open("a").open("b");
    for k in 1..=6 {
        s.at(k as f64 * 30.0).ping("a").advance(0.05).pong("a");
        if k <= 2 {
            s.ping("b").pong("b");
        }
    }
    let f = get(&s.findings(), "heartbeat-missing");
    // b was last pinged at 60 s; the log ends at 180.05 s.
    assert!((ev(&f, "longest_unpinged_seconds").as_f64().unwrap() - 120.0).abs() < 0.2);
    assert_eq!(ev(&f, "pings_seen"), json!(8));

    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    s.open("a");
    for k in 1..=6 {
        s.at(k as f64 * 30.0).ping("a").advance(0.05).pong("a");
    }
    assert!(find(&s.findings(), "heartbeat-missing").is_none());
}

/// "Over 2 × the ping interval (and ≥ 60 s)": with a 10 s interval, 60 s without a ping is
/// enough; 59 s is not.
#[test]
fn heartbeat_missing_at_exactly_sixty_seconds() {
    let run = |secs: f64| {
        let mut s = Scenario::new();
        s.hello(Some((10_000, 2_000)));
        s.open("a").open("b");
        for k in (1..).take_while(|k| *k as f64 * 10.0 <= secs) {
            s.at(k as f64 * 10.0).ping("a").pong("a");
        }
        s.at(secs).message("b", Dir::In);
        s.findings()
    };
    assert!(find(&run(59.0), "heartbeat-missing").is_none());
    let f = get(&run(60.0), "heartbeat-missing");
    assert_eq!(ev(&f, "longest_unpinged_seconds"), json!(60.0));
}
