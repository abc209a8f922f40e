//! A real `nats-server` on a free loopback port, which a test can stop and start again on the
//! same port.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct NatsServer {
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl NatsServer {
    /// `None` (after saying so, or failing under CI) when nats-server is not installed.
    pub fn start() -> Option<NatsServer> {
        NatsServer::start_with(&[])
    }

    /// With more arguments for nats-server (`--auth TOKEN`...).
    pub fn start_with(args: &[&str]) -> Option<NatsServer> {
        let present = Command::new("nats-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !super::require::require(
            &super::require::this_test(),
            present,
            "nats-server",
            "apt-get install nats-server",
        ) {
            return None;
        }
        let mut server = NatsServer {
            port: super::free_port(),
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
        };
        server.resume();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) and waits until it accepts connections.
    pub fn resume(&mut self) {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let port = self.port;
        super::wait_until("nats-server to listen", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Kills it; connections to it break at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
