//! Finding log files and reading events out of them.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use super::{Event, Timestamp, parse_event};

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
    pub input: u32,
    pub line: u64,
}

/// What the report records of one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputSummary {
    pub name: String,
    /// `jsonl` or `json-array`.
    pub format: &'static str,
    pub events: u64,
    /// Hex SHA-256 of the bytes read, so an auditor can show what was checked.
    pub sha256: String,
}

/// Every event id read, with when and where it happened: it finds duplicate
/// ids while reading, lets the host refuse findings about events it never
/// sent, and places each finding in time and in the log.
///
/// It is the one part of the input the host keeps whole; it grows with the
/// number of events (about 100 bytes each).
#[derive(Debug, Default)]
pub struct EventIndex {
    entries: HashMap<String, (Timestamp, Location)>,
    latest: Option<Timestamp>,
}

impl EventIndex {
    /// When and where the event `id` happened, if it was read.
    pub fn get(&self, id: &str) -> Option<(Timestamp, Location)> {
        self.entries.get(id).copied()
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
        if let Some((_, first)) = self.entries.get(&event.id) {
            return Err(*first);
        }
        self.entries
            .insert(event.id.clone(), (event.time, location));
        self.latest = self.latest.max(Some(event.time));
        Ok(())
    }
}

/// The outcome of reading every input: what was read, and the index.
#[derive(Debug)]
pub struct ReadLog {
    pub inputs: Vec<InputSummary>,
    pub index: EventIndex,
}

impl ReadLog {
    /// `name:line` for a location, as error messages and reports show it.
    pub fn describe(&self, location: Location) -> String {
        let input = &self.inputs[location.input as usize];
        match input.format {
            "json-array" => format!("{} element {}", input.name, location.line),
            _ => format!("{}:{}", input.name, location.line),
        }
    }
}

/// Reads schema v1 events from files, directories and standard input.
///
/// Every event is validated and checked for a unique id before it is handed
/// on, so a bad log fails before any rule sees it. Errors name the input,
/// the line and the field.
pub struct EventReader {
    inputs: Vec<Input>,
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
        Ok(EventReader { inputs })
    }

    /// Reads every input in order, handing each valid event and its location
    /// to `sink`. Stops at the first bad event with an error naming it.
    pub fn read(self, mut sink: impl FnMut(Event) -> Result<()>) -> Result<ReadLog> {
        let mut log = ReadLog {
            inputs: Vec::new(),
            index: EventIndex::default(),
        };
        for (number, input) in self.inputs.iter().enumerate() {
            let number = u32::try_from(number).context("more than 2^32 inputs")?;
            let name = input.name();
            let mut summary = InputSummary {
                name: name.clone(),
                format: if matches!(input, Input::JsonArray(_)) {
                    "json-array"
                } else {
                    "jsonl"
                },
                events: 0,
                sha256: String::new(),
            };
            let mut accept = |event: Event, line: u64, log: &mut ReadLog| -> Result<()> {
                let location = Location {
                    input: number,
                    line,
                };
                if let Err(first) = log.index.insert(&event, location) {
                    let first = if first.input == number {
                        format!("line {}", first.line)
                    } else {
                        log.describe(first)
                    };
                    bail!(
                        "{name}:{line}: field `id`: duplicate event id `{}` (first seen at {first})",
                        event.id
                    );
                }
                summary.events += 1;
                sink(event)
            };
            let digest = match input {
                Input::Stdin => read_json_lines(io::stdin().lock(), &name, |e, line| {
                    accept(e, line, &mut log)
                })?,
                Input::JsonLines(path) => {
                    read_json_lines(BufReader::new(open(path)?), &name, |e, line| {
                        accept(e, line, &mut log)
                    })?
                }
                Input::JsonArray(path) => {
                    read_json_array(open(path)?, &name, |e, line| accept(e, line, &mut log))?
                }
            };
            summary.sha256 = digest;
            log.inputs.push(summary);
        }
        Ok(log)
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("{}: cannot open", path.display()))
}

/// A reader that hashes everything read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Hashing<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            self.hasher.update(&buf[..amount]);
        }
        self.inner.consume(amount);
    }
}

fn hex_digest(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads JSON Lines: one event per line. Blank lines are skipped; a UTF-8
/// byte-order mark on the first line and CRLF line endings are accepted.
/// Returns the hex SHA-256 of the input.
fn read_json_lines(
    reader: impl BufRead,
    name: &str,
    mut accept: impl FnMut(Event, u64) -> Result<()>,
) -> Result<String> {
    let mut reader = Hashing {
        inner: reader,
        hasher: Sha256::new(),
    };
    let mut buffer = Vec::new();
    let mut line = 0u64;
    loop {
        buffer.clear();
        let read = reader
            .read_until(b'\n', &mut buffer)
            .with_context(|| format!("{name}: read failed after line {line}"))?;
        if read == 0 {
            break;
        }
        line += 1;
        let mut bytes = buffer.as_slice();
        if line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "{name}:{line}: not valid UTF-8 (at byte {})",
                e.valid_up_to() + 1
            )
        })?;
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("{name}:{line}: malformed JSON: {e}"))?;
        let event = parse_event(value).map_err(|e| anyhow::anyhow!("{name}:{line}: {e}"))?;
        accept(event, line)?;
    }
    Ok(hex_digest(reader.hasher))
}

/// Reads a `.json` file holding one array of events; locations are 1-based
/// element numbers.
fn read_json_array(
    file: File,
    name: &str,
    mut accept: impl FnMut(Event, u64) -> Result<()>,
) -> Result<String> {
    let mut reader = Hashing {
        inner: BufReader::new(file),
        hasher: Sha256::new(),
    };
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
        let element = i as u64 + 1;
        let event =
            parse_event(item).map_err(|e| anyhow::anyhow!("{name} element {element}: {e}"))?;
        accept(event, element)?;
    }
    Ok(hex_digest(reader.hasher))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read_lines(text: &[u8]) -> Result<Vec<(String, u64)>> {
        let mut seen = Vec::new();
        read_json_lines(Cursor::new(text.to_vec()), "log.jsonl", |e, line| {
            seen.push((e.id, line));
            Ok(())
        })?;
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
    fn errors_name_the_line() {
        let text = format!("{E1}\n{{\"id\": \n");
        let err = read_lines(text.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("log.jsonl:2: malformed JSON"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_an_error_with_its_line() {
        let err = read_lines(b"\xff\xfe\n").unwrap_err().to_string();
        assert_eq!(err, "log.jsonl:1: not valid UTF-8 (at byte 1)");
    }

    #[test]
    fn hashing_covers_every_byte() {
        let mut reader = Hashing {
            inner: Cursor::new(b"abc\ndef".to_vec()),
            hasher: Sha256::new(),
        };
        let mut sink = Vec::new();
        while reader.read_until(b'\n', &mut sink).unwrap() > 0 {}
        assert_eq!(
            hex_digest(reader.hasher),
            hex_digest(Sha256::new_with_prefix(b"abc\ndef"))
        );
    }
}
