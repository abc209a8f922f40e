//! `wscope replay` (not built yet).

use color_eyre::{Result, eyre::bail};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {}

pub fn run(_args: ReplayArgs) -> Result<ExitCode> {
    bail!("`wscope replay` is not available in this build yet")
}
