//! `fd-leak`.

use super::*;

/// 50 connections open throughout; `process` every 10 s for `minutes`, descriptors from
/// `start` to `end`.
fn fds_over(minutes: u64, start: u64, end: u64) -> Vec<Finding> {
    let mut s = Scenario::new();
    for i in 0..50 {
        s.open(&format!("c{i}"));
    }
    let samples = minutes * 6;
    for k in 0..=samples {
        s.at(k as f64 * 10.0);
        s.process(100 << 20, start + (end - start) * k / samples);
    }
    s.findings()
}

#[test]
fn descriptors_beyond_the_sockets_that_rise_are_found() {
    let f = get(&fds_over(60, 80, 580), "fd-leak");
    assert_eq!(ev(&f, "excess_start"), json!(30));
    assert_eq!(ev(&f, "excess_end"), json!(530));
    assert_eq!(ev(&f, "per_hour"), json!(500.0));
    assert_eq!(ev(&f, "minutes"), json!(60.0));
}

#[test]
fn fd_leak_needs_a_real_rise_over_time() {
    assert!(find(&fds_over(60, 80, 150), "fd-leak").is_none(), "70 more");
    assert!(find(&fds_over(5, 80, 580), "fd-leak").is_none(), "5 min");
    assert!(
        find(&fds_over(60, 2050, 2200), "fd-leak").is_none(),
        "150 of 2000: 7.5 %"
    );
}

/// Descriptors that follow the connections are no leak: the excess stays flat.
#[test]
fn descriptors_that_follow_connections_are_no_leak() {
    let mut s = Scenario::new();
    for k in 0..=360u64 {
        s.at(k as f64 * 10.0);
        s.open(&format!("c{k}"));
        s.process(100 << 20, 20 + k + 1);
    }
    assert!(find(&s.findings(), "fd-leak").is_none());
}
