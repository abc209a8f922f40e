//! Property tests: any bytes in, no panic, every line accounted for; any event sequence in,
//! no panic, and the same events always give the same report.

use proptest::prelude::*;
use std::io::Cursor;
use wscope::report::{Format, Report};
use wscope::source::log::{LogReader, read_log};
use wscope::source::log_index::IndexedLog;

const EVENTS: &[&str] = &[
    r#"{"type":"hello","ts":"2026-11-30T01:00:00Z","server":"s","heartbeat":{"ping_interval_ms":1000,"pong_timeout_ms":500}}"#,
    r#"{"type":"open","ts":"2026-11-30T01:00:01Z","conn":"a","remote":"1.2.3.4:5","user_agent":"iPhone"}"#,
    r#"{"type":"open","ts":"2026-11-30T01:00:01Z","conn":"b"}"#,
    r#"{"type":"ping","ts":"2026-11-30T01:00:02Z","conn":"a"}"#,
    r#"{"type":"pong","ts":"2026-11-30T01:00:02.5Z","conn":"a","rtt_ms":3}"#,
    r#"{"type":"message","ts":"2026-11-30T01:00:03Z","conn":"b","dir":"out","count":2,"bytes":9}"#,
    r#"{"type":"close","ts":"2026-11-30T01:00:09Z","conn":"a","code":1006,"initiator":"none"}"#,
    r#"{"type":"close","ts":"2026-11-30T01:00:04Z","conn":"b","code":null}"#,
    r#"{"type":"timer","ts":"2026-11-30T01:00:01Z","conn":"a","timer":"t","op":"start","interval_ms":100}"#,
    r#"{"type":"timer","ts":"2026-11-30T01:00:30Z","conn":"a","timer":"t","op":"fire"}"#,
    r#"{"type":"timer","ts":"2026-11-30T01:00:31Z","timer":"t","op":"clear"}"#,
    r#"{"type":"app_state","ts":"2026-11-30T01:00:05Z","conn":"a","state":"background"}"#,
    r#"{"type":"snapshot","ts":"2026-11-30T01:00:06Z","connections":[{"conn":"a","opened":"2026-11-30T00:00:00Z"}],"timers":[{"conn":"a","timer":"t2"}]}"#,
    r#"{"type":"dropped","ts":"2026-11-30T01:00:07Z","count":5}"#,
    r#"{"type":"upgrade_rejected","ts":"2026-11-30T01:00:08Z","status":426}"#,
    r#"{"type":"mystery","ts":"2026-11-30T01:00:08Z"}"#,
    r#"{"type":"error","ts":"2026-11-30T01:00:08Z","message":"x"}"#,
    r#"{"type":"process","ts":"2026-11-30T01:00:08Z","rss_bytes":1}"#,
];

fn report_of(bytes: Vec<u8>) -> (u64, u64, String) {
    let reader = LogReader::from_reader(Box::new(Cursor::new(bytes))).unwrap();
    let mut model = wscope::findings::Rules::default().model();
    let mut events = 0;
    let skipped = read_log(
        reader,
        &mut |e| {
            events += 1;
            model.apply(0, e)
        },
        &mut |_| {},
    )
    .unwrap();
    model.finish();
    model.note_skipped(skipped.count);
    let text = Report::from_model(&model, &wscope::findings::Rules::default()).render(Format::Json);
    (events, skipped.count, text)
}

/// A log of `EVENTS` picked by index, each maybe cut short at a byte (a corrupted line).
fn log_of(picks: &[(usize, bool, usize)]) -> Vec<u8> {
    let mut log = Vec::new();
    for &(i, truncate, at) in picks {
        let line = EVENTS[i].as_bytes();
        let line = if truncate {
            &line[..at.min(line.len())]
        } else {
            line
        };
        log.extend_from_slice(line);
        log.push(b'\n');
    }
    log
}

/// 200 cases in the suite; `scripts/fuzz` runs many more (WSCOPE_FUZZ_CASES).
fn cases() -> u32 {
    std::env::var("WSCOPE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_bytes_no_panic_and_lines_accounted(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let lines = bytes.split(|&b| b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).count() as u64;
        let (events, skipped, _) = report_of(bytes);
        prop_assert_eq!(events + skipped, lines);
    }

    #[test]
    fn any_event_sequence_is_deterministic(picks in proptest::collection::vec((0..EVENTS.len(), any::<bool>(), 0usize..40), 0..200)) {
        // Events in any order, some cut short at a random byte (a corrupted line).
        let log = log_of(&picks);
        let a = report_of(log.clone());
        let b = report_of(log);
        prop_assert_eq!(a, b);
    }

    /// Replay reads a log a window at a time: any log, cut into small windows, read back in
    /// any order, gives the events of one whole read.
    #[test]
    fn replay_windows_give_the_whole_log(
        picks in proptest::collection::vec((0..EVENTS.len(), any::<bool>(), 0usize..40), 0..300),
        chunk in 64usize..2048,
        order in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let log = log_of(&picks);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.jsonl");
        std::fs::write(&path, &log).unwrap();
        let mut whole = Vec::new();
        let reader = LogReader::open(&path).unwrap();
        let skipped = read_log(reader, &mut |e| whole.push(e.clone()), &mut |_| {}).unwrap();
        let mut indexed = IndexedLog::open_with(&path, Some(chunk), &mut |_| {}).unwrap();
        prop_assert_eq!(indexed.len(), whole.len() as u64);
        prop_assert_eq!(indexed.skipped().count, skipped.count);
        let n = indexed.windows().len();
        for pick in order.iter().map(|o| o % n.max(1)).chain(0..n) {
            if n == 0 {
                break;
            }
            let first = indexed.windows()[pick].first_event as usize;
            let events = indexed.load(pick).unwrap();
            prop_assert_eq!(&events[..], &whole[first..first + events.len()]);
        }
    }
}

#[test]
fn every_string_field_with_escapes_stays_inert_in_reports() {
    // Escape sequences, then invisible characters: zero-width ones, a line separator, a bidi
    // override, a byte-order mark, a soft hyphen.
    let esc = "\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\u200b\\u200d\\u2028\\u2029\\u202e\\ufeff\\u2060\\u00ad";
    let invisible = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(
                c,
                '\u{200b}'
                    | '\u{200d}'
                    | '\u{2028}'
                    | '\u{2029}'
                    | '\u{202e}'
                    | '\u{feff}'
                    | '\u{2060}'
                    | '\u{ad}'
            )
    };
    let log = format!(
        concat!(
            r#"{{"type":"hello","ts":"2026-11-30T01:00:00Z","server":"s{e}","software":"x{e}","heartbeat":{{"ping_interval_ms":1000,"pong_timeout_ms":100}}}}"#,
            "\n",
            r#"{{"type":"open","ts":"2026-11-30T01:00:01Z","conn":"c{e}","remote":"r{e}","user_agent":"u{e}","path":"p{e}","client":"k{e}"}}"#,
            "\n",
            r#"{{"type":"ping","ts":"2026-11-30T01:00:02Z","conn":"c{e}"}}"#,
            "\n",
            r#"{{"type":"timer","ts":"2026-11-30T01:00:02Z","conn":"c{e}","timer":"t{e}","op":"start","kind":"k{e}"}}"#,
            "\n",
            r#"{{"type":"open","ts":"2026-11-30T01:00:03Z","conn":"d{e}"}}"#,
            "\n",
            r#"{{"type":"close","ts":"2026-11-30T01:00:04Z","conn":"d{e}","code":1000,"reason":"r{e}","initiator":"client"}}"#,
            "\n",
            r#"{{"type":"close","ts":"2026-11-30T01:00:09Z","conn":"c{e}","code":1006,"initiator":"none"}}"#,
            "\n",
            r#"{{"type":"upgrade_rejected","ts":"2026-11-30T01:00:30Z","reason":"x{e}","status":400}}"#,
            "\n",
        ),
        e = esc
    );
    let (_, _, json) = report_of(log.clone().into_bytes());
    for fmt in [Format::Text, Format::Markdown] {
        let reader =
            LogReader::from_reader(Box::new(Cursor::new(log.clone().into_bytes()))).unwrap();
        let mut model = wscope::findings::Rules::default().model();
        read_log(reader, &mut |e| model.apply(0, e), &mut |_| {}).unwrap();
        model.finish();
        let out = Report::from_model(&model, &wscope::findings::Rules::default()).render(fmt);
        assert!(!out.chars().any(invisible), "{fmt:?}: {out:?}");
        assert!(out.contains("\\u{200b}"), "{fmt:?}: shown escaped: {out}");
        assert!(out.contains("timer-leak"), "{out}");
    }
    assert!(!json.chars().any(invisible), "{json}");
}

/// Valid but extreme values: timestamps centuries apart, intervals and counts near the top of
/// their types. Nothing may overflow (a panic in a debug build, garbage in a release one).
#[test]
fn extreme_numbers_and_times_do_not_overflow() {
    let max = u64::MAX;
    let lines = [
        format!(
            r#"{{"type":"hello","ts":"1678-01-01T00:00:00Z","server":"s","heartbeat":{{"ping_interval_ms":{max},"pong_timeout_ms":{max}}}}}"#
        ),
        r#"{"type":"open","ts":"1678-01-01T00:00:01Z","conn":"a","remote":"1.2.3.4:5","user_agent":"iPhone"}"#.to_string(),
        format!(
            r#"{{"type":"timer","ts":"1678-01-01T00:00:01Z","conn":"a","timer":"t","op":"start","interval_ms":{max}}}"#
        ),
        r#"{"type":"ping","ts":"1678-01-01T00:00:02Z","conn":"a"}"#.to_string(),
        r#"{"type":"app_state","ts":"1678-01-01T00:00:03Z","conn":"a","state":"background"}"#
            .to_string(),
        format!(r#"{{"type":"dropped","ts":"1678-01-01T00:00:04Z","count":{max}}}"#),
        format!(r#"{{"type":"dropped","ts":"2261-12-31T00:00:00Z","count":{max}}}"#),
        r#"{"type":"snapshot","ts":"2261-12-31T00:00:01Z","server":"s2","connections":[{"conn":"b","opened":"1678-01-01T00:00:00Z","user_agent":"iPhone"}]}"#.to_string(),
        r#"{"type":"close","ts":"2261-12-31T00:00:02Z","conn":"a","code":1001,"initiator":"server"}"#.to_string(),
        r#"{"type":"close","ts":"2261-12-31T00:00:02Z","server":"s2","conn":"b","code":1006,"initiator":"none"}"#.to_string(),
        r#"{"type":"close","ts":"1678-01-01T00:00:05Z","conn":"zz","code":1001,"initiator":"server"}"#.to_string(),
        r#"{"type":"timer","ts":"2261-12-31T00:00:03Z","timer":"t","op":"clear"}"#.to_string(),
    ];
    let log = lines.join("\n") + "\n";
    let (events, skipped, json) = report_of(log.into_bytes());
    assert_eq!((events, skipped), (lines.len() as u64, 0));
    assert!(json.contains("\"feed-incomplete\""), "{json}");
}
