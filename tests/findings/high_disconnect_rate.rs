//! `high-disconnect-rate`.

use super::*;

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
                .close(&format!("c{i}"), 1006, Initiator::None);
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
            .close(&format!("c{i}"), 1006, Initiator::None);
    }
    assert!(
        find(&s.findings(), "high-disconnect-rate").is_none(),
        "1 % of 1000"
    );
}

/// A deploy done well: the server closes everyone with 1001 and clients come back within
/// 30 s. A restart, not an incident: no disconnect-rate alarm, no warning at all.
#[test]
fn a_well_handled_deploy_is_no_incident() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    for i in 0..200 {
        s.at(i as f64 * 0.05).open(&format!("c{i}"));
    }
    for k in 1..10 {
        s.at(k as f64 * 30.0);
        for i in 0..200 {
            let id = format!("c{i}");
            s.ping(&id).advance(0.001).pong(&id);
        }
    }
    s.at(300.0);
    for i in 0..200 {
        s.advance(0.02)
            .close(&format!("c{i}"), 1001, Initiator::Server);
    }
    for i in 0..200 {
        s.at(310.0 + i as f64 * 0.1).open(&format!("n{i}"));
    }
    for t in [330.0, 360.0] {
        s.at(t);
        for i in 0..200 {
            let id = format!("n{i}");
            s.ping(&id).advance(0.001).pong(&id);
        }
    }
    let fs = s.findings();
    assert!(
        find(&fs, "high-disconnect-rate").is_none(),
        "{:?}",
        ids(&fs)
    );
    assert!(
        fs.iter().all(|f| f.severity == Severity::Info),
        "only information: {:?}",
        ids(&fs)
    );
    assert_eq!(ev(&get(&fs, "server-restart"), "count"), json!(1));
}

/// Chat users leaving cleanly (their own 1000) at 8 %/min is what users do.
#[test]
fn users_leaving_cleanly_is_no_disconnect_rate() {
    let mut s = Scenario::new();
    for i in 0..100 {
        s.open(&format!("c{i}"));
    }
    for i in 0..40 {
        s.at(60.0 + i as f64 * 7.5)
            .close(&format!("c{i}"), 1000, Initiator::Client)
            .open(&format!("n{i}"));
    }
    let fs = s.findings();
    assert!(
        find(&fs, "high-disconnect-rate").is_none(),
        "{:?}",
        ids(&fs)
    );
}
