//! A real terminal for end-to-end tests: the wscope binary runs in a tmux pane on a private
//! tmux server; tests type keys and read the screen.
//!
//! Without tmux the tests skip locally but fail when `CI` is set (CI installs tmux).

#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub const WAIT: Duration = Duration::from_secs(15);

pub struct Tmux {
    socket: String,
}

/// Whether tmux is here; when not, see [`super::require`].
pub fn available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    super::require::require(
        &super::require::this_test(),
        found,
        "tmux",
        "apt-get install tmux",
    )
}

impl Tmux {
    /// Starts `command` (run by `sh -c`) in a detached pane of `width` x `height`. The pane's
    /// shell then sleeps, so what the command left on the screen can still be read.
    pub fn start(command: &str, width: u16, height: u16) -> Tmux {
        let socket = format!(
            "wscope-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let t = Tmux { socket };
        t.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "sh",
            "-c",
            &format!("{command}; exec sleep 600"),
        ]);
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Keys in tmux `send-keys` syntax (`q`, `Enter`, `Tab`, `Space`, `C-c`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Literal text.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "t", "-l", text]);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// The screen with its colours and attributes as escape sequences (`capture-pane -e`).
    pub fn screen_with_styles(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-e", "-t", "t"]).stdout)
            .into_owned()
    }

    pub fn display(&self, format: &str) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["display-message", "-p", "-t", "t", format])
                .stdout,
        )
        .trim()
        .to_string()
    }

    pub fn resize(&self, width: u16, height: u16) {
        self.run(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// Copies everything the pane's program writes, raw, to `path`.
    pub fn pipe_raw_output(&self, path: &std::path::Path) {
        self.run(&[
            "pipe-pane",
            "-o",
            "-t",
            "t",
            &format!("cat >> '{}'", path.display()),
        ]);
    }

    /// Polls the screen until `pred` holds; panics with the last screen after [`WAIT`].
    ///
    /// The screen returned is one captured a moment after `pred` first held, and `pred` holds
    /// on it too: tmux can capture a frame half-written, with the header already new and the
    /// panels below not yet, and callers go on to assert about the whole screen.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let mut delay = Duration::from_millis(20);
        loop {
            let mut s = self.screen();
            if pred(&s) {
                std::thread::sleep(Duration::from_millis(30));
                s = self.screen();
                if pred(&s) {
                    return s;
                }
            }
            if Instant::now() >= deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }

    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, |s| s.contains(text))
    }
}

impl Tmux {
    /// Ends the tmux server now: its panes' programs lose their terminal (SIGHUP, then EOF).
    pub fn kill_server(&self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
