//! Reading a whole log on every core: a reader thread cuts chunks of whole lines, parser
//! threads parse them, and the caller's thread takes them back in log order. The chunks and
//! their order do not depend on the number of threads, so neither does anything built from
//! them.

use super::log::{Chunk, LogReader, Parsed, Skipped, Span, parse_chunk_into};
use crate::event::Event;
use crossbeam_channel as channel;
use std::collections::BTreeMap;
use std::io;

/// Progress of [`read_log`]: bytes read so far.
pub type Progress<'a> = &'a mut dyn FnMut(u64);

/// Parser threads by default: one per core. The caller's thread, which folds events into a
/// model, costs a small share of a core next to parsing.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Reads a whole log, calling `on_event` for each valid event in order, and returns what was
/// skipped.
pub fn read_log(
    reader: LogReader,
    on_event: &mut dyn FnMut(&Event),
    progress: Progress<'_>,
) -> io::Result<Skipped> {
    read_chunks(
        reader,
        default_threads(),
        &mut |_, events| events.iter().for_each(&mut *on_event),
        progress,
    )
}

/// Reads a whole log with `threads` threads parsing (this one among them), calling
/// `on_chunk` with each chunk's span and events, in log order; returns what was skipped.
pub fn read_chunks(
    mut reader: LogReader,
    threads: usize,
    on_chunk: &mut dyn FnMut(&Span, &[Event]),
    progress: Progress<'_>,
) -> io::Result<Skipped> {
    let threads = threads.max(1);
    // This thread parses too whenever the chunk it needs next is not ready: on two cores,
    // one helper and this thread keep both busy without a third thread competing for them.
    let helpers = threads - 1;
    let (work_tx, work_rx) = channel::bounded::<(u64, Chunk)>(threads);
    let (done_tx, done_rx) = channel::bounded::<(u64, io::Result<(Span, Parsed)>)>(threads);
    // Spent byte buffers go back to the reader, spent event vectors back to the parsers:
    // reusing them spares a page fault per 4 KiB of every chunk.
    let (bytes_back, bytes_returned) = channel::unbounded::<Vec<u8>>();
    let (events_back, events_returned) = channel::unbounded::<Vec<Event>>();
    let parse = move |chunk: Chunk| -> (Span, Parsed) {
        let span = chunk.span;
        let events = events_returned.try_recv().unwrap_or_default();
        let mut parsed = parse_chunk_into(chunk, events);
        let _ = bytes_back.send(std::mem::take(&mut parsed.spent));
        (span, parsed)
    };
    let mut handles = Vec::new();
    for _ in 0..helpers {
        let (work_rx, done_tx, parse) = (work_rx.clone(), done_tx.clone(), parse.clone());
        let parser = std::thread::Builder::new().name("wscope-parse".into());
        handles.push(parser.spawn(move || {
            for (seq, chunk) in work_rx {
                if done_tx.send((seq, Ok(parse(chunk)))).is_err() {
                    return;
                }
            }
        })?);
    }
    let reader_done = done_tx;
    let cutter = std::thread::Builder::new().name("wscope-read".into());
    handles.push(cutter.spawn(move || {
        let mut seq = 0;
        loop {
            for buf in bytes_returned.try_iter() {
                reader.recycle(buf);
            }
            match reader.next_chunk() {
                Ok(Some(chunk)) => {
                    if work_tx.send((seq, chunk)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = reader_done.send((seq, Err(e)));
                    return;
                }
            }
            seq += 1;
        }
    })?);

    let mut skipped = Skipped::default();
    let mut result = Ok(());
    // Chunks come back in any order: each waits here for those before it. A read error
    // takes the place of the chunk it stopped, so every chunk before it is still delivered.
    let mut waiting: BTreeMap<u64, io::Result<(Span, Parsed)>> = BTreeMap::new();
    let (mut next, mut bytes_done) = (0u64, 0u64);
    let (mut work_open, mut done_open) = (true, true);
    'chunks: loop {
        while let Some(parsed) = waiting.remove(&next) {
            let (span, parsed) = match parsed {
                Ok(p) => p,
                Err(e) => {
                    result = Err(e);
                    break 'chunks;
                }
            };
            bytes_done += span.len;
            on_chunk(&span, &parsed.events);
            skipped.merge(parsed.skipped);
            let _ = events_back.send(parsed.events);
            next += 1;
            progress(bytes_done);
        }
        // The next chunk is not here: take a finished one, or parse one here, whichever
        // comes first. Finished ones go first: a helper waits while its result is unread.
        if let Ok((seq, parsed)) = done_rx.try_recv() {
            waiting.insert(seq, parsed);
            continue;
        }
        // A closed channel is swapped for one that never delivers, so `select!` skips it.
        let (no_work, none_finished) = (channel::never(), channel::never());
        let work = if work_open { &work_rx } else { &no_work };
        let finished = if done_open { &done_rx } else { &none_finished };
        if !work_open && !done_open {
            break;
        }
        channel::select! {
            recv(finished) -> msg => match msg {
                Ok((seq, parsed)) => { waiting.insert(seq, parsed); }
                Err(_) => done_open = false,
            },
            recv(work) -> msg => match msg {
                Ok((seq, chunk)) => { waiting.insert(seq, Ok(parse(chunk))); }
                Err(_) => work_open = false,
            },
        }
    }
    drop((waiting, done_rx, work_rx));
    for h in handles {
        let _ = h.join();
    }
    result.map(|_| skipped)
}
