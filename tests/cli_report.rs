//! The `wscope report` contract, on the real binary: formats, stdin, zstd, exit codes, errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use wscope::event::{Dir, Initiator};
use wscope::scenario::Scenario;

fn wscope(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wscope");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn incident() -> String {
    let mut s = Scenario::new();
    s.hello(Some((90_000, 5_000)));
    for i in 0..20 {
        let id = format!("c{i}");
        s.at(i as f64 * 2.0).open(&id).message(&id, Dir::In);
        s.at(i as f64 * 2.0 + 60.0).cut(&id);
    }
    s.open("ok")
        .advance(1.0)
        .close("ok", 1000, Initiator::Client);
    s.to_jsonl()
}

fn temp_log(name: &str, content: &[u8]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    (dir, path.to_string_lossy().into_owned())
}

#[test]
fn json_report_has_the_shape_of_findings_md() {
    let (_d, path) = temp_log("incident.jsonl", incident().as_bytes());
    let out = wscope(&["report", &path, "--format", "json"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["protocol"], 1);
    assert_eq!(v["span"]["from"], "2026-11-30T01:00:00Z");
    assert_eq!(v["events"], 1 + 20 * 3 + 2);
    assert_eq!(v["skipped_lines"], 0);
    assert_eq!(v["connections"]["opened"], 21);
    assert_eq!(v["connections"]["closed"], 21);
    assert_eq!(v["connections"]["open_at_end"], 0);
    assert_eq!(v["close_codes"]["1006"], 20);
    assert_eq!(v["close_codes"]["1000"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["id"], "idle-timeout");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["evidence"]["idle_seconds"], 60.0);
    assert!(f["remedy"].as_str().unwrap().len() > 20);
}

#[test]
fn text_puts_findings_first_and_markdown_has_tables() {
    let (_d, path) = temp_log("incident.jsonl", incident().as_bytes());
    let out = wscope(&["report", &path], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let findings = text.find("FINDINGS").unwrap();
    assert!(findings < text.find("CLOSE CODES").unwrap());
    assert!(text.contains("CRITICAL idle-timeout"));
    assert!(text.contains("1006 Abnormal Closure"));

    let out = wscope(&["report", &path, "--format", "markdown"], None);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("# WebSocket disconnect report"));
    assert!(md.contains("| critical | `idle-timeout` |"));
    assert!(md.contains("| 1006 Abnormal Closure | 20 |"));
}

#[test]
fn reads_stdin_and_zstd() {
    let log = incident();
    let out = wscope(&["report", "-", "--format", "json"], Some(log.as_bytes()));
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["close_codes"]["1006"], 20);

    let packed = zstd::encode_all(log.as_bytes(), 3).unwrap();
    let (_d, path) = temp_log("incident.jsonl.zst", &packed);
    let out = wscope(&["report", &path, "--format", "json"], None);
    let v2: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, v2, "same log, same report");
}

#[test]
fn bad_lines_are_counted_and_listed_with_verbose() {
    let mut log = incident().into_bytes();
    log.extend_from_slice(b"garbage\n{\"type\":\"open\"}\n");
    log.extend_from_slice(&vec![b'x'; 2 << 20]);
    log.extend_from_slice(b"\n{\"type\":\"close\",\"ts\":\"2026-11-30T01:09");
    let (_d, path) = temp_log("bad.jsonl", &log);
    let out = wscope(&["report", &path, "--format", "json", "--verbose"], None);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped_lines"], 4);
    assert_eq!(v["close_codes"]["1006"], 20, "nothing valid is lost");
    let lines: Vec<u64> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![64, 65, 66, 67]);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "feed-incomplete")
    );

    let out = wscope(&["report", &path, "--verbose"], None);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("line 67: truncated last line"), "{err}");
}

#[test]
fn errors_are_one_line_with_exit_2() {
    let out = wscope(&["report", "/nonexistent/incident.jsonl"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot read /nonexistent/incident.jsonl"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = wscope(&["report", &dir.path().to_string_lossy()], None);
    assert_eq!(out.status.code(), Some(2));

    let out = wscope(&["report", "x.jsonl", "--format", "yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = wscope(&["report", "x.jsonl", "--bogus"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_shared_tour_sample_gives_exactly_its_three_findings() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/samples/tour.jsonl");
    if !std::path::Path::new(path).exists() {
        // The sample lives beside the checkout; CI lays it there too.
        assert!(std::env::var_os("CI").is_none(), "{path} missing in CI");
        return;
    }
    let out = wscope(&["report", path, "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["heartbeat-missing", "timer-leak", "feed-incomplete"]
    );
    let hb = &v["findings"][0]["evidence"];
    assert_eq!(hb["longest_unpinged_seconds"], 269.0);
    assert_eq!(v["findings"][1]["evidence"]["timers"][0], "hb-17");
    assert_eq!(v["findings"][2]["evidence"]["dropped_events"], 12);
}

/// A log of many chunks (about 14 MB: every kind of event, bad lines, several servers)
/// gives the same report, byte for byte, whatever the number of parser threads.
#[test]
fn the_report_does_not_depend_on_the_thread_count() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    for i in 0..30_000u32 {
        let id = format!("c{}", i % 3_000);
        match i % 10 {
            0 => s.open(&id),
            1 => s.ping(&id),
            2 => s.pong(&id),
            3 if i % 7 == 0 => s.close(&id, 1006, Initiator::None),
            4 => s.timer(&id, "hb", wscope::event::TimerOp::Start),
            5 if i % 11 == 0 => s.reject(400),
            _ => s.message(&id, if i % 2 == 0 { Dir::In } else { Dir::Out }),
        };
        s.advance(0.01);
    }
    let mut log = String::new();
    for (i, line) in s.to_jsonl().lines().enumerate() {
        log.push_str(line);
        log.push('\n');
        if i % 997 == 0 {
            log.push_str("{\"type\":\"ping\",\"ts\":\"not a time\",\"conn\":\"x\"}\n");
        }
    }
    let body = log.clone();
    while log.len() < 14 << 20 {
        log.push_str(&body);
    }
    let (_d, path) = temp_log("many-chunks.jsonl", log.as_bytes());
    let report = |threads: &str, format: &str| {
        let out = wscope(
            &["report", &path, "--format", format, "--threads", threads],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    for format in ["json", "text"] {
        let one = report("1", format);
        assert!(one.len() > 500, "{}", String::from_utf8_lossy(&one));
        for threads in ["2", "3", "8"] {
            assert!(
                one == report(threads, format),
                "{format} report with {threads} threads differs from one thread"
            );
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&report("2", "json")).unwrap();
    assert!(
        v["skipped_lines"].as_u64().unwrap() > 50,
        "{}",
        v["skipped_lines"]
    );
}

/// `wscope report FILE >&-`: the report has nowhere to go, which is an error, not exit 0;
/// `>/dev/null` is the user's choice and fine.
#[test]
fn a_closed_standard_output_is_an_error() {
    let (_d, path) = temp_log("incident.jsonl", incident().as_bytes());
    let run = |redirect: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("exec \"$0\" report \"$1\" {redirect}"))
            .arg(env!("CARGO_BIN_EXE_wscope"))
            .arg(&path)
            .output()
            .unwrap()
    };
    let out = run(">&-");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("standard output is closed"), "{stderr}");
    assert_eq!(run(">/dev/null").status.code(), Some(0));
}

#[test]
fn help_reads_well() {
    let out = wscope(&["--help"], None);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in ["demo", "attach", "replay", "report", "probe"] {
        assert!(help.contains(cmd), "{help}");
    }
}

/// The text forms say which of the connections open at the end a snapshot listed (opened
/// before the log began); the JSON keeps findings.md's shape.
#[test]
fn connections_listed_by_a_snapshot_are_said() {
    let log = concat!(
        r#"{"type":"hello","ts":"2026-11-30T01:00:00Z","protocol":1,"server":"s1","heartbeat":null}"#,
        "\n",
        r#"{"type":"snapshot","ts":"2026-11-30T01:00:00.5Z","connections":[{"conn":"a","opened":"2026-11-30T00:41:02Z"},{"conn":"b","opened":"2026-11-30T00:42:02Z"}],"timers":[]}"#,
        "\n",
        r#"{"type":"open","ts":"2026-11-30T01:00:01Z","conn":"c"}"#,
        "\n",
    );
    let (_dir, path) = temp_log("snap.jsonl", log.as_bytes());
    let text = String::from_utf8(wscope(&["report", &path], None).stdout).unwrap();
    assert!(
        text.contains("open at end 3 (2 listed by a snapshot, opened before the log)"),
        "{text}"
    );
    assert!(
        text.contains("server s1  software unknown  no heartbeat announced"),
        "{text}"
    );
    let md = String::from_utf8(wscope(&["report", "-f", "markdown", &path], None).stdout).unwrap();
    assert!(
        md.contains("open at end 3 (2 listed by a snapshot)"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&wscope(&["report", "-f", "json", &path], None).stdout).unwrap();
    assert_eq!(json["connections"].as_object().unwrap().len(), 4);
}

/// Two servers' logs: `chat-1` names itself and has scattered cuts, the other is named after
/// its file and its proxy cuts every idle connection at 60 s.
fn two_servers(dir: &std::path::Path) -> (String, String) {
    use wscope::event::{EventKind, Hello};
    let mut a = Scenario::new();
    a.push_on(
        "chat-1",
        EventKind::Hello(Hello {
            protocol: Some(1),
            software: Some("chat/2".into()),
            heartbeat: Some(wscope::event::Heartbeat {
                ping_interval_ms: 30_000,
                pong_timeout_ms: 5_000,
            }),
            history: None,
        }),
    );
    for i in 0..60u32 {
        let id = format!("a{i}");
        a.at(i as f64 * 2.0).open(&id);
        a.at(i as f64 * 2.0 + 3.0 + (i * i * 7 % 400) as f64)
            .cut(&id);
    }
    let mut b = Scenario::new();
    b.hello(Some((90_000, 5_000)));
    for i in 0..20 {
        let id = format!("b{i}");
        b.at(i as f64 * 3.0).open(&id);
        b.at(i as f64 * 3.0 + 60.0).cut(&id);
    }
    let a_path = dir.join("a.jsonl");
    let b_path = dir.join("edge-b.jsonl.zst");
    std::fs::write(&a_path, a.to_jsonl()).unwrap();
    std::fs::write(
        &b_path,
        zstd::encode_all(b.to_jsonl().as_bytes(), 3).unwrap(),
    )
    .unwrap();
    let s = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    (s(a_path), s(b_path))
}

#[test]
fn several_logs_merge_in_time_and_each_server_is_judged_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_servers(dir.path());
    let logs = dir.path().to_string_lossy().into_owned();
    let out = wscope(&["report", &logs, "--format", "json"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["events"], 1 + 120 + 1 + 40);
    assert_eq!(v["connections"]["opened"], 80);
    let servers = v["servers"].as_object().unwrap();
    assert_eq!(servers.keys().collect::<Vec<_>>(), ["chat-1", "edge-b"]);
    let (chat, edge) = (&servers["chat-1"], &servers["edge-b"]);
    assert_eq!(chat["software"], "chat/2");
    assert_eq!(chat["ping_interval_ms"], 30_000);
    assert_eq!(chat["connections"]["opened"], 60);
    assert_eq!(edge["connections"]["opened"], 20);
    assert_eq!(edge["close_codes"]["1006"], 20);
    assert_eq!(edge["events"], 41);
    let ids = |s: &serde_json::Value| -> Vec<String> {
        s["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect()
    };
    assert!(ids(edge).contains(&"idle-timeout".to_string()), "{edge}");
    assert!(!ids(chat).contains(&"idle-timeout".to_string()), "{chat}");
    // The 60 scattered cuts of chat-1 hide edge-b's 20 in the sum: the finding is edge-b's,
    // and says so.
    let idle = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "idle-timeout");
    let idle = idle.expect("idle-timeout of one server is the report's finding");
    assert!(
        idle["summary"].as_str().unwrap().starts_with("edge-b: "),
        "{idle}"
    );

    // The files named one by one give the same report, byte for byte.
    let named = wscope(&["report", &a, &b, "--format", "json"], None);
    assert_eq!(named.stdout, out.stdout);
    let text = wscope(&["report", &a, &b], None);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("SERVERS"), "{text}");
    assert!(text.contains("where:    on 1 of 2 servers"), "{text}");
}

#[test]
fn among_several_logs_a_missing_one_fails_before_any_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = two_servers(dir.path());
    let missing = dir.path().join("nope.jsonl").to_string_lossy().into_owned();
    let out = wscope(&["report", &a, &missing], None);
    assert_ne!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read") && err.contains("nope.jsonl"),
        "{err}"
    );

    let empty = tempfile::tempdir().unwrap();
    let out = wscope(&["report", &empty.path().to_string_lossy()], None);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no files in this directory"), "{err}");
}
