//! `wscope report FILE`: analyse a recorded log headless and print its findings.

use crate::model::fleet::Fleet;
use crate::report::{Format, Report};
use crate::source::capture::read_capture;
use crate::source::log::{default_threads, read_chunks};
use crate::source::{Input, open_input};
use color_eyre::{Result, eyre::WrapErr, eyre::eyre};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
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
    /// Event logs (JSON Lines, optionally .zst) or packet captures (pcap, pcapng), told
    /// apart by their first bytes; `-` reads standard input; a directory means the files in
    /// it. Several are merged in event time, each its own server unless its events name
    /// theirs.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
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
pub(super) struct ProgressLine {
    started: Instant,
    last: Instant,
    total: Option<u64>,
    enabled: bool,
    shown: bool,
}

impl ProgressLine {
    pub(super) fn new(total: Option<u64>) -> ProgressLine {
        let now = Instant::now();
        ProgressLine {
            started: now,
            last: now,
            total,
            enabled: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    pub(super) fn update(&mut self, bytes: u64) {
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

    pub(super) fn finish(&self) {
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
    let files = expand_dirs(&args.files)?;
    if let [file] = &files[..] {
        return report_one(&args, &rules, file);
    }
    super::report_many::run(&args, &rules, &files)
}

/// The files named, a directory standing for the files in it (not hidden ones), by name.
fn expand_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" || !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let shown = crate::sanitize::inert(&path.display().to_string()).into_owned();
        let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
            .wrap_err_with(|| format!("cannot read the directory {shown}"))?
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        if inside.is_empty() {
            return Err(eyre!("{shown}: no files in this directory"));
        }
        inside.sort();
        files.extend(inside);
    }
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(eyre!("standard input (-) can be read only once"));
    }
    Ok(files)
}

fn report_one(args: &ReportArgs, rules: &crate::findings::Rules, file: &Path) -> Result<ExitCode> {
    let shown = file.display().to_string();
    let reader = match open_input(file).wrap_err_with(|| format!("cannot read {shown}"))? {
        Input::Log(reader) => reader,
        Input::Capture(input) => return report_capture(args, rules, file, input),
    };
    let size = std::fs::metadata(file)
        .ok()
        .filter(|m| m.is_file() && !shown.ends_with(".zst"))
        .map(|m| m.len());
    let mut progress = ProgressLine::new(size);
    let mut fleet = Fleet::new(rules.model());
    let threads = args.threads.map_or_else(default_threads, usize::from);
    let skipped = read_chunks(
        reader,
        threads,
        &mut |_, events| events.iter().for_each(|ev| fleet.apply(0, ev)),
        &mut |bytes| progress.update(bytes),
    )
    .wrap_err_with(|| format!("cannot read {shown}"));
    progress.finish();
    let skipped = skipped?;
    fleet.finish();
    fleet.note_skipped(skipped.count);
    let examples: Vec<(u64, String)> = skipped
        .first
        .iter()
        .map(|s| (s.line, s.reason.clone()))
        .collect();
    let report = Report::from_fleet(&fleet, rules, if args.verbose { &examples } else { &[] });
    print_report(&report, args.format)?;
    if args.verbose && args.format != FormatArg::Json {
        print_skipped(&examples);
    }
    Ok(ExitCode::SUCCESS)
}

/// A capture instead of a log: its packets decoded into events for the model; what the
/// capture could not show (gaps, TLS, a cut-short file) said on stderr.
fn report_capture(
    args: &ReportArgs,
    rules: &crate::findings::Rules,
    file: &Path,
    input: Box<dyn std::io::Read + Send>,
) -> Result<ExitCode> {
    let shown = file.display().to_string();
    let size = std::fs::metadata(file)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let mut progress = ProgressLine::new(size);
    let mut fleet = Fleet::new(rules.model());
    let read = read_capture(
        input,
        Vec::new(),
        &mut |events| events.iter().for_each(|ev| fleet.apply(0, ev)),
        &mut |bytes| progress.update(bytes),
    );
    progress.finish();
    let (stats, end) = read.map_err(|e| eyre!("cannot read {shown}: {e}"))?;
    fleet.finish();
    let report = Report::from_fleet(&fleet, rules, &[]);
    print_report(&report, args.format)?;
    eprintln!("{}", crate::sanitize::inert(&stats.summary()));
    if let Some(problem) = &end.problem {
        eprintln!("{shown}: {}", crate::sanitize::inert(problem));
    }
    Ok(ExitCode::SUCCESS)
}

/// The first skipped lines, for `--verbose`, on stderr.
pub(super) fn print_skipped(examples: &[(u64, String)]) {
    if examples.is_empty() {
        return;
    }
    eprintln!("skipped lines (first {}):", examples.len());
    for (line, reason) in examples {
        eprintln!("  line {line}: {}", crate::sanitize::inert(reason));
    }
}

pub(super) fn print_report(report: &Report, format: FormatArg) -> Result<()> {
    super::print_out(&report.render(format.into()), false)
}
