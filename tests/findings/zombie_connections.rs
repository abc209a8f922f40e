//! `zombie-connections`.

use super::*;

#[test]
fn zombie_connections() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    s.open("z").open("ok").open("never");
    s.at(30.0)
        .ping("z")
        .pong("z")
        .ping("ok")
        .pong("ok")
        .ping("never");
    s.at(60.0).ping("z").ping("ok").pong("ok").ping("never");
    s.at(90.0).ping("z").ping("ok").pong("ok").ping("never");
    let f = get(&s.findings(), "zombie-connections");
    assert_eq!(ev(&f, "count"), json!(2));
    assert_eq!(ev(&f, "conns"), json!(["never", "z"]));
    assert_eq!(ev(&f, "max_pong_age_seconds"), json!(60.0));

    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    s.open("ok");
    s.at(30.0).ping("ok").advance(4.0).pong("ok");
    assert!(find(&s.findings(), "zombie-connections").is_none());
}

/// A server whose ping loop died after a minute, every ping answered: the connections are
/// unpinged (`heartbeat-missing`), not zombies: no ping of theirs went unanswered.
#[test]
fn a_dead_ping_loop_is_heartbeat_missing_not_zombies() {
    let mut s = Scenario::new();
    s.hello(Some((10_000, 5_000)));
    for i in 0..50 {
        s.open(&format!("c{i}"));
    }
    for round in 1..=6 {
        s.at(round as f64 * 10.0);
        for i in 0..50 {
            let id = format!("c{i}");
            s.ping(&id).advance(0.01).pong(&id);
        }
    }
    s.at(600.0).open("late");
    let fs = s.findings();
    assert!(find(&fs, "zombie-connections").is_none(), "{:?}", ids(&fs));
    let hb = get(&fs, "heartbeat-missing");
    assert_eq!(ev(&hb, "heartbeat_configured"), json!(true));
}

/// A ping left unanswered past the pong timeout + 1 s makes a zombie, with or without a
/// heartbeat announced (5 s + 1 s when the timeout is unknown).
#[test]
fn an_unanswered_ping_makes_a_zombie_with_the_default_timeout() {
    let mut s = Scenario::new();
    s.hello(None);
    s.open("a").open("b").open("c");
    s.at(10.0)
        .ping("a")
        .ping("b")
        .ping("c")
        .advance(0.1)
        .pong("b");
    s.at(15.5);
    s.ping("c").advance(0.05).pong("c");
    s.at(16.0);
    assert!(
        find(&s.findings(), "zombie-connections").is_none(),
        "6 s is not over 6 s"
    );
    s.at(16.5).open("d");
    let f = get(&s.findings(), "zombie-connections");
    assert_eq!(ev(&f, "count"), json!(1));
    assert_eq!(ev(&f, "conns"), json!(["a"]));
    assert_eq!(ev(&f, "max_unanswered_seconds"), json!(6.5));
    assert_eq!(ev(&f, "pinged"), json!(3));
    assert!(f.summary.starts_with("1 of 3 pinged"), "{}", f.summary);
}
