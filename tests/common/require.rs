//! What a test needs from the machine (nginx, tmux, Node.js and `ws`), and what happens when
//! it is missing: under CI (`CI` set) the test fails, since `.ci/run` installs everything;
//! elsewhere it is skipped, and the skip is said where a person sees it. The harness swallows
//! a passing test's output, so the notice goes straight to the terminal's stderr and into
//! `skipped-tests.txt` under the target directory, which `scripts/test` lists at the end.

use std::io::Write;
use std::path::PathBuf;

/// Where skipped tests are listed, one line each.
pub fn skip_log() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt")
}

/// `true` when `present`; otherwise fails under CI, or records and announces the skip of
/// `test`, which needs `what` (installed by `install`).
pub fn require(test: &str, present: bool, what: &str, install: &str) -> bool {
    if present {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs {what}, and CI is set: .ci/run must install it ({install})");
    }
    let line = format!("SKIPPED {test}: needs {what} ({install})\n");
    let _ = std::io::stderr().write_all(format!("\n*** {line}").as_bytes());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_log())
    {
        let _ = f.write_all(line.as_bytes());
    }
    false
}

/// The name of the running test (its thread's name under the default harness).
pub fn this_test() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string()
}
