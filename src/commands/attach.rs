//! `wscope attach` (not built yet).

use color_eyre::{Result, eyre::bail};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct AttachArgs {}

pub fn run(_args: AttachArgs) -> Result<ExitCode> {
    bail!("`wscope attach` is not available in this build yet")
}
