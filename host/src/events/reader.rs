//! Finding log files and reading events out of them.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use super::{Event, Timestamp, parse_event, parse_event_text};

/// One source of events, after directories have been expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input, read as JSON Lines; named `-` on the command line.
    Stdin,
    /// A JSON Lines file, one event per line.
    JsonLines(PathBuf),
    /// A `.json` file holding one array of events.
    JsonArray(PathBuf),
}

impl Input {
    /// The name reports and error messages use for this input.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::JsonLines(path) | Input::JsonArray(path) => path.display().to_string(),
        }
    }

    fn for_file(path: PathBuf) -> Input {
        if path.extension().is_some_and(|ext| ext == "json") {
            Input::JsonArray(path)
        } else {
            Input::JsonLines(path)
        }
    }
}

/// Where an event came from: an index into [`ReadLog::inputs`] and the
/// 1-based line (JSON Lines) or array element (`.json`) within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Index of the input in [`ReadLog::inputs`], which follows the order read.
    pub input: u32,
    /// 1-based line for a JSON Lines input, or 1-based array element for a `.json` one.
    pub line: u64,
}

/// How an input's records are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputFormat {
    /// JSON Lines: one event per line, placed by line number.
    #[serde(rename = "jsonl")]
    Jsonl,
    /// One JSON array of events, placed by element number.
    #[serde(rename = "json-array")]
    JsonArray,
}

impl InputFormat {
    /// The name reports use: `jsonl` or `json-array`.
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Jsonl => "jsonl",
            InputFormat::JsonArray => "json-array",
        }
    }
}

impl std::fmt::Display for InputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the report records of one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSummary {
    /// The input as reports and messages name it: its path, or `<stdin>`.
    pub name: String,
    /// How the input's records are laid out: placed by line (`jsonl`) or by
    /// array element (`json-array`).
    pub format: InputFormat,
    /// Events read and checked.
    pub events: u64,
    /// Records rejected under `--skip-invalid`.
    pub rejected: u64,
    /// Hex SHA-256 of the bytes read, so an auditor can show what was checked.
    pub sha256: String,
}

/// Every event id read, with when and where it happened and whose data it
/// was: it finds duplicate ids while reading, lets the host refuse findings
/// about events it never sent, and places each finding in time, in the log
/// and with its tenant and data item (which waivers select on).
///
/// It is the one part of the input the host keeps whole; it grows with the
/// number of events (about 120 bytes each, plus the ids' lengths).
#[derive(Debug, Default)]
pub struct EventIndex {
    entries: HashMap<String, IndexEntry>,
    /// Tenants are few and repeat on every event, so each is stored once.
    tenants: HashSet<Arc<str>>,
    latest: Option<Timestamp>,
}

/// What the index keeps of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The event's time.
    pub time: Timestamp,
    /// Where the event was read.
    pub location: Location,
    /// The event's `tenant`, or its data's when the event names none.
    pub tenant: Option<Arc<str>>,
    /// The id of the data item the event touches, if any.
    pub data_id: Option<Box<str>>,
}

impl EventIndex {
    /// What was read of the event `id`, if it was read.
    pub fn get(&self, id: &str) -> Option<&IndexEntry> {
        self.entries.get(id)
    }

    /// The time of the latest event, if any was read.
    pub fn latest(&self) -> Option<Timestamp> {
        self.latest
    }

    /// How many events were read.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no event was read.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records an event, or returns where the same id was first seen.
    fn insert(&mut self, event: &Event, location: Location) -> Result<(), Location> {
        if let Some(first) = self.entries.get(&event.id) {
            return Err(first.location);
        }
        let data = event.data.as_ref();
        let tenant = event
            .tenant
            .as_deref()
            .or_else(|| data.and_then(|d| d.tenant.as_deref()))
            .map(|tenant| match self.tenants.get(tenant) {
                Some(shared) => shared.clone(),
                None => {
                    let shared: Arc<str> = Arc::from(tenant);
                    self.tenants.insert(shared.clone());
                    shared
                }
            });
        let entry = IndexEntry {
            time: event.time,
            location,
            tenant,
            data_id: data.and_then(|d| d.id.as_deref()).map(Box::from),
        };
        self.entries.insert(event.id.clone(), entry);
        self.latest = self.latest.max(Some(event.time));
        Ok(())
    }
}

/// The outcome of reading every input: what was read, and the index.
#[derive(Debug)]
pub struct ReadLog {
    /// What was read of each input, in the order read.
    pub inputs: Vec<InputSummary>,
    /// Every event id read, with its time, location, tenant and data item.
    pub index: EventIndex,
    /// Records that were not valid events, in input order (only under
    /// `--skip-invalid`; otherwise the first one is an error).
    pub rejected: Vec<Rejection>,
}

/// A record that was not read as an event, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// `file:line`, or `file element N`.
    pub location: String,
    /// Why the record is not a valid event, naming the field at fault when there is one.
    pub reason: String,
}

impl ReadLog {
    /// `name:line` for a location, as error messages and reports show it.
    pub fn describe(&self, location: Location) -> String {
        let input = &self.inputs[location.input as usize];
        match input.format {
            InputFormat::JsonArray => format!("{} element {}", input.name, location.line),
            InputFormat::Jsonl => format!("{}:{}", input.name, location.line),
        }
    }

    /// Fails, naming the first file, when what was read differs from the
    /// `digests` the files had before ([`EventReader::digests`]): a log
    /// that changes between two reads would give a report of neither.
    pub fn check_unchanged(&self, digests: &[String]) -> Result<()> {
        for (input, before) in self.inputs.iter().zip(digests) {
            if input.sha256 != *before {
                bail!(
                    "{}: the file changed while it was being read (sha256 {before} when first read, {} now); \
                     run again on a log nothing is writing to",
                    input.name,
                    input.sha256
                );
            }
        }
        Ok(())
    }
}

/// Reads schema v1 events from files, directories and standard input.
///
/// Every event is validated and checked for a unique id before it is handed
/// on, so a bad log fails before any rule sees it. Errors name the input,
/// the line and the field.
pub struct EventReader {
    inputs: Vec<Input>,
    progress: Box<dyn ReadProgress>,
}

/// Told how far reading has got, for a progress display. Calls come from
/// the reading thread, at most once per buffer fill and once per record.
pub trait ReadProgress {
    /// Reading starts, or starts again from the beginning (a report reads a
    /// log found out of time order twice); `total_bytes` is known when
    /// every input is a file.
    fn begin(&self, total_bytes: Option<u64>);
    /// `bytes` more bytes of input were read.
    fn bytes(&self, bytes: u64);
    /// One more record (valid or not) was read.
    fn record(&self);
    /// Every input has been read; the rules' work goes on.
    fn done(&self);
}

/// Progress nobody watches.
struct Unwatched;

impl ReadProgress for Unwatched {
    fn begin(&self, _: Option<u64>) {}
    fn bytes(&self, _: u64) {}
    fn record(&self) {}
    fn done(&self) {}
}

impl EventReader {
    /// Expands `paths`: `-` is standard input, a directory is searched
    /// recursively (in name order) for `*.jsonl` and `*.json` files, and any
    /// other path is read as JSON Lines unless it ends in `.json`.
    pub fn from_paths(paths: &[PathBuf]) -> Result<EventReader> {
        let mut inputs = Vec::new();
        for path in paths {
            if path.as_os_str() == "-" {
                inputs.push(Input::Stdin);
            } else if path.is_dir() {
                let before = inputs.len();
                for entry in WalkDir::new(path).sort_by_file_name() {
                    let entry =
                        entry.with_context(|| format!("cannot search {}", path.display()))?;
                    let is_log = entry
                        .path()
                        .extension()
                        .is_some_and(|ext| ext == "jsonl" || ext == "json");
                    if entry.file_type().is_file() && is_log {
                        inputs.push(Input::for_file(entry.into_path()));
                    }
                }
                if inputs.len() == before {
                    bail!(
                        "{}: directory holds no *.jsonl or *.json files",
                        path.display()
                    );
                }
            } else if path.exists() {
                inputs.push(Input::for_file(path.clone()));
            } else {
                bail!("{}: no such file or directory", path.display());
            }
        }
        if inputs.is_empty() {
            bail!("no event logs given");
        }
        Ok(EventReader {
            inputs,
            progress: Box::new(Unwatched),
        })
    }

    /// Reports reading progress to `progress`.
    pub fn with_progress(mut self, progress: Box<dyn ReadProgress>) -> EventReader {
        self.progress = progress;
        self
    }

    /// Whether the inputs can be read again: false when one is standard input.
    pub fn rereadable(&self) -> bool {
        !self.inputs.contains(&Input::Stdin)
    }

    /// The hex SHA-256 of each input as it is now, in order, to tell
    /// whether a log read twice changed in between
    /// ([`ReadLog::check_unchanged`]). Only for inputs that can be read
    /// again: standard input is left out.
    pub fn digests(&self) -> Result<Vec<String>> {
        let mut digests = Vec::new();
        for input in &self.inputs {
            if let Input::JsonLines(path) | Input::JsonArray(path) = input {
                let mut hashing = Hashing::new(open(path)?, &Unwatched);
                io::copy(&mut hashing, &mut io::sink())
                    .with_context(|| format!("{}: cannot read", path.display()))?;
                digests.push(hashing.digest());
            }
        }
        Ok(digests)
    }

    /// The bytes there are to read, when every input is a file.
    fn total_bytes(&self) -> Option<u64> {
        self.inputs
            .iter()
            .map(|input| match input {
                Input::Stdin => None,
                Input::JsonLines(path) | Input::JsonArray(path) => {
                    std::fs::metadata(path).ok().map(|m| m.len())
                }
            })
            .sum()
    }

    /// Reads every input in order, handing each valid event to `sink`.
    ///
    /// A record that is not a valid event (malformed JSON, a bad field, a
    /// duplicate id, an over-long line) stops the read with an error naming
    /// where and why, unless `skip_invalid` is set: then it is listed in
    /// [`ReadLog::rejected`] and reading goes on. Nothing is dropped
    /// silently either way.
    pub fn read(
        &self,
        skip_invalid: bool,
        mut sink: impl FnMut(Event) -> Result<()>,
    ) -> Result<ReadLog> {
        let mut log = ReadLog {
            inputs: Vec::new(),
            index: EventIndex::default(),
            rejected: Vec::new(),
        };
        let progress = self.progress.as_ref();
        progress.begin(self.total_bytes());
        for (number, input) in self.inputs.iter().enumerate() {
            let number = u32::try_from(number).context("more than 2^32 inputs")?;
            let name = input.name();
            let mut summary = InputSummary {
                name: name.clone(),
                format: if matches!(input, Input::JsonArray(_)) {
                    InputFormat::JsonArray
                } else {
                    InputFormat::Jsonl
                },
                events: 0,
                rejected: 0,
                sha256: String::new(),
            };
            let at = |line: u64| match input {
                Input::JsonArray(_) => format!("{name} element {line}"),
                _ => format!("{name}:{line}"),
            };
            let mut accept =
                |record: Result<Event, String>, line: u64, log: &mut ReadLog| -> Result<()> {
                    progress.record();
                    let location = Location {
                        input: number,
                        line,
                    };
                    let checked =
                        record.and_then(|event| match log.index.insert(&event, location) {
                            Ok(()) => Ok(event),
                            Err(first) if first.input == number => Err(format!(
                                "field `id`: duplicate event id `{}` (first seen at line {})",
                                event.id, first.line
                            )),
                            Err(first) => Err(format!(
                                "field `id`: duplicate event id `{}` (first seen at {})",
                                event.id,
                                log.describe(first)
                            )),
                        });
                    match checked {
                        Ok(event) => {
                            summary.events += 1;
                            sink(event)
                        }
                        Err(reason) if skip_invalid => {
                            summary.rejected += 1;
                            log.rejected.push(Rejection {
                                location: at(line),
                                reason,
                            });
                            Ok(())
                        }
                        Err(reason) => bail!("{}: {reason}", at(line)),
                    }
                };
            let digest = match input {
                Input::Stdin => {
                    let reader = Hashing::new(io::stdin().lock(), progress);
                    read_json_lines(reader, &name, |r, line| accept(r, line, &mut log))?
                }
                Input::JsonLines(path) => {
                    let reader = Hashing::new(BufReader::new(open(path)?), progress);
                    read_json_lines(reader, &name, |r, line| accept(r, line, &mut log))?
                }
                Input::JsonArray(path) => {
                    let reader = Hashing::new(BufReader::new(open(path)?), progress);
                    read_json_array(reader, &name, |r, line| accept(r, line, &mut log))?
                }
            };
            summary.sha256 = digest;
            log.inputs.push(summary);
        }
        progress.done();
        Ok(log)
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("{}: cannot open", path.display()))
}

/// A reader that hashes everything read through it and reports progress.
struct Hashing<'p, R> {
    inner: R,
    hasher: Sha256,
    progress: &'p dyn ReadProgress,
}

impl<'p, R> Hashing<'p, R> {
    fn new(inner: R, progress: &'p dyn ReadProgress) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            progress,
        }
    }

    /// The hex SHA-256 of everything read.
    fn digest(self) -> String {
        self.hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.progress.bytes(n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Hashing<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            self.hasher.update(&buf[..amount]);
        }
        self.progress.bytes(amount as u64);
        self.inner.consume(amount);
    }
}

/// The longest line read as an event. Real events are a few hundred bytes;
/// a longer line is a corrupt or hostile log, and holding it would cost
/// memory for nothing.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Reads JSON Lines: one event per line. Blank lines are skipped; a UTF-8
/// byte-order mark on the first line and CRLF line endings are accepted.
/// Each line's event, or why it is not one, goes to `accept` with the line
/// number. Returns the hex SHA-256 of the input.
fn read_json_lines<R: BufRead>(
    mut reader: Hashing<'_, R>,
    name: &str,
    mut accept: impl FnMut(Result<Event, String>, u64) -> Result<()>,
) -> Result<String> {
    let mut buffer = Vec::new();
    let mut line = 0u64;
    loop {
        buffer.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .with_context(|| format!("{name}: read failed after line {line}"))?;
        if read == 0 {
            break;
        }
        line += 1;
        if buffer.len() > MAX_LINE_BYTES && buffer.last() != Some(&b'\n') {
            skip_rest_of_line(&mut reader)
                .with_context(|| format!("{name}: read failed in line {line}"))?;
            accept(
                Err(format!(
                    "line is longer than the {} MiB limit",
                    MAX_LINE_BYTES >> 20
                )),
                line,
            )?;
            continue;
        }
        let mut bytes = buffer.as_slice();
        if line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.trim_end_matches(['\n', '\r']),
            Err(e) => {
                accept(
                    Err(format!("not valid UTF-8 (at byte {})", e.valid_up_to() + 1)),
                    line,
                )?;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        accept(parse_record(text), line)?;
    }
    Ok(reader.digest())
}

/// One line's text as an event, or why it is not one.
fn parse_record(text: &str) -> Result<Event, String> {
    parse_event_text(text).map_err(|e| e.to_string())
}

/// Consumes input up to and including the next newline, without holding it.
fn skip_rest_of_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(());
            }
            None => {
                let len = buf.len();
                reader.consume(len);
            }
        }
    }
}

/// Reads a `.json` file holding one array of events; locations are 1-based
/// element numbers.
fn read_json_array<R: BufRead>(
    mut reader: Hashing<'_, R>,
    name: &str,
    mut accept: impl FnMut(Result<Event, String>, u64) -> Result<()>,
) -> Result<String> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .with_context(|| format!("{name}: read failed"))?;
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes)).map_err(
        |e| anyhow::anyhow!("{name}: not valid UTF-8 (at byte {})", e.valid_up_to() + 1),
    )?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{name}: malformed JSON: {e}"))?;
    let serde_json::Value::Array(items) = value else {
        bail!("{name}: a .json log must hold an array of events");
    };
    for (i, item) in items.into_iter().enumerate() {
        accept(parse_event(item).map_err(|e| e.to_string()), i as u64 + 1)?;
    }
    Ok(reader.digest())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Each line's event id, or the reason it was rejected, with its number.
    fn read_lines(text: &[u8]) -> Result<Vec<(String, u64)>> {
        let mut seen = Vec::new();
        read_json_lines(
            Hashing::new(Cursor::new(text.to_vec()), &Unwatched),
            "log.jsonl",
            |record, line| {
                seen.push((record.map_or_else(|reason| reason, |e| e.id), line));
                Ok(())
            },
        )?;
        Ok(seen)
    }

    const E1: &str = r#"{"id":"e1","time":"2026-01-01T00:00:00Z","action":"store"}"#;

    #[test]
    fn skips_blank_lines_and_accepts_bom_and_crlf() {
        let text = format!("\u{feff}{E1}\r\n\r\n   \n{}\n", E1.replace("e1", "e2"));
        assert_eq!(
            read_lines(text.as_bytes()).unwrap(),
            [("e1".into(), 1), ("e2".into(), 4)]
        );
    }

    #[test]
    fn bad_lines_are_reported_with_their_number_and_reading_goes_on() {
        let mut text = format!("{E1}\n{{\"id\": \n").into_bytes();
        text.extend_from_slice(b"\xff\n");
        text.extend_from_slice(format!("{}\n", E1.replace("e1", "e2")).as_bytes());
        let seen = read_lines(&text).unwrap();
        assert_eq!(seen[0], ("e1".to_string(), 1));
        assert!(
            seen[1].0.starts_with("malformed JSON: EOF while parsing"),
            "{:?}",
            seen[1]
        );
        assert_eq!(seen[1].1, 2);
        assert_eq!(seen[2], ("not valid UTF-8 (at byte 1)".to_string(), 3));
        assert_eq!(seen[3], ("e2".to_string(), 4));
    }

    #[test]
    fn an_over_long_line_is_rejected_without_losing_the_next() {
        let long = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_LINE_BYTES));
        let text = format!("{long}\n{E1}\n");
        let seen = read_lines(text.as_bytes()).unwrap();
        assert_eq!(
            seen,
            [
                ("line is longer than the 1 MiB limit".to_string(), 1),
                ("e1".to_string(), 2)
            ]
        );
    }

    #[test]
    fn deep_nesting_is_rejected_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let seen = read_lines(deep.as_bytes()).unwrap();
        assert!(
            seen[0].0.contains("recursion limit exceeded"),
            "{:?}",
            seen[0]
        );
    }

    #[test]
    fn hashing_covers_every_byte_and_counts_them() {
        struct Count(std::cell::Cell<u64>);
        impl ReadProgress for Count {
            fn begin(&self, _: Option<u64>) {}
            fn bytes(&self, bytes: u64) {
                self.0.set(self.0.get() + bytes);
            }
            fn record(&self) {}
            fn done(&self) {}
        }
        let count = Count(std::cell::Cell::new(0));
        let mut reader = Hashing::new(Cursor::new(b"abc\ndef".to_vec()), &count);
        let mut sink = Vec::new();
        while reader.read_until(b'\n', &mut sink).unwrap() > 0 {}
        assert_eq!(count.0.get(), 7);
        // `printf 'abc\ndef' | sha256sum`
        assert_eq!(
            reader.digest(),
            "d53d6b91af7caf8fe3d8021f116270137c0079d579a1e16965da80c2ed138ffb"
        );
    }
}

/// Fuzzing the reader: whatever bytes arrive, it never panics and accounts
/// for every non-blank line, as an event or as a rejection.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    /// Lines that are mostly near-valid events, to reach deep into parsing.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            (any::<u16>(), "[a-z]{0,8}", prop_oneof![Just("2026-01-01T00:00:00Z"), Just("2026-01-01T00:00:60+14:00"), Just("x")])
                .prop_map(|(n, action, time)| {
                    format!(r#"{{"id":"e{n}","time":"{time}","action":"{action}","data":{{"sources":[1]}}}}"#).into_bytes()
                }),
            "\\PC{0,80}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        // CI runs the default; set PROPTEST_CASES for a longer run.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
        ))]

        #[test]
        fn every_non_blank_line_is_an_event_or_a_rejection(lines in proptest::collection::vec(line(), 0..20)) {
            let mut text = Vec::new();
            for line in &lines {
                text.extend(line.iter().filter(|&&b| b != b'\n'));
                text.push(b'\n');
            }
            let mut seen = 0usize;
            read_json_lines(Hashing::new(Cursor::new(text.clone()), &Unwatched), "fuzz", |_, _| {
                seen += 1;
                Ok(())
            })
            .unwrap();
            let blank = text
                .split(|&b| b == b'\n')
                .take(lines.len())
                .enumerate()
                .filter(|(i, l)| {
                    let l = if *i == 0 { l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l) } else { l };
                    std::str::from_utf8(l).is_ok_and(|t| t.trim().is_empty())
                })
                .count();
            prop_assert_eq!(seen, lines.len() - blank);
        }
    }
}
