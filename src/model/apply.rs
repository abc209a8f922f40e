//! [`Model::apply`]: how each event kind changes the model.

use super::clock::Admission;
use super::close_ages::{AgeSample, CloseKind};
use super::restarts::Verdict;
use super::*;
use crate::event::{
    AppState, Close, Event, EventKind, Initiator, Open, Snapshot, SnapshotConn, Timer, TimerOp,
};

impl Model {
    /// Folds one event from source `source` (the index of a feed or log) into the model,
    /// once its source's clock guard lets it through (see [`super::clock`]).
    pub fn apply(&mut self, source: usize, ev: &Event) {
        if self.clocks.len() <= source {
            self.clocks.resize_with(source + 1, Default::default);
        }
        let admission = self.clocks[source].admit(ev);
        self.admit(source, admission, Some(ev));
    }

    /// The end of every source (a whole log read): events still held by a clock guard are
    /// judged with what is known.
    pub fn finish(&mut self) {
        for source in 0..self.clocks.len() {
            let admission = self.clocks[source].finish();
            self.admit(source, admission, None);
        }
    }

    fn admit(&mut self, source: usize, admission: Admission, current: Option<&Event>) {
        self.counters.clock_outliers += admission.set_aside;
        for held in &admission.release {
            self.fold(source, held);
        }
        if let (true, Some(ev)) = (admission.apply, current) {
            self.fold(source, ev);
        }
    }

    fn fold(&mut self, source: usize, ev: &Event) {
        self.counters.events += 1;
        let before = self.now;
        if self.now != Ts::MIN && ev.ts < self.now {
            self.counters.reordered += 1;
        }
        self.now = self.now.max(ev.ts);
        self.first = Some(self.first.map_or(ev.ts, |f| f.min(ev.ts)));
        let server = self.resolve_server(source, ev);
        let last = &mut self.servers[server as usize].last_event;
        *last = Some(last.map_or(ev.ts, |t| t.max(ev.ts)));
        self.closes.advance(self.now, self.conns.len());
        self.clients.sweep(self.now);
        self.early_closes.expire(self.now);

        match &ev.kind {
            EventKind::Hello(h) => {
                let s = &mut self.servers[server as usize];
                s.said_hello = true;
                s.heartbeat = h.heartbeat.filter(|hb| hb.ping_interval_ms > 0);
                s.software.clone_from(&h.software);
            }
            EventKind::Snapshot(snap) => self.apply_snapshot(server, ev.ts, snap, before),
            EventKind::Open(open) => self.apply_open(server, ev.ts, open),
            EventKind::UpgradeRejected(u) => {
                *self.rejected.entry(u.status.unwrap_or(0)).or_default() += 1;
            }
            EventKind::Ping { conn } => self.apply_ping(server, ev.ts, conn),
            EventKind::Pong { conn, rtt_ms } => match self.conns.get_mut(server, conn) {
                Some(c) => {
                    c.ponged(ev.ts);
                    if let Some(rtt) = rtt_ms {
                        c.rtt_ms = *rtt as f32;
                    }
                }
                None => self.counters.contradictions += 1,
            },
            EventKind::Message(m) => self.apply_message(server, ev.ts, m),
            EventKind::Close(close) => self.apply_close(server, ev.ts, close),
            EventKind::Error { .. } => self.counters.errors += 1,
            EventKind::Timer(t) => self.apply_timer(server, ev.ts, t),
            EventKind::AppState { conn, state } => {
                self.apply_app_state(server, ev.ts, conn, *state)
            }
            EventKind::Dropped { count } => {
                let s = &mut self.servers[server as usize];
                s.dropped = s.dropped.saturating_add(*count);
            }
            EventKind::Process {
                rss_bytes,
                open_fds,
            } => self.apply_process(server, ev.ts, *rss_bytes, *open_fds),
            EventKind::Unknown { .. } => self.counters.unknown_types += 1,
        }
        self.peak_open = self.peak_open.max(self.conns.len());
    }

    fn apply_ping(&mut self, server: ServerId, ts: Ts, conn: &Str) {
        self.servers[server as usize].pings += 1;
        let Some(c) = self.conns.get_mut(server, conn) else {
            self.counters.contradictions += 1;
            return;
        };
        let gap = ts.secs_since(c.unpinged_since());
        c.pinged(ts);
        let s = &mut self.servers[server as usize];
        if gap > s.longest_unpinged {
            s.longest_unpinged = gap;
            s.longest_unpinged_conn = Some(conn.clone());
        }
    }

    fn apply_message(&mut self, server: ServerId, ts: Ts, m: &crate::event::Message) {
        let Some(c) = self.conns.get_mut(server, &m.conn) else {
            self.counters.contradictions += 1;
            return;
        };
        let (msgs, bytes) = match m.dir {
            crate::event::Dir::In => (&mut c.msgs_in, &mut c.bytes_in),
            crate::event::Dir::Out => (&mut c.msgs_out, &mut c.bytes_out),
        };
        *msgs = msgs.saturating_add(m.count.min(u32::MAX as u64) as u32);
        *bytes = bytes.saturating_add(m.bytes);
        c.touch(ts);
    }

    /// A mobile app went to the background or came back; the connection is a mobile one
    /// from then on, whatever its user agent said.
    fn apply_app_state(&mut self, server: ServerId, ts: Ts, conn: &Str, state: AppState) {
        let Some(c) = self.conns.get_mut(server, conn) else {
            self.counters.contradictions += 1;
            return;
        };
        if !c.mobile {
            c.mobile = true;
            if c.counted_open && self.mobile.other_opens > 0 {
                self.mobile.other_opens -= 1;
                self.mobile.mobile_opens += 1;
            }
        }
        c.set_background(match state {
            AppState::Background => Some(ts),
            AppState::Foreground => None,
        });
    }

    fn apply_process(
        &mut self,
        server: ServerId,
        ts: Ts,
        rss_bytes: Option<u64>,
        open_fds: Option<u64>,
    ) {
        let open_conns = self.conns.count_of(server) as u64;
        let reading = |value: u64| Reading {
            ts,
            value,
            open_conns,
        };
        let p = &mut self.servers[server as usize].process;
        if let Some(v) = rss_bytes {
            p.rss_bytes.add(reading(v));
        }
        if let Some(v) = open_fds {
            p.open_fds.add(reading(v));
        }
    }

    fn resolve_server(&mut self, source: usize, ev: &Event) -> ServerId {
        let (id, new) = self.server_names.resolve(source, ev);
        // Past the last id every further server is counted as that one.
        let id = id.min(ServerId::MAX as usize);
        if let Some(new) = new
            && self.servers.len() == id
        {
            // Another feed already speaks for a server of this name (a copied config, two
            // instances both called `chat-1`): they stay two servers, told apart.
            if new.duplicate {
                self.counters.duplicate_server_names += 1;
            }
            self.servers.push(Server {
                name: self.server_names.shown(id).clone(),
                ..Server::default()
            });
        }
        id as ServerId
    }

    fn new_conn(&mut self, server: ServerId, open: &Open, opened: Ts) -> Conn {
        let user_agent = open.user_agent.as_deref().map(|ua| self.strings.intern(ua));
        let mobile = open.user_agent.as_deref().is_some_and(is_mobile_agent);
        // A blank `client` or first `forwarded_for` entry identifies no one: fall back.
        let nonblank = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(Str::from);
        // Proxies write `unknown` (RFC 7239's obfuscated form) or append a port; neither
        // names a client, and a port would split one client into many.
        let forwarded = |f: &str| {
            let first = f.split(',').next()?.trim();
            let ip = ip_of(first);
            (!ip.eq_ignore_ascii_case("unknown"))
                .then_some(ip)
                .and_then(nonblank)
        };
        let client_key = open
            .client
            .as_deref()
            .and_then(nonblank)
            .or_else(|| open.forwarded_for.as_deref().and_then(forwarded));
        let mut c = Conn::new(server, open.conn.clone(), opened);
        c.remote.clone_from(&open.remote);
        c.client_key = client_key;
        c.user_agent = user_agent;
        c.path = open.path.as_deref().map(|p| self.strings.intern(p));
        c.mobile = mobile;
        c
    }

    fn apply_open(&mut self, server: ServerId, ts: Ts, open: &Open) {
        let mut conn = self.new_conn(server, open, ts);
        conn.counted_open = true;
        let mobile = conn.mobile;
        if !self.conns.insert(conn) {
            self.counters.contradictions += 1;
            return;
        }
        self.opened += 1;
        if mobile {
            self.mobile.mobile_opens += 1;
        } else {
            self.mobile.other_opens += 1;
        }
        // Its close came first (reordering): not a contradiction after all.
        if let Some((closed, close)) = self.early_closes.take(server, &open.conn, ts)
            && let Some(c) = self.conns.remove(server, &open.conn)
        {
            self.counters.contradictions = self.counters.contradictions.saturating_sub(1);
            self.end_conn(server, closed, &close, c);
        }
    }

    fn snapshot_conn(&mut self, server: ServerId, ts: Ts, sc: &SnapshotConn) -> Conn {
        let opened = sc.opened.unwrap_or(ts);
        let mut c = self.new_conn(server, &sc.open, opened);
        c.restore(sc.last_activity, sc.last_ping, sc.last_pong);
        c.msgs_in = sc.msgs_in.min(u32::MAX as u64) as u32;
        c.msgs_out = sc.msgs_out.min(u32::MAX as u64) as u32;
        c.bytes_in = sc.bytes_in;
        c.bytes_out = sc.bytes_out;
        c
    }

    /// A snapshot replaces everything known of its server's open state; history (close counts,
    /// rates) stays, so a reconnect and resync never counts anything twice. `before` is the
    /// event time before the snapshot: what we last saw of the old state.
    fn apply_snapshot(&mut self, server: ServerId, ts: Ts, snap: &Snapshot, before: Ts) {
        self.servers[server as usize].snapshots += 1;
        // Connections whose open we counted stay counted (and mobile) through a resync.
        let counted: HashMap<Str, bool> = self
            .conns
            .remove_server(server)
            .into_iter()
            .filter(|c| c.counted_open)
            .map(|c| (c.id, c.mobile))
            .collect();
        let mut closed_before = self.timers.remove_server(server);
        // One pass over the entries; timers wait for every connection (a timer whose
        // connection is not listed outlived it), and are few.
        let mut timers = Vec::new();
        snap.each_entry(
            &mut |sc| {
                let mut conn = self.snapshot_conn(server, ts, sc);
                if let Some(&mobile) = counted.get(&conn.id) {
                    conn.counted_open = true;
                    conn.mobile |= mobile;
                }
                if !self.conns.insert(conn) {
                    self.counters.contradictions += 1;
                }
            },
            &mut |st| timers.push(st.clone()),
        );
        for st in &timers {
            let t = Timer {
                conn: st.conn.clone(),
                timer: st.timer.clone(),
                op: TimerOp::Start,
                kind: st.kind.clone(),
                interval_ms: st.interval_ms,
            };
            self.apply_timer(server, st.started.unwrap_or(ts), &t);
            // A timer of a connection the snapshot does not list outlived it (a leak suspect).
            if let Some(conn) = st.conn.as_deref()
                && self.conns.get(server, conn).is_none()
            {
                self.timers
                    .resync_closed(server, &st.timer, ts, &mut closed_before);
            }
        }
        self.timers.resync_gone(closed_before, before);
    }

    fn apply_close(&mut self, server: ServerId, ts: Ts, close: &Close) {
        let code = close.effective_code();
        // A user leaving (the client's own 1000 or 1001) is no sign of trouble.
        let leaving = close.initiator == Some(Initiator::Client) && matches!(code, 1000 | 1001);
        self.closes.record(ts, code, close.initiator, !leaving);
        let s = &mut self.servers[server as usize];
        *s.close_codes.entry(code).or_default() += 1;
        s.recent_closes.record(ts);
        // Before the lookup: a close of a connection opened before the log is still a close.
        let c = self.conns.remove(server, &close.conn);
        if is_going_away(close) {
            let sample = c.as_ref().map(|c| AgeSample {
                kind: CloseKind::Server,
                idle_secs: ts.secs_since(c.last_activity()).max(0.0),
                age_secs: ts.secs_since(c.opened).max(0.0),
            });
            self.judge_going_away(server, ts, sample);
        }
        let Some(c) = c else {
            self.counters.contradictions += 1;
            self.early_closes.remember(server, ts, close);
            return;
        };
        self.end_conn(server, ts, close, c);
    }

    /// A server going-away close (known connection or not) waits to learn whether it is part
    /// of a restart: then it is no unexpected close and no sign of a lifetime cap.
    fn judge_going_away(&mut self, server: ServerId, ts: Ts, sample: Option<AgeSample>) {
        let Model {
            restarts,
            closes,
            close_ages,
            ..
        } = self;
        // Closes of unknown connections have no age; they still count toward a burst.
        let sample = sample.unwrap_or(AgeSample {
            kind: CloseKind::Server,
            idle_secs: f64::NAN,
            age_secs: f64::NAN,
        });
        restarts.close(server, ts, sample, |verdict| match verdict {
            Verdict::Restart(at) => closes.expected_after_all(at),
            Verdict::Ordinary(s) if !s.age_secs.is_nan() => close_ages.add(s),
            Verdict::Ordinary(_) => {}
        });
    }

    /// What a close tells of its connection `c` (the close itself, and whether it is part of a
    /// restart, is already counted).
    fn end_conn(&mut self, server: ServerId, ts: Ts, close: &Close, c: Conn) {
        let code = close.effective_code();
        let idle = ts.secs_since(c.last_activity()).max(0.0);
        let age = ts.secs_since(c.opened).max(0.0);
        let cut = code == 1006 && close.initiator == Some(Initiator::None);
        let sample = |kind| AgeSample {
            kind,
            idle_secs: idle,
            age_secs: age,
        };
        if cut {
            self.cut_idle.add(idle);
            self.close_ages.add(sample(CloseKind::Cut));
        } else if close.initiator == Some(Initiator::Server) && !is_going_away(close) {
            self.close_ages.add(sample(CloseKind::Server));
        }
        let s = &mut self.servers[server as usize];
        let unpinged = ts.secs_since(c.unpinged_since());
        if unpinged > s.longest_unpinged {
            s.longest_unpinged = unpinged;
            s.longest_unpinged_conn = Some(c.id.clone());
        }
        if age > s.longest_lived {
            s.longest_lived = age;
            s.longest_lived_conn = Some(c.id.clone());
        }

        if c.mobile {
            self.mobile.mobile_closes += 1;
            self.mobile.mobile_closes_of_opens += c.counted_open as u64;
            if cut {
                self.mobile.mobile_cuts += 1;
                let after = params::nanos(self.params.after_background_secs);
                if c.background_since()
                    .is_some_and(|bg| ts.0.saturating_sub(bg.0) <= after)
                {
                    self.mobile.cuts_after_background += 1;
                }
            }
        } else {
            self.mobile.other_closes += 1;
            self.mobile.other_closes_of_opens += c.counted_open as u64;
        }

        if self.timers.running_for(server, &c.id) > 0 {
            self.timers.conn_closed(server, &c.id, ts);
        }
        let identity = self.identity(&c);
        self.clients.closed(&identity, c.opened, ts);
    }

    fn apply_timer(&mut self, server: ServerId, ts: Ts, t: &Timer) {
        match t.op {
            TimerOp::Start => {
                let kind = t.kind.as_deref().map(|k| self.strings.intern(k));
                let state = TimerState {
                    id: t.timer.clone(),
                    server,
                    conn: t.conn.clone(),
                    kind,
                    interval_ms: t.interval_ms,
                    started: ts,
                    conn_closed: Ts::MIN,
                    fires_after_close: 0,
                };
                self.timers.start(state);
            }
            TimerOp::Fire => {
                if self.timers.fire(server, &t.timer).is_none() {
                    self.counters.contradictions += 1;
                }
            }
            TimerOp::Clear => {
                if self.timers.clear(server, &t.timer, ts).is_none() {
                    self.counters.contradictions += 1;
                }
            }
        }
    }
}

/// A server closing with 1001 (going away) or 1012 (service restart): what a deploy sends.
fn is_going_away(close: &Close) -> bool {
    close.initiator == Some(Initiator::Server) && matches!(close.effective_code(), 1001 | 1012)
}
