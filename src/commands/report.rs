//! `wscope report FILE`: analyse a recorded log headless and print its findings.

use crate::report::{Format, Report};
use crate::source::capture::read_capture;
use crate::source::log::{default_threads, read_chunks};
use crate::source::{Input, open_input};
use color_eyre::{Result, eyre::WrapErr, eyre::eyre};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FormatArg {
    #[default]
    Text,
    Json,
    Markdown,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The event log (JSON Lines, optionally .zst) or a packet capture (pcap, pcapng), told
    /// apart by their first bytes; `-` reads standard input.
    pub file: PathBuf,
    /// Output format: text for a person, json for scripts, markdown for an incident document.
    #[arg(long, short, value_enum, default_value_t)]
    pub format: FormatArg,
    /// Also list the first skipped lines, with their line numbers and reasons.
    #[arg(long, short)]
    pub verbose: bool,
    /// Parser threads (default: one per core). The report is the same at any number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub thresholds: super::ThresholdArgs,
}

/// Shows how far reading has come on stderr, once reading takes more than a second.
struct ProgressLine {
    started: Instant,
    last: Instant,
    total: Option<u64>,
    enabled: bool,
    shown: bool,
}

impl ProgressLine {
    fn new(total: Option<u64>) -> ProgressLine {
        let now = Instant::now();
        ProgressLine {
            started: now,
            last: now,
            total,
            enabled: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    fn update(&mut self, bytes: u64) {
        let now = Instant::now();
        if !self.enabled
            || now - self.started < Duration::from_secs(1)
            || now - self.last < Duration::from_millis(200)
        {
            return;
        }
        self.last = now;
        self.shown = true;
        let mb = bytes as f64 / 1e6;
        let pct = self
            .total
            .filter(|t| *t > 0)
            .map(|t| format!(" ({:.0} %)", (bytes as f64 * 100.0 / t as f64).min(100.0)))
            .unwrap_or_default();
        eprint!("\rreading… {mb:.0} MB{pct}   ");
        let _ = std::io::stderr().flush();
    }

    fn finish(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}

pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let Some(rules) = args.thresholds.rules()? else {
        return Ok(ExitCode::SUCCESS);
    };
    super::check_stdout()?;
    let shown = args.file.display().to_string();
    let reader = match open_input(&args.file).wrap_err_with(|| format!("cannot read {shown}"))? {
        Input::Log(reader) => reader,
        Input::Capture(input) => return report_capture(&args, &rules, input),
    };
    let size = std::fs::metadata(&args.file)
        .ok()
        .filter(|m| m.is_file() && !shown.ends_with(".zst"))
        .map(|m| m.len());
    let mut progress = ProgressLine::new(size);
    let mut model = rules.model();
    let threads = args.threads.map_or_else(default_threads, usize::from);
    let skipped = read_chunks(
        reader,
        threads,
        &mut |_, events| events.iter().for_each(|ev| model.apply(0, ev)),
        &mut |bytes| progress.update(bytes),
    )
    .wrap_err_with(|| format!("cannot read {shown}"));
    progress.finish();
    let skipped = skipped?;
    model.finish();
    model.note_skipped(skipped.count);
    let examples: Vec<(u64, String)> = skipped
        .first
        .iter()
        .map(|s| (s.line, s.reason.clone()))
        .collect();
    let report = Report::with_skipped(&model, &rules, if args.verbose { &examples } else { &[] });
    print_report(&report, args.format)?;
    if args.verbose && args.format != FormatArg::Json && !examples.is_empty() {
        eprintln!("skipped lines (first {}):", examples.len());
        for (line, reason) in &examples {
            eprintln!("  line {line}: {}", crate::sanitize::inert(reason));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A capture instead of a log: its packets decoded into events for the model; what the
/// capture could not show (gaps, TLS, a cut-short file) said on stderr.
fn report_capture(
    args: &ReportArgs,
    rules: &crate::findings::Rules,
    input: Box<dyn std::io::Read + Send>,
) -> Result<ExitCode> {
    let shown = args.file.display().to_string();
    let size = std::fs::metadata(&args.file)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let mut progress = ProgressLine::new(size);
    let mut model = rules.model();
    let read = read_capture(
        input,
        Vec::new(),
        &mut |events| events.iter().for_each(|ev| model.apply(0, ev)),
        &mut |bytes| progress.update(bytes),
    );
    progress.finish();
    let (stats, end) = read.map_err(|e| eyre!("cannot read {shown}: {e}"))?;
    model.finish();
    let report = Report::with_skipped(&model, rules, &[]);
    print_report(&report, args.format)?;
    eprintln!("{}", crate::sanitize::inert(&stats.summary()));
    if let Some(problem) = &end.problem {
        eprintln!("{shown}: {}", crate::sanitize::inert(problem));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &Report, format: FormatArg) -> Result<()> {
    super::print_out(&report.render(format.into()), false)
}
