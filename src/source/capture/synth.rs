//! WebSocket traffic made up, packet by packet, as a capture holds it: for tests that need a
//! case no real peer produces on demand (reordering, losses, a heartbeat over hours) and for
//! benchmarks that need gigabytes. Packets are built by etherparse and written by pcap-parser.

use crate::event::{SECOND, Ts};
use etherparse::PacketBuilder;
use pcap_parser::{LegacyPcapBlock, Linktype, PcapHeader, ToVec};
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

/// One captured packet: when, and its Ethernet frame.
#[derive(Clone, Debug)]
pub struct RawPacket {
    pub ts: Ts,
    pub data: Vec<u8>,
}

/// One TCP connection's two directions, with their sequence numbers.
pub struct Wire {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Next sequence number: client's, server's.
    seq: [u32; 2],
    pub ts: Ts,
}

impl Wire {
    pub fn new(client: SocketAddr, server: SocketAddr, ts: Ts) -> Wire {
        Wire {
            client,
            server,
            seq: [1_000, 50_000],
            ts,
        }
    }

    /// Moves the clock on.
    pub fn wait(&mut self, secs: f64) -> &mut Wire {
        self.ts = self.ts.plus_secs(secs);
        self
    }

    /// SYN, SYN-ACK, the upgrade request to `path` and the answer with `status`.
    pub fn handshake(&mut self, path: &str, status: u16) -> Vec<RawPacket> {
        let mut out = vec![
            self.flags(true, Flags::Syn),
            self.flags(false, Flags::SynAck),
        ];
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             User-Agent: synth/1\r\n\r\n"
        );
        out.push(self.send(true, request.as_bytes()));
        let response = match status {
            101 => {
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                    Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
                    .to_string()
            }
            s => format!("HTTP/1.1 {s} Refused\r\nContent-Length: 0\r\n\r\n"),
        };
        out.push(self.send(false, response.as_bytes()));
        out
    }

    /// The next bytes of one direction, in one segment.
    pub fn send(&mut self, from_client: bool, bytes: &[u8]) -> RawPacket {
        let d = usize::from(!from_client);
        let p = self.segment(from_client, self.seq[d], bytes, Flags::Ack);
        self.seq[d] = self.seq[d].wrapping_add(bytes.len() as u32);
        p
    }

    /// Skips `n` bytes of one direction, as if their packet were lost.
    pub fn lose(&mut self, from_client: bool, n: u32) {
        let d = usize::from(!from_client);
        self.seq[d] = self.seq[d].wrapping_add(n);
    }

    /// Where the next byte of one direction would go.
    pub fn next_seq(&self, from_client: bool) -> u32 {
        self.seq[usize::from(!from_client)]
    }

    /// A segment at an explicit sequence number (for reordering and retransmissions).
    pub fn segment_at(&self, from_client: bool, seq: u32, bytes: &[u8]) -> RawPacket {
        self.segment(from_client, seq, bytes, Flags::Ack)
    }

    pub fn fin(&mut self, from_client: bool) -> RawPacket {
        let p = self.flags(from_client, Flags::Fin);
        self.seq[usize::from(!from_client)] += 1;
        p
    }

    pub fn rst(&mut self, from_client: bool) -> RawPacket {
        self.flags(from_client, Flags::Rst)
    }

    fn flags(&mut self, from_client: bool, flags: Flags) -> RawPacket {
        let d = usize::from(!from_client);
        let seq = match flags {
            // The SYN takes the number before the first byte.
            Flags::Syn | Flags::SynAck => self.seq[d].wrapping_sub(1),
            _ => self.seq[d],
        };
        self.segment(from_client, seq, &[], flags)
    }

    fn segment(&self, from_client: bool, seq: u32, payload: &[u8], flags: Flags) -> RawPacket {
        let (src, dst) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let eth = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let ip = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
            (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), 64),
            _ => panic!("both ends must be IPv4 or IPv6"),
        };
        let mut tcp = ip.tcp(src.port(), dst.port(), seq, 65_535);
        tcp = match flags {
            Flags::Syn => tcp.syn(),
            Flags::SynAck => tcp.syn().ack(1),
            Flags::Ack => tcp.ack(1).psh(),
            Flags::Fin => tcp.fin().ack(1),
            Flags::Rst => tcp.rst().ack(1),
        };
        let mut data = Vec::with_capacity(tcp.size(payload.len()));
        tcp.write(&mut data, payload).expect("a packet in memory");
        RawPacket { ts: self.ts, data }
    }
}

#[derive(Clone, Copy)]
enum Flags {
    Syn,
    SynAck,
    Ack,
    Fin,
    Rst,
}

/// A WebSocket frame as a peer writes it; clients pass a mask.
pub fn frame(opcode: u8, fin: bool, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![opcode | if fin { 0x80 } else { 0 }];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A close frame's payload: the code, then the reason.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// Writes classic pcap (microseconds, Ethernet): what `tcpdump -w` writes.
pub struct PcapWriter<W: Write> {
    out: W,
    bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W) -> io::Result<PcapWriter<W>> {
        let mut header = PcapHeader {
            network: Linktype::ETHERNET,
            ..PcapHeader::new()
        };
        let header = header.to_vec().map_err(io::Error::other)?;
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            bytes: header.len() as u64,
        })
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn write(&mut self, p: &RawPacket) -> io::Result<()> {
        let mut block = LegacyPcapBlock {
            ts_sec: (p.ts.0 / SECOND) as u32,
            ts_usec: ((p.ts.0 % SECOND) / 1000) as u32,
            caplen: p.data.len() as u32,
            origlen: p.data.len() as u32,
            data: &p.data,
        };
        let bytes = block.to_vec().map_err(io::Error::other)?;
        self.bytes += bytes.len() as u64;
        self.out.write_all(&bytes)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
