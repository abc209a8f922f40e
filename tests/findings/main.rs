//! Every finding of findings.md, one module per finding: positive, negative and regression
//! cases together, built with the scenario builder, with evidence values asserted.

pub use serde_json::json;
pub use wscope::event::{AppState, Dir, EventKind, Initiator, Open, TimerOp};
pub use wscope::findings::{Finding, Severity};
pub use wscope::scenario::Scenario;

mod clock;
mod fd_leak;
mod feed_incomplete;
mod healthy;
mod heartbeat_missing;
mod high_disconnect_rate;
mod idle_timeout;
mod lifetime_cap;
mod memory_growth;
mod mobile_background;
mod model;
mod reconnect_loop;
mod server_restart;
mod timer_leak;
mod upgrade_rejected;
mod zombie_connections;

pub fn find<'a>(fs: &'a [Finding], id: &str) -> Option<&'a Finding> {
    fs.iter().find(|f| f.id == id)
}

pub fn get(fs: &[Finding], id: &str) -> Finding {
    find(fs, id)
        .unwrap_or_else(|| {
            panic!(
                "no {id} in {:?}",
                fs.iter().map(|f| f.id).collect::<Vec<_>>()
            )
        })
        .clone()
}

pub fn ids(fs: &[Finding]) -> Vec<&'static str> {
    fs.iter().map(|f| f.id).collect()
}

pub fn ev(f: &Finding, key: &str) -> serde_json::Value {
    f.evidence
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("{} has no evidence {key}", f.id))
}

/// Healthy chat traffic: pings answered, messages, clean closes at an ordinary rate.
pub fn healthy(s: &mut Scenario, conns: usize, minutes: usize) {
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
