//! The `wscope` binary: parses the command line and runs one subcommand.

use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use wscope::commands::{Cli, run};

/// Whether standard output was closed when the process started (`wscope report >&-`). Rust's
/// runtime opens /dev/null on a closed standard descriptor before `main`, after which a
/// report would vanish with exit 0; so this is looked at earlier, by a constructor the loader
/// runs before the runtime starts.
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static CHECK_STDOUT: extern "C" fn() = {
    extern "C" fn check_stdout() {
        unsafe extern "C" {
            fn fcntl(fd: i32, cmd: i32, ...) -> i32;
        }
        const F_GETFD: i32 = 1;
        // SAFETY: F_GETFD only reads the descriptor's flags; -1 means it is not open.
        let closed = unsafe { fcntl(1, F_GETFD) } == -1;
        STDOUT_CLOSED_AT_START.store(closed, Ordering::Relaxed);
    }
    check_stdout
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) {
        wscope::commands::stdout_was_closed();
    }
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // One line, no backtrace: this is what a person at 3 AM reads.
            eprintln!("wscope: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
