//! Healthy traffic gives no warning: a false alarm at 3 AM costs as much as a missed one.

use super::*;

#[test]
fn healthy_traffic_gives_no_warning() {
    let mut s = Scenario::new();
    healthy(&mut s, 100, 30);
    let fs = s.findings();
    assert!(
        fs.iter().all(|f| f.severity == Severity::Info),
        "healthy traffic raised {:?}",
        fs
    );
    let m = s.model();
    assert_eq!(m.open_count(), 100);
    assert_eq!(m.closed(), 60);
}
