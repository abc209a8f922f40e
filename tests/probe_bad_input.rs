//! Bad input and broken endpoints: a clear one-line error with exit 2 when there is nothing to
//! probe (bad URL or option, refused port), a finding when a port answers badly (not HTTP,
//! silence, a wrong accept key), never a panic, never a hang.

mod common;

use common::free_port;
use common::probe::probe;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

fn assert_one_line_error(run: &common::probe::Run, needle: &str) {
    assert_eq!(
        run.code,
        Some(2),
        "stdout: {} stderr: {}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.stdout, "");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.contains(needle), "{needle:?} not in {:?}", run.stderr);
}

#[test]
fn invalid_urls_exit_2_with_one_line() {
    for url in [
        "not a url",
        "http://127.0.0.1/",
        "127.0.0.1:80/ws",
        "ws://",
        "ws://127.0.0.1:99999/",
    ] {
        let run = probe(&[url], LIMIT);
        assert_one_line_error(&run, "invalid URL");
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
}

#[test]
fn bad_options_exit_2() {
    let url = "ws://127.0.0.1:9/";
    for args in [
        vec![url, "--header", "no-colon"],
        vec![url, "--header", "Upgrade: h2c"],
        vec![url, "--idle-max", "soon"],
        vec![url, "--format", "xml"],
        vec![url, "--timeout", "0"],
        vec![url, "--idle-max", "99999999999999s"],
        vec![url, "--timeout", "1000000h"],
    ] {
        let run = probe(&args, LIMIT);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("error:") || run.stderr.starts_with("wscope: error:"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_refused_port_is_a_one_line_error() {
    let run = probe(&[&format!("ws://127.0.0.1:{}/", free_port())], LIMIT);
    assert_one_line_error(&run, "cannot connect to 127.0.0.1:");
    assert!(
        run.stderr.to_lowercase().contains("refused"),
        "{}",
        run.stderr
    );
}

/// A loopback server that handles each connection with `serve`, on a thread.
fn serve(serve: fn(std::net::TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    port
}

fn read_request(stream: &mut std::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && stream.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
        buf.push(byte[0]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn a_port_that_speaks_no_http_is_a_finding() {
    let port = serve(|mut s| {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
        std::thread::sleep(Duration::from_secs(1));
    });
    let run = probe(
        &[&format!("ws://127.0.0.1:{port}/"), "--format", "json"],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let finding = run.finding("upgrade-rejected").expect("finding");
    assert_eq!(finding["evidence"]["reason"], "not-http");
    assert!(
        finding["evidence"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("SSH-2.0-OpenSSH")
    );
}

#[test]
fn a_silent_port_is_a_finding_after_the_timeout() {
    let port = serve(|s| {
        std::thread::sleep(Duration::from_secs(10));
        drop(s);
    });
    // Bounded by --timeout, and by a short --idle-max when no --timeout is given.
    for limit in [["--timeout", "1s"], ["--idle-max", "1s"]] {
        let url = format!("ws://127.0.0.1:{port}/");
        let run = probe(&[&url, limit[0], limit[1], "--format", "json"], LIMIT);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let finding = run.finding("upgrade-rejected").expect("finding");
        assert_eq!(finding["evidence"]["reason"], "no-answer");
        let detail = finding["evidence"]["detail"].as_str().unwrap();
        assert!(detail.contains("no answer within 1 s"), "{detail}");
        assert!(
            run.elapsed < Duration::from_secs(3),
            "{limit:?}: {:?}",
            run.elapsed
        );
    }
}

#[test]
fn a_port_that_hangs_up_is_a_finding() {
    let port = serve(|mut s| {
        let _ = read_request(&mut s);
    });
    let run = probe(
        &[&format!("ws://127.0.0.1:{port}/"), "--format", "json"],
        LIMIT,
    );
    let finding = run.finding("upgrade-rejected").expect("finding");
    assert_eq!(finding["evidence"]["reason"], "no-answer");
    assert_eq!(finding["evidence"]["status"], serde_json::Value::Null);
}

#[test]
fn a_101_with_a_wrong_accept_key_is_refused() {
    // Answers every key with the accept value of RFC 6455's sample key: right only for that key,
    // which the probe (a fresh random key each time) never sends.
    let port = serve(|mut s| {
        let request = read_request(&mut s);
        assert!(!request.contains("dGhlIHNhbXBsZSBub25jZQ=="));
        let _ = s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        );
        std::thread::sleep(Duration::from_secs(1));
    });
    let run = probe(
        &[&format!("ws://127.0.0.1:{port}/"), "--format", "json"],
        LIMIT,
    );
    let report = run.json();
    assert_eq!(report["handshake"]["status"], 101);
    assert_eq!(report["handshake"]["ok"], false);
    let finding = run.finding("upgrade-rejected").expect("finding");
    assert_eq!(finding["evidence"]["reason"], "bad-accept");
}

#[test]
fn hostile_headers_reach_the_report_inert() {
    let port = serve(|mut s| {
        let _ = read_request(&mut s);
        // httparse refuses control characters in headers, not a bidi override (obs-text).
        let _ = s.write_all(
            b"HTTP/1.1 403 Forbidden\r\nServer: evil\xe2\x80\xaeproxy\r\nContent-Length: 12\r\n\r\nno \x1b]0;x\x07 way",
        );
        std::thread::sleep(Duration::from_millis(500));
    });
    let run = probe(&[&format!("ws://127.0.0.1:{port}/")], LIMIT);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        !run.stdout.contains('\x1b') && !run.stdout.contains('\u{202e}'),
        "{:?}",
        run.stdout
    );
    assert!(run.stdout.contains("evil\\u{202e}proxy"), "{}", run.stdout);
    assert!(
        run.stdout.contains("no \\u{1b}]0;x\\u{7} way"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("--origin"),
        "403 remedy: {}",
        run.stdout
    );

    // Control characters inside the headers: a malformed answer, shown inert.
    let port = serve(|mut s| {
        let _ = read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 403 Forbidden\r\nServer: evil\x1b[2J\r\n\r\n");
        std::thread::sleep(Duration::from_millis(500));
    });
    let run = probe(&[&format!("ws://127.0.0.1:{port}/")], LIMIT);
    assert!(!run.stdout.contains('\x1b'), "{:?}", run.stdout);
    assert!(
        run.stdout.contains("not HTTP: HTTP/1.1 403 Forbidden"),
        "{}",
        run.stdout
    );
}
