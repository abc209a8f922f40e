//! Passive capture: WebSocket traffic read off the wire (pcap and pcapng files, or a live
//! `tcpdump -w -` stream) and turned into the events of the feed protocol, so the model,
//! the findings, the dashboard and the recorder work on any server without changing it.
//!
//! The pipeline, one module each: [`packets`] (capture blocks) → [`link`] (TCP segments) →
//! [`stream`] (per-direction reassembly) → [`http`] (the upgrade) and [`frames`] (WebSocket
//! frames) → [`conn`] (one connection's events) → [`decoder`] (flows, servers, snapshots).
//!
//! A capture cannot see what happens inside a server: timers (so no leak suspects), process
//! figures, an application's client identity; nor anything in TLS payloads.

mod conn;
mod decoder;
mod frames;
mod http;
mod link;
pub mod packets;
mod stream;
pub mod synth;
#[cfg(test)]
mod tests;

pub use conn::TracedFrame;
pub use decoder::{CaptureStats, Decoder};
pub use packets::{PacketSink, ReadEnd, is_capture};

use crate::event::{Event, Ts};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Events are handed on in batches of about this many.
const BATCH: usize = 4096;

/// Reads a whole capture, handing its events on in order. A stream that is not a capture is
/// an error; one cut short or corrupt ends early with [`ReadEnd::problem`] said.
pub fn read_capture(
    input: impl Read + Send,
    ports: Vec<u16>,
    on_events: &mut dyn FnMut(&[Event]),
    progress: &mut dyn FnMut(u64),
) -> Result<(CaptureStats, ReadEnd), String> {
    struct Reading<'a> {
        decoder: Decoder,
        batch: Vec<Event>,
        on_events: &'a mut dyn FnMut(&[Event]),
        progress: &'a mut dyn FnMut(u64),
    }
    impl Reading<'_> {
        fn hand_on(&mut self) {
            self.decoder.take_events(&mut self.batch);
            if !self.batch.is_empty() {
                (self.on_events)(&self.batch);
                self.batch.clear();
            }
        }
    }
    impl PacketSink for Reading<'_> {
        fn packet(&mut self, p: packets::Packet<'_>) {
            self.decoder.packet(p);
            if self.decoder.pending_events() >= BATCH {
                self.hand_on();
            }
        }
        fn kernel_drops(&mut self, ts: Ts, total: u64) {
            self.decoder.kernel_drops(ts, total);
        }
        fn progress(&mut self, bytes: u64) {
            (self.progress)(bytes);
        }
    }
    let mut reading = Reading {
        decoder: Decoder::new(ports),
        batch: Vec::with_capacity(BATCH),
        on_events,
        progress,
    };
    let end = packets::read_packets(input, &mut reading)?;
    reading.decoder.finish();
    reading.hand_on();
    Ok((reading.decoder.stats().clone(), end))
}

/// Reads a capture stream as it comes (tcpdump's `-U -w -`), handing on each packet's events
/// at once. `drops` is the kernel's count of packets it dropped, where known. Returns what
/// the capture could not show, or why it stopped early.
pub fn read_live(
    input: impl Read + Send,
    ports: Vec<u16>,
    drops: Option<Arc<AtomicU64>>,
    on_events: &mut dyn FnMut(Vec<Event>),
) -> Result<String, String> {
    struct Live<'a> {
        decoder: Decoder,
        drops: Option<Arc<AtomicU64>>,
        on_events: &'a mut dyn FnMut(Vec<Event>),
    }
    impl Live<'_> {
        fn hand_on(&mut self) {
            if self.decoder.pending_events() > 0 {
                let mut events = Vec::new();
                self.decoder.take_events(&mut events);
                (self.on_events)(events);
            }
        }
    }
    impl PacketSink for Live<'_> {
        fn packet(&mut self, p: packets::Packet<'_>) {
            let ts = p.ts;
            self.decoder.packet(p);
            if let Some(total) = self.drops.as_ref().map(|d| d.load(Ordering::Relaxed)) {
                self.decoder.kernel_drops(ts, total);
            }
            self.hand_on();
        }
        fn kernel_drops(&mut self, ts: Ts, total: u64) {
            self.decoder.kernel_drops(ts, total);
        }
    }
    let mut live = Live {
        decoder: Decoder::new(ports),
        drops,
        on_events,
    };
    let end = packets::read_packets(input, &mut live);
    live.decoder.finish();
    live.hand_on();
    let summary = live.decoder.stats().summary();
    end.map(|end| match end.problem {
        Some(p) => format!("{p}; {summary}"),
        None => summary,
    })
}

/// Every WebSocket frame of a capture, per connection in order: what a protocol analyser
/// shows, to check the decoder against one.
pub fn trace_frames(input: impl Read + Send) -> Result<Vec<TracedFrame>, String> {
    struct Tracing(Decoder);
    impl PacketSink for Tracing {
        fn packet(&mut self, p: packets::Packet<'_>) {
            self.0.packet(p);
            self.0.take_events(&mut Vec::new());
        }
        fn kernel_drops(&mut self, _: Ts, _: u64) {}
    }
    let mut decoder = Decoder::default();
    decoder.trace_frames();
    let mut tracing = Tracing(decoder);
    packets::read_packets(input, &mut tracing)?;
    tracing.0.finish();
    Ok(tracing.0.take_trace())
}

impl CaptureStats {
    /// One line for a person: what was read and what could not be.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "capture: {} packets, {} WebSocket connections ({} already open), {} upgrades refused",
            self.packets, self.websockets, self.joined, self.rejected
        );
        let mut also = |n: u64, what: &str| {
            if n > 0 {
                s.push_str(&format!(", {n} {what}"));
            }
        };
        also(self.gaps, "gaps in streams");
        also(self.kernel_drops, "packets dropped by the kernel");
        also(self.unreadable, "unreadable packets");
        also(self.untracked, "connections not followed (too many)");
        also(self.damaged_closes, "close frames lost in gaps");
        for link in &self.unknown_links {
            s.push_str(&format!(", packets of unknown link type {link} skipped"));
        }
        for server in &self.tls_servers {
            s.push_str(&format!(
                "; encrypted traffic on {server}: capture behind the TLS terminator"
            ));
        }
        s
    }
}
