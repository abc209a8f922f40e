//! A fixed-size histogram of durations, to find the value that many closes cluster around
//! (an idle timeout, a lifetime cap) without keeping one record per close.
//!
//! Resolution is 100 ms up to 10 minutes and 1 s up to 12 hours: far finer than the ±10 % and
//! ±2 % (at least ±1 s) tolerances of findings.md at every scale. Longer durations are counted
//! in `over` and never form a cluster.

const FINE_STEP: f64 = 0.1;
const FINE_LIMIT: f64 = 600.0;
const COARSE_STEP: f64 = 1.0;
const COARSE_LIMIT: f64 = 12.0 * 3600.0;
const FINE_BUCKETS: usize = (FINE_LIMIT / FINE_STEP) as usize;
const BUCKETS: usize = FINE_BUCKETS + ((COARSE_LIMIT - FINE_LIMIT) / COARSE_STEP) as usize;

#[derive(Clone, Debug)]
pub struct DurationHistogram {
    counts: Vec<u32>,
    /// Sum of the samples of each bucket: the median is reported as its bucket's mean, exact
    /// when the samples are equal, which is what a timeout makes them.
    sums: Vec<f64>,
    total: u64,
    over: u64,
}

/// A value many samples cluster around.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cluster {
    /// The median of the samples inside the cluster, in seconds.
    pub center: f64,
    pub count: u64,
    /// The window's buckets, first and last: which samples are in it (see [`bucket_of`]).
    pub first_bucket: usize,
    pub last_bucket: usize,
    /// The window's half width around its value, in seconds.
    pub half_width: f64,
}

impl Default for DurationHistogram {
    fn default() -> Self {
        DurationHistogram {
            counts: vec![0; BUCKETS],
            sums: vec![0.0; BUCKETS],
            total: 0,
            over: 0,
        }
    }
}

/// The bucket a duration falls in; `None` past the range (or for a negative or NaN value).
pub fn bucket_of(secs: f64) -> Option<usize> {
    bucket(secs)
}

/// The middle of bucket `b`, in seconds.
pub fn center_of(b: usize) -> f64 {
    center(b)
}

fn bucket(secs: f64) -> Option<usize> {
    if !(0.0..COARSE_LIMIT).contains(&secs) {
        return None;
    }
    Some(if secs < FINE_LIMIT {
        (secs / FINE_STEP) as usize
    } else {
        FINE_BUCKETS + ((secs - FINE_LIMIT) / COARSE_STEP) as usize
    })
    .map(|b| b.min(BUCKETS - 1))
}

/// The middle of a bucket, in seconds.
fn center(b: usize) -> f64 {
    if b < FINE_BUCKETS {
        (b as f64 + 0.5) * FINE_STEP
    } else {
        FINE_LIMIT + ((b - FINE_BUCKETS) as f64 + 0.5) * COARSE_STEP
    }
}

impl DurationHistogram {
    pub fn add(&mut self, secs: f64) {
        self.total += 1;
        match bucket(secs.max(0.0)) {
            Some(b) => {
                self.counts[b] = self.counts[b].saturating_add(1);
                self.sums[b] += secs.max(0.0);
            }
            None => self.over += 1,
        }
    }

    /// Adds `count` samples summing to `sum` to bucket `b` (a bucket of [`bucket_of`]).
    pub fn add_to_bucket(&mut self, b: usize, count: u64, sum: f64) {
        if b >= BUCKETS {
            self.total += count;
            self.over += count;
            return;
        }
        self.total += count;
        self.counts[b] = self.counts[b].saturating_add(count.min(u32::MAX as u64) as u32);
        self.sums[b] += sum;
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The value D (≥ `min_value`) whose window `D ± max(D × rel, abs)` holds the most samples,
    /// with those samples' count and median. Ties go to the smaller D.
    pub fn densest(&self, rel: f64, abs: f64, min_value: f64) -> Option<Cluster> {
        // Prefix sums make each window count O(1).
        let mut prefix = Vec::with_capacity(BUCKETS + 1);
        prefix.push(0u64);
        for &c in &self.counts {
            prefix.push(prefix.last().copied().unwrap_or(0) + c as u64);
        }
        let window = |d: f64| {
            let half = (d * rel).max(abs);
            let lo = bucket((d - half).max(0.0)).unwrap_or(0);
            let hi = bucket(d + half).unwrap_or(BUCKETS - 1);
            (lo, hi, prefix[hi + 1] - prefix[lo], half)
        };
        let mut best: Option<(usize, usize, u64, f64)> = None;
        for b in 0..BUCKETS {
            if self.counts[b] == 0 || center(b) < min_value {
                continue;
            }
            let w = window(center(b));
            if best.is_none_or(|(_, _, n, _)| w.2 > n) {
                best = Some(w);
            }
        }
        let (lo, hi, count, half_width) = best?;
        // The median of the samples inside the window.
        let mut seen = 0u64;
        let half = count.div_ceil(2);
        let mut median = center(lo);
        for b in lo..=hi {
            seen += self.counts[b] as u64;
            if seen >= half {
                median = self.sums[b] / self.counts[b].max(1) as f64;
                break;
            }
        }
        Some(Cluster {
            center: (median * 100.0).round() / 100.0,
            count,
            first_bucket: lo,
            last_bucket: hi,
            half_width,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cluster_and_its_median() {
        let mut h = DurationHistogram::default();
        for i in 0..20 {
            h.add(60.0 + (i % 5) as f64 * 0.2);
        }
        for s in [3.0, 10.0, 200.0, 5000.0, 1e9] {
            h.add(s);
        }
        let c = h.densest(0.10, 1.0, 2.0).unwrap();
        assert_eq!(c.count, 20);
        assert_eq!(c.center, 60.4, "{c:?}");
        assert_eq!(h.total(), 25);
    }

    #[test]
    fn respects_minimum_value() {
        let mut h = DurationHistogram::default();
        for _ in 0..10 {
            h.add(0.5);
        }
        assert_eq!(h.densest(0.1, 1.0, 2.0), None);
    }

    #[test]
    fn coarse_range() {
        let mut h = DurationHistogram::default();
        for i in 0..10 {
            h.add(7200.0 + i as f64);
        }
        let c = h.densest(0.02, 1.0, 10.0).unwrap();
        assert_eq!(c.count, 10);
        assert!((c.center - 7204.5).abs() <= 1.0, "{c:?}");
        let mut h = DurationHistogram::default();
        for _ in 0..10 {
            h.add(60.0);
        }
        assert_eq!(h.densest(0.1, 1.0, 2.0).unwrap().center, 60.0);
    }
}
