//! `process` figures from /proc on Linux (none elsewhere): cheap enough to read every few
//! seconds, and no extra crate.

/// (resident set size in bytes, open file descriptors) of this process.
pub(crate) fn sample() -> (Option<u64>, Option<u64>) {
    (rss_bytes(), open_fds())
}

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn open_fds() -> Option<u64> {
    // The directory handle itself is one of the entries while it is being read.
    let n = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some(n.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let (rss, fds) = super::sample();
        assert!(rss.unwrap() > 100_000);
        let before = fds.unwrap();
        let _f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(super::sample().1.unwrap(), before + 1);
    }
}
