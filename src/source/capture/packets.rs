//! Packets out of a pcap or pcapng stream (`tcpdump -w`, `dumpcap`, Wireshark), read by
//! pcap-parser a buffer at a time, so a capture of any size is read in bounded memory.

use crate::event::{SECOND, Ts};
use pcap_parser::pcapng::Block;
use pcap_parser::{Linktype, PcapBlockOwned, PcapError, create_reader};
use std::io::Read;

/// Whether a stream starting with these bytes is a capture: the pcap magic numbers (micro-
/// and nanosecond, either byte order) or a pcapng section header.
pub fn is_capture(head: &[u8]) -> bool {
    matches!(
        head.get(..4),
        Some(
            [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x0a, 0x0d, 0x0d, 0x0a]
        )
    )
}

const BUFFER: usize = 1 << 20;
/// A block larger than this is corruption: the largest snapshot length tools write is 256 KiB.
const MAX_BLOCK: usize = 64 << 20;

pub struct Packet<'a> {
    pub ts: Ts,
    pub link: Linktype,
    pub data: &'a [u8],
}

/// What a stream held besides packets, and how it ended.
#[derive(Debug, Default)]
pub struct ReadEnd {
    pub packets: u64,
    pub bytes: u64,
    /// Why reading stopped before the end of a well-formed stream (a truncated or corrupt
    /// capture); what came before was read.
    pub problem: Option<String>,
}

pub trait PacketSink {
    fn packet(&mut self, p: Packet<'_>);
    /// The capture's interface statistics say the kernel dropped this many packets in all.
    fn kernel_drops(&mut self, ts: Ts, total: u64);
    /// Called every few MB with the bytes read so far.
    fn progress(&mut self, _bytes: u64) {}
}

struct Interface {
    link: Linktype,
    /// Timestamp units per second.
    resolution: u64,
    offset_secs: i64,
    drops: u64,
}

/// Reads every packet of `input`. An input that is not a capture is an error; a capture that
/// ends early or holds a corrupt block ends with [`ReadEnd::problem`] set.
pub fn read_packets(
    input: impl Read + Send,
    sink: &mut impl PacketSink,
) -> Result<ReadEnd, String> {
    let input = HeadFirst::new(input).map_err(|e| format!("cannot read the capture ({e})"))?;
    let mut reader = match create_reader(BUFFER, input) {
        Ok(r) => r,
        Err(PcapError::Eof) => return Err("the capture is empty".into()),
        Err(PcapError::HeaderNotRecognized) => {
            return Err("not a pcap or pcapng capture".into());
        }
        Err(e) => return Err(format!("cannot read the capture ({})", describe(&e))),
    };
    let mut end = ReadEnd::default();
    let mut stream = StreamState::default();
    let mut consumed: u64 = 0;
    let mut next_progress: u64 = 0;
    loop {
        match reader.next() {
            Ok((size, block)) => {
                stream.block(block, &mut end, sink);
                reader.consume(size);
                consumed += size as u64;
                end.bytes = consumed;
                if consumed >= next_progress {
                    sink.progress(consumed);
                    next_progress = consumed + (4 << 20);
                }
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) | Err(PcapError::UnexpectedEof) => {
                if reader.reader_exhausted() {
                    if !reader.data().is_empty() {
                        end.problem = Some(format!(
                            "the capture is cut short: its last {} bytes are not a whole packet",
                            reader.data().len()
                        ));
                    }
                    break;
                }
                if let Err(e) = reader.refill() {
                    end.problem = Some(format!("cannot read the capture ({})", describe(&e)));
                    break;
                }
            }
            Err(PcapError::BufferTooSmall) => {
                let size = reader.data().len().max(BUFFER) * 2;
                if size > MAX_BLOCK || !reader.grow(size) {
                    end.problem = Some(format!(
                        "corrupt capture: a block of over {} MiB at byte {consumed}",
                        MAX_BLOCK >> 20
                    ));
                    break;
                }
                if let Err(e) = reader.refill() {
                    end.problem = Some(format!("cannot read the capture ({})", describe(&e)));
                    break;
                }
            }
            Err(e) => {
                end.problem = Some(format!(
                    "corrupt capture at byte {consumed} ({}); {} packets read before it",
                    describe(&e),
                    end.packets
                ));
                break;
            }
        }
    }
    sink.progress(consumed);
    Ok(end)
}

/// What a stream's blocks said so far that its packets need: their link type and clock.
struct StreamState {
    /// A pcap file's link type and timestamp unit.
    legacy_link: Linktype,
    nanos: bool,
    /// A pcapng section's interfaces, in order.
    interfaces: Vec<Interface>,
    /// The latest packet's time (a simple packet block carries none).
    last_ts: Ts,
}

impl Default for StreamState {
    fn default() -> Self {
        StreamState {
            legacy_link: Linktype::ETHERNET,
            nanos: false,
            interfaces: Vec::new(),
            last_ts: Ts::default(),
        }
    }
}

impl StreamState {
    /// Takes one block: a packet goes to `sink`, anything else updates the state.
    fn block(&mut self, block: PcapBlockOwned, end: &mut ReadEnd, sink: &mut impl PacketSink) {
        let mut packet = |ts, link, data| {
            end.packets += 1;
            sink.packet(Packet { ts, link, data });
        };
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.legacy_link = h.network;
                self.nanos = h.is_nanosecond_precision();
            }
            PcapBlockOwned::Legacy(b) => {
                let frac = b.ts_usec as i64 * if self.nanos { 1 } else { 1000 };
                self.last_ts = Ts(b.ts_sec as i64 * SECOND + frac);
                packet(self.last_ts, self.legacy_link, b.data);
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => self.interfaces.clear(),
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                self.interfaces.push(Interface {
                    link: idb.linktype,
                    resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                    offset_secs: idb.ts_offset(),
                    drops: 0,
                })
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                if let Some(i) = self.interfaces.get(epb.if_id as usize) {
                    let units = (epb.ts_high as u64) << 32 | epb.ts_low as u64;
                    self.last_ts = ng_time(units, i);
                    packet(self.last_ts, i.link, epb.data);
                }
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                if let Some(i) = self.interfaces.first() {
                    packet(self.last_ts, i.link, spb.data);
                }
            }
            PcapBlockOwned::NG(Block::InterfaceStatistics(isb)) => {
                let drops = isb.isb_ifdrop().and_then(Result::ok);
                if let (Some(drops), Some(i)) = (drops, self.interfaces.get_mut(isb.if_id as usize))
                {
                    let units = (isb.ts_high as u64) << 32 | isb.ts_low as u64;
                    let ts = ng_time(units, i);
                    if drops > i.drops {
                        i.drops = drops;
                        let total = self.interfaces.iter().map(|i| i.drops).sum();
                        sink.kernel_drops(ts, total);
                    }
                }
            }
            PcapBlockOwned::NG(_) => {}
        }
    }
}

/// Hands out the file's first header whole on the first read: pcap-parser recognises the
/// format from a single read, and a pipe or a chained reader may give fewer bytes at once.
struct HeadFirst<R> {
    head: std::io::Cursor<Vec<u8>>,
    rest: R,
}

impl<R: Read> HeadFirst<R> {
    fn new(mut rest: R) -> std::io::Result<HeadFirst<R>> {
        let mut head = Vec::new();
        fill(&mut rest, &mut head, 12)?;
        let want = match head.get(..4) {
            // pcapng: the section header's length, in the byte order its magic at 8 says.
            Some([0x0a, 0x0d, 0x0d, 0x0a]) if head.len() >= 12 => {
                let len = [head[4], head[5], head[6], head[7]];
                let n = if head[8..12] == [0x1a, 0x2b, 0x3c, 0x4d] {
                    u32::from_be_bytes(len)
                } else {
                    u32::from_le_bytes(len)
                };
                (n as usize).clamp(12, 1 << 20)
            }
            _ => 24,
        };
        fill(&mut rest, &mut head, want)?;
        Ok(HeadFirst {
            head: std::io::Cursor::new(head),
            rest,
        })
    }
}

fn fill(r: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<()> {
    while buf.len() < want {
        let at = buf.len();
        buf.resize(want, 0);
        match r.read(&mut buf[at..]) {
            Ok(0) => {
                buf.truncate(at);
                break;
            }
            Ok(n) => buf.truncate(at + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(at),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl<R: Read> Read for HeadFirst<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.head.position() as usize;
        if pos < self.head.get_ref().len() {
            return self.head.read(buf);
        }
        self.rest.read(buf)
    }
}

fn ng_time(units: u64, i: &Interface) -> Ts {
    let secs = (units / i.resolution) as i64 + i.offset_secs;
    let frac = ((units % i.resolution) as u128 * SECOND as u128 / i.resolution as u128) as i64;
    Ts(secs.saturating_mul(SECOND).saturating_add(frac))
}

fn describe<I>(e: &PcapError<I>) -> String {
    match e {
        PcapError::Eof | PcapError::UnexpectedEof => "unexpected end".into(),
        PcapError::ReadError => "read error".into(),
        PcapError::Incomplete(n) => format!("incomplete block, {n} bytes missing"),
        PcapError::HeaderNotRecognized => "unknown format".into(),
        PcapError::BufferTooSmall => "block too large".into(),
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("malformed block: {kind:?}")
        }
    }
}
