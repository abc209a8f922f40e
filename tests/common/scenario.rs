//! A scenario builder: writes feed-protocol events in time order, for render tests and for
//! the logs the end-to-end tests replay.

#![allow(dead_code)]

use wscope::event::{
    Close, Dir, Event, EventKind, Heartbeat, Hello, Initiator, Message, Open, Str, Timer, TimerOp,
    Ts,
};

/// The library's builder ([`wscope::scenario::Scenario`]) with the shapes the UI tests use:
/// named servers, agents and paths, reasons, timer kinds, a clock that never goes back.
pub struct Scenario {
    inner: wscope::scenario::Scenario,
    start: Ts,
}

impl Scenario {
    /// Starts at an RFC 3339 time, with no events yet.
    pub fn new(start: &str) -> Scenario {
        let start = Ts::parse(start).expect("scenario start time");
        Scenario {
            inner: wscope::scenario::Scenario::starting_at(start),
            start,
        }
    }

    pub fn now(&self) -> Ts {
        self.inner.now()
    }

    /// Moves the clock to `secs` after the start (never backwards).
    pub fn at(&mut self, secs: f64) -> &mut Self {
        let t = self.start.plus_secs(secs).max(self.now());
        self.inner.at(t.secs_since(self.start));
        self
    }

    pub fn wait(&mut self, secs: f64) -> &mut Self {
        self.inner.advance(secs);
        self
    }

    pub fn push(&mut self, kind: EventKind) -> &mut Self {
        self.inner.push(kind);
        self
    }

    pub fn push_on(&mut self, server: &str, kind: EventKind) -> &mut Self {
        self.inner.push_on(server, kind);
        self
    }

    pub fn hello(&mut self, server: &str, heartbeat: Option<(u64, u64)>) -> &mut Self {
        let hello = Hello {
            protocol: Some(1),
            software: Some("scenario/1".into()),
            heartbeat: heartbeat.map(|(ping_interval_ms, pong_timeout_ms)| Heartbeat {
                ping_interval_ms,
                pong_timeout_ms,
            }),
            history: None,
        };
        self.push_on(server, EventKind::Hello(hello))
    }

    pub fn open(&mut self, conn: &str, remote: &str, agent: &str, path: &str) -> &mut Self {
        self.push(EventKind::Open(Box::new(Open {
            conn: conn.into(),
            remote: Some(remote.into()),
            user_agent: Some(agent.into()),
            path: Some(path.into()),
            ..Open::default()
        })))
    }

    pub fn ping(&mut self, conn: &str) -> &mut Self {
        self.push(EventKind::Ping { conn: conn.into() })
    }

    pub fn pong(&mut self, conn: &str, rtt_ms: f64) -> &mut Self {
        self.push(EventKind::Pong {
            conn: conn.into(),
            rtt_ms: Some(rtt_ms),
        })
    }

    pub fn message(&mut self, conn: &str, dir: Dir, count: u64) -> &mut Self {
        self.push(EventKind::Message(Message {
            conn: conn.into(),
            dir,
            count,
            bytes: count * 100,
        }))
    }

    pub fn close(
        &mut self,
        conn: &str,
        code: u16,
        reason: &str,
        initiator: Initiator,
    ) -> &mut Self {
        self.push(EventKind::Close(Close {
            conn: conn.into(),
            code: Some(code),
            reason: Some(reason.into()),
            initiator: Some(initiator),
        }))
    }

    pub fn timer(&mut self, conn: &str, timer: &str, op: TimerOp, kind: &str) -> &mut Self {
        self.push(EventKind::Timer(Box::new(Timer {
            conn: Some(conn.into()),
            timer: timer.into(),
            op,
            kind: Some(Str::from(kind)),
            interval_ms: Some(30_000),
        })))
    }

    pub fn dropped(&mut self, count: u64) -> &mut Self {
        self.push(EventKind::Dropped { count })
    }

    pub fn events(&self) -> &[Event] {
        &self.inner.events
    }

    pub fn to_jsonl(&self) -> String {
        self.inner.to_jsonl()
    }

    pub fn write_log(&self, path: &std::path::Path) {
        self.inner.write_log(path).expect("write scenario log");
    }
}

/// A busy, realistic server: 60 connections from mixed agents with pings every 30 s, a burst
/// of 1006 cuts, clean closes, one leaked timer and one zombie (stops answering pings).
pub fn busy_server() -> Scenario {
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    s.hello("chat-1", Some((30_000, 5_000)));
    let agents = [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        "okhttp/4.12",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/131 Mobile",
    ];
    for i in 0..60 {
        s.at(i as f64 * 0.5);
        let conn = format!("c{i}");
        s.open(
            &conn,
            &format!("203.0.113.{}:{}", i % 250, 40_000 + i),
            agents[i % agents.len()],
            if i % 3 == 0 { "/ws/chat" } else { "/ws" },
        );
        s.timer(&conn, &format!("hb-{i}"), TimerOp::Start, "heartbeat");
    }
    for round in 1..=6 {
        s.at(round as f64 * 30.0);
        for i in 0..60 {
            let conn = format!("c{i}");
            // c7 went silent after the first round: a zombie.
            if (i >= 40 && round > 3) || (i == 7 && round > 1) {
                if i == 7 {
                    s.ping(&conn);
                }
                continue;
            }
            s.ping(&conn).wait(0.001).pong(&conn, 20.0 + i as f64);
            s.message(&conn, Dir::In, 3).message(&conn, Dir::Out, 5);
        }
        if round == 3 {
            // Twenty cuts at once: what an idle timeout on a proxy looks like.
            for i in 40..60 {
                let conn = format!("c{i}");
                s.close(&conn, 1006, "", Initiator::None);
                if i != 41 {
                    s.timer(&conn, &format!("hb-{i}"), TimerOp::Clear, "heartbeat");
                }
            }
        }
        if round == 5 {
            s.timer("c41", "hb-41", TimerOp::Fire, "heartbeat");
            s.close("c10", 1000, "bye", Initiator::Client);
            s.timer("c10", "hb-10", TimerOp::Clear, "heartbeat");
            s.close("c11", 4001, "session expired", Initiator::Server);
            s.timer("c11", "hb-11", TimerOp::Clear, "heartbeat");
        }
    }
    s.dropped(12);
    s
}
