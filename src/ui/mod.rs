//! The interactive dashboard: one event loop for live feeds and replays.
//!
//! Entry points are source-agnostic: [`run_live`] takes a channel of [`SourceMsg`] from any
//! live source (admin feeds, the in-process tap); [`run_replay`] plays a log through a
//! [`playback::Playback`]. Both share one event loop: one `select!` over terminal input,
//! signals, the source, a timer, and the refresh of derived data ([`refresh`]), which runs
//! on a worker thread over the shared model (no event is applied meanwhile) so that keys are
//! answered while it runs, even at a million connections. The screen is redrawn at once after
//! a key, when a refresh is in (they start at most [`FRAME_INTERVAL`] apart) and at least
//! once a second.
//!
//! Wiring a live source (what `attach`, `demo` and `capture` do, with a recorder between):
//! every live source sends [`SourceMsg`]s, which go to the dashboard unchanged.
//!
//! ```ignore
//! let (feeds, messages) = feed::spawn(&urls, options)?;
//! ui::run_live(UiConfig { sources: urls, ..config }, messages).await?;
//! feeds.stop();
//! ```

pub mod conn_view;
pub mod dashboard;
pub mod keymap;
pub mod layout;
pub mod panels;
pub mod playback;
pub mod player;
pub mod recent;
pub mod refresh;
pub mod servers_view;
pub mod terminal;
pub mod theme;
pub mod view;

use crate::source::{SourceMsg, SourceState};
use color_eyre::{Result, eyre::eyre};
use futures_util::StreamExt;
use ratatui::crossterm::event::EventStream;
use std::future::poll_fn;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub use dashboard::Dashboard;

/// The shortest gap between two frames: the screen changes at most this often, which keeps
/// output over SSH small while still feeling live.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(250);
/// The longest gap: a redraw at least this often also notices a dead terminal.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// The most source messages applied in one go before input is looked at again.
const DRAIN_BUDGET: Duration = Duration::from_millis(5);

/// One source as the header shows it: a label (server URL or log file) and its state.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceInfo {
    pub label: String,
    pub state: SourceState,
    /// When the state last changed (wall time: how long a feed has been down).
    pub since: Option<Instant>,
    /// When its last event arrived (how long a connected feed has been silent).
    pub last_event: Option<Instant>,
}

/// A connected feed with no event for this long is said to be silent: a tap emits `process`
/// figures every 10 s, and a busy server far more.
pub const SILENT_AFTER: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct UiConfig {
    /// One label per source index (URLs for `attach`, the file for `replay`).
    pub sources: Vec<String>,
    pub ascii: bool,
    /// The findings and their thresholds (`--threshold`).
    pub rules: crate::findings::Rules,
    /// Lines for the top of the `?` help: what the user may need while the screen hides
    /// stderr (the demo's admin feed and its generated token).
    pub about: Vec<String>,
}

/// Runs the dashboard on a live source until `q`, a signal, or a dead terminal.
pub async fn run_live(config: UiConfig, rx: mpsc::Receiver<SourceMsg>) -> Result<()> {
    let (term, _guard) = terminal::enter()?;
    let size = term.size()?;
    let mut dash = Dashboard::new(&config, false, size.into());
    event_loop(term, &mut dash, Driver::Live(rx)).await
}

/// Runs the dashboard over a replay until `q`, a signal, or a dead terminal.
pub async fn run_replay(config: UiConfig, playback: playback::Playback) -> Result<()> {
    let (term, _guard) = terminal::enter()?;
    let size = term.size()?;
    let mut dash = Dashboard::new(&config, true, size.into());
    event_loop(term, &mut dash, Driver::Replay(Box::new(playback))).await
}

enum Driver {
    Live(mpsc::Receiver<SourceMsg>),
    Replay(Box<playback::Playback>),
}

async fn event_loop(mut term: terminal::Tui, dash: &mut Dashboard, driver: Driver) -> Result<()> {
    let result = run_loop(&mut term, dash, driver).await;
    terminal::leave(term);
    result
}

async fn run_loop(
    term: &mut terminal::Tui,
    dash: &mut Dashboard,
    mut driver: Driver,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut input = EventStream::new();
    let mut live_open = matches!(driver, Driver::Live(_));
    let mut pace = Pacing::default();
    // The findings, leak rows and sorted table of new data are computed on a worker thread,
    // so keys are answered meanwhile; no event is applied until it is done.
    let mut refreshing: Option<tokio::task::JoinHandle<refresh::Refreshed>> = None;

    loop {
        // Keys that came while events were applied go first: the frame drawn next shows them,
        // rather than a data frame first and theirs after it.
        // (Polled with this task's waker: crossterm's stream keeps the waker of the poll that
        // found nothing, so a no-op waker here would leave the select below asleep.)
        while let Poll::Ready(ev) = poll_fn(|cx| Poll::Ready(input.poll_next_unpin(cx))).await {
            pace.key_pressed = true;
            if on_input(ev, dash, &mut driver, refreshing.is_some())? == Flow::Quit {
                return Ok(());
            }
        }
        let now = Instant::now();
        step(term, dash, &mut driver, &mut pace, &mut refreshing, now)?;
        let mut wait = pace.wait(now, dash, refreshing.is_some());
        if let (Driver::Replay(p), None) = (&mut driver, &refreshing) {
            wait = wait.min(p.next_wake(now));
        }
        let rx = match &mut driver {
            Driver::Live(rx) => Some(rx),
            Driver::Replay(_) => None,
        };
        tokio::select! {
            biased;
            _ = hangup.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
            ev = input.next() => {
                pace.key_pressed = true;
                if on_input(ev, dash, &mut driver, refreshing.is_some())? == Flow::Quit {
                    return Ok(());
                }
            }
            done = join(refreshing.as_mut()) => {
                refreshing = None;
                match done {
                    Ok(done) => dash.install(done),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(e) => return Err(eyre!("the dashboard's refresh stopped: {e}")),
                }
                pace.refreshed = true;
            }
            msg = recv(rx), if live_open && refreshing.is_none() => match msg {
                Some(msg) => {
                    dash.apply_msg(msg);
                    if let Driver::Live(rx) = &mut driver {
                        drain(rx, dash);
                    }
                }
                None => {
                    live_open = false;
                    dash.sources_ended();
                }
            },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// What the loop does between waits: plays a replay forward, starts a refresh that is due,
/// and draws a frame that is due.
fn step(
    term: &mut terminal::Tui,
    dash: &mut Dashboard,
    driver: &mut Driver,
    pace: &mut Pacing,
    refreshing: &mut Option<tokio::task::JoinHandle<refresh::Refreshed>>,
    now: Instant,
) -> Result<()> {
    if let (Driver::Replay(p), None) = (driver, &*refreshing) {
        p.advance(now, dash);
    }
    if refreshing.is_none()
        && pace.refresh_due(now).is_zero()
        && let Some(job) = dash.refresh()
    {
        *refreshing = Some(tokio::task::spawn_blocking(move || job.run()));
        pace.last_refresh = Some(now);
    }
    if pace.frame_due(now, dash, refreshing.is_some()) {
        if pace.last_draw.is_none() {
            dash.prepare();
            debug_panic_hook_check();
        } else {
            dash.prepare_view();
        }
        term.draw(|frame| dash.render(frame, now))?;
        dash.view.dirty = false;
        pace.drawn(now);
    }
    Ok(())
}

/// When the event loop draws: at once after a key or a refresh, for other changes at most
/// every [`FRAME_INTERVAL`], and at least every [`HEARTBEAT`]; refreshes of new data start at
/// most every [`FRAME_INTERVAL`].
#[derive(Default)]
struct Pacing {
    last_draw: Option<Instant>,
    last_refresh: Option<Instant>,
    key_pressed: bool,
    refreshed: bool,
}

impl Pacing {
    /// How long until a refresh may start (zero: now). Not before the first frame, which
    /// computes its data in place.
    fn refresh_due(&self, now: Instant) -> Duration {
        if self.last_draw.is_none() {
            return HEARTBEAT;
        }
        let since = self
            .last_refresh
            .map_or(FRAME_INTERVAL, |t| now.duration_since(t));
        FRAME_INTERVAL.saturating_sub(since)
    }

    fn frame_due(&self, now: Instant, dash: &Dashboard, refreshing: bool) -> bool {
        // New data is drawn when its refresh is in; other changes (a source's state, the
        // replay clock) at most every FRAME_INTERVAL.
        let waiting_for_data = refreshing || dash.data_pending();
        match self.last_draw {
            None => true,
            Some(_) if self.key_pressed || self.refreshed => true,
            Some(t) if dash.view.dirty && !waiting_for_data => {
                now.duration_since(t) >= FRAME_INTERVAL
            }
            Some(t) => now.duration_since(t) >= HEARTBEAT,
        }
    }

    fn drawn(&mut self, now: Instant) {
        self.last_draw = Some(now);
        self.key_pressed = false;
        self.refreshed = false;
    }

    /// How long the loop may sleep when nothing arrives.
    fn wait(&self, now: Instant, dash: &Dashboard, refreshing: bool) -> Duration {
        let since = self
            .last_draw
            .map(|t| now.duration_since(t))
            .unwrap_or_default();
        let wait = HEARTBEAT.saturating_sub(since);
        if refreshing {
            wait
        } else if dash.data_pending() {
            wait.min(self.refresh_due(now))
        } else if dash.view.dirty {
            wait.min(FRAME_INTERVAL.saturating_sub(since))
        } else {
            wait
        }
    }
}

#[derive(PartialEq)]
enum Flow {
    Continue,
    Quit,
}

/// What one item of terminal input does. While a refresh holds the model, a replay's key
/// only steers the player: the events it makes due are applied after.
fn on_input(
    ev: Option<std::io::Result<ratatui::crossterm::event::Event>>,
    dash: &mut Dashboard,
    driver: &mut Driver,
    refreshing: bool,
) -> Result<Flow> {
    match ev {
        Some(Ok(ev)) => {
            if let Some(action) = dash.handle_input(&ev) {
                match (action, driver) {
                    (view::Action::Quit, _) => return Ok(Flow::Quit),
                    (action, Driver::Replay(p)) if refreshing => {
                        p.steer(action, Instant::now(), dash)
                    }
                    (action, Driver::Replay(p)) => p.act(action, Instant::now(), dash),
                    (_, Driver::Live(_)) => {}
                }
            }
            Ok(Flow::Continue)
        }
        // A terminal that stops giving input is gone (SSH or tmux pane died): staying would
        // spin on a dead tty.
        Some(Err(e)) => Err(eyre!("terminal input failed: {e}")),
        None => Err(eyre!("terminal input ended")),
    }
}

async fn join<T>(
    task: Option<&mut tokio::task::JoinHandle<T>>,
) -> Result<T, tokio::task::JoinError> {
    match task {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

/// Debug builds only: `WSCOPE_DEBUG_PANIC=1` panics in a background task after the first
/// frame, so the end-to-end tests can check that a panic restores the terminal.
fn debug_panic_hook_check() {
    #[cfg(debug_assertions)]
    if std::env::var_os("WSCOPE_DEBUG_PANIC").is_some() {
        tokio::spawn(async { panic!("WSCOPE_DEBUG_PANIC: a panic in a background task") });
    }
}

async fn recv(rx: Option<&mut mpsc::Receiver<SourceMsg>>) -> Option<SourceMsg> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Applies what is already queued, up to a time budget, so a busy feed costs one wake-up per
/// batch rather than one per event, and input still gets a turn.
pub fn drain(rx: &mut mpsc::Receiver<SourceMsg>, dash: &mut Dashboard) {
    let start = Instant::now();
    loop {
        for _ in 0..1024 {
            match rx.try_recv() {
                Ok(msg) => dash.apply_msg(msg),
                Err(_) => return,
            }
        }
        if start.elapsed() >= DRAIN_BUDGET {
            return;
        }
    }
}
