//! `wscope probe` (not built yet).

use color_eyre::{Result, eyre::bail};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {}

pub fn run(_args: ProbeArgs) -> Result<ExitCode> {
    bail!("`wscope probe` is not available in this build yet")
}
