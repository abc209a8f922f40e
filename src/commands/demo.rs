//! `wscope demo` (not built yet).

use color_eyre::{Result, eyre::bail};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {}

pub fn run(_args: DemoArgs) -> Result<ExitCode> {
    bail!("`wscope demo` is not available in this build yet")
}
