//! `timer-leak`.

use super::*;

#[test]
fn timer_leak_after_grace_or_fire() {
    let mut s = Scenario::new();
    s.open("a").timer("a", "t-a", TimerOp::Start);
    s.open("b").timer("b", "t-b", TimerOp::Start);
    s.open("c").timer("c", "t-c", TimerOp::Start);
    s.at(10.0)
        .close("a", 1000, Initiator::Client)
        .timer("a", "t-a", TimerOp::Clear);
    s.close("b", 1000, Initiator::Client);
    s.close("c", 1000, Initiator::Client);
    s.advance(1.0).timer("c", "t-c", TimerOp::Fire);
    let f = get(&s.findings(), "timer-leak");
    assert_eq!(
        ev(&f, "count"),
        json!(1),
        "only the fired one, b is within its grace"
    );
    assert_eq!(ev(&f, "timers"), json!(["t-c"]));
    s.advance(5.0).open("d");
    let f = get(&s.findings(), "timer-leak");
    assert_eq!(ev(&f, "count"), json!(2));
    assert_eq!(ev(&f, "by_kind"), json!({"heartbeat": 2}));
    assert_eq!(f.severity, Severity::Warning);

    let mut s = Scenario::new();
    s.open("a")
        .timer("a", "t", TimerOp::Start)
        .advance(30.0)
        .timer("a", "t", TimerOp::Fire);
    s.timer("a", "t", TimerOp::Clear)
        .close("a", 1000, Initiator::Client)
        .advance(60.0)
        .open("b");
    assert!(find(&s.findings(), "timer-leak").is_none());
}

/// A snapshot lists the timers a server still runs; one whose connection is not among the
/// snapshot's connections belongs to a closed connection: a leak once the grace has passed. A
/// resync must not forget leaks already seen.
#[test]
fn timer_leak_seen_in_a_snapshot_and_kept_across_a_resync() {
    use wscope::event::{Snapshot, SnapshotConn, SnapshotTimer};
    let snapshot = |timers: &[(&str, &str)]| {
        EventKind::Snapshot(Snapshot {
            raw: None,
            connections: vec![SnapshotConn {
                open: Open {
                    conn: "live".into(),
                    ..Open::default()
                },
                ..SnapshotConn::default()
            }],
            timers: timers
                .iter()
                .map(|(conn, timer)| SnapshotTimer {
                    conn: Some((*conn).into()),
                    timer: (*timer).into(),
                    kind: Some("presence".into()),
                    interval_ms: Some(1_000),
                    started: None,
                })
                .collect(),
        })
    };
    let mut s = Scenario::new();
    s.hello(None)
        .push(snapshot(&[("live", "t-live"), ("gone", "t-gone")]));
    assert!(
        find(&s.findings(), "timer-leak").is_none(),
        "within the grace"
    );
    s.advance(6.0).open("x");
    let f = get(&s.findings(), "timer-leak");
    assert_eq!(ev(&f, "timers"), json!(["t-gone"]));

    // The same server, resynced a minute later: still the same one leak.
    s.advance(60.0)
        .push(snapshot(&[("live", "t-live"), ("gone", "t-gone")]));
    let f = get(&s.findings(), "timer-leak");
    assert_eq!(
        (ev(&f, "count"), ev(&f, "timers")),
        (json!(1), json!(["t-gone"]))
    );
}

/// A leaked timer cleared while the feed dropped events, gone from the next snapshot: it still
/// counts (it had leaked), and one cleared within its grace does not.
#[test]
fn timer_leak_cleared_out_of_sight_is_remembered() {
    use wscope::event::Snapshot;
    let mut s = Scenario::new();
    s.hello(None);
    s.open("a").timer("a", "t-a", TimerOp::Start);
    s.open("b").timer("b", "t-b", TimerOp::Start);
    s.at(10.0).close("a", 1000, Initiator::Client);
    s.at(20.0).close("b", 1000, Initiator::Client);
    s.at(30.0).push(EventKind::Snapshot(Snapshot::default()));
    let f = get(&s.findings(), "timer-leak");
    assert_eq!(
        (ev(&f, "timers"), ev(&f, "still_running")),
        (json!(["t-a"]), json!(0)),
        "t-a had leaked by 20 s; t-b was within its grace"
    );
}

/// A timer re-armed under the same id after its connection closed (a setTimeout chain) is one
/// leaked timer, still running, however often it re-arms.
#[test]
fn timer_leak_rearmed_after_close_stays_one_running_leak() {
    let mut s = Scenario::new();
    s.open("a").timer("a", "t", TimerOp::Start);
    s.at(10.0).close("a", 1000, Initiator::Client);
    for k in 1..=20 {
        s.at(10.0 + k as f64)
            .timer("a", "t", TimerOp::Fire)
            .timer("a", "t", TimerOp::Start);
    }
    let f = get(&s.findings(), "timer-leak");
    assert_eq!(
        (ev(&f, "count"), ev(&f, "still_running")),
        (json!(1), json!(1))
    );
}

/// A timer started for a connection whose `open` comes just after (reordering within 1 s):
/// still that connection's timer, a leak when the connection closes without clearing it.
#[test]
fn timer_started_just_before_its_open_is_still_linked() {
    let mut s = Scenario::new();
    s.at(1.0)
        .timer("a", "t-a", TimerOp::Start)
        .at(0.5)
        .open("a");
    s.at(10.0).close("a", 1000, Initiator::Client);
    s.at(20.0).open("b");
    let f = get(&s.findings(), "timer-leak");
    assert_eq!(ev(&f, "timers"), json!(["t-a"]));
}
