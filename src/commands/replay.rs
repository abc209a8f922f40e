//! `wscope replay FILE`: plays a recorded log in the dashboard, in event time.

use crate::sanitize::inert;
use crate::source::capture::read_capture;
use crate::source::log::{Skipped, read_log};
use crate::source::log_index::IndexedLog;
use crate::source::{Input, open_input};
use crate::ui::{self, playback::Playback, player};
use color_eyre::{Result, eyre::WrapErr, eyre::eyre};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The event log (JSON Lines, optionally .zst) or a packet capture (pcap, pcapng); `-`
    /// reads standard input (the keyboard is then read from the terminal).
    pub file: PathBuf,
    /// Playback speed: a factor of event time (1, 10, 0.5) or `max` (as fast as it can, then
    /// holds at the end).
    #[arg(long, default_value = "1", value_parser = player::Speed::parse)]
    pub speed: player::Speed,
    /// Start paused.
    #[arg(long)]
    pub paused: bool,
    /// Start at this time: RFC 3339, or a duration from the start of the log (90s, 5m).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Draw with ASCII only (borders, bars, marks).
    #[arg(long)]
    pub ascii: bool,
    #[command(flatten)]
    pub thresholds: super::ThresholdArgs,
}

pub fn run(args: ReplayArgs) -> Result<ExitCode> {
    let Some(rules) = args.thresholds.rules()? else {
        return Ok(ExitCode::SUCCESS);
    };
    // Opening first: a missing or unreadable file is the first thing to say.
    let input =
        open_input(&args.file).wrap_err_with(|| format!("cannot open {}", args.file.display()))?;
    if !std::io::stdout().is_terminal() {
        return Err(eyre!(
            "replay draws a dashboard and needs a terminal; for text use `wscope report {}`",
            args.file.display()
        ));
    }
    let loud = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut progress = |bytes: u64| {
        if loud && started.elapsed().as_secs() >= 1 {
            eprint!("\rreading… {:.0} MB   ", bytes as f64 / 1e6);
            let _ = std::io::stderr().flush();
        }
    };
    let cannot_read = || format!("cannot read {}", args.file.display());
    let log = match input {
        // A capture is decoded once, its events held (the dashboard reads the keyboard from
        // the terminal, so a capture may come on standard input).
        Input::Capture(stream) => {
            let mut events = Vec::new();
            let (stats, end) = read_capture(
                stream,
                Vec::new(),
                &mut |evs| events.extend_from_slice(evs),
                &mut progress,
            )
            .map_err(|e| eyre!("{}: {e}", cannot_read()))?;
            if let Some(problem) = end.problem {
                eprintln!("{}: {}", args.file.display(), inert(&problem));
            }
            eprintln!("{}", inert(&stats.summary()));
            IndexedLog::from_events(&args.file, events, Skipped::default())
        }
        // A log on standard input cannot be read again: it is held too.
        Input::Log(reader) if args.file.as_os_str() == "-" => {
            let mut events = Vec::new();
            let skipped = read_log(reader, &mut |e| events.push(e.clone()), &mut progress)
                .wrap_err_with(cannot_read)?;
            IndexedLog::from_events(&args.file, events, skipped)
        }
        Input::Log(reader) => {
            drop(reader);
            IndexedLog::open(&args.file, &mut progress).wrap_err_with(cannot_read)?
        }
    };
    if log.is_empty() {
        return Err(eyre!(
            "{} holds no events ({} lines skipped)",
            args.file.display(),
            log.skipped().count
        ));
    }
    let start = log.start().unwrap_or_default();
    let from = args
        .from
        .as_deref()
        .map(|f| player::parse_from(f, start))
        .transpose()?;
    let label = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.file.display().to_string());
    let config = ui::UiConfig {
        sources: vec![label],
        ascii: args.ascii,
        rules,
        about: Vec::new(),
    };
    let playback = Playback::new(log, args.speed, args.paused, from, Instant::now());
    let runtime = super::runtime(super::Threads::One)?;
    runtime.block_on(ui::run_replay(config, playback))?;
    Ok(ExitCode::SUCCESS)
}
