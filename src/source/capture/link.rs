//! From a captured frame to its TCP segment, by link type (etherparse does the headers).

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_parser::Linktype;
use std::net::{IpAddr, SocketAddr};

/// One TCP segment of a captured packet.
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: &'a [u8],
}

pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    /// Not TCP over IP (ARP, UDP, ICMP...): not ours.
    Other,
    /// A link type this reader does not know.
    UnknownLink,
    /// Headers cut short or malformed (a snapshot length too small, a corrupt packet).
    Unreadable,
}

/// Linux "cooked" capture v2 (`tcpdump -i any`): a 20-byte header whose first field is the
/// EtherType.
const SLL2_HEADER: usize = 20;

pub fn decode(link: Linktype, data: &[u8]) -> Decoded<'_> {
    let sliced = match link {
        Linktype::ETHERNET => SlicedPacket::from_ethernet(data),
        Linktype::LINUX_SLL => SlicedPacket::from_linux_sll(data),
        Linktype::LINUX_SLL2 => {
            if data.len() < SLL2_HEADER {
                return Decoded::Unreadable;
            }
            match u16::from_be_bytes([data[0], data[1]]) {
                0x0800 | 0x86dd => SlicedPacket::from_ip(&data[SLL2_HEADER..]),
                _ => return Decoded::Other,
            }
        }
        // BSD loopback: a 4-byte address family in host order, then IP.
        Linktype::NULL | Linktype::LOOP => {
            if data.len() < 4 {
                return Decoded::Unreadable;
            }
            SlicedPacket::from_ip(&data[4..])
        }
        Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => SlicedPacket::from_ip(data),
        // DLT_RAW as some systems number it.
        Linktype(12) | Linktype(14) => SlicedPacket::from_ip(data),
        _ => return Decoded::UnknownLink,
    };
    let Ok(p) = sliced else {
        return Decoded::Unreadable;
    };
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match &p.net {
        Some(NetSlice::Ipv4(v4)) => (
            v4.header().source_addr().into(),
            v4.header().destination_addr().into(),
        ),
        Some(NetSlice::Ipv6(v6)) => (
            v6.header().source_addr().into(),
            v6.header().destination_addr().into(),
        ),
        _ => return Decoded::Other,
    };
    match &p.transport {
        Some(TransportSlice::Tcp(tcp)) => Decoded::Tcp(Segment {
            src: SocketAddr::new(src_ip, tcp.source_port()),
            dst: SocketAddr::new(dst_ip, tcp.destination_port()),
            seq: tcp.sequence_number(),
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            payload: tcp.payload(),
        }),
        // A fragment of an IP packet: TCP segments are not fragmented in practice.
        _ => Decoded::Other,
    }
}
