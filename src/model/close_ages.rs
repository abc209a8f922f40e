//! Idle time and age at close, together, for the closes that may reveal a lifetime cap: cuts
//! and server-initiated closes. Kept jointly because which of them a cap explains depends on
//! both (a connection cut for idleness is not a capped one), and which idle times are
//! explained is known only when the findings look.
//!
//! Cells are the buckets of [`DurationHistogram`] on both axes, so a million closes at a few
//! distinct (idle, age) pairs cost a few cells. Past [`MAX_CELLS`] distinct pairs, later closes
//! are only counted (see `overflow`), so memory stays bounded by a constant.

use super::histogram::bucket_of;
use foldhash::fast::FixedState;
use hashbrown::HashMap;

const MAX_CELLS: usize = 1 << 18;

/// Which kind of close a sample is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CloseKind {
    /// 1006 with initiator `none`.
    Cut,
    /// Closed by the server (not as part of a restart).
    Server,
}

/// One close: what a lifetime cap is judged on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AgeSample {
    pub kind: CloseKind,
    pub idle_secs: f64,
    pub age_secs: f64,
}

/// Closes sharing one (kind, idle bucket, age bucket).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    pub count: u64,
    /// Sum of the ages (for a cluster's median) and of the idle times.
    pub age_sum: f64,
    pub idle_sum: f64,
}

#[derive(Clone, Debug, Default)]
pub struct CloseAges {
    cells: HashMap<(CloseKind, u32, u32), Cell, FixedState>,
    /// Closes beyond the cell cap, or with a time past the histogram's range: counted only.
    pub overflow: u64,
}

impl CloseAges {
    pub fn add(&mut self, s: AgeSample) {
        let (Some(idle), Some(age)) = (bucket_of(s.idle_secs), bucket_of(s.age_secs)) else {
            self.overflow += 1;
            return;
        };
        let key = (s.kind, idle as u32, age as u32);
        if self.cells.len() >= MAX_CELLS && !self.cells.contains_key(&key) {
            self.overflow += 1;
            return;
        }
        let cell = self.cells.entry(key).or_insert(Cell {
            count: 0,
            age_sum: 0.0,
            idle_sum: 0.0,
        });
        cell.count += 1;
        cell.age_sum += s.age_secs;
        cell.idle_sum += s.idle_secs;
    }

    /// Every cell: (kind, idle bucket, age bucket, what it holds), in a fixed order.
    pub fn cells(&self) -> Vec<(CloseKind, usize, usize, Cell)> {
        let mut v: Vec<_> = self
            .cells
            .iter()
            .map(|(&(k, i, a), c)| (k, i as usize, a as usize, *c))
            .collect();
        v.sort_by_key(|c| (c.0, c.1, c.2));
        v
    }
}
