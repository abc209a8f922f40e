//! Terminal setup and restore: raw mode and the alternate screen on entry, and the terminal
//! handed back intact on every way out (normal exit, error, panic in any thread, signal).
//!
//! Mouse capture stays off (it blocks copying text over SSH and leaves garbage after an unclean
//! exit) and no keyboard-enhancement probe is sent (tmux lacks it; the probe can wait 2 s).

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};
use std::io::{self, BufWriter, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// Buffered so that one frame goes out in one write, not one per cell run.
pub type Tui = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Whether the terminal is currently in our raw/alternate mode; restore is idempotent.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Enters raw mode and the alternate screen and returns the ratatui terminal. The guard
/// restores the terminal when dropped.
pub fn enter() -> io::Result<(Tui, TerminalGuard)> {
    install_panic_hook();
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let guard = TerminalGuard { _private: () };
    let mut out = io::stdout();
    // Cleared here rather than with `Terminal::clear`, which asks the terminal for the cursor
    // position and fails when nothing answers within 2 s.
    execute!(
        out,
        terminal::EnterAlternateScreen,
        terminal::Clear(terminal::ClearType::All),
        cursor::Hide
    )?;
    let backend = CrosstermBackend::new(BufWriter::with_capacity(64 * 1024, io::stdout()));
    let term = Terminal::new(backend)?;
    Ok((term, guard))
}

/// Leaves the alternate screen, shows the cursor and turns raw mode off. Safe to call more
/// than once and from the panic hook.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
        let _ = terminal::disable_raw_mode();
        let _ = out.flush();
    }
}

/// Lets go of the ratatui terminal at the end of a run. Its drop shows the cursor and, when
/// the terminal is gone (SSH or the tmux pane died), prints "Failed to show the cursor" on
/// stderr; [`restore`] does the same job quietly, so a failed attempt is left at that.
pub fn leave(mut term: Tui) {
    if term.show_cursor().is_err() {
        std::mem::forget(term);
    }
}

pub struct TerminalGuard {
    _private: (),
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// A panic anywhere (a background tokio task included) restores the terminal, prints the
/// message through the previous hook, and ends the process: a runtime that keeps going behind
/// a dead UI would leave the operator's terminal unusable.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
            std::process::exit(101);
        }));
    });
}
