//! `wscope probe` through a real nginx (started by each test on a free loopback port) in front
//! of a real axum WebSocket backend.
//!
//! The backend is axum 0.8: when nginx does not pass `Connection: upgrade` it answers
//! 400 "Connection header did not include 'upgrade'"; when nginx talks HTTP/1.0 to it (no
//! `proxy_http_version 1.1`) it answers 426 Upgrade Required. Those are the statuses asserted.

mod common;

use common::probe::{Backend, num, probe, start_backend};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// nginx in front of the backend: one location per misconfiguration on `port`, and the
/// server of assets/nginx/websocket.conf, as shipped, on `shipped_port`.
struct Nginx {
    _nginx: common::nginx::Nginx,
    port: u16,
    shipped_port: u16,
}

fn start_nginx(backend: &Backend) -> Option<Nginx> {
    let port = common::free_port();
    let shipped_port = common::free_port();
    let backend_addr = format!("127.0.0.1:{}", backend.port);
    let servers = |dir: &Path| {
        // The configuration shipped in assets/, with its two CHANGE lines pointed at the test.
        let shipped = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/nginx/websocket.conf"
        ))
        .expect("assets/nginx/websocket.conf");
        let listen_line = "listen 8000;";
        let upstream_line = "server 127.0.0.1:8080;";
        assert!(
            shipped.contains(listen_line) && shipped.contains(upstream_line),
            "the CHANGE lines of the shipped config moved"
        );
        let shipped = shipped
            .replace(listen_line, &format!("listen 127.0.0.1:{shipped_port};"))
            .replace(upstream_line, &format!("server {backend_addr};"));
        std::fs::write(dir.join("websocket.conf"), shipped).expect("write shipped conf");
        let d = dir.display();
        let upgrade = "proxy_http_version 1.1;\n            proxy_set_header Upgrade $http_upgrade;\n            proxy_set_header Connection \"upgrade\";";
        format!(
            r#"
    include {d}/websocket.conf;

    server {{
        listen 127.0.0.1:{port};
        location /short-idle {{
            proxy_pass http://{backend_addr}/ws;
            {upgrade}
            proxy_read_timeout 2s;
        }}
        location /short-idle-capped {{
            proxy_pass http://{backend_addr}/lifetime-3s;
            {upgrade}
            proxy_read_timeout 2s;
        }}
        location /no-upgrade-headers {{
            proxy_pass http://{backend_addr}/ws;
            proxy_http_version 1.1;
        }}
        location /http10 {{
            proxy_pass http://{backend_addr}/ws;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }}
        location /backend-down {{
            proxy_pass http://127.0.0.1:{down}/ws;
            {upgrade}
        }}
    }}
"#,
            // Port 1, below the ephemeral range: no other test's listener can take it
            // between now and the probe, as one could take a freed ephemeral port.
            down = 1,
        )
    };
    let nginx = common::nginx::Nginx::start(servers, &[port, shipped_port])?;
    Some(Nginx {
        _nginx: nginx,
        port,
        shipped_port,
    })
}

/// The backend and an nginx in front of it; `None` when nginx is missing outside CI.
/// (Bind the backend to a named variable: `_` would drop it at once.)
fn fixture() -> Option<(Backend, Nginx)> {
    let backend = start_backend();
    let nginx = start_nginx(&backend)?;
    Some((backend, nginx))
}

fn url(port: u16, path: &str) -> String {
    format!("ws://127.0.0.1:{port}{path}")
}

#[test]
fn proxy_read_timeout_gives_idle_timeout_of_about_two_seconds() {
    let Some((_backend, nginx)) = fixture() else {
        return;
    };
    let run = probe(
        &[
            &url(nginx.port, "/short-idle"),
            "--idle-max",
            "8s",
            "--format",
            "json",
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["handshake"]["status"], 101);
    assert_eq!(report["handshake"]["ok"], true);
    assert!(
        report["handshake"]["headers"]["server"]
            .as_str()
            .unwrap()
            .starts_with("nginx")
    );
    let timings = &report["handshake"]["timings_ms"];
    for phase in ["dns", "tcp", "upgrade"] {
        assert!(num(&timings[phase]) >= 0.0, "{phase}: {timings}");
    }
    assert_eq!(timings["tls"], Value::Null);
    assert_eq!(report["idle"]["closed_by"], "none");
    assert_eq!(report["idle"]["close_code"], 1006);

    let finding = run.finding("idle-timeout").expect("idle-timeout finding");
    let idle = num(&finding["evidence"]["idle_seconds"]);
    assert!((1.5..=3.0).contains(&idle), "idle_seconds {idle}");
    assert_eq!(finding["evidence"]["count"], 1);
    assert_eq!(finding["evidence"]["ping_interval_seconds"], Value::Null);
    assert!(finding["evidence"]["likely"].is_array());
    assert!(
        finding["remedy"]
            .as_str()
            .unwrap()
            .contains("proxy_read_timeout")
    );
    assert!(run.finding("upgrade-rejected").is_none());
    // Cut after ~2 s, not held to --idle-max.
    assert!(
        run.elapsed < Duration::from_secs(6),
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn heartbeat_at_half_the_limit_keeps_it_alive() {
    let Some((_backend, nginx)) = fixture() else {
        return;
    };
    let run = probe(
        &[
            &url(nginx.port, "/short-idle"),
            "--idle-max",
            "8s",
            "--verify-heartbeat",
            "--format",
            "json",
        ],
        LIMIT,
    );
    let report = run.json();
    let heartbeat = &report["heartbeat"];
    assert_eq!(heartbeat["kept_alive"], true, "{heartbeat}");
    assert_eq!(heartbeat["closed_by"], "client");
    let interval = num(&heartbeat["ping_interval_seconds"]);
    assert!((0.7..=1.5).contains(&interval), "{interval}");
    // The pings went through nginx to the backend, and its pongs came back.
    assert!(num(&heartbeat["pongs_received"]) >= 3.0, "{heartbeat}");
    assert!(num(&heartbeat["survived_seconds"]) > 4.0, "{heartbeat}");
    let finding = run.finding("idle-timeout").expect("idle-timeout finding");
    assert!(
        finding["remedy"].as_str().unwrap().contains("Verified"),
        "{finding}"
    );
}

#[test]
fn heartbeat_check_says_so_when_pings_do_not_help() {
    // Behind nginx, the backend ends every connection after 3 s: pinging cannot help.
    let Some((_backend, nginx)) = fixture() else {
        return;
    };
    let run = probe(
        &[
            &url(nginx.port, "/short-idle-capped"),
            "--idle-max",
            "8s",
            "--verify-heartbeat",
            "--format",
            "json",
        ],
        LIMIT,
    );
    let report = run.json();
    let heartbeat = &report["heartbeat"];
    assert_eq!(heartbeat["kept_alive"], false, "{report}");
    assert_eq!(heartbeat["closed_by"], "none");
    let survived = num(&heartbeat["survived_seconds"]);
    assert!((2.5..=4.0).contains(&survived), "{survived}");
    let finding = run.finding("idle-timeout").expect("idle-timeout finding");
    assert!(
        finding["remedy"].as_str().unwrap().contains("Caution"),
        "{finding}"
    );
}

#[test]
fn missing_upgrade_headers_give_upgrade_rejected_400_with_the_nginx_lines() {
    let Some((_backend, nginx)) = fixture() else {
        return;
    };
    let run = probe(
        &[
            &url(nginx.port, "/no-upgrade-headers"),
            "--idle-max",
            "5s",
            "--format",
            "json",
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["handshake"]["status"], 400);
    assert_eq!(report["handshake"]["ok"], false);
    assert_eq!(report["idle"], Value::Null);
    let finding = run
        .finding("upgrade-rejected")
        .expect("upgrade-rejected finding");
    assert_eq!(finding["severity"], "critical");
    assert_eq!(finding["evidence"]["status"], 400);
    assert_eq!(finding["evidence"]["by_status"]["400"], 1);
    // The backend's own refusal came through nginx.
    assert!(
        finding["evidence"]["body"]
            .as_str()
            .unwrap()
            .contains("Connection header did not include 'upgrade'")
    );
    let remedy = finding["remedy"].as_str().unwrap();
    for line in [
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection \"upgrade\";",
    ] {
        assert!(remedy.contains(line), "{line} missing from {remedy}");
    }
    assert!(run.finding("idle-timeout").is_none());
    assert!(
        run.elapsed < Duration::from_secs(3),
        "a refusal does not wait: {:?}",
        run.elapsed
    );

    // The same, for a person.
    let text = probe(&[&url(nginx.port, "/no-upgrade-headers")], LIMIT);
    assert_eq!(text.code, Some(0));
    assert!(
        text.stdout
            .contains("upgrade FAILED: 400 Bad Request (http-status)"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("CRITICAL upgrade-rejected"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("proxy_set_header Upgrade $http_upgrade;"),
        "{}",
        text.stdout
    );
}

#[test]
fn http10_to_the_backend_gives_426() {
    let Some((_backend, nginx)) = fixture() else {
        return;
    };
    let run = probe(&[&url(nginx.port, "/http10"), "--format", "json"], LIMIT);
    let finding = run
        .finding("upgrade-rejected")
        .expect("upgrade-rejected finding");
    assert_eq!(finding["evidence"]["status"], 426);
    assert!(
        finding["remedy"]
            .as_str()
            .unwrap()
            .contains("proxy_http_version 1.1;")
    );
}

#[test]
fn backend_down_gives_502_with_a_backend_remedy() {
    let Some((_backend, nginx)) = fixture() else {
        return;
    };
    let run = probe(
        &[&url(nginx.port, "/backend-down"), "--format", "json"],
        LIMIT,
    );
    let finding = run
        .finding("upgrade-rejected")
        .expect("upgrade-rejected finding");
    assert_eq!(finding["evidence"]["status"], 502);
    // nginx's HTML error page, readable on one line.
    let body = finding["evidence"]["body"].as_str().unwrap();
    assert!(
        body.starts_with("502 Bad Gateway") && !body.contains('<') && !body.contains("\\u{"),
        "{body}"
    );
    assert!(finding["remedy"].as_str().unwrap().contains("backend"));
}

#[test]
fn the_shipped_config_and_the_backend_itself_give_no_finding() {
    let Some((backend, nginx)) = fixture() else {
        return;
    };
    for target in [url(nginx.shipped_port, "/ws"), url(backend.port, "/ws")] {
        let run = probe(&[&target, "--idle-max", "3s", "--format", "json"], LIMIT);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let report = run.json();
        assert_eq!(
            report["findings"],
            serde_json::json!([]),
            "{target}: {report}"
        );
        assert_eq!(report["handshake"]["status"], 101);
        assert_eq!(report["idle"]["closed_by"], "client", "{target}");
        assert_eq!(report["idle"]["close_code"], 1000);
        assert!(num(&report["idle"]["survived_seconds"]) >= 2.9);
        // Standard error is not a terminal here: no progress line.
        assert_eq!(run.stderr, "");
    }
}
