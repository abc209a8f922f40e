//! One event with a wrong clock (dated 1970 or 2200, or a day ahead), anywhere in a healthy
//! log: set aside and counted under `feed-incomplete`, it changes no other finding, the span
//! or "now".

use super::*;
use wscope::event::{Event, SECOND, Ts};

/// An hour of healthy traffic with a few cuts (well under any alarm).
fn hour() -> Scenario {
    let mut s = Scenario::new();
    healthy(&mut s, 100, 60);
    for i in 0..20 {
        let id = format!("cut{i}");
        s.at(100.0 + i as f64 * 170.0)
            .open(&id)
            .advance(30.0)
            .cut(&id);
    }
    s.events.sort_by_key(|e| e.ts);
    s
}

fn severities(fs: &[Finding]) -> Vec<(String, Severity)> {
    fs.iter()
        .filter(|f| f.id != "feed-incomplete")
        .map(|f| (f.id.to_string(), f.severity))
        .collect()
}

#[test]
fn a_wrong_clock_on_one_line_changes_nothing_but_is_counted() {
    let base = hour();
    let base_model = base.model();
    let base_findings = base.findings();
    assert!(find(&base_findings, "feed-incomplete").is_none());
    let start = base.events[0].ts;
    let strays = [
        ("1970", Ts(0)),
        ("2200", Ts(7_258_118_400 * SECOND)),
        ("a day ahead", Ts(start.0 + 86_400 * SECOND)),
    ];
    let n = base.events.len();
    for (name, ts) in strays {
        for at in [0, 1, n / 2, n] {
            let mut s = base.clone();
            let conn = s.events[n / 2].kind.conn().unwrap_or("h1").to_string();
            s.events
                .insert(at, Event::new(ts, EventKind::Ping { conn: conn.into() }));
            let m = s.model();
            let fs = s.findings();
            let case = format!("{name} at line {at}");
            assert_eq!(severities(&fs), severities(&base_findings), "{case}");
            assert_eq!(m.span(), base_model.span(), "{case}");
            assert_eq!(m.counters.events, base_model.counters.events, "{case}");
            assert_eq!(m.counters.clock_outliers, 1, "{case}");
            let f = get(&fs, "feed-incomplete");
            assert_eq!(ev(&f, "clock_outliers"), json!(1), "{case}");
            assert!(f.summary.contains("set aside"), "{case}: {}", f.summary);
        }
    }
}

/// Two days of a log with a day's silence between: the jump is real (two events agree on
/// it), nothing is set aside.
#[test]
fn a_real_jump_is_kept() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    s.open("a").advance(1.0).close("a", 1000, Initiator::Client);
    s.advance(86_400.0)
        .open("b")
        .advance(1.0)
        .close("b", 1000, Initiator::Client);
    let m = s.model();
    assert_eq!(m.counters.clock_outliers, 0);
    assert_eq!(m.counters.events, 5);
    let (from, to) = m.span().unwrap();
    assert_eq!(to.0 - from.0, 86_402 * SECOND);
}
