//! The idle test: hold an upgraded connection open, send nothing (but answer the server's
//! pings, as any client must), and see how and when it ends. The same loop, pinging every so
//! often, checks whether a heartbeat keeps a connection alive.

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::connect::Stream;
use crate::sanitize::inert;

/// Who ended the connection, in the words of feed-protocol.md's `initiator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClosedBy {
    /// The server sent a close frame.
    Server,
    /// The probe closed it after the time allowed.
    Client,
    /// Cut: the transport ended without a close frame (a proxy, a load balancer, the network).
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Watch {
    /// Seconds from the upgrade to the end of the connection.
    pub survived_seconds: f64,
    pub closed_by: ClosedBy,
    /// As received; 1006 for a cut (no close frame), 1000 when the probe closed it, `null` for a
    /// close frame without a code.
    pub close_code: Option<u16>,
    pub close_reason: Option<String>,
    /// Seconds from the last frame received (or the upgrade) to the end.
    pub idle_seconds: f64,
    /// How the cut showed (reset, closed without close frame); `null` otherwise.
    pub cut_detail: Option<String>,
    pub pings_received: u32,
    pub messages_received: u32,
    /// Median seconds between the server's pings, when it sent at least two.
    pub server_ping_interval_seconds: Option<f64>,
    pub pings_sent: u32,
    pub pongs_received: u32,
    pub max_seconds: f64,
    /// Stopped early with Ctrl-C: the connection was still open.
    pub interrupted: bool,
}

impl Watch {
    /// Nothing seen yet on a connection to be watched for at most `max`.
    pub fn starting(max: Duration) -> Watch {
        Watch {
            survived_seconds: 0.0,
            closed_by: ClosedBy::Client,
            close_code: None,
            close_reason: None,
            idle_seconds: 0.0,
            cut_detail: None,
            pings_received: 0,
            messages_received: 0,
            server_ping_interval_seconds: None,
            pings_sent: 0,
            pongs_received: 0,
            max_seconds: round1(max.as_secs_f64()),
            interrupted: false,
        }
    }
}

/// How to watch a connection.
pub struct WatchPlan {
    pub max: Duration,
    /// `Some`: send a ping this often (the heartbeat check); `None`: stay silent.
    pub ping_every: Option<Duration>,
    /// Print the elapsed time on standard error (only when it is a terminal).
    pub progress: Option<&'static str>,
}

pub async fn watch(stream: Stream, leftover: Vec<u8>, plan: &WatchPlan) -> Watch {
    let mut ws = WebSocketStream::from_partially_read(stream, leftover, Role::Client, None).await;
    let start = Instant::now();
    // A year stands in for "forever" when `max` would overflow the clock.
    let end = start
        .checked_add(plan.max)
        .unwrap_or(start + Duration::from_secs(365 * 86400));
    let deadline = tokio::time::Instant::from_std(end);
    let mut last_inbound = start;
    let mut ping_gaps = PingGaps::default();
    let mut report = Watch::starting(plan.max);
    let progress = plan.progress.filter(|_| std::io::stderr().is_terminal());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let ping_every = plan.ping_every.unwrap_or(Duration::from_secs(3600));
    let mut pinger = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);

    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                // Survived: close politely, without waiting long for the answer.
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                report.closed_by = ClosedBy::Client;
                report.close_code = Some(1000);
                break;
            }
            // (A failure to listen for Ctrl-C does not match `Ok` and leaves the branch out.)
            Ok(()) = tokio::signal::ctrl_c() => {
                // The person has seen enough: report what is known, as if the time were up.
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                report.closed_by = ClosedBy::Client;
                report.close_code = Some(1000);
                report.interrupted = true;
                break;
            }
            _ = tick.tick(), if progress.is_some() => {
                show_progress(progress.unwrap_or_default(), start.elapsed(), plan.max);
            }
            _ = pinger.tick(), if plan.ping_every.is_some() => {
                if ws.send(Message::Ping(b"wscope".to_vec().into())).await.is_ok() {
                    report.pings_sent += 1;
                }
            }
            frame = ws.next() => {
                let now = Instant::now();
                match frame {
                    Some(Ok(Message::Ping(_))) => {
                        // tungstenite queues the pong and sends it on the next poll of the stream.
                        report.pings_received += 1;
                        ping_gaps.ping_at(now);
                        last_inbound = now;
                    }
                    Some(Ok(Message::Pong(_))) => {
                        report.pongs_received += 1;
                        last_inbound = now;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        report.closed_by = ClosedBy::Server;
                        report.close_code = frame.as_ref().map(|f| u16::from(f.code));
                        report.close_reason = frame
                            .as_ref()
                            .map(|f| inert(f.reason.as_str()).into_owned())
                            .filter(|r| !r.is_empty());
                        last_inbound = now;
                        // Let tungstenite send its answering close frame.
                        let _ = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
                        break;
                    }
                    Some(Ok(_)) => {
                        report.messages_received += 1;
                        last_inbound = now;
                    }
                    Some(Err(e)) => {
                        report.closed_by = ClosedBy::None;
                        report.close_code = Some(1006);
                        report.cut_detail = Some(describe_cut(&e));
                        break;
                    }
                    None => {
                        report.closed_by = ClosedBy::None;
                        report.close_code = Some(1006);
                        report.cut_detail = Some("the connection ended without a close frame".to_string());
                        break;
                    }
                }
            }
        }
    }
    if progress.is_some() {
        clear_progress();
    }
    let end = Instant::now();
    report.survived_seconds = round1(end.duration_since(start).as_secs_f64());
    report.idle_seconds = round1(end.duration_since(last_inbound).as_secs_f64());
    report.server_ping_interval_seconds = ping_gaps.median();
    report
}

/// Ends an upgraded connection with a close frame (1000), as a well-behaved client does: a probe
/// of production should not show up there as an abnormal close.
pub async fn close_politely(stream: Stream, leftover: Vec<u8>) {
    let mut ws = WebSocketStream::from_partially_read(stream, leftover, Role::Client, None).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}

fn describe_cut(e: &WsError) -> String {
    match e {
        WsError::Protocol(p) if p.to_string().contains("closing handshake") => {
            "the connection was closed without a close frame".to_string()
        }
        WsError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset => {
            "the connection was reset".to_string()
        }
        other => inert(&other.to_string()).into_owned(),
    }
}

/// Gaps between the server's pings, the latest [`PingGaps::KEPT`] of them: a server that
/// floods pings costs a fixed amount of memory, not one entry per ping.
#[derive(Default)]
struct PingGaps {
    last: Option<Instant>,
    gaps: std::collections::VecDeque<f64>,
}

impl PingGaps {
    const KEPT: usize = 256;

    fn ping_at(&mut self, at: Instant) {
        if let Some(last) = self.last.replace(at) {
            if self.gaps.len() == Self::KEPT {
                self.gaps.pop_front();
            }
            self.gaps.push_back(at.duration_since(last).as_secs_f64());
        }
    }

    fn median(&self) -> Option<f64> {
        let mut gaps: Vec<f64> = self.gaps.iter().copied().collect();
        if gaps.is_empty() {
            return None;
        }
        gaps.sort_by(f64::total_cmp);
        Some(round1(gaps[gaps.len() / 2]))
    }
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn show_progress(label: &str, elapsed: Duration, max: Duration) {
    let mut err = std::io::stderr().lock();
    // \r and erase-line: one line that updates in place.
    let _ = write!(
        err,
        "\r\x1b[2K{label}: {} s of {} s (Ctrl-C to stop)",
        elapsed.as_secs(),
        max.as_secs()
    );
    let _ = err.flush();
}

fn clear_progress() {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaps_of(times: &[f64]) -> PingGaps {
        let t0 = Instant::now();
        let mut g = PingGaps::default();
        for &s in times {
            g.ping_at(t0 + Duration::from_secs_f64(s));
        }
        g
    }

    #[test]
    fn median_of_ping_gaps() {
        assert_eq!(gaps_of(&[0.0]).median(), None);
        assert_eq!(gaps_of(&[0.0, 25.0, 50.0, 80.0]).median(), Some(25.0));
    }

    /// A ping flood (a million pings) keeps a fixed number of gaps, the latest.
    #[test]
    fn a_ping_flood_costs_fixed_memory() {
        let times: Vec<f64> = (0..1_000_000)
            .map(|i| {
                if i < 999_000 {
                    i as f64 * 0.001
                } else {
                    999.0 + (i - 999_000) as f64 * 30.0
                }
            })
            .collect();
        let g = gaps_of(&times);
        assert_eq!(g.gaps.len(), PingGaps::KEPT);
        assert_eq!(g.median(), Some(30.0), "the latest gaps decide");
    }
}
