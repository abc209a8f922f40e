//! Which connections the Connections table shows, in which order.
//!
//! A million open connections must not cost a million rows per frame, nor a full sort. The
//! view keeps only the slots of the rows on screen: a refresh filters the table in one pass,
//! keeping the best `offset + rows` items as it goes (near the top, where people look), or
//! for deep scrolling collects them and lets `select_nth_unstable` bring the window's ranks
//! into place in linear time; only the rows on screen are sorted. Refreshes happen when the view changes (sort, filter, scroll, size)
//! and otherwise at most once a second while the data changes; frames in between read the
//! cached slots, so a frame costs the same at any table size.

use super::view::ConnColumn;
use crate::model::{Conn, Model, ServerId};
use std::cmp::Ordering;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewKey {
    pub sort: Option<ConnColumn>,
    pub descending: bool,
    pub filter: String,
    pub server: Option<ServerId>,
    pub offset: usize,
    pub rows: usize,
}

/// Ranks are fetched in pages this long (plus a screenful), so scrolling within a page reuses
/// the window instead of scanning the table again.
pub const PAGE: usize = 128;

#[derive(Clone, Debug, Default)]
pub struct ConnView {
    pub key: ViewKey,
    /// Table slots of ranks `key.offset..key.offset + key.rows`, in display order.
    pub slots: Vec<u32>,
    /// Connections that pass the filter.
    pub matching: usize,
}

impl ConnView {
    /// The key of the window that holds ranks `offset..offset + rows`.
    pub fn key_for(mut base: ViewKey, offset: usize, rows: usize) -> ViewKey {
        base.offset = offset / PAGE * PAGE;
        base.rows = PAGE + rows;
        base
    }

    /// The slots of ranks `offset..offset + rows` (fewer at the end, none outside the window).
    pub fn visible(&self, offset: usize, rows: usize) -> &[u32] {
        let start = offset.saturating_sub(self.key.offset).min(self.slots.len());
        let end = start.saturating_add(rows).min(self.slots.len());
        if offset < self.key.offset {
            return &[];
        }
        &self.slots[start..end]
    }
}

/// Text order with runs of digits compared as numbers: `c2` before `c10`, `10.0.0.9:80`
/// before `10.0.0.10:80`. Equal numbers with more leading zeros sort after.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let run =
                |s: &[u8], k: usize| k + s[k..].iter().take_while(|c| c.is_ascii_digit()).count();
            let (ie, je) = (run(a, i), run(b, j));
            let (na, nb) = (without_zeros(&a[i..ie]), without_zeros(&b[j..je]));
            let by_number = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            let by_zeros = (ie - i).cmp(&(je - j));
            match by_number.then(by_zeros) {
                Ordering::Equal => (i, j) = (ie, je),
                other => return other,
            }
        } else {
            match a[i].cmp(&b[j]) {
                Ordering::Equal => (i, j) = (i + 1, j + 1),
                other => return other,
            }
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// A run of digits without its leading zeros (one zero stays of a zero).
fn without_zeros(digits: &[u8]) -> &[u8] {
    let z = digits.iter().take_while(|c| **c == b'0').count();
    &digits[z.min(digits.len() - 1)..]
}

/// ASCII case-insensitive substring test, without allocating.
fn contains_ci(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

pub fn matches_filter(model: &Model, c: &Conn, filter: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    let sym = |s: Option<crate::model::Sym>| s.map(|s| model.strings.get(s)).unwrap_or("");
    contains_ci(&c.id, filter)
        || c.remote.as_deref().is_some_and(|r| contains_ci(r, filter))
        || c.client_key
            .as_deref()
            .is_some_and(|r| contains_ci(r, filter))
        || contains_ci(sym(c.user_agent), filter)
        || contains_ci(sym(c.path), filter)
}

/// A numeric sort key; `None` (never pinged, no RTT) sorts last in either direction.
fn numeric(c: &Conn, col: ConnColumn, now: crate::event::Ts) -> Option<f64> {
    match col {
        ConnColumn::Age => Some(now.secs_since(c.opened)),
        ConnColumn::LastPong => c.pong_age(now),
        ConnColumn::Rtt => c.rtt_ms().map(f64::from),
        ConnColumn::MsgsIn => Some(c.msgs_in as f64),
        ConnColumn::MsgsOut => Some(c.msgs_out as f64),
        _ => None,
    }
}

fn text<'a>(model: &'a Model, c: &'a Conn, col: ConnColumn) -> &'a str {
    let sym = |s: Option<crate::model::Sym>| s.map(|s| model.strings.get(s)).unwrap_or("");
    match col {
        ConnColumn::Id => &c.id,
        ConnColumn::Server => &model.server(c.server).name,
        ConnColumn::Address => c.remote.as_deref().unwrap_or(""),
        ConnColumn::Agent => sym(c.user_agent),
        ConnColumn::Path => sym(c.path),
        _ => "",
    }
}

fn is_numeric(col: ConnColumn) -> bool {
    matches!(
        col,
        ConnColumn::Age
            | ConnColumn::LastPong
            | ConnColumn::Rtt
            | ConnColumn::MsgsIn
            | ConnColumn::MsgsOut
    )
}

/// Brings ranks `[offset, offset + rows)` of `items` into place and sorted, in linear time
/// plus the sort of the window.
fn window_by<T>(
    items: &mut [T],
    offset: usize,
    rows: usize,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> &[T] {
    let n = items.len();
    if offset >= n || rows == 0 {
        return &[];
    }
    let end = offset.saturating_add(rows).min(n);
    if offset > 0 {
        items.select_nth_unstable_by(offset, &cmp);
    }
    let rest = &mut items[offset..];
    let take = end - offset;
    if take < rest.len() {
        rest.select_nth_unstable_by(take, &cmp);
    }
    let window = &mut rest[..take];
    window.sort_unstable_by(&cmp);
    window
}

/// Windows this close to the top are found in one streaming pass that keeps only the best
/// `offset + rows` items (no copy of the whole table); deeper ones collect and select.
const STREAM_LIMIT: usize = 2048;

/// The items of ranks `[offset, offset + rows)` under `cmp`, sorted, and how many items there
/// were.
fn select_window<T: Copy>(
    items: impl Iterator<Item = T>,
    offset: usize,
    rows: usize,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> (Vec<T>, usize) {
    let k = offset.saturating_add(rows);
    if k <= STREAM_LIMIT {
        let mut best: Vec<T> = Vec::with_capacity(k + 1);
        let mut n = 0usize;
        for item in items {
            n += 1;
            if k == 0 {
                continue;
            }
            // Most items lose against the current k-th best: one comparison each.
            if best.len() == k && cmp(&item, &best[k - 1]) != Ordering::Less {
                continue;
            }
            let at = best.partition_point(|b| cmp(b, &item) == Ordering::Less);
            best.insert(at, item);
            best.truncate(k);
        }
        let window = best.get(offset..).map(<[T]>::to_vec).unwrap_or_default();
        (window, n)
    } else {
        let mut all: Vec<T> = items.collect();
        let n = all.len();
        (window_by(&mut all, offset, rows, cmp).to_vec(), n)
    }
}

/// The order of a numeric column: `None` (NaN) last either way, then the slot.
fn numeric_cmp(a: &(f64, u32), b: &(f64, u32), desc: bool) -> Ordering {
    let by_value = match (a.0.is_nan(), b.0.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if desc => b.0.total_cmp(&a.0),
        _ => a.0.total_cmp(&b.0),
    };
    by_value.then(a.1.cmp(&b.1))
}

/// The order of a text column: natural, then the slot.
fn text_cmp(a: &(&str, u32), b: &(&str, u32), desc: bool) -> Ordering {
    let by_value = if desc {
        natural_cmp(b.0, a.0)
    } else {
        natural_cmp(a.0, b.0)
    };
    by_value.then(a.1.cmp(&b.1))
}

/// The connections that pass a view's filters, each with its sort key, from one pass over
/// the table: the rank of a connection and any window of ranks come from this compact list
/// without another pass over a million connection records.
pub struct Ordered<'m> {
    items: Items<'m>,
    desc: bool,
}

enum Items<'m> {
    Numeric(Vec<(f64, u32)>),
    Text(Vec<(&'m str, u32)>),
}

impl<'m> Ordered<'m> {
    /// The open connections under `key`'s sort, filter and server (its offset and rows do
    /// not matter here).
    pub fn new(model: &'m Model, key: &ViewKey) -> Ordered<'m> {
        let now = model.now();
        let pass = |c: &Conn| {
            key.server.is_none_or(|s| c.server == s) && matches_filter(model, c, &key.filter)
        };
        let col = key.sort.unwrap_or(ConnColumn::LastPong);
        let candidates = model.conns.slots().filter(move |(_, c)| pass(c));
        let items = if is_numeric(col) {
            Items::Numeric(
                candidates
                    .map(|(slot, c)| (numeric(c, col, now).unwrap_or(f64::NAN), slot))
                    .collect(),
            )
        } else {
            Items::Text(
                candidates
                    .map(|(slot, c)| (text(model, c, col), slot))
                    .collect(),
            )
        };
        Ordered {
            items,
            desc: key.descending,
        }
    }

    /// Connections that pass the filters.
    pub fn len(&self) -> usize {
        match &self.items {
            Items::Numeric(v) => v.len(),
            Items::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where the connection in `slot` ranks; `None` when it does not pass the filters.
    pub fn rank_of(&self, slot: u32) -> Option<usize> {
        fn rank<T: Copy>(
            items: &[(T, u32)],
            slot: u32,
            cmp: impl Fn(&(T, u32), &(T, u32)) -> Ordering,
        ) -> Option<usize> {
            let target = *items.iter().find(|(_, s)| *s == slot)?;
            Some(
                items
                    .iter()
                    .filter(|i| cmp(i, &target) == Ordering::Less)
                    .count(),
            )
        }
        let desc = self.desc;
        match &self.items {
            Items::Numeric(v) => rank(v, slot, |a, b| numeric_cmp(a, b, desc)),
            Items::Text(v) => rank(v, slot, |a, b| text_cmp(a, b, desc)),
        }
    }

    /// The window of ranks `key.offset..key.offset + key.rows`.
    pub fn window(&self, key: ViewKey) -> ConnView {
        let desc = self.desc;
        let slots = match &self.items {
            Items::Numeric(v) => {
                let cmp = |a: &(f64, u32), b: &(f64, u32)| numeric_cmp(a, b, desc);
                slots_of(select_window(v.iter().copied(), key.offset, key.rows, cmp).0)
            }
            Items::Text(v) => {
                let cmp = |a: &(&str, u32), b: &(&str, u32)| text_cmp(a, b, desc);
                slots_of(select_window(v.iter().copied(), key.offset, key.rows, cmp).0)
            }
        };
        ConnView {
            key,
            slots,
            matching: self.len(),
        }
    }
}

fn slots_of<T>(items: Vec<(T, u32)>) -> Vec<u32> {
    items.into_iter().map(|(_, s)| s).collect()
}

/// Where connection `id` of `server` ranks under `key`'s order and filters; `None` when it is
/// closed or filtered out.
pub fn rank_of(model: &Model, key: &ViewKey, server: ServerId, id: &str) -> Option<usize> {
    let slot = model.conns.slot_of(server, id)?;
    Ordered::new(model, key).rank_of(slot)
}

/// The window `key` asks for.
pub fn build(model: &Model, key: ViewKey) -> ConnView {
    Ordered::new(model, &key).window(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_addresses_sort_naturally() {
        let mut ids = [
            "c10",
            "c2",
            "c1",
            "c02",
            "b",
            "c",
            "10.0.0.10:80",
            "10.0.0.9:80",
            "c9x",
        ];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            [
                "10.0.0.9:80",
                "10.0.0.10:80",
                "b",
                "c",
                "c1",
                "c2",
                "c02",
                "c9x",
                "c10"
            ]
        );
    }

    #[test]
    fn window_matches_a_full_sort() {
        let mut rng = fastrand::Rng::with_seed(7);
        for n in [0usize, 1, 5, 100, 1000] {
            let data: Vec<(u32, u32)> = (0..n as u32).map(|i| (rng.u32(0..50), i)).collect();
            let mut full = data.clone();
            full.sort();
            for (offset, rows) in [
                (0, 10),
                (3, 7),
                (n.saturating_sub(4), 10),
                (n + 5, 3),
                (0, 0),
                (STREAM_LIMIT, 5),
            ] {
                let mut items = data.clone();
                let got = window_by(&mut items, offset, rows, |a, b| a.cmp(b)).to_vec();
                let want: Vec<_> = full.iter().skip(offset).take(rows).copied().collect();
                assert_eq!(got, want, "n={n} offset={offset}");
                let (streamed, count) =
                    select_window(data.iter().copied(), offset, rows, |a, b| a.cmp(b));
                assert_eq!((streamed, count), (want, n), "n={n} offset={offset}");
            }
        }
        assert!(contains_ci("Mozilla (iPhone)", "IPHONE"));
        assert!(!contains_ci("ab", "abc"));
    }
}
