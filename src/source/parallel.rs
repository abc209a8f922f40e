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

/// A parsed chunk, or the read error that took its place.
type Done = io::Result<(Span, Parsed)>;

/// Reads a whole log with `threads` threads parsing (this one among them), calling
/// `on_chunk` with each chunk's span and events, in log order; returns what was skipped.
pub fn read_chunks(
    reader: LogReader,
    threads: usize,
    on_chunk: &mut dyn FnMut(&Span, &[Event]),
    progress: Progress<'_>,
) -> io::Result<Skipped> {
    let threads = threads.max(1);
    let (work_tx, work_rx) = channel::bounded::<(u64, Chunk)>(threads);
    let (done_tx, done_rx) = channel::bounded::<(u64, Done)>(threads);
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
    // This thread parses too whenever the chunk it needs next is not ready: on two cores,
    // one helper and this thread keep both busy without a third thread competing for them.
    let mut handles = Vec::new();
    for _ in 1..threads {
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
    handles.push(spawn_cutter(reader, work_tx, done_tx, bytes_returned)?);

    let mut skipped = Skipped::default();
    let mut deliver = |span: &Span, parsed: Parsed| {
        on_chunk(span, &parsed.events);
        skipped.merge(parsed.skipped);
        let _ = events_back.send(parsed.events);
    };
    let result = in_order(&work_rx, &done_rx, &parse, &mut deliver, progress);
    drop((done_rx, work_rx));
    for h in handles {
        let _ = h.join();
    }
    result.map(|_| skipped)
}

/// The reader's thread: cuts the log into numbered chunks for the parsers. A read error is
/// sent in place of the chunk it stopped.
fn spawn_cutter(
    mut reader: LogReader,
    work: channel::Sender<(u64, Chunk)>,
    done: channel::Sender<(u64, Done)>,
    spent: channel::Receiver<Vec<u8>>,
) -> io::Result<std::thread::JoinHandle<()>> {
    let cutter = std::thread::Builder::new().name("wscope-read".into());
    cutter.spawn(move || {
        let mut seq = 0;
        loop {
            for buf in spent.try_iter() {
                reader.recycle(buf);
            }
            match reader.next_chunk() {
                Ok(Some(chunk)) => {
                    if work.send((seq, chunk)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = done.send((seq, Err(e)));
                    return;
                }
            }
            seq += 1;
        }
    })
}

/// Hands every chunk to `deliver` in log order, parsing on this thread whenever the next one
/// is not ready; stops at the first read error, after every chunk before it.
fn in_order(
    work_rx: &channel::Receiver<(u64, Chunk)>,
    done_rx: &channel::Receiver<(u64, Done)>,
    parse: &dyn Fn(Chunk) -> (Span, Parsed),
    deliver: &mut dyn FnMut(&Span, Parsed),
    progress: Progress<'_>,
) -> io::Result<()> {
    // Chunks come back in any order: each waits here for those before it.
    let mut waiting: BTreeMap<u64, Done> = BTreeMap::new();
    let (mut next, mut bytes_done) = (0u64, 0u64);
    let (mut work_open, mut done_open) = (true, true);
    loop {
        while let Some(parsed) = waiting.remove(&next) {
            let (span, parsed) = parsed?;
            bytes_done += span.len;
            deliver(&span, parsed);
            next += 1;
            progress(bytes_done);
        }
        // The next chunk is not here: take a finished one, or parse one here, whichever
        // comes first. Finished ones go first: a helper waits while its result is unread.
        if let Ok((seq, parsed)) = done_rx.try_recv() {
            waiting.insert(seq, parsed);
            continue;
        }
        if !work_open && !done_open {
            return Ok(());
        }
        // A closed channel is swapped for one that never delivers, so `select!` skips it.
        let (no_work, none_finished) = (channel::never(), channel::never());
        let work = if work_open { work_rx } else { &no_work };
        let finished = if done_open { done_rx } else { &none_finished };
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
}
