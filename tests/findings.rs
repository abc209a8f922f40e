//! Every finding of findings.md, positive and negative, with evidence values asserted, built
//! with the scenario builder; and healthy traffic that must give no warning.

use serde_json::json;
use wscope::event::{AppState, Dir, EventKind, Initiator, Open, TimerOp};
use wscope::findings::{Finding, Severity};
use wscope::scenario::Scenario;

fn find<'a>(fs: &'a [Finding], id: &str) -> Option<&'a Finding> {
    fs.iter().find(|f| f.id == id)
}

fn get(fs: &[Finding], id: &str) -> Finding {
    find(fs, id)
        .unwrap_or_else(|| {
            panic!(
                "no {id} in {:?}",
                fs.iter().map(|f| f.id).collect::<Vec<_>>()
            )
        })
        .clone()
}

fn ids(fs: &[Finding]) -> Vec<&'static str> {
    fs.iter().map(|f| f.id).collect()
}

fn ev(f: &Finding, key: &str) -> serde_json::Value {
    f.evidence
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("{} has no evidence {key}", f.id))
}

/// Healthy chat traffic: pings answered, messages, clean closes at an ordinary rate.
fn healthy(s: &mut Scenario, conns: usize, minutes: usize) {
    s.hello(Some((30_000, 5_000)));
    for i in 0..conns {
        s.at(i as f64 * 0.5).open_as(
            &format!("h{i}"),
            &format!("10.1.{}.{}:4000", i / 250, i % 250),
            "Mozilla/5.0 (X11; Linux x86_64)",
        );
    }
    let mut open: Vec<usize> = (0..conns).collect();
    for (tick, next) in (1..=(minutes * 2)).zip(conns..) {
        let t = tick as f64 * 30.0;
        for (k, &i) in open.iter().enumerate() {
            let id = format!("h{i}");
            s.at(t + k as f64 * 0.01)
                .ping(&id)
                .advance(0.02)
                .pong(&id)
                .message(&id, Dir::In)
                .message(&id, Dir::Out);
        }
        // One clean close and one new connection per half minute: ~1 % of 100 per minute.
        let gone = open.remove(tick % open.len());
        s.at(t + 10.0)
            .close(&format!("h{gone}"), 1000, Initiator::Client);
        s.at(t + 11.0).open_as(
            &format!("h{next}"),
            "10.9.9.9:4000",
            "Mozilla/5.0 (Linux; Android 14) Mobile",
        );
        open.push(next);
    }
}

#[test]
fn healthy_traffic_gives_no_warning() {
    let mut s = Scenario::new();
    healthy(&mut s, 100, 30);
    let fs = s.findings();
    assert!(
        fs.iter().all(|f| f.severity == Severity::Info),
        "healthy traffic raised {:?}",
        fs
    );
    let m = s.model();
    assert_eq!(m.open_count(), 100);
    assert_eq!(m.closed, 60);
}

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

#[test]
fn lifetime_cap_found_for_busy_connections() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    for i in 0..12 {
        let id = format!("c{i}");
        let t0 = i as f64 * 7.0;
        s.at(t0).open(&id);
        for k in 1..23 {
            s.at(t0 + k as f64 * 5.0).message(&id, Dir::In);
        }
        // The last message at varied times before the cut: busy, but no common idle time.
        s.at(t0 + 119.5 - i as f64 * 0.8).message(&id, Dir::Out);
        s.at(t0 + 120.0).cut(&id);
    }
    let fs = s.findings();
    let f = get(&fs, "lifetime-cap");
    assert_eq!(ev(&f, "count"), json!(12));
    assert!((ev(&f, "lifetime_seconds").as_f64().unwrap() - 120.0).abs() <= 0.2);
    assert!(
        find(&fs, "idle-timeout").is_none(),
        "busy connections are not idle"
    );
}

#[test]
fn lifetime_cap_not_found_for_varied_ages() {
    let mut s = Scenario::new();
    for i in 0..12 {
        let id = format!("c{i}");
        s.at(0.0).open(&id);
        for k in 1..(4 + i * 3) {
            s.at(k as f64 * 5.0).message(&id, Dir::In);
        }
        s.at(20.0 + i as f64 * 15.0)
            .close(&id, 1000, Initiator::Server);
    }
    assert_eq!(s.model().cap_candidates, 12);
    assert!(find(&s.findings(), "lifetime-cap").is_none());
}

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

fn looping_clients(s: &mut Scenario, clients: usize, gap: impl Fn(usize) -> f64) {
    for c in 0..clients {
        let mut t = c as f64 * 0.1;
        for k in 0..8 {
            let id = format!("l{c}-{k}");
            s.at(t).open_as(&id, &format!("10.2.0.{c}:5000"), "bot/1");
            s.at(t + 0.3).close(&id, 4001, Initiator::Server);
            t += gap(k);
        }
    }
    s.events.sort_by_key(|e| e.ts);
}

#[test]
fn reconnect_loop_without_backoff() {
    let mut s = Scenario::new();
    looping_clients(&mut s, 12, |_| 1.0);
    let fs = s.findings();
    let f = get(&fs, "reconnect-loop");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(ev(&f, "count"), json!(12));
    assert_eq!(ev(&f, "clients")[0]["opens"], json!(8));
    assert!(
        ev(&f, "clients")[0]["identity"]
            .as_str()
            .unwrap()
            .contains("10.2.0.")
    );
    let nb = get(&fs, "no-backoff");
    assert_eq!(ev(&nb, "median_gap_seconds"), json!(1.0));
    assert_eq!(ev(&nb, "count"), json!(12));
}

#[test]
fn reconnect_loop_with_backoff_is_not_no_backoff() {
    let mut s = Scenario::new();
    looping_clients(&mut s, 2, |k| 2f64.powi(k as i32));
    let fs = s.findings();
    let f = get(&fs, "reconnect-loop");
    assert_eq!(f.severity, Severity::Warning);
    assert!(find(&fs, "no-backoff").is_none());

    let mut s = Scenario::new();
    looping_clients(&mut s, 3, |_| 16.0);
    assert!(
        find(&s.findings(), "reconnect-loop").is_none(),
        "5 opens over 60 s apart"
    );
}

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
                .close(&format!("c{i}"), 1001, Initiator::Client);
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
            .close(&format!("c{i}"), 1000, Initiator::Client);
    }
    assert!(
        find(&s.findings(), "high-disconnect-rate").is_none(),
        "1 % of 1000"
    );
}

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
    assert_eq!(ev(&r, "count"), json!(25));
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

#[test]
fn feed_incomplete_and_ordering() {
    let mut s = Scenario::new();
    s.push(EventKind::Dropped { count: 7 });
    s.open("a").advance(1.0).close("a", 1009, Initiator::Server);
    let fs = s.findings();
    assert_eq!(
        ids(&fs),
        vec!["message-too-big", "feed-incomplete"],
        "warning before info"
    );
    assert_eq!(ev(&get(&fs, "feed-incomplete"), "dropped_events"), json!(7));
}

/// Six short connections, one a second, from different remote ports, each with the
/// `forwarded_for` that `forwarded(k)` gives: the findings of that reconnect pattern.
fn reconnects_forwarded_as(forwarded: &dyn Fn(usize) -> String) -> Vec<Finding> {
    let mut s = Scenario::new();
    for k in 0..6 {
        let id = format!("x{k}");
        s.at(k as f64).open_full(Open {
            conn: id.as_str().into(),
            remote: Some(format!("10.0.0.{k}:1").as_str().into()),
            forwarded_for: Some(forwarded(k).as_str().into()),
            user_agent: Some("app/1".into()),
            ..Open::default()
        });
        s.advance(0.5).close(&id, 1006, Initiator::None);
    }
    s.findings()
}

#[test]
fn client_identity_prefers_client_then_forwarded_for() {
    let fs = reconnects_forwarded_as(&|_| "198.51.100.23, 10.0.0.1".into());
    let f = get(&fs, "reconnect-loop");
    assert_eq!(
        ev(&f, "clients")[0]["identity"],
        json!("198.51.100.23 app/1")
    );
}

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

/// A snapshot lists the timers a server still runs; one whose connection is not among the
/// snapshot's connections belongs to a closed connection: a leak once the grace has passed. A
/// resync must not forget leaks already seen.
#[test]
fn timer_leak_seen_in_a_snapshot_and_kept_across_a_resync() {
    use wscope::event::{Snapshot, SnapshotConn, SnapshotTimer};
    let snapshot = |timers: &[(&str, &str)]| {
        EventKind::Snapshot(Snapshot {
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
    assert_eq!(ev(&f, "count"), json!(25));
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
    assert_eq!((m.opened, m.closed, m.open_count()), (21, 20, 1));
    assert_eq!(m.counters.contradictions, 0);
    let fs = s.findings();
    assert!(find(&fs, "heartbeat-missing").is_none(), "{:?}", ids(&fs));
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
        connections: vec![resync],
        timers: vec![],
    }))
    .close("n", 1000, Initiator::Client);
    let m = s.model().mobile;
    assert_eq!((m.mobile_opens, m.mobile_closes_of_opens), (11, 11));
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

/// An empty `client` or `forwarded_for` says nothing about who connects: the identity falls
/// back to the remote IP, so six different machines are not one client in a loop.
#[test]
fn empty_client_or_forwarded_for_is_no_identity() {
    for (client, forwarded_for) in [
        (Some(""), None),
        (None, Some("")),
        (None, Some(" , 10.9.9.9")),
    ] {
        let mut s = Scenario::new();
        for k in 0..6 {
            let id = format!("x{k}");
            s.at(k as f64).open_full(Open {
                conn: id.as_str().into(),
                remote: Some(format!("10.0.0.{k}:1").as_str().into()),
                client: client.map(Into::into),
                forwarded_for: forwarded_for.map(Into::into),
                user_agent: Some("app/1".into()),
                ..Open::default()
            });
            s.advance(0.5).close(&id, 1006, Initiator::None);
        }
        let fs = s.findings();
        assert!(
            find(&fs, "reconnect-loop").is_none(),
            "{client:?} {forwarded_for:?}: {fs:#?}"
        );
    }
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

/// A deploy closes every connection at once (1001, by the server), and its clients all came
/// back together after the previous deploy: their ages agree, but that is a restart, not a cap
/// on connection lifetime.
#[test]
fn a_deploy_after_a_reconnect_storm_is_not_a_lifetime_cap() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    for i in 0..30 {
        s.at(i as f64 * 0.1).open_as(
            &format!("c{i}"),
            &format!("10.0.0.{i}:1"),
            "Mozilla/5.0 (X11; Linux x86_64)",
        );
    }
    for k in 1..60 {
        for i in 0..30 {
            let id = format!("c{i}");
            s.at(k as f64 * 30.0 + i as f64 * 0.01)
                .ping(&id)
                .advance(0.02)
                .pong(&id);
        }
    }
    for i in 0..30 {
        s.at(1800.0 + i as f64 * 0.05)
            .close(&format!("c{i}"), 1001, Initiator::Server);
    }
    let fs = s.findings();
    assert!(find(&fs, "server-restart").is_some(), "{:?}", ids(&fs));
    assert!(find(&fs, "lifetime-cap").is_none(), "{fs:#?}");
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

#[test]
fn forwarded_for_with_a_port_is_one_client_and_unknown_is_no_client() {
    let fs = reconnects_forwarded_as(&|k| format!("198.51.100.23:{}", 40000 + k));
    let f = get(&fs, "reconnect-loop");
    assert_eq!(
        ev(&f, "clients")[0]["identity"],
        json!("198.51.100.23 app/1")
    );
    // `unknown` is no identity: each connection falls back to its own remote address.
    let fs = reconnects_forwarded_as(&|_| "unknown".into());
    assert!(find(&fs, "reconnect-loop").is_none());
}
