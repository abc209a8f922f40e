//! Where events come from: recorded logs, packet captures, live admin feeds (and the
//! in-process tap), and where they go when recorded.

pub mod capture;
pub mod feed;
pub mod log;
pub mod log_index;
mod parallel;
pub mod record;

use std::io::{self, Read};
use std::path::Path;

/// A file (or `-`, standard input) as its first bytes say it is.
pub enum Input {
    Log(log::LogReader),
    /// A pcap or pcapng capture, from its first byte.
    Capture(Box<dyn Read + Send>),
}

/// Opens a log or a capture, whatever it is called.
pub fn open_input(path: &Path) -> io::Result<Input> {
    let mut input: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        if std::fs::metadata(path)?.is_dir() {
            return Err(io::Error::other("is a directory, not a log file"));
        }
        Box::new(std::fs::File::open(path)?)
    };
    let head = log::read_head(&mut input)?;
    let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head.clone()).chain(input));
    if capture::is_capture(&head) {
        Ok(Input::Capture(chained))
    } else {
        log::LogReader::from_reader(chained).map(Input::Log)
    }
}
