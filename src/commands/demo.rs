//! `wscope demo`: a real instrumented server with misbehaving clients on loopback.

use super::forward::{Recording, forward};
use crate::demo::DemoAdmin;
use crate::demo::{DemoConfig, start};
use crate::findings::Rules;
use crate::model::Model;
use crate::source::{SourceMsg, SourceState};
use crate::tap::Subscription;
use crate::ui::{self, UiConfig};
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
    /// The demo server's name in its feed: several demos (`--headless --admin`) simulate a
    /// fleet on one machine.
    #[arg(long, value_name = "NAME", default_value = crate::demo::DEFAULT_NAME, value_parser = parse_name)]
    pub name: String,
    /// How long a headless demo runs.
    #[arg(long, value_parser = super::parse_duration, default_value = "40s")]
    pub duration: Duration,
    #[command(flatten)]
    pub show: super::ShowArgs,
    #[command(flatten)]
    pub thresholds: super::ThresholdArgs,
}

/// A server name: printable, at most 128 characters (it reaches every viewer's screen).
fn parse_name(s: &str) -> Result<String, String> {
    if s.is_empty() || s.chars().count() > 128 {
        return Err("a name of 1 to 128 characters".into());
    }
    if s.chars().any(char::is_control) {
        return Err("a name without control characters".into());
    }
    Ok(s.to_string())
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
    let recording = Recording::create(args.record.as_ref(), &["demo".to_string()])?;
    let admin = args
        .admin
        .map(|addr| -> Result<DemoAdmin> {
            let token = match args.token.clone() {
                Some(token) => token,
                None => random_token()?,
            };
            Ok(DemoAdmin { addr, token })
        })
        .transpose()?;
    let runtime = super::runtime(super::Threads::Two)?;
    let outcome = runtime.block_on(async {
        let config = DemoConfig {
            admin: admin.clone(),
            name: args.name.clone(),
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
            headless(feed, recording, args.duration, &rules)
                .await
                .map(Some)
        } else {
            dashboard(
                feed,
                recording,
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

/// Runs for `duration` (or until Ctrl-C) and returns the model built from the tap's events.
async fn headless(
    mut feed: Subscription,
    mut recording: Recording,
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
                recording.tick()?;
                continue;
            }
            _ = tokio::time::sleep_until(deadline) => None,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(ev) = ev else { break };
        model.apply(0, &ev);
        recording.write_event(0, &ev, None)?;
    }
    recording.finish()?;
    Ok(model)
}

/// The dashboard, subscribed to the tap in-process (no socket). Events are recorded before
/// the dashboard sees them; when it ends, the recording is closed.
async fn dashboard(
    mut feed: Subscription,
    recording: Recording,
    server: &str,
    ascii: bool,
    rules: Rules,
    about: Vec<String>,
) -> Result<()> {
    let (events, from_tap) = tokio::sync::mpsc::channel(4096);
    let _ = events.try_send(SourceMsg::State {
        source: 0,
        state: SourceState::Connected,
    });
    let tap = tokio::spawn(async move {
        while let Some(event) = feed.recv().await {
            if events.send(SourceMsg::event(0, event)).await.is_err() {
                break;
            }
        }
    });
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    let forward = tokio::spawn(forward(from_tap, tx, recording));
    let config = UiConfig {
        sources: vec![format!("demo ws://{server} (in-process)")],
        ascii,
        rules,
        about,
    };
    let shown = ui::run_live(config, rx).await;
    // The tap ends here, which ends the forwarding and closes the recording.
    tap.abort();
    let recorded = forward.await.wrap_err("the recorder stopped")?;
    shown?;
    recorded
}
