//! `wscope report` (not built yet).

use color_eyre::{Result, eyre::bail};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {}

pub fn run(_args: ReportArgs) -> Result<ExitCode> {
    bail!("`wscope report` is not available in this build yet")
}
