//! `lifetime-cap`.

use super::*;

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
    assert!(find(&s.findings(), "lifetime-cap").is_none());
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

/// Connections opened in one burst, busy for a while, then cut by a proxy after 60 s idle:
/// they all end at about the same age, but the idle timeout explains them: no lifetime cap.
#[test]
fn idle_cuts_of_a_burst_are_an_idle_timeout_not_a_lifetime_cap() {
    let mut s = Scenario::new();
    s.hello(None);
    for i in 0..40 {
        s.at(i as f64 * 0.01).open(&format!("c{i}"));
    }
    for t in 1..=90 {
        s.at(t as f64);
        for i in 0..40 {
            s.message(&format!("c{i}"), Dir::In);
        }
    }
    for i in 0..40 {
        s.at(150.0 + i as f64 * 0.01).cut(&format!("c{i}"));
    }
    let fs = s.findings();
    let idle = get(&fs, "idle-timeout");
    assert_eq!(ev(&idle, "count"), json!(40));
    assert!(find(&fs, "lifetime-cap").is_none(), "{:?}", ids(&fs));
}
