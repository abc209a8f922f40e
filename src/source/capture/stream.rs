//! One direction of a TCP connection put back in order: retransmits and overlaps trimmed,
//! segments that arrive early held (within a budget) until the hole before them fills, and a
//! hole the capture never fills given up as a gap of known length.

use crate::event::{SECOND, Ts};
use std::collections::BTreeMap;

/// Early segments held per direction.
pub const HOLD_BYTES: usize = 256 * 1024;
/// A hole not filled within this much capture time is a gap: retransmissions come sooner.
const HOLD_TIME: i64 = SECOND;
/// A segment further ahead than this is no early segment but noise (or a sequence number
/// from another connection on a reused port pair).
const WINDOW: u32 = 1 << 30;

pub enum Piece<'a> {
    Data(&'a [u8]),
    /// Bytes of the stream the capture does not hold.
    Gap(u64),
}

#[derive(Default)]
pub struct Stream {
    /// The next sequence number expected; `None` until the first segment.
    next: Option<u32>,
    held: BTreeMap<u32, (Ts, Vec<u8>)>,
    held_bytes: usize,
    pub gaps: u64,
    pub retransmitted: u64,
}

impl Stream {
    /// Takes a segment. `syn` segments set the initial sequence number; a stream joined in
    /// its middle starts at its first segment.
    pub fn segment(
        &mut self,
        ts: Ts,
        seq: u32,
        syn: bool,
        payload: &[u8],
        sink: &mut impl FnMut(Piece),
    ) {
        let seq = if syn { seq.wrapping_add(1) } else { seq };
        let next = match self.next {
            Some(n) if !syn => n,
            _ => {
                self.next = Some(seq);
                seq
            }
        };
        if payload.is_empty() {
            self.give_up_stale(ts, sink);
            return;
        }
        let ahead = seq.wrapping_sub(next);
        if ahead == 0 || ahead > u32::MAX - WINDOW {
            // In order, or overlapping what was already delivered.
            let behind = next.wrapping_sub(seq) as usize;
            if behind >= payload.len() {
                self.retransmitted += 1;
            } else {
                let fresh = &payload[behind..];
                self.next = Some(next.wrapping_add(fresh.len() as u32));
                sink(Piece::Data(fresh));
                self.deliver_held(sink);
            }
        } else if ahead < WINDOW {
            if self.held_bytes + payload.len() > HOLD_BYTES {
                if self.held.is_empty() {
                    // Too large to hold at all: the hole before it is a gap now.
                    self.gaps += 1;
                    sink(Piece::Gap(ahead as u64));
                    self.next = Some(seq.wrapping_add(payload.len() as u32));
                    sink(Piece::Data(payload));
                    return;
                }
                self.skip_to_held(sink);
                return self.segment(ts, seq, false, payload, sink);
            }
            if let Some((_, old)) = self.held.insert(seq, (ts, payload.to_vec())) {
                self.held_bytes -= old.len();
            }
            self.held_bytes += payload.len();
        }
        self.give_up_stale(ts, sink);
    }

    /// The end of the stream (FIN, RST, end of capture): what is held is delivered, holes
    /// as gaps.
    pub fn flush(&mut self, sink: &mut impl FnMut(Piece)) {
        while !self.held.is_empty() {
            self.skip_to_held(sink);
        }
    }

    fn give_up_stale(&mut self, ts: Ts, sink: &mut impl FnMut(Piece)) {
        while let Some((_, (since, _))) = self.held.first_key_value() {
            if ts.0 - since.0 < HOLD_TIME {
                break;
            }
            self.skip_to_held(sink);
        }
    }

    /// Declares the hole before the first held segment a gap and goes on from there.
    fn skip_to_held(&mut self, sink: &mut impl FnMut(Piece)) {
        let (Some(next), Some((&first, _))) = (self.next, self.held.first_key_value()) else {
            return;
        };
        let hole = first.wrapping_sub(next);
        if hole > 0 && hole < WINDOW {
            self.gaps += 1;
            sink(Piece::Gap(hole as u64));
            self.next = Some(first);
        }
        self.deliver_held(sink);
    }

    fn deliver_held(&mut self, sink: &mut impl FnMut(Piece)) {
        let Some(mut next) = self.next else { return };
        while let Some(entry) = self.held.first_entry() {
            let seq = *entry.key();
            let ahead = seq.wrapping_sub(next);
            if ahead != 0 && ahead < WINDOW {
                break;
            }
            let (_, bytes) = entry.remove();
            self.held_bytes -= bytes.len();
            let behind = next.wrapping_sub(seq) as usize;
            if behind < bytes.len() {
                sink(Piece::Data(&bytes[behind..]));
                next = next.wrapping_add((bytes.len() - behind) as u32);
            } else {
                self.retransmitted += 1;
            }
        }
        self.next = Some(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stream: &mut Stream, segs: &[(u32, &[u8])], ts: i64) -> (Vec<u8>, Vec<u64>) {
        let (mut data, mut gaps) = (Vec::new(), Vec::new());
        for (seq, payload) in segs {
            stream.segment(Ts(ts), *seq, false, payload, &mut |p| match p {
                Piece::Data(d) => data.extend_from_slice(d),
                Piece::Gap(n) => gaps.push(n),
            });
        }
        (data, gaps)
    }

    #[test]
    fn out_of_order_retransmitted_and_overlapping_segments() {
        let mut s = Stream::default();
        s.segment(Ts(0), 999, true, b"", &mut |_| {});
        let segs: [(u32, &[u8]); 6] = [
            (1000, b"abc"),
            (1006, b"ghi"),    // early
            (1003, b"def"),    // fills the hole
            (1000, b"abc"),    // retransmit
            (1004, b"efghij"), // overlap
            (1010, b"k"),
        ];
        let (data, gaps) = run(&mut s, &segs, 0);
        assert_eq!(data, b"abcdefghijk");
        assert!(gaps.is_empty());
        assert_eq!(s.retransmitted, 1);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut s = Stream::default();
        let start = u32::MAX - 2;
        let (data, _) = run(
            &mut s,
            &[(start, b"abcd"), (start.wrapping_add(4), b"ef")],
            0,
        );
        assert_eq!(data, b"abcdef");
    }

    #[test]
    fn a_hole_never_filled_is_a_gap_of_known_length() {
        let mut s = Stream::default();
        let (data, gaps) = run(&mut s, &[(0, b"ab"), (10, b"kl")], 0);
        assert_eq!((data.as_slice(), gaps.as_slice()), (&b"ab"[..], &[][..]));
        // A second later the hole is given up.
        let (data, gaps) = run(&mut s, &[(12, b"mn")], 2 * SECOND);
        assert_eq!((data.as_slice(), gaps.as_slice()), (&b"klmn"[..], &[8][..]));
        assert_eq!(s.gaps, 1);
    }

    #[test]
    fn held_bytes_are_bounded() {
        let mut s = Stream::default();
        let big = vec![1u8; 60_000];
        let mut delivered = 0;
        s.segment(Ts(0), 0, false, b"a", &mut |_| {});
        for i in 0..20u32 {
            s.segment(Ts(0), 100 + i * 60_000, false, &big, &mut |p| {
                if let Piece::Data(d) = p {
                    delivered += d.len()
                }
            });
            assert!(s.held_bytes <= HOLD_BYTES);
        }
        let mut rest = 0;
        s.flush(&mut |p| {
            if let Piece::Data(d) = p {
                rest += d.len()
            }
        });
        assert_eq!(delivered + rest, 20 * 60_000);
    }
}
