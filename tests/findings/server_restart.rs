//! `server-restart`, `server-errors` and `message-too-big`.

use super::*;

#[test]
fn server_restart_errors_and_big_messages() {
    let mut s = Scenario::new();
    for i in 0..30 {
        s.open(&format!("c{i}"));
    }
    s.at(100.0);
    for i in 0..25 {
        s.advance(0.2)
            .close(&format!("c{i}"), 1001, Initiator::Server);
    }
    for i in 25..30 {
        s.close(&format!("c{i}"), 1011, Initiator::Server);
    }
    s.open("big").close("big", 1009, Initiator::Server);
    let fs = s.findings();
    let r = get(&fs, "server-restart");
    assert_eq!(r.severity, Severity::Info);
    assert_eq!(ev(&r, "count"), json!(1), "one restart");
    assert_eq!(ev(&r, "restarts")[0]["count"], json!(25), "of 25 closes");
    assert_eq!(ev(&get(&fs, "server-errors"), "count"), json!(5));
    assert_eq!(ev(&get(&fs, "message-too-big"), "count"), json!(1));

    let mut s = Scenario::new();
    for i in 0..19 {
        s.open(&format!("c{i}"))
            .close(&format!("c{i}"), 1001, Initiator::Server);
    }
    for i in 0..4 {
        s.open(&format!("e{i}"))
            .close(&format!("e{i}"), 1011, Initiator::Server);
    }
    let fs = s.findings();
    assert!(find(&fs, "server-restart").is_none());
    assert!(find(&fs, "server-errors").is_none());
    assert!(find(&fs, "message-too-big").is_none());
}

/// A log that starts after the connections opened (no snapshot): the closes still happened and
/// count for `server-restart`, as they do in the close codes.
#[test]
fn server_restart_counts_closes_of_connections_opened_before_the_log() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    for i in 0..25 {
        s.advance(0.2)
            .close(&format!("c{i}"), 1001, Initiator::Server);
    }
    let f = get(&s.findings(), "server-restart");
    assert_eq!(ev(&f, "restarts")[0]["count"], json!(25));
}

/// A rolling restart of two instances: each instance's burst is its own restart.
#[test]
fn a_rolling_restart_lists_every_restart() {
    let mut s = Scenario::new();
    for server in ["a", "b"] {
        s.push_on(server, EventKind::Hello(Default::default()));
        for i in 0..30 {
            s.push_on(
                server,
                EventKind::Open(Box::new(Open {
                    conn: format!("{server}{i}").as_str().into(),
                    ..Open::default()
                })),
            );
        }
    }
    for (server, start) in [("a", 100.0), ("b", 160.0)] {
        s.at(start);
        for i in 0..30 {
            s.advance(0.1).push_on(
                server,
                EventKind::Close(wscope::event::Close {
                    conn: format!("{server}{i}").as_str().into(),
                    code: Some(1012),
                    reason: None,
                    initiator: Some(Initiator::Server),
                }),
            );
        }
    }
    let f = get(&s.findings(), "server-restart");
    assert_eq!(ev(&f, "count"), json!(2));
    let restarts = ev(&f, "restarts");
    assert_eq!(restarts[0]["server"], json!("a"));
    assert_eq!(restarts[1]["server"], json!("b"));
    assert_eq!(restarts[1]["count"], json!(30));
    assert!(f.summary.starts_with("2 restarts"), "{}", f.summary);
}
