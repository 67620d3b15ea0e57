//! `covenant convert`: logs in any format Covenant reads (mapped, compressed,
//! in folders) written back as schema v1 events in the form of a shard file
//! (README, "Sharding a large log"): one compact event a line, in (time, id)
//! order, repeats folded. A sharding engine other than `split` converts its
//! inputs with it, so that it shards exactly the events a report would read;
//! the Spark job (`integrations/spark/`) converts each input file so.

use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::wire::write_line;
use crate::events::{DEFAULT_RUN_LEN, EventReader, Feed, ReadLog, in_time_order};
use crate::report::atomic_file::write_all_atomically;

/// Reads every input of `reader` (stopping at the first invalid record) and
/// writes its events to `out`, or to standard output when `out` is `None`.
///
/// A log found out of time order part-way is read again through the time
/// sorter, and what the first attempt wrote must then be taken back: a file
/// is written beside its destination and renamed into place only when
/// whole, and standard output is spooled through an unnamed temporary file
/// (in the system's temporary folder) of about the output's size.
pub fn convert(reader: &EventReader, out: Option<&Path>) -> Result<ReadLog> {
    let Some(path) = out else {
        return convert_to_stdout(reader);
    };
    let paths = [path.to_path_buf()];
    in_time_order(reader, false, DEFAULT_RUN_LEN, |feed| {
        write_all_atomically(&paths, |outs| write_events(feed, &mut *outs[0], path))
    })
}

fn convert_to_stdout(reader: &EventReader) -> Result<ReadLog> {
    let spool_name = PathBuf::from("the spool of standard output");
    let (mut spool, log) = in_time_order(reader, false, DEFAULT_RUN_LEN, |feed| {
        let file = tempfile::tempfile()
            .context("cannot create a temporary file to spool standard output in")?;
        let mut spool = BufWriter::new(file);
        let log = write_events(feed, &mut spool, &spool_name)?;
        let file = spool
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("{}: cannot write", spool_name.display()))?;
        Ok((file, log))
    })?;
    let mut stdout = std::io::stdout().lock();
    spool
        .rewind()
        .and_then(|()| std::io::copy(&mut spool, &mut stdout))
        .and_then(|_| stdout.flush())
        .context("cannot write to standard output")?;
    Ok(log)
}

/// Writes each event `feed` hands on to `out` (the file at `path`).
fn write_events(feed: &mut Feed<'_>, out: &mut dyn Write, path: &Path) -> Result<ReadLog> {
    feed(&mut |event| write_line(out, path, &event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_out_of_time_order_is_written_sorted_in_utc() {
        let dir = tempfile::tempdir().unwrap();
        // e2's offset puts it first; times come out in UTC, in whole
        // milli-, micro- or nanoseconds, as a shard file has them.
        let log = dir.path().join("log.jsonl");
        std::fs::write(
            &log,
            [
                r#"{"id":"e2","time":"2026-01-01T00:00:02+01:00","action":"access","tenant":"a"}"#,
                r#"{"id":"e1","time":"2026-01-01T00:00:01.50Z","action":"access","tenant":"a"}"#,
            ]
            .join("\n"),
        )
        .unwrap();
        let out = dir.path().join("events.jsonl");
        let reader = EventReader::from_paths(&[log]).unwrap();
        let read = convert(&reader, Some(&out)).unwrap();
        assert_eq!(read.events, 2);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            concat!(
                r#"{"id":"e2","time":"2025-12-31T23:00:02Z","action":"access","tenant":"a"}"#,
                "\n",
                r#"{"id":"e1","time":"2026-01-01T00:00:01.500Z","action":"access","tenant":"a"}"#,
                "\n",
            )
        );
    }

    #[test]
    fn an_invalid_record_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.jsonl");
        std::fs::write(&log, "{\"id\":\"e1\"}\n").unwrap();
        let out = dir.path().join("events.jsonl");
        let reader = EventReader::from_paths(&[log]).unwrap();
        let error = convert(&reader, Some(&out)).unwrap_err();
        assert!(format!("{error:#}").contains("log.jsonl:1"), "{error:#}");
        assert!(!out.exists());
    }
}
