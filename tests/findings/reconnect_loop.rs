//! `reconnect-loop` and `no-backoff`, and the client identity they group by.

use super::*;

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
