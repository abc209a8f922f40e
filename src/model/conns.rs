//! The table of open connections.
//!
//! A 24-hour log may open 50 million connections, and a busy server may hold a million at
//! once, so this table holds only what is open, in a compact form: a slab of [`Conn`] records
//! and a hash table of 4-byte slot numbers keyed by (server, connection id). The id is stored
//! once, in the slab.

use super::interner::Sym;
use crate::event::{Str, Ts};
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hash, Hasher};

/// Index of a server in [`super::Model::servers`].
pub type ServerId = u16;

/// A time after a connection opened, or never. Four bytes instead of eight per timestamp: a
/// million open connections must fit in 256 MiB. Milliseconds for the first 2^31 ms (24.8
/// days), then 100 ms steps (finer than any tolerance of findings.md) for 6.8 years more:
/// devices stay connected for months, and a saturated time would make them look dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Since(u32);

/// Where the 100 ms steps begin.
const FINE_MS: i64 = 1 << 31;
const COARSE_STEP_MS: i64 = 100;

impl Since {
    pub const NEVER: Since = Since(u32::MAX);

    fn at(opened: Ts, t: Ts) -> Since {
        let ms = (t.0.saturating_sub(opened.0) / 1_000_000).max(0);
        let v = if ms < FINE_MS {
            ms
        } else {
            FINE_MS + (ms - FINE_MS) / COARSE_STEP_MS
        };
        Since(v.min(u32::MAX as i64 - 1) as u32)
    }

    fn ts(self, opened: Ts) -> Option<Ts> {
        let v = self.0 as i64;
        let ms = if v < FINE_MS {
            v
        } else {
            FINE_MS + (v - FINE_MS) * COARSE_STEP_MS
        };
        (self != Since::NEVER).then(|| opened.plus_nanos(ms * 1_000_000))
    }
}

/// What the model knows of one open connection. Times are event times, kept relative to
/// `opened`; read them with the accessors.
#[derive(Clone, Debug)]
pub struct Conn {
    pub id: Str,
    pub server: ServerId,
    pub remote: Option<Str>,
    /// `client`, else the first address of `forwarded_for`: the part of the client identity
    /// that `remote` cannot give (feed-protocol.md, `open`).
    pub client_key: Option<Str>,
    pub user_agent: Option<Sym>,
    pub path: Option<Sym>,
    pub opened: Ts,
    last_activity: Since,
    last_ping: Since,
    last_pong: Since,
    /// The first ping sent since the last pong, while it stays unanswered.
    unanswered_ping: Since,
    background_since: Since,
    pub msgs_in: u32,
    pub msgs_out: u32,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub rtt_ms: f32,
    pub mobile: bool,
    /// Its `open` was seen and counted (not known from a snapshot only).
    pub counted_open: bool,
}

impl Conn {
    /// A connection opened at `opened`, with nothing else known yet.
    pub fn new(server: ServerId, id: Str, opened: Ts) -> Conn {
        Conn {
            id,
            server,
            remote: None,
            client_key: None,
            user_agent: None,
            path: None,
            opened,
            last_activity: Since(0),
            last_ping: Since::NEVER,
            last_pong: Since::NEVER,
            unanswered_ping: Since::NEVER,
            background_since: Since::NEVER,
            msgs_in: 0,
            msgs_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            rtt_ms: f32::NAN,
            mobile: false,
            counted_open: false,
        }
    }

    fn latest(&self, old: Since, t: Ts) -> Since {
        let new = Since::at(self.opened, t);
        if old == Since::NEVER {
            new
        } else {
            Since(old.0.max(new.0))
        }
    }

    /// The open, or the latest message, ping or pong (findings.md's "activity").
    pub fn last_activity(&self) -> Ts {
        self.last_activity.ts(self.opened).unwrap_or(self.opened)
    }
    pub fn last_ping(&self) -> Option<Ts> {
        self.last_ping.ts(self.opened)
    }
    pub fn last_pong(&self) -> Option<Ts> {
        self.last_pong.ts(self.opened)
    }
    pub fn background_since(&self) -> Option<Ts> {
        self.background_since.ts(self.opened)
    }
    pub fn rtt_ms(&self) -> Option<f32> {
        self.rtt_ms.is_finite().then_some(self.rtt_ms)
    }
    pub fn in_background(&self) -> bool {
        self.background_since != Since::NEVER
    }

    pub fn touch(&mut self, t: Ts) {
        self.last_activity = self.latest(self.last_activity, t);
    }
    /// A ping was sent at `t`.
    pub fn pinged(&mut self, t: Ts) {
        self.last_ping = self.latest(self.last_ping, t);
        if self.unanswered_ping == Since::NEVER {
            self.unanswered_ping = Since::at(self.opened, t);
        }
        self.touch(t);
    }
    /// A pong arrived at `t`.
    pub fn ponged(&mut self, t: Ts) {
        self.last_pong = self.latest(self.last_pong, t);
        self.unanswered_ping = Since::NEVER;
        self.touch(t);
    }
    pub fn set_background(&mut self, since: Option<Ts>) {
        self.background_since = since.map_or(Since::NEVER, |t| Since::at(self.opened, t));
    }
    /// Heartbeat state as a snapshot reports it.
    pub fn restore(
        &mut self,
        last_activity: Option<Ts>,
        last_ping: Option<Ts>,
        last_pong: Option<Ts>,
    ) {
        let at = |t: Option<Ts>| t.map_or(Since::NEVER, |t| Since::at(self.opened, t));
        self.last_ping = at(last_ping);
        self.last_pong = at(last_pong);
        let latest = [last_activity, last_ping, last_pong]
            .into_iter()
            .flatten()
            .max();
        self.last_activity = latest.map_or(Since(0), |t| Since::at(self.opened, t));
        if let Some(ping) = last_ping
            && last_pong.is_none_or(|p| p < ping)
        {
            self.unanswered_ping = Since::at(self.opened, ping);
        }
    }

    /// Seconds since the last sign of life from the client's heartbeat at `now`: the last pong,
    /// or when pinged but never answered, the first unanswered ping (findings.md, zombies).
    pub fn pong_age(&self, now: Ts) -> Option<f64> {
        match (self.last_pong(), self.unanswered_ping.ts(self.opened)) {
            (Some(pong), _) => Some(now.secs_since(pong)),
            (None, Some(ping)) => Some(now.secs_since(ping)),
            (None, None) => None,
        }
    }
    /// The first ping sent since the last pong, while it is unanswered.
    pub fn unanswered_ping(&self) -> Option<Ts> {
        self.unanswered_ping.ts(self.opened)
    }
    /// When this connection last got a ping, or opened if never.
    pub fn unpinged_since(&self) -> Ts {
        self.last_ping().unwrap_or(self.opened)
    }
}

/// A fast hasher with a fixed seed: the model stays the same from run to run.
const HASHER: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x5753_636f_7065);

fn key_hash(server: ServerId, id: &str) -> u64 {
    let mut h = HASHER.build_hasher();
    server.hash(&mut h);
    id.hash(&mut h);
    h.finish()
}

#[derive(Clone, Debug, Default)]
pub struct ConnTable {
    slots: Vec<Option<Conn>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    /// Open connections per server.
    per_server: Vec<u32>,
}

impl ConnTable {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Open connections of one server.
    pub fn count_of(&self, server: ServerId) -> usize {
        self.per_server.get(server as usize).copied().unwrap_or(0) as usize
    }

    /// The slot of an open connection (what [`Self::slots`] pairs it with).
    pub fn slot_of(&self, server: ServerId, id: &str) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(key_hash(server, id), |&slot| {
                slots[slot as usize]
                    .as_ref()
                    .is_some_and(|c| c.server == server && c.id == id)
            })
            .copied()
    }

    pub fn get(&self, server: ServerId, id: &str) -> Option<&Conn> {
        self.slot_of(server, id)
            .and_then(|s| self.slots[s as usize].as_ref())
    }

    pub fn get_mut(&mut self, server: ServerId, id: &str) -> Option<&mut Conn> {
        let slot = self.slot_of(server, id)?;
        self.slots[slot as usize].as_mut()
    }

    /// Inserts `conn`; returns false (and changes nothing) when that id is already open.
    pub fn insert(&mut self, conn: Conn) -> bool {
        if self.slot_of(conn.server, &conn.id).is_some() {
            return false;
        }
        let hash = key_hash(conn.server, &conn.id);
        let server = conn.server as usize;
        if self.per_server.len() <= server {
            self.per_server.resize(server + 1, 0);
        }
        self.per_server[server] += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(conn);
                slot
            }
            None => {
                self.slots.push(Some(conn));
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash, slot, |&s| {
            let c = slots[s as usize]
                .as_ref()
                .expect("indexed slot is occupied");
            key_hash(c.server, &c.id)
        });
        true
    }

    pub fn remove(&mut self, server: ServerId, id: &str) -> Option<Conn> {
        let slots = &self.slots;
        let entry = self.index.find_entry(key_hash(server, id), |&slot| {
            slots[slot as usize]
                .as_ref()
                .is_some_and(|c| c.server == server && c.id == id)
        });
        let slot = entry.ok()?.remove().0;
        self.free.push(slot);
        if let Some(n) = self.per_server.get_mut(server as usize) {
            *n = n.saturating_sub(1);
        }
        self.slots[slot as usize].take()
    }

    /// Removes every connection of `server` (a snapshot replaces what was known of it).
    pub fn remove_server(&mut self, server: ServerId) -> Vec<Conn> {
        let ids: Vec<Str> = self
            .iter()
            .filter(|c| c.server == server)
            .map(|c| c.id.clone())
            .collect();
        ids.iter()
            .filter_map(|id| self.remove(server, id))
            .collect()
    }

    /// Open connections, in slot order (stable between frames; sort for display).
    pub fn iter(&self) -> impl Iterator<Item = &Conn> + '_ {
        self.slots.iter().filter_map(Option::as_ref)
    }

    /// Open connections with their slot numbers: a display can remember rows as 4-byte slots
    /// instead of copies of (server, id).
    pub fn slots(&self) -> impl Iterator<Item = (u32, &Conn)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i as u32, c)))
    }

    /// The connection in `slot`, if that slot is occupied (a slot freed by a close may since
    /// hold another connection).
    pub fn at_slot(&self, slot: u32) -> Option<&Conn> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn conn(server: ServerId, id: &str) -> Conn {
        Conn::new(server, id.into(), Ts(0))
    }

    #[test]
    fn relative_times() {
        let mut c = Conn::new(0, "a".into(), Ts(1_000 * crate::event::SECOND));
        assert_eq!(c.last_activity(), c.opened);
        let t = c.opened.plus_secs(2.5);
        c.pinged(t);
        assert_eq!(c.last_ping(), Some(t));
        assert_eq!(c.pong_age(t.plus_secs(1.0)), Some(1.0));
        c.ponged(t.plus_secs(0.25));
        assert_eq!(c.pong_age(t.plus_secs(1.0)), Some(0.75));
        c.touch(c.opened.plus_secs(-5.0));
        assert_eq!(c.last_activity(), t.plus_secs(0.25), "never goes back");
    }

    #[test]
    fn insert_find_remove_reuse() {
        let mut t = ConnTable::default();
        assert!(t.insert(conn(0, "a")));
        assert!(
            !t.insert(conn(0, "a")),
            "a second open of the same id is refused"
        );
        assert!(t.insert(conn(1, "a")), "ids are per server");
        assert_eq!(t.len(), 2);
        assert!(t.remove(0, "a").is_some());
        assert!(t.get(0, "a").is_none());
        assert!(t.get(1, "a").is_some());
        assert!(t.insert(conn(0, "b")));
        assert_eq!(t.slots.len(), 2, "freed slot reused");
        let slots: Vec<u32> = t.slots().map(|(s, _)| s).collect();
        assert_eq!(slots, vec![0, 1]);
        assert_eq!(t.at_slot(0).map(|c| c.id.as_str()), Some("b"));
        assert!(t.at_slot(9).is_none());
        assert_eq!(t.remove_server(1).len(), 1);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn conn_record_stays_small() {
        // Memory per open connection is a requirement (<= 256 bytes all told).
        assert!(
            std::mem::size_of::<Option<Conn>>() <= 152,
            "{}",
            std::mem::size_of::<Option<Conn>>()
        );
    }
}
