//! `mobile-background`.

use super::*;

#[test]
fn mobile_background_cuts() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    for i in 0..12 {
        s.at(i as f64).open_as(
            &format!("d{i}"),
            "10.0.0.1:1",
            "Mozilla/5.0 (Windows NT 10.0)",
        );
        let id = format!("m{i}");
        s.open_as(
            &id,
            "10.0.0.2:1",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)",
        );
        s.at(20.0 + i as f64).app_state(&id, AppState::Background);
        s.advance(40.0).cut(&id);
    }
    let f = get(&s.findings(), "mobile-background");
    assert_eq!(ev(&f, "after_background"), json!(12));
    assert_eq!(ev(&f, "mobile_close_ratio"), json!(1.0));
    assert_eq!(ev(&f, "other_close_ratio"), json!(0.0));

    let mut s = Scenario::new();
    for i in 0..12 {
        let (m, d) = (format!("m{i}"), format!("d{i}"));
        s.at(i as f64)
            .open_as(&m, "10.0.0.2:1", "Android Mobile")
            .open_as(&d, "10.0.0.1:1", "Mozilla/5.0 (X11)");
        s.advance(100.0)
            .close(&m, 1000, Initiator::Client)
            .close(&d, 1000, Initiator::Client);
    }
    assert!(
        find(&s.findings(), "mobile-background").is_none(),
        "same close rate, no background"
    );
}

/// Attached to a live server: the snapshot's connections opened before we looked. Its phones
/// all leave during the session (mobile sessions are shorter), but new phones and desktops open
/// and close at the same rate: closes ÷ opens must not count closes of opens never seen, nor
/// may an `app_state` move an open that was never counted.
#[test]
fn mobile_close_ratio_ignores_connections_opened_before_the_snapshot() {
    use wscope::event::{Snapshot, SnapshotConn};
    let phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)";
    let desk = "Mozilla/5.0 (X11; Linux x86_64)";
    let conns = (0..40)
        .map(|i| SnapshotConn {
            open: Open {
                conn: format!("s{i}").into(),
                remote: Some("10.0.0.3:1".into()),
                user_agent: Some(if i < 20 { phone } else { desk }.into()),
                ..Open::default()
            },
            ..SnapshotConn::default()
        })
        .collect();
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)))
        .push(EventKind::Snapshot(Snapshot {
            raw: None,
            connections: conns,
            timers: vec![],
        }));
    for i in 0..20 {
        s.at(10.0 + i as f64 * 10.0)
            .close(&format!("s{i}"), 1000, Initiator::Client);
    }
    for i in 0..10 {
        let (m, d) = (format!("m{i}"), format!("d{i}"));
        s.at(300.0 + i as f64 * 10.0)
            .open_as(&m, &format!("10.0.2.{i}:1"), phone)
            .open_as(&d, &format!("10.0.4.{i}:1"), desk)
            .advance(5.0)
            .close(&m, 1000, Initiator::Client)
            .close(&d, 1000, Initiator::Client);
    }
    let fs = s.findings();
    assert!(find(&fs, "mobile-background").is_none(), "{fs:#?}");

    // A snapshot desktop that reports app_state becomes mobile; no counted open moves.
    s.app_state("s30", AppState::Background);
    assert_eq!(
        (s.model().mobile.mobile_opens, s.model().mobile.other_opens),
        (10, 10)
    );

    // An open we counted stays counted through a resync: its close counts too.
    s.open_as("n", "10.0.0.9:1", phone);
    let resync = SnapshotConn {
        open: Open {
            conn: "n".into(),
            user_agent: Some(phone.into()),
            ..Open::default()
        },
        ..SnapshotConn::default()
    };
    s.push(EventKind::Snapshot(Snapshot {
        raw: None,
        connections: vec![resync],
        timers: vec![],
    }))
    .close("n", 1000, Initiator::Client);
    let m = s.model().mobile;
    assert_eq!((m.mobile_opens, m.mobile_closes_of_opens), (11, 11));
}

/// Phones known from the snapshot, cut after going to the background: every mobile close
/// counts toward the finding's minimum, whether or not we saw its open.
#[test]
fn mobile_background_for_connections_from_a_snapshot() {
    use wscope::event::{Snapshot, SnapshotConn};
    let conns = (0..12)
        .map(|i| SnapshotConn {
            open: Open {
                conn: format!("p{i}").into(),
                remote: Some(format!("10.0.1.{i}:1").into()),
                user_agent: Some("Mozilla/5.0 (Linux; Android 14) Mobile".into()),
                ..Open::default()
            },
            ..SnapshotConn::default()
        })
        .collect();
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)))
        .push(EventKind::Snapshot(Snapshot {
            raw: None,
            connections: conns,
            timers: vec![],
        }));
    for i in 0..12 {
        let id = format!("p{i}");
        s.at(10.0 + i as f64)
            .app_state(&id, AppState::Background)
            .advance(60.0)
            .cut(&id);
    }
    let f = get(&s.findings(), "mobile-background");
    assert_eq!(ev(&f, "after_background"), json!(12));
}
