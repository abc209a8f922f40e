//! The decoder on made-up traffic: the cases real peers do not produce on demand.

use super::synth::{RawPacket, Wire, close_payload, frame};
use super::{Decoder, PacketSink, packets::Packet};
use crate::event::{Dir, Event, EventKind, Initiator, Ts};
use pcap_parser::Linktype;
use std::net::SocketAddr;

const MASK: Option<[u8; 4]> = Some([9, 8, 7, 6]);
const T0: Ts = Ts(1_780_000_000_000_000_000);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn decode(packets: &[RawPacket]) -> (Vec<Event>, super::CaptureStats) {
    let mut d = Decoder::default();
    for p in packets {
        d.packet(Packet {
            ts: p.ts,
            link: Linktype::ETHERNET,
            data: &p.data,
        });
    }
    d.finish();
    let mut events = Vec::new();
    d.take_events(&mut events);
    (events, d.stats().clone())
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.kind.type_name()).collect()
}

fn closes(events: &[Event]) -> Vec<(Option<u16>, Option<Initiator>)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Close(c) => Some((c.code, c.initiator)),
            _ => None,
        })
        .collect()
}

fn wire(client_port: u16) -> Wire {
    Wire::new(
        addr(&format!("10.0.0.2:{client_port}")),
        addr("10.0.0.1:8080"),
        T0,
    )
}

#[test]
fn an_upgrade_traffic_and_a_server_close() {
    let mut w = wire(40_000);
    let mut p = w.handshake("/ws?token=secret", 101);
    p.push(w.wait(0.1).send(true, &frame(1, true, MASK, b"hello")));
    p.push(w.send(false, &frame(1, true, None, b"world")));
    p.push(w.wait(0.5).send(false, &frame(9, true, None, b"hb1")));
    p.push(w.wait(0.02).send(true, &frame(10, true, MASK, b"hb1")));
    p.push(
        w.wait(0.1)
            .send(false, &frame(8, true, None, &close_payload(4000, "bye"))),
    );
    p.push(w.send(true, &frame(8, true, MASK, &close_payload(4000, "bye"))));
    p.push(w.fin(false));
    let (events, stats) = decode(&p);
    // Messages are aggregated, as the tap does: reported a second later, or at the close.
    assert_eq!(
        kinds(&events),
        [
            "hello", "open", "ping", "pong", "message", "message", "close"
        ]
    );
    let EventKind::Open(open) = &events[1].kind else {
        panic!()
    };
    assert_eq!(open.path.as_deref(), Some("/ws"));
    assert_eq!(open.user_agent.as_deref(), Some("synth/1"));
    assert_eq!(open.remote.as_deref(), Some("10.0.0.2:40000"));
    match &events[3].kind {
        EventKind::Pong {
            rtt_ms: Some(rtt), ..
        } => assert!((rtt - 20.0).abs() < 0.5, "{rtt}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(closes(&events), [(Some(4000), Some(Initiator::Server))]);
    assert_eq!(events[0].server.as_deref(), Some("10.0.0.1:8080"));
    assert_eq!(stats.websockets, 1);
}

#[test]
fn reordered_retransmitted_and_split_segments_give_the_same_events() {
    let mut w = wire(40_001);
    let mut p = w.handshake("/ws", 101);
    let mut bytes = Vec::new();
    for i in 0..20 {
        bytes.extend(frame(2, true, MASK, &vec![i; 100 + i as usize * 37]));
    }
    bytes.extend(frame(8, true, MASK, &close_payload(1000, "done")));
    let start = w.next_seq(true);
    // Cut into segments of 97 bytes, sent in the order 1 0 3 2 5 4 ..., with each third one
    // sent twice.
    let segs: Vec<(u32, &[u8])> = bytes
        .chunks(97)
        .enumerate()
        .map(|(i, c)| (start.wrapping_add((i * 97) as u32), c))
        .collect();
    let mut order: Vec<usize> = (0..segs.len()).collect();
    for pair in order.chunks_mut(2) {
        pair.reverse();
    }
    for i in order {
        p.push(w.segment_at(true, segs[i].0, segs[i].1));
        if i % 3 == 0 {
            p.push(w.segment_at(true, segs[i].0, segs[i].1));
        }
    }
    w.lose(true, bytes.len() as u32);
    p.push(w.fin(true));
    let (events, stats) = decode(&p);
    let messages: u64 = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message(m) if m.dir == Dir::In => Some(m.count),
            _ => None,
        })
        .sum();
    assert_eq!(messages, 20);
    assert_eq!(closes(&events), [(Some(1000), Some(Initiator::Client))]);
    assert_eq!(stats.gaps, 0);
}

#[test]
fn a_lost_segment_is_a_gap_counted_not_a_wrong_close() {
    let mut w = wire(40_002);
    let mut p = w.handshake("/ws", 101);
    p.push(w.send(true, &frame(1, true, MASK, b"one")));
    // A frame the capture lost entirely.
    w.lose(true, frame(1, true, MASK, b"lost").len() as u32);
    p.push(w.wait(2.0).send(true, &frame(1, true, MASK, b"three")));
    p.push(w.wait(1.0).rst(false));
    let (events, stats) = decode(&p);
    assert_eq!(stats.gaps, 1);
    assert!(kinds(&events).contains(&"dropped"));
    assert_eq!(closes(&events), [(Some(1006), Some(Initiator::None))]);
}

#[test]
fn engine_io_heartbeats_are_pings_and_pongs() {
    let mut w = wire(40_003);
    let mut p = w.handshake("/socket.io/?EIO=4&transport=websocket", 101);
    for _ in 0..3 {
        p.push(w.wait(25.0).send(false, &frame(1, true, None, b"2")));
        p.push(w.wait(0.03).send(true, &frame(1, true, MASK, b"3")));
    }
    // "2probe" is the transport upgrade probe, an ordinary message.
    p.push(w.send(true, &frame(1, true, MASK, b"2probe")));
    let (events, _) = decode(&p);
    let k = kinds(&events);
    assert_eq!(k.iter().filter(|k| **k == "ping").count(), 3, "{k:?}");
    assert_eq!(k.iter().filter(|k| **k == "pong").count(), 3, "{k:?}");
    let rtts: Vec<f64> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Pong { rtt_ms, .. } => rtt_ms,
            _ => None,
        })
        .collect();
    assert!(rtts.iter().all(|r| (r - 30.0).abs() < 0.5), "{rtts:?}");
    assert_eq!(k.iter().filter(|k| **k == "message").count(), 1);
}

#[test]
fn the_heartbeat_is_inferred_from_the_servers_pings() {
    let mut w = wire(40_004);
    let mut p = w.handshake("/ws", 101);
    for _ in 0..10 {
        p.push(w.wait(30.0).send(false, &frame(9, true, None, b"")));
        p.push(w.wait(0.01).send(true, &frame(10, true, MASK, b"")));
    }
    let (events, _) = decode(&p);
    let heartbeats: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Hello(h) => Some(h.heartbeat.map(|h| h.ping_interval_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(heartbeats, [None, Some(30_000)]);
}

#[test]
fn a_refused_upgrade_and_a_proxy_that_drops_the_upgrade_header() {
    let mut w = wire(40_005);
    let mut p = w.handshake("/ws", 426);
    p.push(w.fin(false));
    let (events, stats) = decode(&p);
    match &events[1].kind {
        EventKind::UpgradeRejected(u) => {
            assert_eq!(u.status, Some(426));
            assert_eq!(u.path.as_deref(), Some("/ws"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((stats.rejected, stats.websockets), (1, 0));
}

#[test]
fn tls_is_said_once_per_server_and_never_decoded() {
    let mut p = Vec::new();
    for port in [40_010, 40_011] {
        let mut w = Wire::new(addr(&format!("10.0.0.2:{port}")), addr("10.0.0.1:443"), T0);
        p.push(w.send(true, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"));
        p.push(w.send(false, b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03"));
        p.push(w.send(true, &[0x17, 0x03, 0x03, 0x00, 0x20, 0x81, 0x85]));
    }
    let (events, stats) = decode(&p);
    assert_eq!(kinds(&events), ["hello", "error"]);
    assert_eq!(stats.tls_servers, ["10.0.0.1:443"]);
    assert_eq!(stats.websockets + stats.joined, 0);
}

#[test]
fn connections_joined_midway_come_in_one_snapshot_and_close_right() {
    let mut p = Vec::new();
    let mut wires: Vec<Wire> = (0..50).map(|i| wire(41_000 + i)).collect();
    // No handshakes: the capture starts with frames already flowing.
    for w in wires.iter_mut() {
        p.push(w.send(false, &frame(9, true, None, b"x")));
    }
    for (i, w) in wires.iter_mut().enumerate() {
        w.wait(3.0);
        p.push(w.send(true, &frame(1, true, MASK, b"late")));
        if i % 2 == 0 {
            p.push(w.send(true, &frame(8, true, MASK, &close_payload(1000, ""))));
            p.push(w.send(false, &frame(8, true, None, &close_payload(1000, ""))));
        } else {
            p.push(w.rst(false));
        }
    }
    let (events, stats) = decode(&p);
    let snapshots: Vec<usize> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Snapshot(s) => Some(s.connections.len()),
            _ => None,
        })
        .collect();
    assert_eq!(snapshots, [50], "{:?}", kinds(&events));
    assert!(!kinds(&events).contains(&"open"));
    let c = closes(&events);
    assert_eq!(c.len(), 50);
    assert_eq!(c.iter().filter(|c| c.0 == Some(1000)).count(), 25);
    assert_eq!(c.iter().filter(|c| c.0 == Some(1006)).count(), 25);
    assert_eq!(stats.joined, 50);
    // The model, fed these events, sees 50 connections and no contradiction.
    let rules = crate::findings::Rules::default();
    let mut model = rules.model();
    events.iter().for_each(|e| model.apply(0, e));
    assert_eq!(model.counters.contradictions, 0);
}

#[test]
fn a_server_on_a_high_port_is_known_by_its_unmasked_frames() {
    // The server's port is above the client's: ports alone would have it the wrong way round.
    let mut w = Wire::new(addr("10.0.0.2:1234"), addr("10.0.0.1:50123"), T0);
    let p = vec![
        // A bare ACK first: nothing but the ports to go by.
        w.send(true, b""),
        w.send(false, &frame(9, true, None, b"")),
        w.wait(0.1).send(true, &frame(10, true, MASK, b"")),
        w.wait(0.1)
            .send(true, &frame(8, true, MASK, &close_payload(1000, ""))),
        w.send(false, &frame(8, true, None, &close_payload(1000, ""))),
    ];
    let (events, stats) = decode(&p);
    assert_eq!(closes(&events), [(Some(1000), Some(Initiator::Client))]);
    assert_eq!(events[0].server.as_deref(), Some("10.0.0.1:50123"));
    assert_eq!((stats.joined, stats.roles_swapped), (1, 1));
}

#[test]
fn a_reused_address_pair_is_a_new_connection() {
    let mut p = Vec::new();
    for round in 0..2 {
        let mut w = wire(40_020);
        w.wait(round as f64 * 100.0);
        p.extend(w.handshake("/ws", 101));
        p.push(w.send(true, &frame(1, true, MASK, b"hi")));
        p.push(w.fin(true));
        p.push(w.fin(false));
    }
    let (events, _) = decode(&p);
    assert_eq!(kinds(&events).iter().filter(|k| **k == "open").count(), 2);
    assert_eq!(closes(&events).len(), 2);
}

#[test]
fn ipv6_and_the_cooked_linux_link_type() {
    let mut w = Wire::new(addr("[2001:db8::2]:40030"), addr("[2001:db8::1]:8080"), T0);
    let mut p = w.handshake("/ws", 101);
    p.push(w.fin(true));
    // The same packets as tcpdump -i any writes them: SLL2 instead of Ethernet.
    let mut d = Decoder::default();
    for raw in &p {
        let mut sll2 = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 0, 4, 6, 0, 0, 0, 0, 0, 0, 0,
        ];
        sll2.extend_from_slice(&raw.data[14..]);
        d.packet(Packet {
            ts: raw.ts,
            link: Linktype::LINUX_SLL2,
            data: &sll2,
        });
    }
    d.finish();
    let mut events = Vec::new();
    d.take_events(&mut events);
    assert_eq!(kinds(&events), ["hello", "open", "close"]);
    assert_eq!(events[0].server.as_deref(), Some("[2001:db8::1]:8080"));
}

#[test]
fn handshakes_that_never_finish_are_forgotten_but_idle_websockets_are_not() {
    let mut d = Decoder::default();
    let feed = |d: &mut Decoder, packets: Vec<RawPacket>| {
        for p in &packets {
            d.packet(Packet {
                ts: p.ts,
                link: Linktype::ETHERNET,
                data: &p.data,
            });
        }
    };
    let mut idle = wire(1_000);
    feed(&mut d, idle.handshake("/ws", 101));
    for port in 20_000..30_000u16 {
        let mut w = wire(port);
        let syn = w.handshake("/ws", 101).remove(0);
        feed(&mut d, vec![syn]);
    }
    assert_eq!(d.connections_held(), 10_001);
    // Ten minutes later, the WebSocket is still followed; the half-open ones are gone.
    idle.wait(600.0);
    let ping = idle.send(false, &frame(9, true, None, b""));
    feed(&mut d, vec![ping]);
    assert_eq!(d.connections_held(), 1);
    let mut events = Vec::new();
    d.take_events(&mut events);
    assert_eq!(kinds(&events), ["hello", "open", "ping"]);
}

#[test]
fn unknown_link_types_and_unreadable_packets_are_counted() {
    let mut d = Decoder::default();
    for link in [Linktype(147), Linktype(147), Linktype::ETHERNET] {
        d.packet(Packet {
            ts: T0,
            link,
            data: &[0x45, 0, 0, 1],
        });
    }
    assert_eq!(d.stats().unknown_links, [147]);
    assert_eq!(d.stats().unreadable, 1);
    assert!(d.stats().summary().contains("unknown link type 147"));
}

#[test]
fn a_written_capture_reads_back_through_the_file_reader() {
    let mut w = wire(40_040);
    let mut p = w.handshake("/ws", 101);
    p.push(w.send(false, &frame(1, true, None, b"x")));
    p.push(w.fin(false));
    let mut writer = super::synth::PcapWriter::new(Vec::new()).unwrap();
    p.iter().for_each(|raw| writer.write(raw).unwrap());
    let bytes = writer.into_inner();
    assert!(super::is_capture(&bytes));
    let mut events = Vec::new();
    let (stats, end) = super::read_capture(
        std::io::Cursor::new(bytes),
        Vec::new(),
        &mut |evs| events.extend_from_slice(evs),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(kinds(&events), ["hello", "open", "message", "close"]);
    assert_eq!((stats.packets, end.problem), (p.len() as u64, None));
    // Not a capture at all.
    let err = super::read_capture(
        std::io::Cursor::new(b"{\"type\":\"hello\"}\n".to_vec()),
        Vec::new(),
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.contains("not a pcap"), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Any bytes after a valid capture header, or any packet payloads: no panic.
    #[test]
    fn any_packets_are_taken_without_panic(
        payloads in proptest::collection::vec(proptest::collection::vec(0u8..=255, 0..300), 1..40),
        tail in proptest::collection::vec(0u8..=255, 0..500),
    ) {
        let mut w = wire(40_050);
        let mut p = w.handshake("/ws", 101);
        for (i, bytes) in payloads.iter().enumerate() {
            p.push(w.send(i % 2 == 0, bytes));
        }
        let mut writer = super::synth::PcapWriter::new(Vec::new()).unwrap();
        p.iter().for_each(|raw| writer.write(raw).unwrap());
        let mut bytes = writer.into_inner();
        bytes.extend_from_slice(&tail);
        let _ = super::read_capture(std::io::Cursor::new(bytes), Vec::new(), &mut |_| {}, &mut |_| {});
    }
}
