//! The `wscope` binary: parses the command line and runs one subcommand.

use clap::Parser;
use std::process::ExitCode;
use wscope::commands::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // One line, no backtrace: this is what a person at 3 AM reads.
            eprintln!("wscope: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
