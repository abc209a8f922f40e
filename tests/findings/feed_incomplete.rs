//! `feed-incomplete`, and the order findings come in.

use super::*;

#[test]
fn feed_incomplete_and_ordering() {
    let mut s = Scenario::new();
    s.push(EventKind::Dropped { count: 7 });
    s.open("a").advance(1.0).close("a", 1009, Initiator::Server);
    let fs = s.findings();
    assert_eq!(
        ids(&fs),
        vec!["message-too-big", "feed-incomplete"],
        "warning before info"
    );
    assert_eq!(ev(&get(&fs, "feed-incomplete"), "dropped_events"), json!(7));
}
