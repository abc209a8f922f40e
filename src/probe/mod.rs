//! `wscope probe`: ask the endpoint itself, through whatever proxies sit in front of it,
//! whether the WebSocket upgrade goes through and how long an idle connection lives.
//!
//! One connection does the upgrade by hand (timed: DNS, TCP, TLS, upgrade) and then stays
//! silent until it is cut or `idle_max` passes; with `verify_heartbeat`, a second connection
//! pings at half the measured idle limit to show whether a heartbeat keeps it alive.

pub mod connect;
pub mod diagnose;
pub mod handshake;
pub mod idle;
pub mod output;
pub mod target;

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::findings::{self, Finding};
use connect::{ConnectError, Timings};
use diagnose::HeartbeatCheck;
use handshake::{Failure, RequestOptions};
use idle::{Watch, WatchPlan};
pub use target::Target;

pub struct ProbeOptions {
    pub target: Target,
    pub request: RequestOptions,
    /// How long the idle connection is held; zero skips the idle test.
    pub idle_max: Duration,
    /// Limit for each of DNS, TCP connect, TLS and the upgrade answer.
    pub timeout: Duration,
    pub insecure: bool,
    pub verify_heartbeat: bool,
    /// Show elapsed time on standard error while waiting (when it is a terminal).
    pub progress: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct HandshakeReport {
    /// The HTTP status, or `null` when no HTTP answer came.
    pub status: Option<u16>,
    /// The reason phrase of the status line (`Switching Protocols`, `Bad Request`).
    pub status_text: Option<String>,
    pub ok: bool,
    /// The response headers that matter (lower-case names).
    pub headers: BTreeMap<String, String>,
    pub timings_ms: Timings,
    /// The peer address connected to.
    pub peer: String,
    /// Why it failed, as a stable word (`http-status`, `tls`, `no-answer`, …), or `null`.
    pub failure: Option<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProbeReport {
    pub url: String,
    pub handshake: HandshakeReport,
    /// `null` when the upgrade failed or the idle test was skipped.
    pub idle: Option<Watch>,
    /// `null` unless `--verify-heartbeat` ran (it needs an idle cut to calibrate).
    pub heartbeat: Option<HeartbeatCheck>,
    pub findings: Vec<Finding>,
}

/// Why there was nothing to probe, in one line. Everything the endpoint did wrong is a finding
/// in the report instead.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeError {
    /// Not a usable `ws://` or `wss://` URL.
    Url(String),
    /// The TLS client could not be set up.
    Tls(String),
    /// DNS or TCP failed, or timed out.
    Unreachable(String),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Url(why) | ProbeError::Tls(why) | ProbeError::Unreachable(why) => {
                f.write_str(why)
            }
        }
    }
}

impl std::error::Error for ProbeError {}

/// Runs the probe.
pub async fn probe(opts: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    let tls = if opts.target.tls {
        Some(connect::tls_config(opts.insecure)?)
    } else {
        None
    };
    let first = open(opts, tls.as_ref()).await?;
    let mut findings = Vec::new();
    let (idle, heartbeat) = match first.upgraded {
        Err(failure) => {
            findings.push(diagnose::upgrade_rejected(
                &failure,
                first.response.as_ref(),
            ));
            (None, None)
        }
        Ok((stream, leftover)) if opts.idle_max.is_zero() => {
            idle::close_politely(stream, leftover).await;
            (None, None)
        }
        Ok((stream, leftover)) => {
            let plan = WatchPlan {
                max: opts.idle_max,
                ping_every: None,
                progress: opts
                    .progress
                    .then_some("idle connection open, waiting for it to be cut"),
            };
            let idle = idle::watch(stream, leftover, &plan).await;
            let heartbeat = if opts.verify_heartbeat && diagnose::is_idle_cut(&idle) {
                verify_heartbeat(opts, tls.as_ref(), idle.idle_seconds).await
            } else {
                None
            };
            findings.extend(diagnose::idle_timeout(&idle, heartbeat.as_ref()));
            (Some(idle), heartbeat)
        }
    };
    findings::sort(&mut findings);
    Ok(ProbeReport {
        url: crate::sanitize::inert(&opts.target.url).into_owned(),
        handshake: first.report,
        idle,
        heartbeat,
        findings,
    })
}

/// One connection, upgraded or refused.
struct Opened {
    report: HandshakeReport,
    response: Option<handshake::Response>,
    upgraded: Result<(connect::Stream, Vec<u8>), Failure>,
}

async fn open(
    opts: &ProbeOptions,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
) -> Result<Opened, ProbeError> {
    let mut timings = Timings::default();
    let mut report = HandshakeReport {
        status: None,
        status_text: None,
        ok: false,
        headers: BTreeMap::new(),
        timings_ms: Timings::default(),
        peer: String::new(),
        failure: None,
    };
    let mut connected = match connect::connect(&opts.target, tls, opts.timeout, &mut timings).await
    {
        Ok(c) => c,
        Err(ConnectError::Unreachable(why)) => return Err(ProbeError::Unreachable(why)),
        Err(ConnectError::Tls { error, peer }) => {
            let failure = Failure::Tls(crate::sanitize::inert(&error).into_owned());
            report.peer = peer.to_string();
            report.failure = Some(failure.kind());
            report.timings_ms = timings;
            return Ok(Opened {
                report,
                response: None,
                upgraded: Err(failure),
            });
        }
    };
    report.peer = connected.peer.to_string();
    let outcome = handshake::upgrade(
        &mut connected.stream,
        &opts.target,
        &opts.request,
        opts.timeout,
    )
    .await;
    timings.upgrade = outcome.upgrade_ms;
    report.timings_ms = timings;
    if let Some(r) = &outcome.response {
        report.status = Some(r.status);
        report.status_text = Some(r.reason.clone());
        report.headers = r.headers_that_matter();
    }
    report.ok = outcome.result.is_ok();
    report.failure = outcome.result.as_ref().err().map(Failure::kind);
    Ok(Opened {
        report,
        response: outcome.response,
        upgraded: outcome.result.map(|leftover| (connected.stream, leftover)),
    })
}

/// A second connection that pings every D/2, watched for a little over 2·D: if it outlives D
/// twice over, the heartbeat is what keeps connections alive through this path.
async fn verify_heartbeat(
    opts: &ProbeOptions,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    idle_limit_secs: f64,
) -> Option<HeartbeatCheck> {
    // A second connection that cannot be made (or is refused) leaves nothing to verify.
    let (stream, leftover) = open(opts, tls).await.ok()?.upgraded.ok()?;
    let interval = Duration::from_secs_f64((idle_limit_secs / 2.0).max(0.5));
    let max = Duration::from_secs_f64(idle_limit_secs * 2.0 + 1.0);
    let plan = WatchPlan {
        max,
        ping_every: Some(interval),
        progress: opts
            .progress
            .then_some("second connection pinging, checking it stays open"),
    };
    let watch = idle::watch(stream, leftover, &plan).await;
    Some(HeartbeatCheck {
        ping_interval_seconds: idle::round1(interval.as_secs_f64()),
        kept_alive: watch.closed_by == idle::ClosedBy::Client && !watch.interrupted,
        watch,
    })
}
