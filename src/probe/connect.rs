//! The transport under the upgrade: DNS, TCP connect and TLS, each timed on its own so the
//! report can say where the time went.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::MaybeTlsStream;

use super::target::Target;

pub type Stream = MaybeTlsStream<TcpStream>;

/// Milliseconds each phase took; `None` for a phase that did not run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Timings {
    pub dns: Option<f64>,
    pub tcp: Option<f64>,
    pub tls: Option<f64>,
    pub upgrade: Option<f64>,
}

pub fn ms_since(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

pub struct Connected {
    pub stream: Stream,
    pub peer: SocketAddr,
}

/// Why no stream came out of [`connect`].
pub enum ConnectError {
    /// DNS or TCP failed: there is nothing to probe (the CLI's exit 2).
    Unreachable(String),
    /// TCP worked and TLS did not: a finding about the endpoint.
    Tls { error: String, peer: SocketAddr },
}

/// Resolves, connects (trying each address in turn) and, for `wss://`, does TLS.
pub async fn connect(
    target: &Target,
    tls: Option<&Arc<ClientConfig>>,
    timeout: Duration,
    timings: &mut Timings,
) -> Result<Connected, ConnectError> {
    let hostport = format!("{}:{}", target.host, target.port);
    let start = Instant::now();
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(
        timeout,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await
    {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            return Err(ConnectError::Unreachable(format!(
                "cannot resolve {}: {e}",
                target.host
            )));
        }
        Err(_) => {
            return Err(ConnectError::Unreachable(format!(
                "cannot resolve {}: no answer within {}",
                target.host,
                secs(timeout)
            )));
        }
    };
    timings.dns = Some(ms_since(start));
    if addrs.is_empty() {
        return Err(ConnectError::Unreachable(format!(
            "cannot resolve {}: no address",
            target.host
        )));
    }

    let start = Instant::now();
    let mut last_error = String::new();
    let mut tcp = None;
    for addr in &addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                tcp = Some((s, *addr));
                break;
            }
            Ok(Err(e)) => last_error = e.to_string(),
            Err(_) => last_error = format!("no answer within {}", secs(timeout)),
        }
    }
    let Some((tcp, peer)) = tcp else {
        return Err(ConnectError::Unreachable(format!(
            "cannot connect to {hostport}: {last_error}"
        )));
    };
    timings.tcp = Some(ms_since(start));
    // The upgrade request and the pings are small: do not let Nagle hold them back.
    let _ = tcp.set_nodelay(true);

    let Some(config) = tls else {
        return Ok(Connected {
            stream: MaybeTlsStream::Plain(tcp),
            peer,
        });
    };
    let name = ServerName::try_from(target.host.clone()).map_err(|e| {
        ConnectError::Unreachable(format!(
            "{} is not a valid TLS server name: {e}",
            target.host
        ))
    })?;
    let start = Instant::now();
    let tls = TlsConnector::from(Arc::clone(config));
    match tokio::time::timeout(timeout, tls.connect(name, tcp)).await {
        Ok(Ok(stream)) => {
            timings.tls = Some(ms_since(start));
            Ok(Connected {
                stream: MaybeTlsStream::Rustls(stream),
                peer,
            })
        }
        Ok(Err(e)) => Err(ConnectError::Tls {
            error: e.to_string(),
            peer,
        }),
        Err(_) => Err(ConnectError::Tls {
            error: format!(
                "no TLS answer within {} (does this port speak TLS?)",
                secs(timeout)
            ),
            peer,
        }),
    }
}

pub fn secs(d: Duration) -> String {
    format!("{} s", (d.as_secs_f64() * 10.0).round() / 10.0)
}

/// The client TLS configuration: the system's roots and the webpki roots, or no verification at
/// all with `insecure`. HTTP/1.1 by ALPN, since the upgrade is an HTTP/1.1 mechanism.
pub fn tls_config(insecure: bool) -> Result<Arc<ClientConfig>, super::ProbeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| super::ProbeError::Tls(format!("TLS setup: {e}")))?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // A missing or unreadable system store is not fatal: the webpki roots remain.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// `--insecure`: any certificate is accepted, while the handshake signatures are still checked
/// (so the connection is at least with whoever holds the certificate's key).
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
