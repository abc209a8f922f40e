//! `wscope report` over several logs and captures: merged in event time, each input its own
//! server (named after its file) unless its events name theirs.

use super::report::{FormatArg, ReportArgs, print_report, print_skipped};
use crate::findings::Rules;
use crate::model::fleet::Fleet;
use crate::report::Report;
use crate::sanitize::inert;
use crate::source::merge::read_merged;
use crate::source::open_input;
use color_eyre::{Result, eyre::WrapErr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(super) fn run(args: &ReportArgs, rules: &Rules, files: &[PathBuf]) -> Result<ExitCode> {
    // Every input opens before any is read: a wrong name fails at once, not after minutes.
    let mut inputs = Vec::new();
    for file in files {
        let shown = inert(&file.display().to_string()).into_owned();
        inputs.push(open_input(file).wrap_err_with(|| format!("cannot read {shown}"))?);
    }
    let mut fleet = Fleet::new(rules.model());
    let names: Vec<String> = files.iter().map(|f| server_name(f)).collect();
    for (source, name) in names.iter().enumerate() {
        fleet.name_source(source, name);
    }
    // One parser per input: with two inputs or more, every core has one.
    let ends = read_merged(inputs, 1, &mut |source, ev| fleet.apply(source, ev));
    fleet.finish();
    let mut examples = Vec::new();
    let mut skipped = 0;
    for (end, file) in ends.iter().zip(files) {
        skipped += end.skipped.count;
        let shown = file.display();
        examples.extend(
            end.skipped
                .first
                .iter()
                .map(|s| (s.line, format!("{shown}: {}", s.reason))),
        );
    }
    fleet.note_skipped(skipped);
    let report = Report::from_fleet(&fleet, rules, if args.verbose { &examples } else { &[] });
    print_report(&report, args.format)?;
    if args.verbose && args.format != FormatArg::Json {
        print_skipped(&examples);
    }
    let mut failed = false;
    for (end, file) in ends.iter().zip(files) {
        let shown = inert(&file.display().to_string()).into_owned();
        if let Some(summary) = &end.capture_summary {
            eprintln!("{shown}: {}", inert(summary));
        }
        if let Some(problem) = &end.problem {
            eprintln!("{shown}: {}", inert(problem));
        }
        if let Some(error) = &end.error {
            eprintln!(
                "error: cannot read {shown}: {} (the report covers what came before)",
                inert(error)
            );
            failed = true;
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A log's server until its events name one: its file name without the extensions logs and
/// captures have.
fn server_name(file: &Path) -> String {
    if file.as_os_str() == "-" {
        return "stdin".into();
    }
    let mut name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    const EXTENSIONS: [&str; 7] = [
        ".zst", ".jsonl", ".ndjson", ".json", ".log", ".pcapng", ".pcap",
    ];
    while let Some(stem) = EXTENSIONS
        .iter()
        .find_map(|ext| name.strip_suffix(ext).filter(|s| !s.is_empty()))
    {
        name = stem.to_string();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_named_after_its_file() {
        assert_eq!(server_name(Path::new("logs/chat-1.jsonl.zst")), "chat-1");
        assert_eq!(server_name(Path::new("edge.pcapng")), "edge");
        assert_eq!(server_name(Path::new("notes.txt")), "notes.txt");
        assert_eq!(server_name(Path::new(".jsonl")), ".jsonl");
        assert_eq!(server_name(Path::new("-")), "stdin");
    }
}
