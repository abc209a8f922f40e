//! `zombie-connections`.

use super::*;

#[test]
fn zombie_connections() {
    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    s.open("z").open("ok").open("never");
    s.at(30.0)
        .ping("z")
        .pong("z")
        .ping("ok")
        .pong("ok")
        .ping("never");
    s.at(60.0).ping("z").ping("ok").pong("ok").ping("never");
    s.at(90.0).ping("z").ping("ok").pong("ok").ping("never");
    let f = get(&s.findings(), "zombie-connections");
    assert_eq!(ev(&f, "count"), json!(2));
    assert_eq!(ev(&f, "conns"), json!(["never", "z"]));
    assert_eq!(ev(&f, "max_pong_age_seconds"), json!(60.0));

    let mut s = Scenario::new();
    s.hello(Some((30_000, 5_000)));
    s.open("ok");
    s.at(30.0).ping("ok").advance(4.0).pong("ok");
    assert!(find(&s.findings(), "zombie-connections").is_none());
}
