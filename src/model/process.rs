//! A server's process figures over time (`process` events): memory and descriptors beside the
//! connections open at the same instant, for leaks that show in the process rather than in
//! timers. The first and latest figures are kept exactly; the series in between is thinned to
//! a fixed number of points (every other one dropped when full), so memory is constant.

use crate::event::Ts;

/// Points kept for the chart; enough for a full-width sparkline.
const MAX_POINTS: usize = 256;

/// One reading of a figure, with the connections the server had open then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    pub ts: Ts,
    pub value: u64,
    pub open_conns: u64,
}

/// One figure (RSS or descriptors) of one server.
#[derive(Clone, Debug, Default)]
pub struct Figure {
    pub first: Option<Reading>,
    pub last: Option<Reading>,
    points: Vec<Reading>,
    /// Every `stride`-th reading goes into `points`.
    stride: u64,
    seen: u64,
}

impl Figure {
    pub fn add(&mut self, r: Reading) {
        if self.first.is_none_or(|f| r.ts < f.ts) {
            self.first = Some(r);
        }
        if self.last.is_none_or(|l| r.ts >= l.ts) {
            self.last = Some(r);
        }
        let stride = self.stride.max(1);
        if self.seen.is_multiple_of(stride) {
            if self.points.len() >= MAX_POINTS {
                let mut keep = false;
                self.points.retain(|_| {
                    keep = !keep;
                    keep
                });
                self.stride = stride * 2;
            }
            if self.seen.is_multiple_of(self.stride.max(1)) {
                self.points.push(r);
            }
        }
        self.seen += 1;
    }

    /// The thinned series, oldest first.
    pub fn points(&self) -> &[Reading] {
        &self.points
    }
}

/// What `process` events told of one server.
#[derive(Clone, Debug, Default)]
pub struct ProcessFigures {
    pub rss_bytes: Figure,
    pub open_fds: Figure,
}
