//! Runs the Node.js adapter's scenario (assets/adapters/node/test/scenario.js) as a real process.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub fn adapter_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/adapters/node")
}

/// `Some(())` when node and the `ws` package are there; otherwise see [`super::require`].
pub fn node_available() -> Option<()> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let ws = adapter_dir().join("node_modules/ws/package.json").is_file();
    let test = super::require::this_test();
    let found = super::require::require(&test, node, "Node.js", "apt-get install nodejs npm")
        && super::require::require(
            &test,
            ws,
            "the `ws` package of the Node adapter",
            "cd assets/adapters/node && npm install",
        );
    found.then_some(())
}

/// `Some(())` when node and the Socket.IO packages (devDependencies of the adapter) are there.
pub fn socketio_available() -> Option<()> {
    node_available()?;
    let sio = adapter_dir()
        .join("node_modules/socket.io-client/package.json")
        .is_file()
        && adapter_dir()
            .join("node_modules/socket.io/package.json")
            .is_file();
    let test = super::require::this_test();
    super::require::require(
        &test,
        sio,
        "socket.io and socket.io-client (devDependencies of the Node adapter)",
        "cd assets/adapters/node && npm install",
    )
    .then_some(())
}

/// A running scenario; killed when dropped.
pub struct Scenario {
    child: Child,
    /// The admin feed, e.g. `ws://127.0.0.1:PORT/`.
    pub feed: String,
    pub token: String,
    /// The instrumented application server.
    pub app: String,
}

impl Scenario {
    /// Starts the scenario with extra environment variables and waits for its address line.
    pub fn start(env: &[(&str, &str)]) -> Scenario {
        Scenario::start_script("test/scenario.js", env)
    }

    /// Starts another script of the adapter's `test/` that prints the same address line
    /// (`test/sio-scenario.js`).
    pub fn start_script(script: &str, env: &[(&str, &str)]) -> Scenario {
        let mut cmd = Command::new("node");
        cmd.arg(adapter_dir().join(script))
            .env_remove("WSCOPE_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("cannot start node");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("no address line from the scenario");
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("scenario said {line:?}: {e}"));
        Scenario {
            child,
            feed: v["feed"].as_str().unwrap().to_string(),
            token: v["token"].as_str().unwrap().to_string(),
            app: v["app"].as_str().unwrap().to_string(),
        }
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
