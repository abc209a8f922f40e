//! What every finding relies on: inert strings, reordering, long-lived connections.

use super::*;

#[test]
fn untrusted_strings_in_evidence_are_inert() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    s.open("evil\u{1b}[2J")
        .at(30.0)
        .ping("evil\u{1b}[2J")
        .at(100.0)
        .open("x");
    let f = get(&s.findings(), "zombie-connections");
    let text = serde_json::to_string(&f).unwrap();
    assert!(!text.contains('\u{1b}'));
    assert_eq!(ev(&f, "conns"), json!(["evil\\u{1b}[2J"]));
}

/// Events may arrive up to 1 s out of order (feed-protocol.md): a connection that lived less
/// than that may have its `close` before its `open`. It must end closed, not stay open forever
/// (a phantom that never gets a ping would soon be "heartbeat-missing").
#[test]
fn close_before_open_within_a_second_is_reordering_not_a_phantom() {
    let mut s = Scenario::new();
    s.hello(Some((10_000, 2_000)));
    s.open("keep");
    for i in 0..20 {
        let t = 1.0 + i as f64 * 5.0;
        let id = format!("r{i}");
        s.at(t + 0.3)
            .close(&id, 4001, Initiator::Server)
            .at(t)
            .open(&id);
        s.at(t + 1.0).ping("keep").advance(0.01).pong("keep");
    }
    s.at(120.0).ping("keep").advance(0.01).pong("keep");
    let m = s.model();
    assert_eq!((m.opened, m.closed(), m.open_count()), (21, 20, 1));
    assert_eq!(m.counters.contradictions, 0);
    let fs = s.findings();
    assert!(find(&fs, "heartbeat-missing").is_none(), "{:?}", ids(&fs));
}

/// Devices connected for two months (a snapshot says so), pinged and answering: no zombie,
/// nothing unpinged. Per-connection times must not saturate after weeks.
#[test]
fn connections_open_for_months_keep_exact_times() {
    use wscope::event::{Snapshot, SnapshotConn, Ts};
    let mut s = Scenario::new();
    let day = 86_400.0;
    let now = s.now();
    let at = |secs: f64| Some(now.plus_secs(secs));
    let conns = (0..3)
        .map(|i| SnapshotConn {
            open: Open {
                conn: format!("dev{i}").into(),
                ..Open::default()
            },
            opened: at(-60.0 * day - i as f64),
            last_activity: at(-1.0),
            last_ping: at(-10.0),
            last_pong: at(-9.98),
            ..SnapshotConn::default()
        })
        .collect();
    s.hello(Some((30_000, 5_000)))
        .push(EventKind::Snapshot(Snapshot {
            raw: None,
            connections: conns,
            timers: vec![],
        }));
    s.at(20.0).ping("dev0").advance(0.02).pong("dev0");
    let fs = s.findings();
    assert!(find(&fs, "zombie-connections").is_none(), "{fs:#?}");
    assert!(find(&fs, "heartbeat-missing").is_none(), "{fs:#?}");
    let m = s.model();
    let c = m.conns.get(0, "dev1").unwrap();
    let off = |t: Option<Ts>| t.unwrap().secs_since(now);
    assert!(
        (off(c.last_pong()) + 9.98).abs() <= 0.1,
        "{}",
        off(c.last_pong())
    );
    assert!((off(c.last_ping()) + 10.0).abs() <= 0.1);
    assert!((off(Some(c.last_activity())) + 1.0).abs() <= 0.1);
}
