//! The servers view (`S`): one row per server with what tells a bad instance from the rest
//! (open connections, closes in the last minute, its worst close code, events lost), sorted
//! and its findings, sorted as the user chose and filtered by name as it is typed (`/`);
//! Enter narrows every panel to the selected server (as `f` does).

use crate::event::Ts;
use crate::model::{Model, ServerId};
use crate::sanitize::inert;

/// A server's row, already made inert.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerRow {
    pub server: ServerId,
    pub name: String,
    pub open: usize,
    pub closes_per_min: u64,
    pub worst_code: Option<(u16, u64)>,
    pub dropped: u64,
    /// Event time since its latest event, in seconds.
    pub quiet_secs: Option<f64>,
    /// Its own findings' ids, the most severe first.
    pub findings: Vec<&'static str>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServerSort {
    Name,
    Open,
    #[default]
    ClosesPerMin,
    WorstCode,
    Dropped,
    Findings,
}

impl ServerSort {
    pub const ALL: [ServerSort; 6] = [
        ServerSort::Name,
        ServerSort::Open,
        ServerSort::ClosesPerMin,
        ServerSort::WorstCode,
        ServerSort::Dropped,
        ServerSort::Findings,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ServerSort::Name => "server",
            ServerSort::Open => "open",
            ServerSort::ClosesPerMin => "closes/min",
            ServerSort::WorstCode => "worst code",
            ServerSort::Dropped => "dropped",
            ServerSort::Findings => "findings",
        }
    }

    fn next(self) -> ServerSort {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

/// What the user chose in the servers view.
#[derive(Clone, Debug, PartialEq)]
pub struct ServersView {
    /// Row 0 is "all servers"; row `i` the `i`-th server in the sorted order.
    pub selected: usize,
    pub sort: ServerSort,
    /// Largest first (the default: the worst server on top); names A to Z.
    pub descending: bool,
    /// Only servers whose name holds this (any case); empty for all.
    pub filter: String,
}

impl Default for ServersView {
    fn default() -> Self {
        ServersView {
            selected: 0,
            sort: ServerSort::default(),
            descending: true,
            filter: String::new(),
        }
    }
}

impl ServersView {
    pub fn sort_next(&mut self) {
        self.sort = self.sort.next();
        self.descending = self.sort != ServerSort::Name;
    }

    /// Moves the selection by `by` rows over `servers` servers and the "all" row.
    pub fn move_by(&mut self, by: isize, servers: usize) {
        let max = servers as isize;
        self.selected = (self.selected as isize).saturating_add(by).clamp(0, max) as usize;
    }
}

/// The rows of the servers of `model` that pass the view's filter, in its order (ties by
/// name); `findings` are each server's finding ids, by [`ServerId`].
pub fn rows(model: &Model, view: &ServersView, findings: &[Vec<&'static str>]) -> Vec<ServerRow> {
    let now = model.now();
    let filter = view.filter.to_lowercase();
    let mut rows: Vec<ServerRow> = model
        .servers
        .iter()
        .enumerate()
        .filter(|(_, s)| filter.is_empty() || s.name.to_lowercase().contains(&filter))
        .map(|(i, s)| ServerRow {
            server: i as ServerId,
            name: if s.name.is_empty() {
                "(unnamed)".into()
            } else {
                inert(&s.name).into_owned()
            },
            open: model.conns.count_of(i as ServerId),
            closes_per_min: s.recent_closes.last_minute(now),
            worst_code: s.worst_code(),
            dropped: s.dropped,
            quiet_secs: s.last_event.map(|t: Ts| now.secs_since(t).max(0.0)),
            findings: findings.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    rows.sort_by(|a, b| {
        let by = match view.sort {
            ServerSort::Name => a.name.cmp(&b.name),
            ServerSort::Open => a.open.cmp(&b.open),
            ServerSort::ClosesPerMin => a.closes_per_min.cmp(&b.closes_per_min),
            ServerSort::WorstCode => {
                let n = |r: &ServerRow| r.worst_code.map_or(0, |(_, n)| n);
                n(a).cmp(&n(b))
            }
            ServerSort::Dropped => a.dropped.cmp(&b.dropped),
            ServerSort::Findings => a.findings.len().cmp(&b.findings.len()),
        };
        let by = if view.descending { by.reverse() } else { by };
        by.then_with(|| a.name.cmp(&b.name))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sort_cycles_and_names_go_a_to_z() {
        let mut v = ServersView::default();
        assert_eq!(v.sort, ServerSort::ClosesPerMin);
        v.sort_next();
        assert_eq!((v.sort, v.descending), (ServerSort::WorstCode, true));
        v.sort_next();
        v.sort_next();
        v.sort_next();
        assert_eq!((v.sort, v.descending), (ServerSort::Name, false));
        v.move_by(-3, 4);
        assert_eq!(v.selected, 0);
        v.move_by(10, 4);
        assert_eq!(v.selected, 4);
    }
}
