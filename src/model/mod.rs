//! The model: the state of every server and connection, folded from events.
//!
//! [`Model::apply`] is a pure function of the events and their times: no wall clock, no
//! randomness, and hash tables with fixed seeds wherever their order could show. The same log always gives the same model, so a replay, a report
//! and the live view agree, and tests need no sleeps. Memory is bounded by what is open plus
//! fixed-size aggregates (histograms, 10 s buckets, capped lists), never by the number of
//! connections a log has seen.

pub mod clients;
pub mod clock;
pub mod close_ages;
pub mod closes;
pub mod conns;
pub mod fleet;
pub mod histogram;
pub mod interner;
pub mod params;
pub mod per_second;
pub mod process;
pub mod reorder;
pub mod restarts;
pub mod server_names;
pub mod timers;

mod apply;

use crate::event::{Heartbeat, Str, Ts};
use std::collections::{BTreeMap, HashMap};

pub use clients::LoopingClient;
pub use close_ages::{AgeSample, CloseAges, CloseKind};
pub use closes::{CloseStats, CodeCounts, RateBucket};
pub use conns::{Conn, ConnTable, ServerId};
pub use histogram::{Cluster, DurationHistogram};
pub use interner::{Interner, Sym};
pub use params::Params;
pub use process::{Figure, ProcessFigures, Reading};
pub use restarts::{Restart, Restarts};
pub use timers::{TimerState, Timers};

/// Distinct user agents, paths and timer kinds remembered (see [`Interner`]).
const INTERN_CAP: usize = 100_000;

/// What is known of one server (one emitter of events).
#[derive(Clone, Debug, Default)]
pub struct Server {
    pub name: Str,
    pub software: Option<Str>,
    /// From `hello`; `None` when the server said it sends no pings, or never said hello.
    pub heartbeat: Option<Heartbeat>,
    pub said_hello: bool,
    pub pings: u64,
    /// Events the feed left out for us (`dropped`).
    pub dropped: u64,
    pub snapshots: u64,
    /// Memory and descriptors from `process` events.
    pub process: ProcessFigures,
    /// The longest a closed connection went without a ping, in seconds (open ones are judged
    /// at evaluation time).
    pub longest_unpinged: f64,
    /// Which connection that was.
    pub longest_unpinged_conn: Option<Str>,
    /// The longest lifetime of a closed connection, in seconds.
    pub longest_lived: f64,
    /// Which connection that was.
    pub longest_lived_conn: Option<Str>,
    /// Closes by effective code.
    pub close_codes: BTreeMap<u16, u64>,
    pub recent_closes: per_second::PerSecond,
    /// The latest event time of this server's events.
    pub last_event: Option<Ts>,
}

impl Server {
    /// The close code that says most about trouble: the most frequent one other than the
    /// normal 1000 and 1001, else the most frequent, with its count.
    pub fn worst_code(&self) -> Option<(u16, u64)> {
        let most = |normal: bool| {
            self.close_codes
                .iter()
                .filter(|(c, _)| normal || !matches!(c, 1000 | 1001))
                .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
                .map(|(c, n)| (*c, *n))
        };
        most(false).or_else(|| most(true))
    }
}

/// Counts of the events themselves, and of those that contradicted the model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub events: u64,
    /// Events of a `type` this reader does not know.
    pub unknown_types: u64,
    /// Lines of a log that were not valid events (reported by the source).
    pub skipped_lines: u64,
    /// Events that contradicted the state: a close for an unknown conn, a second open...
    pub contradictions: u64,
    /// Events older than the latest one seen (tolerated, counted).
    pub reordered: u64,
    /// Events whose time contradicted their neighbours, set aside (see [`clock`]).
    pub clock_outliers: u64,
    pub errors: u64,
    /// Servers named as one of another source's (told apart by a `(feed N)` suffix).
    pub duplicate_server_names: u64,
}

/// Mobile versus other connections, for `mobile-background`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MobileStats {
    pub mobile_opens: u64,
    pub mobile_closes: u64,
    pub other_opens: u64,
    pub other_closes: u64,
    /// Closes of connections whose `open` was counted, for closes ÷ opens over one population
    /// (a snapshot's connections opened before we looked have no counted open).
    pub mobile_closes_of_opens: u64,
    pub other_closes_of_opens: u64,
    pub mobile_cuts: u64,
    /// Mobile cuts within 120 s after that connection went to the background.
    pub cuts_after_background: u64,
}

#[derive(Clone, Debug)]
pub struct Model {
    now: Ts,
    first: Option<Ts>,
    pub servers: Vec<Server>,
    /// Which server each event is of.
    server_names: server_names::ServerNames,
    pub conns: ConnTable,
    pub strings: Interner,
    pub timers: Timers,
    pub closes: CloseStats,
    pub clients: clients::Clients,
    pub counters: Counters,
    pub opened: u64,
    pub peak_open: usize,
    /// `upgrade_rejected` by HTTP status (0 when the event had none).
    pub rejected: BTreeMap<u16, u64>,
    /// Idle time at close of cuts (1006, initiator none).
    pub cut_idle: DurationHistogram,
    /// Idle time and age at close of cuts and of server closes that no restart explains.
    pub close_ages: CloseAges,
    pub mobile: MobileStats,
    /// Bursts of server going-away closes; closes still waiting for a verdict keep what
    /// `close_ages` would get.
    pub restarts: Restarts<AgeSample>,
    early_closes: reorder::EarlyCloses,
    /// Per source: the guard against timestamps that contradict their neighbours.
    clocks: Vec<clock::ClockGuard>,
    params: Params,
}

impl Model {
    /// An empty model that folds events with `params` (from the findings catalogue:
    /// `findings::Rules::model`).
    pub fn new(params: Params) -> Model {
        Model {
            params,
            now: Ts::MIN,
            first: None,
            servers: Vec::new(),
            server_names: server_names::ServerNames::default(),
            conns: ConnTable::default(),
            strings: Interner::with_cap(INTERN_CAP),
            timers: Timers::with_min_grace(params::nanos(params.timer_grace_secs)),
            closes: CloseStats::default(),
            clients: clients::Clients::new(&params),
            counters: Counters::default(),
            opened: 0,
            peak_open: 0,
            rejected: BTreeMap::new(),
            cut_idle: DurationHistogram::default(),
            close_ages: CloseAges::default(),
            mobile: MobileStats::default(),
            restarts: Restarts::new(
                params::nanos(params.restart_window_secs),
                params.restart_min_closes,
            ),
            early_closes: reorder::EarlyCloses::default(),
            clocks: Vec::new(),
        }
    }

    /// Names the server of `source` for its events that name none before a `hello` does
    /// (a log read with others is named after its file). Unnamed sources are `source-N`,
    /// the first one "".
    pub fn name_source(&mut self, source: usize, name: &str) {
        self.server_names.name_source(source, name);
    }

    /// The current event time: the latest `ts` seen.
    pub fn now(&self) -> Ts {
        if self.now == Ts::MIN { Ts(0) } else { self.now }
    }

    /// Moves event time forward to `now` with no event: a replay's clock passing a quiet
    /// stretch of its log, so ages, zombies and leaks are judged at the time on screen. Does
    /// nothing before the first event or when `now` is not later.
    pub fn advance_to(&mut self, now: Ts) {
        if self.first.is_none() || now <= self.now {
            return;
        }
        self.now = now;
        self.closes.advance(self.now, self.conns.len());
        self.clients.sweep(self.now);
    }

    /// The first and latest event times, once any event was seen.
    pub fn span(&self) -> Option<(Ts, Ts)> {
        self.first.map(|f| (f, self.now))
    }

    /// Lines of a log that were not valid events, as counted by the source.
    pub fn note_skipped(&mut self, lines: u64) {
        self.counters.skipped_lines += lines;
    }

    pub fn open_count(&self) -> usize {
        self.conns.len()
    }

    /// Every close seen (also of connections whose open we missed).
    pub fn closed(&self) -> u64 {
        self.closes.all_time.values().sum()
    }

    /// The windows this model folds events with.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// All events left out by feeds (`dropped`), over all servers.
    pub fn dropped(&self) -> u64 {
        self.servers
            .iter()
            .fold(0u64, |sum, s| sum.saturating_add(s.dropped))
    }

    pub fn server(&self, id: ServerId) -> &Server {
        &self.servers[id as usize]
    }

    /// Timers alive after their connection closed, past the grace period or fired since.
    pub fn leaked_timers(&self) -> impl Iterator<Item = &TimerState> + '_ {
        let now = self.now();
        let grace = self.timers.min_grace;
        self.timers.live().filter(move |t| t.is_leak(now, grace))
    }

    /// The server an event from `source` naming `server` (its `server` field) belongs to, as
    /// [`Model::apply`] resolved it; `None` before any event of that server.
    pub fn server_for(&self, source: usize, server: Option<&str>) -> Option<ServerId> {
        let id = self.server_names.lookup(source, server)?;
        Some(id.min(ServerId::MAX as usize) as ServerId)
    }

    /// The client identity of feed-protocol.md: `client`, else the first `forwarded_for`
    /// address, else the IP of `remote`, joined with the user agent.
    pub fn identity(&self, c: &Conn) -> String {
        let ua = c.user_agent.map(|s| self.strings.get(s)).unwrap_or("");
        match (&c.client_key, &c.remote) {
            (Some(k), _) => format!("{k} {ua}"),
            (None, Some(remote)) => format!("{} {ua}", ip_of(remote)),
            (None, None) => format!("{} {ua}", c.id),
        }
    }
}

/// The IP part of `host:port` or `[v6]:port`.
pub fn ip_of(remote: &str) -> &str {
    if let Some(rest) = remote.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match remote.rsplit_once(':') {
        Some((ip, port)) if !ip.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => ip,
        _ => remote,
    }
}

/// Mobile user agents (findings.md): `Mobile|Android|iPhone|iPad`.
pub fn is_mobile_agent(ua: &str) -> bool {
    ["Mobile", "Android", "iPhone", "iPad"]
        .iter()
        .any(|m| ua.contains(m))
}

#[cfg(test)]
mod server_for_tests {
    use super::*;
    use crate::event::{Event, EventKind, Hello};

    #[test]
    fn server_for_agrees_with_apply() {
        let mut m = crate::findings::Rules::default().model();
        let ping = |server: Option<&str>| Event {
            ts: Ts(1),
            server: server.map(Str::from),
            kind: EventKind::Ping { conn: "c".into() },
        };
        assert_eq!(m.server_for(0, None), None);
        m.apply(0, &ping(None));
        m.finish();
        assert_eq!(m.server_for(0, None), Some(0));
        m.apply(
            1,
            &Event {
                ts: Ts(2),
                server: Some("b".into()),
                kind: EventKind::Hello(Hello::default()),
            },
        );
        m.finish();
        assert_eq!(m.server_for(1, None), Some(1));
        m.apply(2, &ping(None));
        m.finish();
        assert_eq!(m.server_for(2, None), Some(2));
        assert_eq!(m.server(2).name, "source-2");
        assert_eq!(m.server_for(1, Some("b")), Some(1));
        // Servers are per source: another feed's `b` is not this one's.
        assert_eq!(m.server_for(0, Some("b")), None);
        assert_eq!(m.server_for(0, Some("nope")), None);
    }

    #[test]
    fn advance_to_moves_only_forward_and_only_after_an_event() {
        let mut m = crate::findings::Rules::default().model();
        m.advance_to(Ts(5));
        assert_eq!(m.span(), None);
        m.apply(0, &Event::new(Ts(10), EventKind::Ping { conn: "c".into() }));
        // A source's first event waits for a second to confirm its clock, or for the end.
        assert_eq!(m.span(), None);
        m.finish();
        m.advance_to(Ts(7));
        assert_eq!(m.now(), Ts(10));
        m.advance_to(Ts(20));
        assert_eq!(m.now(), Ts(20));
        assert_eq!(m.span(), Some((Ts(10), Ts(20))));
        assert_eq!(m.counters.events, 1);
    }
}
