//! `wss://` against a real TLS WebSocket server on loopback with a self-signed certificate
//! (rcgen): `--insecure` goes through, and without it the failure is an `upgrade-rejected`
//! finding naming the certificate problem.

mod common;

use common::probe::{num, probe};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;

const LIMIT: Duration = Duration::from_secs(20);

struct TlsServer {
    port: u16,
    _runtime: tokio::runtime::Runtime,
}

/// A tokio-tungstenite server behind rustls, with a fresh self-signed certificate.
fn start_tls_server() -> TlsServer {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("self-signed certificate");
    let chain = vec![CertificateDer::from(cert.cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server certificate");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    runtime.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                use futures_util::StreamExt;
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    TlsServer {
        port,
        _runtime: runtime,
    }
}

#[test]
fn insecure_accepts_a_self_signed_certificate() {
    let server = start_tls_server();
    let url = format!("wss://127.0.0.1:{}/", server.port);
    let run = probe(
        &[&url, "--insecure", "--idle-max", "1s", "--format", "json"],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["handshake"]["status"], 101, "{report}");
    assert_eq!(report["handshake"]["ok"], true);
    assert!(num(&report["handshake"]["timings_ms"]["tls"]) > 0.0);
    assert_eq!(report["idle"]["closed_by"], "client");
    assert_eq!(report["findings"], serde_json::json!([]));
}

#[test]
fn without_insecure_the_certificate_is_refused_as_a_finding() {
    let server = start_tls_server();
    let url = format!("wss://127.0.0.1:{}/", server.port);
    let run = probe(&[&url, "--idle-max", "1s", "--format", "json"], LIMIT);
    assert_eq!(
        run.code,
        Some(0),
        "a TLS failure is a finding: {}",
        run.stderr
    );
    let report = run.json();
    assert_eq!(report["handshake"]["ok"], false);
    assert_eq!(report["handshake"]["status"], serde_json::Value::Null);
    assert_eq!(report["handshake"]["failure"], "tls");
    let finding = run
        .finding("upgrade-rejected")
        .expect("upgrade-rejected finding");
    assert_eq!(finding["evidence"]["reason"], "tls");
    let detail = finding["evidence"]["detail"].as_str().unwrap();
    assert!(detail.contains("UnknownIssuer"), "{detail}");
    assert!(finding["remedy"].as_str().unwrap().contains("--insecure"));
}

#[test]
fn ws_scheme_on_a_tls_port_and_wss_on_a_plain_port_are_findings() {
    let server = start_tls_server();
    let run = probe(
        &[
            &format!("ws://127.0.0.1:{}/", server.port),
            "--timeout",
            "2s",
            "--format",
            "json",
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.finding("upgrade-rejected").is_some(), "{}", run.stdout);

    let plain = common::probe::start_backend();
    let run = probe(
        &[
            &format!("wss://127.0.0.1:{}/ws", plain.port),
            "--format",
            "json",
        ],
        LIMIT,
    );
    let finding = run
        .finding("upgrade-rejected")
        .expect("upgrade-rejected finding");
    assert_eq!(finding["evidence"]["reason"], "tls");
    assert!(
        finding["remedy"].as_str().unwrap().contains("ws://"),
        "{finding}"
    );
}
