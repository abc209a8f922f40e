//! `wscope replay` refuses bad input with one clear line and exit status 2.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_wscope");

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).arg("replay").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_arguments_give_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    let (code, err) = run(&[missing.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("wscope: error: cannot open") && err.lines().count() == 1,
        "{err}"
    );

    // Standard input is read (the keyboard is the terminal), but a dashboard still needs one.
    let (code, err) = run(&["-"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs a terminal"), "{err}");

    for speed in ["0", "-2", "fast"] {
        let (code, err) = run(&[&format!("--speed={speed}"), "x.jsonl"]);
        assert_eq!(code, 2, "{speed}");
        assert!(err.contains("speed must be a positive number"), "{err}");
    }

    // Not a terminal (the test's stdout is a pipe): say what to use instead.
    let log = dir.path().join("ok.jsonl");
    std::fs::write(
        &log,
        "{\"type\":\"ping\",\"ts\":\"2026-11-30T01:00:00Z\",\"conn\":\"c\"}\n",
    )
    .unwrap();
    let (code, err) = run(&[log.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("needs a terminal") && err.contains("wscope report"),
        "{err}"
    );
}
