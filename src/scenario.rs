//! A scenario builder: writes feed-protocol events on an event-time clock, for tests, benches
//! and fixtures. No wall clock and no sleeps: `at`/`advance` move the scenario's own clock.
//!
//! ```
//! use wscope::scenario::Scenario;
//! let mut s = Scenario::new();
//! s.hello(Some((30_000, 5_000)));
//! s.open("c1").advance(61.0).cut("c1");
//! assert_eq!(s.model().closed(), 1);
//! ```

use crate::event::*;
use crate::findings::{Finding, Rules};
use crate::model::Model;

/// The scenario's start: 2026-11-30T01:00:00Z.
pub const START: Ts = Ts(1_796_000_400 * SECOND);

#[derive(Clone, Debug, Default)]
pub struct Scenario {
    start: Ts,
    now: Ts,
    pub events: Vec<Event>,
}

impl Scenario {
    pub fn new() -> Scenario {
        Scenario::starting_at(START)
    }

    pub fn starting_at(start: Ts) -> Scenario {
        Scenario {
            start,
            now: start,
            events: Vec::new(),
        }
    }

    pub fn now(&self) -> Ts {
        self.now
    }

    /// Moves the clock to `secs` after the start.
    pub fn at(&mut self, secs: f64) -> &mut Self {
        self.now = self.start.plus_secs(secs);
        self
    }

    pub fn advance(&mut self, secs: f64) -> &mut Self {
        self.now = self.now.plus_secs(secs);
        self
    }

    pub fn push(&mut self, kind: EventKind) -> &mut Self {
        self.events.push(Event::new(self.now, kind));
        self
    }

    /// An event that names its server (several servers in one log).
    pub fn push_on(&mut self, server: &str, kind: EventKind) -> &mut Self {
        let mut ev = Event::new(self.now, kind);
        ev.server = Some(server.into());
        self.events.push(ev);
        self
    }

    /// `hello` with `(ping_interval_ms, pong_timeout_ms)`, or no heartbeat.
    pub fn hello(&mut self, heartbeat: Option<(u64, u64)>) -> &mut Self {
        self.push(EventKind::Hello(Hello {
            protocol: Some(PROTOCOL),
            software: Some("scenario/1".into()),
            heartbeat: heartbeat.map(|(i, t)| Heartbeat {
                ping_interval_ms: i,
                pong_timeout_ms: t,
            }),
            history: None,
        }))
    }

    /// A `process` event: the server's RSS and open descriptors.
    pub fn process(&mut self, rss_bytes: u64, open_fds: u64) -> &mut Self {
        self.push(EventKind::Process {
            rss_bytes: Some(rss_bytes),
            open_fds: Some(open_fds),
        })
    }

    pub fn open(&mut self, conn: &str) -> &mut Self {
        self.open_as(conn, "10.0.0.1:5000", "Mozilla/5.0 (X11; Linux x86_64)")
    }

    pub fn open_as(&mut self, conn: &str, remote: &str, user_agent: &str) -> &mut Self {
        self.push(EventKind::Open(Box::new(Open {
            conn: conn.into(),
            remote: Some(remote.into()),
            user_agent: Some(user_agent.into()),
            path: Some("/ws".into()),
            ..Open::default()
        })))
    }

    pub fn open_full(&mut self, open: Open) -> &mut Self {
        self.push(EventKind::Open(Box::new(open)))
    }

    pub fn close(&mut self, conn: &str, code: u16, initiator: Initiator) -> &mut Self {
        self.push(EventKind::Close(Close {
            conn: conn.into(),
            code: Some(code),
            reason: Some("".into()),
            initiator: Some(initiator),
        }))
    }

    /// A cut: 1006 with no close frame, ended by neither side.
    pub fn cut(&mut self, conn: &str) -> &mut Self {
        self.close(conn, 1006, Initiator::None)
    }

    pub fn ping(&mut self, conn: &str) -> &mut Self {
        self.push(EventKind::Ping { conn: conn.into() })
    }

    pub fn pong(&mut self, conn: &str) -> &mut Self {
        self.push(EventKind::Pong {
            conn: conn.into(),
            rtt_ms: Some(20.0),
        })
    }

    pub fn message(&mut self, conn: &str, dir: Dir) -> &mut Self {
        self.push(EventKind::Message(Message {
            conn: conn.into(),
            dir,
            count: 1,
            bytes: 100,
        }))
    }

    pub fn timer(&mut self, conn: &str, timer: &str, op: TimerOp) -> &mut Self {
        self.push(EventKind::Timer(Box::new(Timer {
            conn: Some(conn.into()),
            timer: timer.into(),
            op,
            kind: (op == TimerOp::Start).then(|| "heartbeat".into()),
            interval_ms: (op == TimerOp::Start).then_some(1_000),
        })))
    }

    pub fn reject(&mut self, status: u16) -> &mut Self {
        self.push(EventKind::UpgradeRejected(Box::new(UpgradeRejected {
            remote: Some("10.0.0.9:4000".into()),
            user_agent: Some("okhttp/4.12".into()),
            path: Some("/ws".into()),
            status: Some(status),
            reason: Some("missing Upgrade".into()),
        })))
    }

    pub fn app_state(&mut self, conn: &str, state: AppState) -> &mut Self {
        self.push(EventKind::AppState {
            conn: conn.into(),
            state,
        })
    }

    /// The model after every event, in order, as after reading a whole log.
    pub fn model(&self) -> Model {
        let mut m = Rules::default().model();
        for ev in &self.events {
            m.apply(0, ev);
        }
        m.finish();
        m
    }

    pub fn findings(&self) -> Vec<Finding> {
        Rules::default().evaluate(&self.model())
    }

    /// The events as a JSON Lines log.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for ev in &self.events {
            out.push_str(&to_json_line(ev));
            out.push('\n');
        }
        out
    }

    pub fn write_log(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_jsonl())
    }
}
