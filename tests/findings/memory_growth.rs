//! `memory-growth`.

use super::*;

const MIB: u64 = 1024 * 1024;

/// 100 connections open throughout; `process` every 10 s for `minutes`, RSS from `start` to
/// `end` MiB.
fn rss_over(minutes: u64, start: u64, end: u64, extra_opens: usize) -> Vec<Finding> {
    let mut s = Scenario::new();
    for i in 0..100 {
        s.open(&format!("c{i}"));
    }
    let samples = minutes * 6;
    for k in 0..=samples {
        s.at(k as f64 * 10.0);
        if (k as usize) < extra_opens {
            s.open(&format!("x{k}"));
        }
        let rss = start * MIB + (end - start) * MIB * k / samples.max(1);
        s.process(rss, 120);
    }
    s.findings()
}

#[test]
fn memory_that_rises_while_connections_do_not_is_found() {
    let fs = rss_over(30, 200, 400, 0);
    let f = get(&fs, "memory-growth");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(ev(&f, "rss_start_bytes"), json!(200 * MIB));
    assert_eq!(ev(&f, "rss_end_bytes"), json!(400 * MIB));
    assert_eq!(ev(&f, "mib_per_hour"), json!(400.0));
    assert_eq!(ev(&f, "open_start"), json!(100));
    assert_eq!(ev(&f, "open_end"), json!(100));
    assert_eq!(ev(&f, "minutes"), json!(30.0));
}

#[test]
fn memory_growth_needs_time_size_and_flat_connections() {
    assert!(
        find(&rss_over(9, 200, 400, 0), "memory-growth").is_none(),
        "under 10 min"
    );
    assert!(
        find(&rss_over(30, 200, 230, 0), "memory-growth").is_none(),
        "15 %"
    );
    assert!(
        find(&rss_over(30, 100, 150, 0), "memory-growth").is_none(),
        "50 MiB"
    );
    assert!(
        find(&rss_over(30, 200, 400, 20), "memory-growth").is_none(),
        "the connections rose 20 %: memory follows them"
    );
}
