//! `wscope demo`: a real instrumented server with misbehaving clients on loopback.

use crate::demo::{DemoConfig, start};
use crate::event::to_json_line;
use crate::findings::Rules;
use crate::model::Model;
use crate::source::record::Recorder;
use crate::tap::{AdminConfig, Subscription};
use crate::ui::{self, SourceMsg, SourceState, UiConfig};
use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};
use std::io::IsTerminal;
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
    /// How long a headless demo runs.
    #[arg(long, value_parser = super::parse_duration, default_value = "40s")]
    pub duration: Duration,
    #[command(flatten)]
    pub show: super::ShowArgs,
    #[command(flatten)]
    pub thresholds: super::ThresholdArgs,
}

fn random_token() -> Result<String> {
    // From the system's CSPRNG: the token guards client addresses and user agents.
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 32];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        bail!(
            "no random token: the system's random number generator is unavailable (give --token)"
        );
    }
    // 256 is 4 x 64: taking each byte modulo 62 is close to uniform (a slight bias towards
    // the first 8 characters), over 32 characters: about 190 bits.
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let Some(rules) = args.thresholds.rules()? else {
        return Ok(ExitCode::SUCCESS);
    };
    if args.duration.is_zero() {
        bail!("--duration must be more than 0");
    }
    if !args.show.headless && !std::io::stdout().is_terminal() {
        bail!("the dashboard needs a terminal; without one use `wscope demo --headless`");
    }
    let recorder = args
        .record
        .as_ref()
        .map(|p| Recorder::create(p).wrap_err_with(|| format!("cannot create {}", p.display())))
        .transpose()?;
    let admin = args
        .admin
        .map(|addr| -> Result<AdminConfig> {
            let token = match args.token.clone() {
                Some(token) => token,
                None => random_token()?,
            };
            Ok(AdminConfig::new(addr, token))
        })
        .transpose()?;
    let runtime = super::runtime(super::Threads::Two)?;
    let outcome = runtime.block_on(async {
        let config = DemoConfig {
            admin: admin.clone(),
            ..DemoConfig::default()
        };
        let mut demo = start(config).await.wrap_err("cannot start the demo")?;
        let feed = demo
            .take_subscription()
            .expect("a new demo has its first subscription");
        let mut banner = format!("wscope demo: server on ws://{}", demo.server_addr());
        let mut about = Vec::new();
        if let (Some(url), Some(cfg)) = (demo.admin_url(), &admin) {
            // A token the user chose is known to them; a generated one must be shown.
            let token = match args.token {
                Some(_) => "as given",
                None => cfg.token.as_str(),
            };
            banner.push_str(&format!(
                "\nwscope demo: admin feed on {url} (token: {token}), /metrics beside it"
            ));
            // stderr is behind the dashboard: `?` shows the feed and its token too.
            about.push(format!("admin feed: {url}  token: {token}"));
        }
        eprintln!("{banner}");
        let result = if args.show.headless {
            headless(feed, recorder, args.duration, &rules)
                .await
                .map(Some)
        } else {
            dashboard(
                feed,
                recorder,
                &demo.server_addr().to_string(),
                args.show.ascii,
                rules.clone(),
                about,
            )
            .await
            .map(|()| None)
        };
        // The banner stays on the main screen, visible again once the dashboard exits.
        drop(demo);
        result
    });
    // The demo's leaked timers and clients are not waited for.
    runtime.shutdown_background();
    let Some(mut model) = outcome? else {
        return Ok(ExitCode::SUCCESS);
    };
    model.finish();
    let report = crate::report::render(&model, &rules, args.show.format.into());
    super::print_out(&report, false)?;
    Ok(ExitCode::SUCCESS)
}

fn record(recorder: &mut Option<Recorder>, ev: &crate::event::Event) -> Result<()> {
    if let Some(rec) = recorder.as_mut() {
        rec.write_frame(&to_json_line(ev))
            .wrap_err("cannot write the recording")?;
    }
    Ok(())
}

fn finish(recorder: &mut Option<Recorder>) -> Result<()> {
    if let Some(rec) = recorder.as_mut() {
        rec.finish().wrap_err("cannot write the recording")?;
    }
    Ok(())
}

/// Runs for `duration` (or until Ctrl-C) and returns the model built from the tap's events.
async fn headless(
    mut feed: Subscription,
    mut recorder: Option<Recorder>,
    duration: Duration,
    rules: &Rules,
) -> Result<Model> {
    let mut model = rules.model();
    let deadline = tokio::time::Instant::now() + duration;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        let ev = tokio::select! {
            ev = feed.recv() => ev,
            _ = tick.tick() => {
                if let Some(rec) = recorder.as_mut() {
                    rec.tick().wrap_err("cannot write the recording")?;
                }
                continue;
            }
            _ = tokio::time::sleep_until(deadline) => None,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(ev) = ev else { break };
        model.apply(0, &ev);
        record(&mut recorder, &ev)?;
    }
    finish(&mut recorder)?;
    Ok(model)
}

/// The dashboard, subscribed to the tap in-process (no socket). Events are recorded before
/// the dashboard sees them; when it ends, the recording is closed.
async fn dashboard(
    mut feed: Subscription,
    mut recorder: Option<Recorder>,
    server: &str,
    ascii: bool,
    rules: Rules,
    about: Vec<String>,
) -> Result<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    let _ = tx.try_send(SourceMsg::State {
        source: 0,
        state: SourceState::Connected,
    });
    let forward = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                ev = feed.recv() => {
                    let Some(event) = ev else { break };
                    record(&mut recorder, &event)?;
                    if tx.send(SourceMsg::Event { source: 0, event, queued: Default::default() }).await.is_err() {
                        break;
                    }
                }
                _ = tick.tick() => {
                    if let Some(rec) = recorder.as_mut() {
                        rec.tick().wrap_err("cannot write the recording")?;
                    }
                }
                // The dashboard ended.
                _ = tx.closed() => break,
            }
        }
        finish(&mut recorder)
    });
    let config = UiConfig {
        sources: vec![format!("demo ws://{server} (in-process)")],
        ascii,
        rules,
        about,
    };
    let shown = ui::run_live(config, rx).await;
    let recorded = forward.await.wrap_err("the recorder stopped")?;
    shown?;
    recorded
}
