//! The shared feed conformance checker must itself be able to fail.

mod common;

use common::conformance::{assert_conforms, check_feed};

#[test]
fn the_checker_accepts_the_spec_examples_and_rejects_broken_feeds() {
    let good: Vec<String> = [
        r#"{"type":"hello","ts":"2026-11-30T01:00:00Z","protocol":1,"server":"chat-1","software":"chat-server/2.3.1","heartbeat":{"ping_interval_ms":30000,"pong_timeout_ms":5000}}"#,
        r#"{"type":"snapshot","ts":"2026-11-30T01:00:00.5Z","connections":[{"conn":"c17","opened":"2026-11-30T00:41:02Z","remote":"203.0.113.7:51234","msgs_in":120}],"timers":[{"conn":"c17","timer":"hb-17","kind":"heartbeat","interval_ms":30000,"started":"2026-11-30T00:41:02Z"}]}"#,
        r#"{"type":"open","ts":"2026-11-30T01:00:01Z","conn":"c18","remote":"203.0.113.9:40112","forwarded_for":"198.51.100.23"}"#,
        r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c18"}"#,
        r#"{"type":"pong","ts":"2026-11-30T01:00:30.031Z","conn":"c18","rtt_ms":31.0}"#,
        r#"{"type":"message","ts":"2026-11-30T01:00:31Z","conn":"c18","dir":"in","count":3,"bytes":412}"#,
        r#"{"type":"close","ts":"2026-11-30T01:05:00Z","conn":"c18","code":null,"reason":"","initiator":"client"}"#,
        r#"{"type":"timer","ts":"2026-11-30T01:05:01Z","conn":"c18","timer":"hb-18","op":"fire"}"#,
        r#"{"type":"dropped","ts":"2026-11-30T01:05:02Z","count":12}"#,
    ]
    .map(String::from)
    .to_vec();
    let summary = assert_conforms(&good);
    assert_eq!(summary.count("open"), 1);

    let broken = |i: usize, frame: &str| {
        let mut f = good.clone();
        f[i] = frame.to_string();
        check_feed(&f).expect_err(frame)
    };
    broken(
        0,
        r#"{"type":"hello","ts":"2026-11-30T01:00:00Z","server":"x"}"#,
    ); // no protocol
    broken(
        2,
        r#"{"type":"open","ts":"2026-11-30T01:00:01+02:00","conn":"c18"}"#,
    ); // not UTC
    broken(
        2,
        r#"{"type":"opened","ts":"2026-11-30T01:00:01Z","conn":"c18"}"#,
    ); // unknown type
    broken(
        5,
        r#"{"type":"message","ts":"2026-11-30T01:00:31Z","conn":"c18","dir":"in"}"#,
    );
    broken(
        6,
        r#"{"type":"close","ts":"2026-11-30T01:05:00Z","conn":"c18","code":1006}"#,
    );
    broken(
        6,
        r#"{"type":"close","ts":"2026-11-30T01:05:00Z","conn":"c99","code":1006,"initiator":"none"}"#,
    );
    broken(8, r#"{"type":"dropped","ts":"2026-11-30T01:05:02Z"}"#);
    let mut swapped = good.clone();
    swapped.swap(0, 1);
    assert!(check_feed(&swapped).is_err());
}
