//! Several logs and captures read at once and merged in event time. Each input is parsed on
//! its own thread, in batches through a short queue; this thread takes the earliest next
//! event of all of them, ties going to the input given first. Every input's own order is
//! kept, so the merged stream depends only on the inputs, never on the threads' timing.

use super::Input;
use super::capture::read_capture;
use super::log::{Skipped, read_chunks};
use crate::event::{Event, Ts};
use crossbeam_channel as channel;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// How reading one input ended.
#[derive(Debug, Default)]
pub struct InputEnd {
    /// Lines of a log that were not valid events.
    pub skipped: Skipped,
    /// What a capture's reader says about it (packets, gaps, TLS), when it was one.
    pub capture_summary: Option<String>,
    /// What a capture could not show (cut short, corrupt): what came before was read.
    pub problem: Option<String>,
    /// Why reading failed (a read error): what came before was read and merged.
    pub error: Option<String>,
}

/// Batches in flight per input: enough to keep its parser busy while this thread merges.
const QUEUE: usize = 4;

/// Reads every input to its end, calling `on_event` with each event and its input's index
/// in merged order; returns how each input ended, in the order given.
pub fn read_merged(
    inputs: Vec<Input>,
    threads_per_input: usize,
    on_event: &mut dyn FnMut(usize, &Event),
) -> Vec<InputEnd> {
    let mut readers = Vec::new();
    let mut queues = Vec::new();
    for input in inputs {
        let (tx, rx) = channel::bounded::<Vec<Event>>(QUEUE);
        queues.push(rx);
        readers.push(std::thread::spawn(move || {
            read_one(input, threads_per_input, tx)
        }));
    }
    merge(&queues, on_event);
    drop(queues);
    readers
        .into_iter()
        .map(|r| {
            r.join().unwrap_or_else(|_| InputEnd {
                error: Some("its reader stopped unexpectedly".into()),
                ..InputEnd::default()
            })
        })
        .collect()
}

/// One input's thread: its events in batches, as its reader gives them.
fn read_one(input: Input, threads: usize, tx: channel::Sender<Vec<Event>>) -> InputEnd {
    let mut send = |events: &[Event]| {
        if !events.is_empty() {
            // The merging side hangs up only when it is done with every input.
            let _ = tx.send(events.to_vec());
        }
    };
    match input {
        Input::Log(reader) => {
            match read_chunks(reader, threads, &mut |_, e| send(e), &mut |_| {}) {
                Ok(skipped) => InputEnd {
                    skipped,
                    ..InputEnd::default()
                },
                Err(e) => InputEnd {
                    error: Some(e.to_string()),
                    ..InputEnd::default()
                },
            }
        }
        Input::Capture(bytes) => match read_capture(bytes, Vec::new(), &mut send, &mut |_| {}) {
            Ok((stats, end)) => InputEnd {
                capture_summary: Some(stats.summary()),
                problem: end.problem,
                ..InputEnd::default()
            },
            Err(e) => InputEnd {
                error: Some(e),
                ..InputEnd::default()
            },
        },
    }
}

/// The k-way merge: a heap of each input's next event time.
fn merge(queues: &[channel::Receiver<Vec<Event>>], on_event: &mut dyn FnMut(usize, &Event)) {
    let mut heads: Vec<(Vec<Event>, usize)> = Vec::with_capacity(queues.len());
    let mut next: BinaryHeap<Reverse<(Ts, usize)>> = BinaryHeap::new();
    for (input, rx) in queues.iter().enumerate() {
        let batch = rx.recv().unwrap_or_default();
        if let Some(first) = batch.first() {
            next.push(Reverse((first.ts, input)));
        }
        heads.push((batch, 0));
    }
    while let Some(Reverse((_, input))) = next.pop() {
        let (batch, at) = &mut heads[input];
        on_event(input, &batch[*at]);
        *at += 1;
        if *at == batch.len() {
            // Batches are never empty: a closed queue is the input's end.
            *batch = queues[input].recv().unwrap_or_default();
            *at = 0;
        }
        if let Some(ev) = batch.get(*at) {
            next.push(Reverse((ev.ts, input)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::log::LogReader;

    fn log(lines: &[(&str, i64)]) -> Input {
        let text: String = lines
            .iter()
            .map(|(conn, s)| {
                let ts = Ts(crate::scenario::START.0 + s * crate::event::SECOND).to_rfc3339();
                format!("{{\"type\":\"ping\",\"ts\":\"{ts}\",\"conn\":\"{conn}\"}}\n")
            })
            .collect();
        Input::Log(LogReader::from_reader(Box::new(std::io::Cursor::new(text))).unwrap())
    }

    fn merged(inputs: Vec<Input>) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        read_merged(inputs, 1, &mut |i, ev| {
            if let crate::event::EventKind::Ping { conn } = &ev.kind {
                out.push((i, conn.to_string()));
            }
        });
        out
    }

    #[test]
    fn events_come_in_time_order_and_ties_go_to_the_first_input() {
        let a = log(&[("a1", 1), ("a2", 3), ("a3", 3)]);
        let b = log(&[("b1", 0), ("b2", 3), ("b3", 9)]);
        let got = merged(vec![a, b]);
        let want = [
            (1, "b1"),
            (0, "a1"),
            (0, "a2"),
            (0, "a3"),
            (1, "b2"),
            (1, "b3"),
        ];
        let want: Vec<(usize, String)> = want.iter().map(|(i, c)| (*i, c.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_input_out_of_order_keeps_its_own_order() {
        let a = log(&[("a1", 5), ("a2", 2)]);
        let b = log(&[("b1", 3)]);
        let got: Vec<String> = merged(vec![a, b]).into_iter().map(|(_, c)| c).collect();
        assert_eq!(got, ["b1", "a1", "a2"]);
    }

    #[test]
    fn an_empty_input_ends_at_once() {
        let got = merged(vec![log(&[]), log(&[("b1", 1)]), log(&[])]);
        assert_eq!(got, [(1, "b1".to_string())]);
    }
}
