//! `wscope demo`: a real instrumented server with misbehaving clients on loopback.

use super::report::FormatArg;
use crate::demo::{DemoConfig, start};
use crate::event::to_json_line;
use crate::model::Model;
use crate::tap::AdminConfig;
use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Also serve the live feed (and /metrics) to other viewers on ADDR, e.g. 127.0.0.1:9300.
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<SocketAddr>,
    /// The token viewers of --admin must present (default: a random one, printed at start).
    /// Prefer the environment variable: a command line shows in `ps`.
    #[arg(long, value_name = "T", env = "WSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Record the feed to FILE as JSON Lines (replay it later with `wscope replay FILE`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// No dashboard: run for --duration, then print a report.
    #[arg(long)]
    pub headless: bool,
    /// How long a headless demo runs.
    #[arg(long, value_parser = super::parse_duration, default_value = "40s")]
    pub duration: Duration,
    /// Report format of a headless demo.
    #[arg(long, short, value_enum, default_value_t)]
    pub format: FormatArg,
}

fn random_token() -> String {
    (0..24).map(|_| fastrand::alphanumeric()).collect()
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    if !args.headless {
        bail!("the dashboard is not part of this build yet; run `wscope demo --headless`");
    }
    if args.duration.is_zero() {
        bail!("--duration must be more than 0");
    }
    let mut record = match &args.record {
        Some(path) => Some(BufWriter::new(
            std::fs::File::create(path)
                .wrap_err_with(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    let admin = args.admin.map(|addr| {
        let token = args.token.clone().unwrap_or_else(random_token);
        AdminConfig::new(addr, token)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .wrap_err("cannot start the async runtime")?;
    let model = runtime.block_on(async {
        let config = DemoConfig {
            admin: admin.clone(),
            ..DemoConfig::default()
        };
        let mut demo = start(config).await.wrap_err("cannot start the demo")?;
        let mut feed = demo
            .take_subscription()
            .expect("a new demo has its first subscription");
        eprintln!(
            "wscope demo: server on ws://{}, running {} s headless",
            demo.server_addr(),
            args.duration.as_secs_f64()
        );
        if let (Some(url), Some(cfg)) = (demo.admin_url(), &admin) {
            // A token the user chose is known to them; a generated one must be shown.
            let token = match args.token {
                Some(_) => "as given",
                None => cfg.token.as_str(),
            };
            eprintln!("wscope demo: admin feed on {url} (token: {token}), /metrics beside it");
        }
        let mut model = Model::new();
        let deadline = tokio::time::Instant::now() + args.duration;
        loop {
            let ev = tokio::select! {
                ev = feed.recv() => ev,
                _ = tokio::time::sleep_until(deadline) => None,
                _ = tokio::signal::ctrl_c() => None,
            };
            let Some(ev) = ev else { break };
            model.apply(0, &ev);
            if let Some(out) = record.as_mut() {
                writeln!(out, "{}", to_json_line(&ev)).wrap_err("cannot write the recording")?;
            }
        }
        if let Some(out) = record.as_mut() {
            out.flush().wrap_err("cannot write the recording")?;
        }
        drop(demo);
        Ok::<_, color_eyre::Report>(model)
    })?;
    // The demo's leaked timers and clients are not waited for.
    runtime.shutdown_background();
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(crate::report::render(&model, args.format.into()).as_bytes())
        .and_then(|_| stdout.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(e).wrap_err("cannot write the report"),
    }
    Ok(ExitCode::SUCCESS)
}
