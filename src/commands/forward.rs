//! Between a live source and whoever reads it: `--record` writes every event before it is
//! handed on, so a slow screen never loses a recorded event, and one loop forwards any
//! source's messages to the dashboard.

use crate::event::{Event, EventKind, to_json_line};
use crate::sanitize::inert;
use crate::source::SourceMsg;
use crate::source::record::{Recorder, frame_with_server};
use color_eyre::{Result, eyre::WrapErr};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often a recording is flushed while events keep coming.
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// `--record`, if asked: writes what the sources sent, event by event.
pub(super) struct Recording {
    recorder: Option<Recorder>,
    /// Per source: the server name to stamp on recorded events when several sources share
    /// one file (from its `hello`, until then its label).
    names: Vec<String>,
}

impl Recording {
    /// A recording to `path` (none without it) of the sources labelled `labels`.
    pub(super) fn create(path: Option<&PathBuf>, labels: &[String]) -> Result<Recording> {
        // The error names the file already.
        let recorder = path.map(|p| Recorder::create(p)).transpose()?;
        Ok(Recording {
            recorder,
            names: labels.iter().map(|u| inert(u).into_owned()).collect(),
        })
    }

    /// Records `msg` if it is an event.
    pub(super) fn write(&mut self, msg: &SourceMsg) -> Result<()> {
        match msg {
            SourceMsg::Event {
                source, event, raw, ..
            } => self.write_event(*source, event, raw.as_deref()),
            _ => Ok(()),
        }
    }

    /// Records one event of source `source`: its line as received when there is one, else
    /// the event written out.
    pub(super) fn write_event(
        &mut self,
        source: usize,
        event: &Event,
        raw: Option<&str>,
    ) -> Result<()> {
        if let EventKind::Hello(_) = &event.kind
            && let Some(name) = &event.server
            && let Some(slot) = self.names.get_mut(source)
        {
            *slot = name.to_string();
        }
        let several = self.names.len() > 1;
        let Some(rec) = self.recorder.as_mut() else {
            return Ok(());
        };
        // One source: the line as received. Several in one file: every event names its
        // server, since "the latest hello" no longer tells which source it came from.
        let name = self
            .names
            .get(source)
            .filter(|_| several && event.server.is_none());
        let written = match (name, raw) {
            (Some(name), raw) => match raw.and_then(|raw| frame_with_server(raw, name)) {
                Some(frame) => rec.write_frame(&frame),
                None => {
                    let mut stamped = event.clone();
                    stamped.server = Some(name.as_str().into());
                    rec.write_frame(&to_json_line(&stamped))
                }
            },
            (None, Some(raw)) => rec.write_frame(raw),
            (None, None) => rec.write_frame(&to_json_line(event)),
        };
        written.wrap_err_with(|| format!("cannot write {}", rec.path().display()))
    }

    /// Flushes what was written (called every [`FLUSH_EVERY`] while events come).
    pub(super) fn tick(&mut self) -> Result<()> {
        if let Some(rec) = self.recorder.as_mut() {
            rec.tick()
                .wrap_err_with(|| format!("cannot write {}", rec.path().display()))?;
        }
        Ok(())
    }

    /// Writes the rest and closes the file, saying where it went.
    pub(super) fn finish(&mut self) -> Result<()> {
        if let Some(rec) = self.recorder.as_mut() {
            rec.finish()
                .wrap_err_with(|| format!("cannot write {}", rec.path().display()))?;
            eprintln!(
                "wscope: recorded {} events to {}",
                rec.lines(),
                rec.path().display()
            );
        }
        Ok(())
    }
}

/// Hands every message of `from` to the dashboard (`to`), recording events first, until the
/// source ends; then closes the recording. A dashboard that ended stops receiving, while the
/// recording goes on to the source's end (its caller stops the source).
pub(super) async fn forward(
    mut from: mpsc::Receiver<SourceMsg>,
    to: mpsc::Sender<SourceMsg>,
    mut recording: Recording,
) -> Result<()> {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    let mut dashboard_open = true;
    loop {
        tokio::select! {
            msg = from.recv() => {
                let Some(msg) = msg else { break };
                recording.write(&msg)?;
                if dashboard_open {
                    dashboard_open = to.send(msg).await.is_ok();
                }
            }
            _ = tick.tick() => recording.tick()?,
        }
    }
    recording.finish()
}
