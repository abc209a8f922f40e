//! What a frame with new data recomputes over the whole model: the findings, the leak rows,
//! and the Connections window with the selection kept on its connection.
//!
//! At a million connections this is tens of milliseconds of passes over the table. It is a
//! value ([`Refresh`]) that runs anywhere, so the event loop can run it on a worker thread
//! over a shared model while keys are still answered; [`super::Dashboard::prepare`] runs it
//! in place.

use super::conn_view::{ConnView, Ordered, ViewKey};
use super::dashboard::LeakRow;
use super::view::{ConnKey, ListPos};
use crate::findings::{Finding, Rules, ZombieConnections};
use crate::model::fleet::ServerSplit;
use crate::model::{Model, ServerId};
use crate::sanitize::inert;
use std::sync::Arc;

/// The findings of the whole and of each server, once several speak; each then says on how
/// many servers it holds, at the end of its summary. Narrowed to one server (`shown`), its
/// own findings. Also each server's finding ids, by [`ServerId`] (the split tells servers
/// apart by the model's own rule, in the same order).
fn fleet_findings(
    rules: &Rules,
    whole: &Model,
    split: &ServerSplit,
    shown: Option<ServerId>,
) -> (Vec<Finding>, Vec<Vec<&'static str>>) {
    let ids = |fs: &[Finding]| fs.iter().map(|f| f.id).collect::<Vec<_>>();
    if !split.is_split() {
        let findings = rules.evaluate(whole);
        let per_server = vec![ids(&findings); whole.servers.len()];
        return (findings, per_server);
    }
    let judged = crate::findings::fleet::judge(rules, rules.evaluate(whole), &split.servers(whole));
    let per_server = judged.servers.iter().map(|(_, fs)| ids(fs)).collect();
    if let Some((_, own)) = shown.and_then(|s| judged.servers.get(s as usize)) {
        return (own.clone(), per_server);
    }
    let mut findings = judged.findings.clone();
    for f in &mut findings {
        if let Some(holds) = judged.where_it_holds(f.id) {
            f.summary = format!("{} ({holds})", f.summary);
        }
    }
    (findings, per_server)
}

/// Leak-suspect rows kept for the panel; the total is shown beside.
const MAX_LEAK_ROWS: usize = 1000;

/// The inputs of one recomputation, taken from the dashboard when it starts.
pub struct Refresh {
    pub(super) model: Arc<Model>,
    pub(super) split: Arc<ServerSplit>,
    pub(super) rules: Arc<Rules>,
    /// The model's generation: a result for an older one is stale on arrival.
    pub(super) generation: u64,
    /// The Connections view (offset and rows not set).
    pub(super) view: ViewKey,
    /// Rows the Connections table shows.
    pub(super) rows: usize,
    pub(super) selection: ListPos,
    /// The selected connection, to keep selected as rows move.
    pub(super) follow: Option<ConnKey>,
}

/// What a recomputation found.
pub struct Refreshed {
    pub(super) generation: u64,
    pub(super) findings: Vec<Finding>,
    /// Each server's finding ids, by [`ServerId`].
    pub(super) server_findings: Vec<Vec<&'static str>>,
    pub(super) leaks: Leaks,
    /// The view it was computed for, and the selection it started from: a key that changed
    /// either meanwhile makes `conns` moot.
    pub(super) view: ViewKey,
    pub(super) selection: ListPos,
    pub(super) conns: Conns,
}

pub struct Conns {
    pub window: ConnView,
    pub matching: usize,
    /// Where the selection goes so it stays on its connection.
    pub selection: ListPos,
    /// The followed connection closed (or no longer passes the filter).
    pub gone: Option<String>,
}

#[derive(Default)]
pub struct Leaks {
    pub rows: Vec<LeakRow>,
    /// The connection each row is about, for Enter.
    pub conns: Vec<Option<ConnKey>>,
    pub timers: usize,
    pub zombies: usize,
}

impl Refresh {
    pub fn run(self) -> Refreshed {
        let model = &*self.model;
        let (findings, server_findings) =
            fleet_findings(&self.rules, model, &self.split, self.view.server);
        let leaks = leaks(model, &self.rules.zombie_connections, self.view.server);
        let ordered = Ordered::new(model, &self.view);
        let mut selection = self.selection;
        let mut gone = None;
        if let Some((server, id)) = &self.follow {
            let slot = model.conns.slot_of(*server, id);
            match slot.and_then(|slot| ordered.rank_of(slot)) {
                Some(rank) => selection = selection.kept_at(rank),
                None => gone = Some(id.clone()),
            }
        }
        let matching = ordered.len();
        selection = selection.clamped(matching, self.rows);
        let window = ordered.window(ConnView::key_for(
            self.view.clone(),
            selection.offset,
            self.rows,
        ));
        Refreshed {
            generation: self.generation,
            findings,
            server_findings,
            leaks,
            view: self.view,
            selection: self.selection,
            conns: Conns {
                window,
                matching,
                selection,
                gone,
            },
        }
    }
}

/// Timers that outlived their connection and connections whose pong is overdue, longest
/// standing first.
/// The leak suspects of `model`, of server `only` when given.
fn leaks(model: &Model, zombie_rule: &ZombieConnections, only: Option<ServerId>) -> Leaks {
    let keep = |server: ServerId| only.is_none_or(|s| s == server);
    let server_name = |server: ServerId| {
        let name = model.servers.get(server as usize).map(|s| &*s.name);
        inert(name.unwrap_or_default()).into_owned()
    };
    let now = model.now();
    // (how long, the row, the connection it is about)
    let mut rows: Vec<(f64, LeakRow, Option<ConnKey>)> = Vec::new();
    let mut timers = 0;
    for t in model.leaked_timers().filter(|t| keep(t.server)) {
        timers += 1;
        let closed_for = t.conn_closed().map(|c| now.secs_since(c)).unwrap_or(0.0);
        rows.push((
            closed_for,
            LeakRow::Timer {
                server: server_name(t.server),
                timer: inert(&t.id).into_owned(),
                kind: t
                    .kind
                    .map(|k| inert(model.strings.get(k)).into_owned())
                    .unwrap_or_default(),
                conn: t
                    .conn
                    .as_deref()
                    .map(|c| inert(c).into_owned())
                    .unwrap_or_default(),
                closed_for,
                fires: t.fires_after_close,
            },
            t.conn.as_ref().map(|c| (t.server, c.to_string())),
        ));
    }
    let mut zombies = 0;
    for (c, _) in zombie_rule.zombies(model).filter(|(c, _)| keep(c.server)) {
        let age = c.pong_age(now).unwrap_or(0.0);
        zombies += 1;
        rows.push((
            age,
            LeakRow::Zombie {
                server: server_name(c.server),
                conn: inert(&c.id).into_owned(),
                pong_age: age,
            },
            Some((c.server, c.id.to_string())),
        ));
    }
    // Longest-standing first; ties by text so the order does not flicker.
    let key = |r: &LeakRow| match r {
        LeakRow::Timer { timer, .. } => timer.clone(),
        LeakRow::Zombie { conn, .. } => conn.clone(),
    };
    if rows.len() > MAX_LEAK_ROWS {
        rows.select_nth_unstable_by(MAX_LEAK_ROWS, |a, b| b.0.total_cmp(&a.0));
        rows.truncate(MAX_LEAK_ROWS);
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| key(&a.1).cmp(&key(&b.1))));
    Leaks {
        conns: rows.iter().map(|(_, _, c)| c.clone()).collect(),
        rows: rows.into_iter().map(|(_, r, _)| r).collect(),
        timers,
        zombies,
    }
}
