//! Finding log files and reading events out of them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use walkdir::WalkDir;

use super::chunks::{Block, Decode, Decoding, Record, decode_lines};
use super::compressed::{Compression, open_decompressed, uncompressed_name};
use super::files::{HashingReader, document_records, find_lines, first_record, read_json_array};
use super::ids::{ID_BUDGET_BYTES, IdHasher, IdLedger, SealedIds};
use super::mapping::{Detected, FormatChoice, Mapped, Mapping, canonical, detect};
use super::merge::{Cursor, MergeHead};
use super::order::OutOfOrder;
use super::parse::{EventRef, KeptAttributes, parse_event_ref};
use super::{Event, Timestamp};

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
        if uncompressed_name(&path)
            .extension()
            .is_some_and(|ext| ext == "json")
        {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// The mapping its records were read through (`cloudtrail`, `ocsf`,
    /// `openlineage`, or a `--mapping` file's name); none for schema v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    /// Records the mapping left out, as of kinds it maps to no event (a
    /// failed call, a read of metadata, a run that has not completed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: u64,
    /// Records that repeated an earlier record exactly, and were folded
    /// into it: a format delivered at least once repeats some.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub folded: u64,
}

impl InputSummary {
    /// How it was read, in words: its layout and, for a mapped format, the
    /// mapping and what it left out or folded.
    pub fn describe_format(&self) -> String {
        let mut text = match (&self.mapping, self.format) {
            (None, format) => format.to_string(),
            (Some(mapping), InputFormat::Jsonl) => format!("{mapping} lines"),
            (Some(mapping), InputFormat::JsonArray) => format!("{mapping} document"),
        };
        let count = |n: u64, what: &str| format!(", {n} {what}{}", if n == 1 { "" } else { "s" });
        if self.skipped > 0 {
            text.push_str(&count(self.skipped, "record"));
            text.push_str(" mapped to no event");
        }
        if self.folded > 0 {
            text.push_str(&count(self.folded, "repeated record"));
            text.push_str(" folded");
        }
        text
    }
}

/// What `inputs` were read as, when any was not schema v1: for example
/// `cloudtrail (3 inputs), covenant (1 input)`.
pub fn formats_read(inputs: &[InputSummary]) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for input in inputs {
        let name = input.mapping.as_deref().unwrap_or("covenant");
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => counts.push((name, 1)),
        }
    }
    if inputs.iter().all(|input| input.mapping.is_none()) {
        return None;
    }
    let counted = counts.iter().map(|(name, count)| {
        format!(
            "{name} ({count} input{})",
            if *count == 1 { "" } else { "s" }
        )
    });
    Some(counted.collect::<Vec<_>>().join(", "))
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where an event was read and whose data it was, found again by its id
/// after the read: what a report says of each event a finding names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPlace {
    /// The event's time.
    pub time: Timestamp,
    /// Where the event was read.
    pub location: Location,
    /// The event's `tenant`, or its data's when the event names none.
    pub tenant: Option<String>,
    /// The id of the data item the event touches, if any.
    pub data_id: Option<String>,
}

/// The places of the events findings name, by event id.
pub type Places = HashMap<String, EventPlace>;

/// Where an event was read, by the input's name rather than its index in
/// one run's inputs: what a report says of an event, and what a saved
/// state keeps of the events it cites, so that a later run, which reads
/// other inputs, can place findings about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePlace {
    /// The event's time.
    pub time: Timestamp,
    /// The input it was read from, as that run's report names it.
    pub input: String,
    /// How that input's records are laid out.
    pub format: InputFormat,
    /// The 1-based line (JSON Lines) or array element (`.json`).
    pub line: u64,
    /// The event's `tenant`, or its data's when the event names none.
    pub tenant: Option<String>,
    /// The id of the data item the event touches, if any.
    pub data_id: Option<String>,
}

impl SourcePlace {
    /// `file:line`, or `file element N` for a `.json` array.
    pub fn describe(&self) -> String {
        describe_line(&self.input, self.format, self.line)
    }
}

/// The places of the events findings name, by event id, whichever run
/// read them.
pub type SourcePlaces = HashMap<String, SourcePlace>;

/// The outcome of reading every input.
///
/// It holds no event: of each one, only a 16-byte entry in the id ledger
/// ([`ID_BUDGET_BYTES`] in memory, the rest in temporary files), from which
/// [`EventReader::places`] finds the events findings name.
#[derive(Debug)]
pub struct ReadLog {
    /// What was read of each input, in the order read.
    pub inputs: Vec<InputSummary>,
    /// Records that were not valid events, in input order (only under
    /// `--skip-invalid`; otherwise the first one is an error).
    pub rejected: Vec<Rejection>,
    /// Valid events read.
    pub events: u64,
    /// The earliest event's time, if any event was read.
    pub earliest: Option<Timestamp>,
    /// The latest event's time, if any event was read.
    pub latest: Option<Timestamp>,
    /// Whether every event came after the one before it in (time, id),
    /// inputs taken in the order given.
    pub in_order: bool,
    ids: SealedIds,
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
        describe(&self.inputs, location)
    }

    /// `place`, read in this run, named by its input.
    pub fn source_place(&self, place: &EventPlace) -> SourcePlace {
        let input = &self.inputs[place.location.input as usize];
        SourcePlace {
            time: place.time,
            input: input.name.clone(),
            format: input.format,
            line: place.location.line,
            tenant: place.tenant.clone(),
            data_id: place.data_id.clone(),
        }
    }

    /// Fails, naming the first file, when what was read differs from the
    /// `digests` the files had before ([`EventReader::digests`]): a log
    /// that changes between two reads would give a report of neither.
    pub fn check_unchanged(&self, digests: &[String]) -> Result<()> {
        for (input, before) in self.inputs.iter().zip(digests) {
            unchanged(&input.name, before, &input.sha256)?;
        }
        Ok(())
    }
}

/// Fails, naming the input, when a second read of it (digest `now`) did
/// not read what the first did (`before`).
fn unchanged(name: &str, before: &str, now: &str) -> Result<()> {
    if before != now {
        bail!(
            "{name}: the file changed while it was being read (sha256 {before} when first read, {now} now); \
             run again on a log nothing is writing to"
        );
    }
    Ok(())
}

fn describe(inputs: &[InputSummary], location: Location) -> String {
    let input = &inputs[location.input as usize];
    describe_line(&input.name, input.format, location.line)
}

fn describe_line(name: &str, format: InputFormat, line: u64) -> String {
    match format {
        InputFormat::JsonArray => format!("{name} element {line}"),
        InputFormat::Jsonl => format!("{name}:{line}"),
    }
}

/// Reads schema v1 events from files, directories and standard input.
///
/// Every event is validated before it is handed on, and ids are checked
/// unique across all inputs, so a bad log fails before a report is made.
/// Errors name the input, the line and the field. JSON Lines are decoded
/// on every core ([`chunks`](super::chunks)); what the caller sees is what
/// a one-thread read would give.
pub struct EventReader {
    inputs: Vec<Input>,
    progress: Box<dyn ReadProgress>,
    threads: usize,
    id_budget: usize,
    /// A copy of standard input, made on its first read, so that it can
    /// be read again like a file.
    spool: OnceLock<File>,
    /// Each input's mapping, in the order of `inputs`; none for schema v1.
    mappings: Vec<Option<Arc<Mapping>>>,
    /// What the first pass of a `--skip-invalid` read found to leave out,
    /// kept for the passes after it: a log read again to sort it must not
    /// be searched again.
    first_pass: Mutex<Option<(bool, Arc<Skip>)>>,
    /// The attributes kept of each event; all when `None`.
    attributes: Option<Vec<String>>,
}

/// Which read of the log is under way, for the progress display to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The read that hands events on, in the order the log has them.
    Stream,
    /// Under `--skip-invalid`, the read before the events are handed on,
    /// which finds every record to skip (duplicate ids included).
    FindInvalid,
    /// The log was out of time order: it is read again to sort it.
    Sort,
    /// Reading the lines of the events findings name, to place them.
    Place,
}

/// Told how far reading has got, for a progress display. Calls come from
/// the thread that called the reader.
pub trait ReadProgress {
    /// A read of the log begins: `pass` says which; `total_bytes` is
    /// known when every input is a file.
    fn begin(&self, pass: Pass, total_bytes: Option<u64>);
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
    fn begin(&self, _: Pass, _: Option<u64>) {}
    fn bytes(&self, _: u64) {}
    fn record(&self) {}
    fn done(&self) {}
}

/// The records a first pass found to leave out: those it rejected (under
/// `--skip-invalid`), and repeats to fold. The second pass skips them, so
/// rules never see a duplicate id.
struct Skip {
    rejected: Vec<(Location, Rejection)>,
    folded: HashSet<Location>,
    digests: Vec<String>,
}

impl EventReader {
    /// Expands `paths`: `-` is standard input, a directory is searched
    /// recursively (in name order) for `*.jsonl` and `*.json` files (and
    /// their `.gz` and `.zst`), and any other path is read as JSON Lines
    /// unless it ends in `.json` (or `.json.gz`, `.json.zst`). A compressed
    /// file is read as the text it holds, whatever its name.
    pub fn from_paths(paths: &[PathBuf]) -> Result<EventReader> {
        EventReader::from_paths_as(paths, &FormatChoice::Auto)
    }

    /// [`from_paths`](Self::from_paths), reading each input in the format
    /// `choice` says. Under [`FormatChoice::Auto`] each file's format is
    /// told from its first record (a `.json` file's document is read
    /// through once for it); standard input, which cannot be read twice
    /// before it is kept, is then schema v1.
    pub fn from_paths_as(paths: &[PathBuf], choice: &FormatChoice) -> Result<EventReader> {
        let mut inputs = Vec::new();
        for path in paths {
            if path.as_os_str() == "-" {
                inputs.push(Input::Stdin);
            } else if path.is_dir() {
                let before = inputs.len();
                for entry in WalkDir::new(path).sort_by_file_name() {
                    let entry =
                        entry.with_context(|| format!("cannot search {}", path.display()))?;
                    let is_log = uncompressed_name(entry.path())
                        .extension()
                        .is_some_and(|ext| ext == "jsonl" || ext == "json");
                    if entry.file_type().is_file() && is_log {
                        inputs.push(Input::for_file(entry.into_path()));
                    }
                }
                if inputs.len() == before {
                    bail!(
                        "{}: directory holds no *.jsonl or *.json files (plain, .gz or .zst)",
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
        if inputs
            .iter()
            .filter(|input| **input == Input::Stdin)
            .count()
            > 1
        {
            bail!("standard input (`-`) is given more than once");
        }
        let mappings = (inputs.iter())
            .map(|input| match choice {
                FormatChoice::Covenant => Ok(None),
                FormatChoice::Mapping(mapping) => Ok(Some(mapping.clone())),
                FormatChoice::Auto => detect_input(input),
            })
            .collect::<Result<_>>()?;
        Ok(EventReader {
            inputs,
            progress: Box::new(Unwatched),
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            id_budget: ID_BUDGET_BYTES,
            spool: OnceLock::new(),
            mappings,
            first_pass: Mutex::new(None),
            attributes: None,
        })
    }

    /// Reports reading progress to `progress`.
    pub fn with_progress(mut self, progress: Box<dyn ReadProgress>) -> EventReader {
        self.progress = progress;
        self
    }

    /// Holds at most `bytes` of event ids in memory ([`ID_BUDGET_BYTES`]
    /// unless set), spilling the rest to temporary files.
    pub fn with_id_budget(mut self, bytes: usize) -> EventReader {
        self.id_budget = bytes;
        self
    }

    /// Decodes on `threads` threads (every core unless set).
    pub fn with_threads(mut self, threads: usize) -> EventReader {
        self.threads = threads.max(1);
        self
    }

    /// Keeps in the events it hands on only their own attributes with
    /// these `names`, and none of their data items' (every one unless
    /// set): a report's rules and redaction read no others, and parsing
    /// the rest only to drop them cost several allocations an event.
    pub fn keeping_attributes(mut self, names: Vec<String>) -> EventReader {
        self.attributes = Some(names);
        self
    }

    fn kept(&self) -> KeptAttributes<'_> {
        match &self.attributes {
            None => KeptAttributes::All,
            Some(names) => KeptAttributes::Only(names),
        }
    }

    /// The hex SHA-256 of each input as it is now, in order, to tell
    /// whether a log read twice changed in between
    /// ([`ReadLog::check_unchanged`]). Standard input is left out until
    /// it has been read once; then its copy counts.
    pub fn digests(&self) -> Result<Vec<String>> {
        let mut digests = Vec::new();
        for input in &self.inputs {
            let source = match self.reopen(input)? {
                Some(source) => source,
                None => continue,
            };
            let mut hashing = HashingReader::new(source);
            io::copy(&mut hashing, &mut io::sink())
                .with_context(|| format!("{}: cannot read", input.name()))?;
            digests.push(hashing.digest());
        }
        Ok(digests)
    }

    /// Opens `input` from its start: a file, or standard input's copy once
    /// it has been read (`None` before).
    fn reopen(&self, input: &Input) -> Result<Option<Box<dyn Read + Send>>> {
        Ok(match input {
            Input::JsonLines(path) | Input::JsonArray(path) => Some(open_decompressed(path)?),
            Input::Stdin => match self.spool.get() {
                Some(spool) => {
                    let mut copy = spool
                        .try_clone()
                        .context("cannot reopen standard input's copy")?;
                    copy.rewind()
                        .context("cannot reopen standard input's copy")?;
                    Some(Box::new(copy))
                }
                None => None,
            },
        })
    }

    /// The bytes there are to read, when every input is a file.
    fn total_bytes(&self) -> Option<u64> {
        self.inputs
            .iter()
            .map(|input| match input {
                Input::Stdin => self
                    .spool
                    .get()
                    .and_then(|f| f.metadata().ok())
                    .map(|m| m.len()),
                // A compressed file's size says nothing of how much text
                // it holds, so the progress bar then counts no fraction.
                Input::JsonLines(path) | Input::JsonArray(path) => File::open(path)
                    .and_then(|mut file| Ok((Compression::of(&mut file)?, file.metadata()?)))
                    .ok()
                    .filter(|(compression, _)| *compression == Compression::None)
                    .map(|(_, metadata)| metadata.len()),
            })
            .sum()
    }

    /// Reads every input in order, handing each valid event to `sink`.
    ///
    /// A record that is not a valid event (malformed JSON, a bad field, a
    /// duplicate id, an over-long line) is an error naming where and why,
    /// and the first in input order is the one named, unless
    /// `skip_invalid` is set: then it is listed in [`ReadLog::rejected`]
    /// and reading goes on. Nothing is dropped silently either way.
    ///
    /// Duplicate ids are known only once every id is in: without
    /// `skip_invalid`, events before the first duplicate may have reached
    /// `sink` by the time the read fails; with it, the log is read twice,
    /// first to find every record to skip, so `sink` never sees one.
    ///
    /// So are repeats, in the same way. A record that repeats an earlier
    /// one exactly, in a format that folds repeats, is counted as folded
    /// and not as events; without `skip_invalid` its events still reach
    /// `sink`, with the time and id of the ones they repeat. In time order
    /// they come right after those, and [`in_time_order`](super::in_time_order),
    /// the way rules are fed, drops them; the read has failed if they were
    /// anything but repeats.
    pub fn read(
        &self,
        skip_invalid: bool,
        sink: impl FnMut(Event) -> Result<()>,
    ) -> Result<ReadLog> {
        self.read_pass(Pass::Stream, skip_invalid, sink)
    }

    /// [`EventReader::read`] for a pass the progress display names.
    pub fn read_pass(
        &self,
        pass: Pass,
        skip_invalid: bool,
        sink: impl FnMut(Event) -> Result<()>,
    ) -> Result<ReadLog> {
        self.read_events(pass, skip_invalid, false, sink)
    }

    /// Reads every input at once and hands the valid events to `sink` in
    /// (time, id) order across them, as [`EventReader::read`] does
    /// otherwise: a merge, for logs that come as several files each in
    /// time order (one per host, say). An input that is not in that order
    /// itself fails the read with [`OutOfOrder`]. Past
    /// [`MERGE_MAX_INPUTS`] inputs, it reads them one after another.
    pub fn read_merged(
        &self,
        skip_invalid: bool,
        sink: impl FnMut(Event) -> Result<()>,
    ) -> Result<ReadLog> {
        let merge = self.inputs.len() > 1 && self.inputs.len() <= MERGE_MAX_INPUTS;
        self.read_events(Pass::Stream, skip_invalid, merge, sink)
    }

    fn read_events(
        &self,
        pass: Pass,
        skip_invalid: bool,
        merge: bool,
        sink: impl FnMut(Event) -> Result<()>,
    ) -> Result<ReadLog> {
        if !skip_invalid {
            return self
                .read_with(pass, Decode::Events, false, None, merge, sink)
                .map(|pending| pending.log);
        }
        let skip = self.first_pass(skip_invalid)?;
        self.read_with(pass, Decode::Events, skip_invalid, Some(&skip), merge, sink)
            .map(|pending| pending.log)
    }

    /// The first pass of a two-pass read, made once for every later read.
    fn first_pass(&self, skip_invalid: bool) -> Result<Arc<Skip>> {
        let mut kept = self.first_pass.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((flag, skip)) = kept.as_ref()
            && *flag == skip_invalid
        {
            return Ok(skip.clone());
        }
        let first = self.read_with(
            Pass::FindInvalid,
            Decode::CheckDigested,
            skip_invalid,
            None,
            false,
            |_| Ok(()),
        )?;
        let skip = Arc::new(Skip {
            digests: first.log.inputs.iter().map(|i| i.sha256.clone()).collect(),
            rejected: first.ids_rejected,
            folded: first.folded,
        });
        *kept = Some((skip_invalid, skip.clone()));
        Ok(skip)
    }

    /// Reads every input as [`EventReader::read`] does, keeping no event:
    /// what `covenant validate` needs.
    pub fn check(&self, skip_invalid: bool) -> Result<ReadLog> {
        self.read_with(
            Pass::Stream,
            Decode::Check,
            skip_invalid,
            None,
            false,
            |_| Ok(()),
        )
        .map(|pending| pending.log)
    }

    /// The one read every public read is: `decode` says what to keep,
    /// `skip` holds a first pass's rejections, and `merge` reads every
    /// input at once and hands events on in (time, id) order across them
    /// ([`EventReader::read_merged`]) rather than one input after another.
    fn read_with(
        &self,
        pass: Pass,
        decode: Decode,
        skip_invalid: bool,
        skip: Option<&Skip>,
        merge: bool,
        mut sink: impl FnMut(Event) -> Result<()>,
    ) -> Result<Pending> {
        let progress = self.progress.as_ref();
        progress.begin(pass, self.total_bytes());
        let ledger = IdLedger::new(self.id_budget);
        let hasher = ledger.hasher();
        let skipped: HashSet<Location> = skip
            .map(|s| s.rejected.iter().map(|(location, _)| *location).collect())
            .unwrap_or_default();
        let mut state = ReadState {
            inputs: Vec::new(),
            rejected: Vec::new(),
            events: 0,
            earliest: None,
            latest: None,
            in_order: true,
            last_key: None,
            first_error: None,
            ledger,
            skipped,
            folded: skip.map(|s| s.folded.clone()).unwrap_or_default(),
            last_left_out: None,
            skip_invalid,
        };
        for (input, mapping) in self.inputs.iter().zip(&self.mappings) {
            state.inputs.push(InputSummary {
                name: input.name(),
                format: if matches!(input, Input::JsonArray(_)) {
                    InputFormat::JsonArray
                } else {
                    InputFormat::Jsonl
                },
                events: 0,
                rejected: 0,
                sha256: String::new(),
                mapping: mapping.as_deref().map(|m| m.name().to_string()),
                skipped: 0,
                folded: 0,
            });
        }
        u32::try_from(self.inputs.len()).context("more than 2^32 inputs")?;
        let merged = if merge {
            self.merge_inputs(&mut state, &hasher, &mut sink)
        } else {
            self.concatenate_inputs(&mut state, decode, &hasher, &mut sink)
        };
        match merged {
            Err(e) if e.is::<StopAtError>() && merge => {
                // Merged inputs meet their errors out of input order; a
                // plain check names the first.
                let keep_none: fn(Event) -> Result<()> = |_| Ok(());
                self.read_with(pass, Decode::Check, false, None, false, keep_none)?;
            }
            Err(e) if e.is::<StopAtError>() => {}
            other => other?,
        }
        progress.done();
        if let Some(skip) = skip {
            for (input, before) in state.inputs.iter().zip(&skip.digests) {
                unchanged(&input.name, before, &input.sha256)?;
            }
        }
        // Sealing consumes the ledger; a one-entry one takes its place.
        let ids = std::mem::replace(&mut state.ledger, IdLedger::new(0)).seal()?;
        let Repeats { duplicates, folds } = self.duplicates(&state.inputs, &ids)?;
        let mut folded = HashSet::new();
        for location in folds {
            // A folded record's events were counted as read; it is one
            // record, however many events it maps to.
            let input = &mut state.inputs[location.input as usize];
            input.events -= 1;
            state.events -= 1;
            if folded.insert(location) {
                input.folded += 1;
            }
        }
        if let Some(first_error) = state.first_error.take() {
            // The read stopped at its first bad record; a duplicate id
            // before it is the first error, if there is one.
            if let Some((location, reason)) = duplicates.into_iter().next()
                && location < first_error.0
            {
                bail!("{}: {reason}", describe(&state.inputs, location));
            }
            bail!(
                "{}: {}",
                describe(&state.inputs, first_error.0),
                first_error.1
            );
        }
        let mut rejected = match skip {
            Some(skip) => skip.rejected.clone(),
            None => std::mem::take(&mut state.rejected),
        };
        if let Some((location, reason)) = duplicates.first()
            && !skip_invalid
        {
            bail!("{}: {reason}", describe(&state.inputs, *location));
        }
        let mut rejected_here = HashSet::new();
        for (location, reason) in duplicates {
            let input = &mut state.inputs[location.input as usize];
            input.events -= 1;
            state.events -= 1;
            // Each event of a record that maps to several is a duplicate
            // of its own; the record is rejected once.
            if !rejected_here.insert(location) {
                continue;
            }
            input.rejected += 1;
            let location_text = describe(&state.inputs, location);
            rejected.push((
                location,
                Rejection {
                    location: location_text,
                    reason,
                },
            ));
        }
        rejected.sort_by_key(|(location, _)| *location);
        Ok(Pending {
            log: ReadLog {
                inputs: state.inputs,
                rejected: rejected.iter().map(|(_, r)| r.clone()).collect(),
                events: state.events,
                earliest: state.earliest,
                latest: state.latest,
                in_order: state.in_order,
                ids,
            },
            ids_rejected: rejected,
            folded,
        })
    }

    /// Reads the inputs one after another, stopping at the first bad
    /// record unless `skip_invalid`.
    fn concatenate_inputs(
        &self,
        state: &mut ReadState,
        decode: Decode,
        hasher: &IdHasher,
        sink: &mut impl FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        let progress = self.progress.as_ref();
        for (number, input) in self.inputs.iter().enumerate() {
            let number = number as u32;
            let each = |block: &mut Block| -> Result<()> {
                progress.bytes(block.bytes);
                block.records.iter().for_each(|_| progress.record());
                state.take(number, block, sink)
            };
            let (source, spool) = self.open_for_read(input)?;
            let name = input.name();
            let digest = decode_input(
                input,
                &name,
                source,
                spool.as_ref(),
                Decoding {
                    decode,
                    hasher,
                    threads: self.threads,
                    mapping: self.mappings[number as usize].as_deref(),
                    kept: self.kept(),
                },
                each,
            );
            if let Some(spool) = spool {
                self.keep_spool(spool, &digest)?;
            }
            state.inputs[number as usize].sha256 = digest?;
        }
        Ok(())
    }

    /// Reads every input at once, each on its own threads, and hands the
    /// events on in (time, id) order across them: a k-way merge of inputs
    /// that are each in that order. An input that is not fails the read
    /// with [`OutOfOrder`].
    fn merge_inputs(
        &self,
        state: &mut ReadState,
        hasher: &IdHasher,
        sink: &mut impl FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        let progress = self.progress.as_ref();
        let threads = (self.threads / self.inputs.len()).max(1);
        let mut sources = Vec::new();
        let mut spools = Vec::new();
        for input in &self.inputs {
            let (source, spool) = self.open_for_read(input)?;
            sources.push(source);
            spools.push(spool);
        }
        let kept = self.kept();
        let digests = std::thread::scope(|scope| -> Result<Vec<String>> {
            let mut cursors = Vec::new();
            let mut readers = Vec::new();
            let each_input = self.inputs.iter().zip(&self.mappings);
            for (((input, mapping), source), spool) in each_input.zip(sources).zip(&spools) {
                let (blocks, received) = sync_channel::<Block>(2);
                readers.push(scope.spawn(move || {
                    let hand_on = |block: &mut Block| {
                        blocks
                            .send(std::mem::take(block))
                            .map_err(|_| anyhow::Error::new(StopAtError))
                    };
                    let name = input.name();
                    let spool = spool.as_ref();
                    decode_input(
                        input,
                        &name,
                        source,
                        spool,
                        Decoding {
                            decode: Decode::Events,
                            hasher,
                            threads,
                            mapping: mapping.as_deref(),
                            kept,
                        },
                        hand_on,
                    )
                }));
                cursors.push(Cursor::new(received));
            }
            let next = |state: &mut ReadState, cursors: &mut [Cursor], number: usize| {
                cursors[number].next(number as u32, state, progress)
            };
            let mut merge = || -> Result<()> {
                let mut heads = BinaryHeap::new();
                for number in 0..cursors.len() {
                    if let Some(event) = next(state, &mut cursors, number)? {
                        heads.push(Reverse(MergeHead { event, number }));
                    }
                }
                while let Some(Reverse(head)) = heads.pop() {
                    if let Some(event) = next(state, &mut cursors, head.number)? {
                        if (event.time, &event.id) < (head.event.time, &head.event.id) {
                            return Err(OutOfOrder.into());
                        }
                        heads.push(Reverse(MergeHead {
                            event,
                            number: head.number,
                        }));
                    }
                    sink(head.event)?;
                }
                Ok(())
            };
            let merged = merge();
            // Closing the channels ends every reading thread.
            drop(cursors);
            let digests: Vec<Result<String>> = readers
                .into_iter()
                .map(|reader| reader.join().expect("reading threads do not panic"))
                .collect();
            merged?;
            digests.into_iter().collect()
        });
        for spool in spools.into_iter().flatten() {
            self.keep_spool(spool, &digests)?;
        }
        for (summary, digest) in state.inputs.iter_mut().zip(digests?) {
            summary.sha256 = digest;
        }
        Ok(())
    }

    /// Keeps standard input's copy, whatever came of the read, so that a
    /// later pass reads the same bytes. A read abandoned because the log
    /// is out of order is followed by one from the copy, so the copy must
    /// then hold all of standard input, not only what was read so far.
    fn keep_spool<T>(&self, mut spool: File, outcome: &Result<T>) -> Result<()> {
        if outcome.as_ref().is_err_and(|e| e.is::<OutOfOrder>()) {
            io::copy(&mut io::stdin().lock(), &mut spool).with_context(|| {
                format!(
                    "cannot keep a copy of standard input in a temporary file in {} (it is read again to sort it; set TMPDIR to a larger disk)",
                    std::env::temp_dir().display()
                )
            })?;
        }
        let _ = self.spool.set(spool);
        Ok(())
    }

    /// Opens `input` from its start; standard input, on its first read,
    /// with a new temporary file to copy it to.
    fn open_for_read(&self, input: &Input) -> Result<(Box<dyn Read + Send>, Option<File>)> {
        if let Some(source) = self.reopen(input)? {
            return Ok((source, None));
        }
        let spool = tempfile::tempfile().with_context(|| {
            format!(
                "cannot create a temporary file in {} to keep a copy of standard input",
                std::env::temp_dir().display()
            )
        })?;
        Ok((Box::new(io::stdin()), Some(spool)))
    }

    /// The duplicate ids among the ledger's candidates, confirmed by
    /// reading their records again: each later place of an id, with the
    /// reason it is rejected, in input order; and, for formats that fold
    /// repeats, each later place of a record that repeats an earlier one
    /// exactly.
    fn duplicates(&self, inputs: &[InputSummary], ids: &SealedIds) -> Result<Repeats> {
        let candidates = ids.candidates();
        let mut repeats = Repeats::default();
        if candidates.is_empty() {
            return Ok(repeats);
        }
        let mut wanted: Vec<(Location, u64)> = candidates
            .iter()
            .flat_map(|(hash, group)| group.iter().map(|location| (*location, *hash)))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        // Of each event read again: its id and, where repeats fold, its
        // record's canonical JSON to compare.
        let mut found: HashMap<(Location, u64), (String, Option<String>)> = HashMap::new();
        let hasher = ids.hasher();
        self.revisit(inputs, &wanted, hasher, |location, event, record| {
            let folds = self.mappings[location.input as usize]
                .as_deref()
                .is_some_and(Mapping::folds_repeats);
            let content = folds
                .then(|| {
                    serde_json::from_str(record)
                        .ok()
                        .map(|value| canonical(&value))
                })
                .flatten();
            let key = (location, hasher.hash(&event.id));
            found.insert(key, (event.id.into_owned(), content));
        })?;
        for (hash, group) in candidates {
            let mut first_of: HashMap<&str, (Location, Option<&str>)> = HashMap::new();
            for location in group {
                let Some((id, content)) = found.get(&(*location, *hash)) else {
                    continue;
                };
                match first_of.get(id.as_str()) {
                    None => {
                        first_of.insert(id, (*location, content.as_deref()));
                    }
                    Some((_, Some(first))) if content.as_deref() == Some(*first) => {
                        repeats.folds.push(*location);
                    }
                    Some((first, _)) => {
                        let seen = if first.input == location.input {
                            format!("line {}", first.line)
                        } else {
                            describe(inputs, *first)
                        };
                        let differs = if content.is_some() {
                            " with other content"
                        } else {
                            ""
                        };
                        repeats.duplicates.push((
                            *location,
                            format!(
                                "field `id`: duplicate event id `{id}`{differs} (first seen at {seen})"
                            ),
                        ));
                    }
                }
            }
        }
        repeats.duplicates.sort_by_key(|(location, _)| *location);
        repeats.folds.sort_unstable();
        Ok(repeats)
    }

    /// Where the events with these `ids` were read, for the report to
    /// place the findings that name them. An id the log does not hold is
    /// left out. It reads the lines of those events again, and fails,
    /// naming the file, if an input is not what `log` read.
    pub fn places<'a>(
        &self,
        log: &ReadLog,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Places> {
        let ids: HashSet<&str> = ids.into_iter().collect();
        let mut places = Places::new();
        self.visit_places(log, ids.iter().copied(), |location, event| {
            if ids.contains(event.id.as_ref()) && !places.contains_key(event.id.as_ref()) {
                places.insert(
                    event.id.to_string(),
                    EventPlace {
                        time: event.time,
                        location,
                        tenant: event.filed_tenant().map(str::to_string),
                        data_id: event.data_id().map(str::to_string),
                    },
                );
            }
        })?;
        Ok(places)
    }

    /// Hands `each` the events of `log` with these `ids`, and where each
    /// was read, reading those lines again as [`places`](Self::places)
    /// does but keeping nothing, so that a saved state's millions of cited
    /// events go straight into its own table.
    ///
    /// Events come in input order. `each` may also be handed an event with
    /// another id that hashes like one of `ids` in the id ledger (rare),
    /// and each event that holds an id under `--skip-invalid` rejected as a
    /// duplicate: it tells them apart by id, and takes the first.
    pub fn visit_places<'a>(
        &self,
        log: &ReadLog,
        ids: impl IntoIterator<Item = &'a str>,
        mut each: impl FnMut(Location, &EventRef<'_>),
    ) -> Result<()> {
        let wanted = log.ids.find(ids)?;
        if wanted.is_empty() {
            return Ok(());
        }
        self.progress.begin(Pass::Place, self.total_bytes());
        self.revisit(
            &log.inputs,
            &wanted,
            log.ids.hasher(),
            |location, event, _| each(location, &event),
        )?;
        self.progress.done();
        Ok(())
    }

    /// Reads the records at `wanted` (sorted by place, each with the hash
    /// its id had in the ledger) again, handing each event to `each` with
    /// the text of the record it was read from (a mapped record may hold
    /// several events, all at one place).
    ///
    /// Every second read is checked: a wanted place that no longer holds an
    /// event whose id has that hash fails the read, naming the input, and an
    /// input the first read took a digest of is read to its end and must
    /// hash to it (`validate` takes none, so for it the ids are the check).
    fn revisit(
        &self,
        inputs: &[InputSummary],
        wanted: &[(Location, u64)],
        hasher: &IdHasher,
        mut each: impl FnMut(Location, EventRef<'_>, &str),
    ) -> Result<()> {
        for (number, input) in self.inputs.iter().enumerate() {
            let mapping = self.mappings[number].as_deref();
            let start = wanted.partition_point(|(l, _)| (l.input as usize) < number);
            let end = wanted.partition_point(|(l, _)| l.input as usize <= number);
            let here = &wanted[start..end];
            let whole = !inputs[number].sha256.is_empty();
            if here.is_empty() && !whole {
                continue;
            }
            let name = input.name();
            let source = self
                .reopen(input)?
                .with_context(|| format!("{name}: cannot be read again"))?;
            let mut hashing = HashingReader::new(source);
            let (mut found, mut next) = (0, 0);
            let mut give = |line: u64, text: &str| {
                let location = Location {
                    input: number as u32,
                    line,
                };
                // Lines come in the order asked for, so one pass finds each.
                while here.get(next).is_some_and(|(l, _)| *l < location) {
                    next += 1;
                }
                let expected = |hash: u64| {
                    here[next..]
                        .iter()
                        .take_while(|(l, _)| *l == location)
                        .any(|(_, h)| *h == hash)
                };
                let mut visit = |event_text: &str| {
                    if let Ok(event) = parse_event_ref(event_text)
                        && expected(hasher.hash(&event.id))
                    {
                        found += 1;
                        each(location, event, text);
                    }
                };
                match mapping.map(|mapping| mapping.apply(text)) {
                    None => visit(text),
                    Some(Ok(Mapped::Events(texts))) => texts.iter().for_each(|t| visit(t)),
                    Some(_) => {}
                }
            };
            let mut lines: Vec<u64> = here.iter().map(|(l, _)| l.line).collect();
            lines.dedup();
            match input {
                Input::JsonArray(_) => {
                    let mut bytes = Vec::new();
                    hashing
                        .read_to_end(&mut bytes)
                        .with_context(|| format!("{name}: read failed"))?;
                    let elements = document_records(&bytes, &name, mapping)?;
                    for line in &lines {
                        if let Some(text) = elements.get(*line as usize - 1) {
                            give(*line, text.get());
                        }
                    }
                }
                _ => find_lines(&mut hashing, &lines, whole, &mut give)
                    .with_context(|| format!("{name}: read failed"))?,
            }
            if found < here.len() {
                bail!(
                    "{name}: the file changed while it was being read (an event read at {} is no longer there); \
                     run again on a log nothing is writing to",
                    describe(inputs, here[0].0)
                );
            }
            if whole {
                self.progress.bytes(hashing.bytes);
                unchanged(&name, &inputs[number].sha256, &hashing.digest())?;
            }
        }
        Ok(())
    }
}

/// A [`ReadLog`] still carrying the located rejections a second pass needs.
struct Pending {
    log: ReadLog,
    ids_rejected: Vec<(Location, Rejection)>,
    folded: HashSet<Location>,
}

/// What reading candidates for duplicate ids again found.
#[derive(Debug, Default)]
struct Repeats {
    /// Each later event with an id seen before, and why it is rejected.
    duplicates: Vec<(Location, String)>,
    /// Each later event of a record repeating an earlier one exactly, in
    /// a format that folds repeats; a record of several events is there
    /// once for each.
    folds: Vec<Location>,
}

/// Thrown through the decoder to stop at the first bad record; the record
/// itself is in [`ReadState::first_error`].
#[derive(Debug)]
struct StopAtError;

impl std::fmt::Display for StopAtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped at the first invalid record")
    }
}

impl std::error::Error for StopAtError {}

/// What a read has gathered so far.
pub(super) struct ReadState {
    inputs: Vec<InputSummary>,
    rejected: Vec<(Location, Rejection)>,
    events: u64,
    earliest: Option<Timestamp>,
    latest: Option<Timestamp>,
    in_order: bool,
    last_key: Option<(Timestamp, String)>,
    first_error: Option<(Location, String)>,
    /// Every valid event's id hash and place.
    ledger: IdLedger,
    /// The places a first pass rejected, to skip.
    skipped: HashSet<Location>,
    /// The places of records a first pass found repeated, to fold.
    folded: HashSet<Location>,
    /// The last place left out, so that a record of several events is
    /// counted once.
    last_left_out: Option<Location>,
    skip_invalid: bool,
}

impl ReadState {
    /// Takes one decoded block of input `number` in.
    fn take(
        &mut self,
        number: u32,
        block: &mut Block,
        sink: &mut impl FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        if let (Some(last), Some(first)) = (&self.last_key, &block.first)
            && (first.0, first.1.as_str()) < (last.0, last.1.as_str())
        {
            self.in_order = false;
        }
        if block.out_of_order {
            self.in_order = false;
        }
        if block.last.is_some() {
            self.last_key = block.last.take();
        }
        self.count_skipped(number, block.skipped);
        let mut events = block.events.drain(..);
        for record in block.records.drain(..) {
            let event = record.outcome.is_ok().then(|| events.next()).flatten();
            if let Some(event) = self.take_record(number, record, event)? {
                sink(event)?;
            }
        }
        Ok(())
    }

    /// Counts `records` of input `number` its mapping left out.
    pub(super) fn count_skipped(&mut self, number: u32, records: u64) {
        self.inputs[number as usize].skipped += records;
    }

    /// Takes one record of input `number` in, with its event if it has
    /// one; returns the event if it is to be handed on.
    pub(super) fn take_record(
        &mut self,
        number: u32,
        record: Record,
        event: Option<Event>,
    ) -> Result<Option<Event>> {
        let location = Location {
            input: number,
            line: record.line,
        };
        let folded = self.folded.contains(&location);
        if folded || self.skipped.contains(&location) {
            // Rejected by the first pass, duplicate ids among them, or a
            // repeat to fold: the events are dropped here unseen.
            if self.last_left_out != Some(location) {
                self.last_left_out = Some(location);
                let input = &mut self.inputs[number as usize];
                if folded {
                    input.folded += 1;
                } else {
                    input.rejected += 1;
                }
            }
            return Ok(None);
        }
        match record.outcome {
            Ok(decoded) => {
                self.ledger.push(decoded.hash, location)?;
                self.events += 1;
                self.inputs[number as usize].events += 1;
                self.earliest = Some(self.earliest.map_or(decoded.time, |t| t.min(decoded.time)));
                self.latest = self.latest.max(Some(decoded.time));
                Ok(event)
            }
            Err(reason) if self.skip_invalid => {
                self.inputs[number as usize].rejected += 1;
                let at = describe(&self.inputs, location);
                self.rejected.push((
                    location,
                    Rejection {
                        location: at,
                        reason,
                    },
                ));
                Ok(None)
            }
            Err(reason) => {
                self.first_error = Some((location, reason));
                Err(StopAtError.into())
            }
        }
    }
}

/// The format `--input-format auto` reads `input` in: told from its first
/// record. Standard input is schema v1, since looking at it would use it up.
fn detect_input(input: &Input) -> Result<Option<Arc<Mapping>>> {
    let (path, document) = match input {
        Input::Stdin => return Ok(None),
        Input::JsonLines(path) => (path, false),
        Input::JsonArray(path) => (path, true),
    };
    let first = first_record(open_decompressed(path)?, document)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(match first.as_ref().map(detect) {
        Some(Detected::Mapping(mapping)) => Some(mapping),
        Some(Detected::Covenant) | None => None,
    })
}

/// Decodes one input from `source` as `how` says, handing each block to
/// `each`; returns the input's hex SHA-256.
fn decode_input(
    input: &Input,
    name: &str,
    source: Box<dyn Read + Send>,
    spool: Option<&File>,
    how: Decoding<'_>,
    mut each: impl FnMut(&mut Block) -> Result<()>,
) -> Result<String> {
    match input {
        Input::JsonArray(_) => read_json_array(source, name, how, &mut each),
        _ => decode_lines(name, source, spool, how, each),
    }
}
/// The most inputs [`EventReader::read_merged`] merges: each is read on
/// its own threads at once.
pub const MERGE_MAX_INPUTS: usize = 64;

/// The longest line read as an event. Real events are a few hundred bytes;
/// a longer line is a corrupt or hostile log, and holding it would cost
/// memory for nothing.
pub const MAX_LINE_BYTES: usize = 1 << 20;
#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` as a file, spilling ids every 4 events; returns each
    /// event id handed on, and the log or the error.
    fn read(text: &[u8], skip_invalid: bool) -> (Vec<String>, Result<ReadLog>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, text).unwrap();
        let reader = EventReader::from_paths(&[path])
            .unwrap()
            .with_id_budget(4 * 16)
            .with_threads(2);
        let mut seen = Vec::new();
        let log = reader.read(skip_invalid, |event| {
            seen.push(event.id);
            Ok(())
        });
        (seen, log)
    }

    fn event(id: &str) -> String {
        format!(r#"{{"id":"{id}","time":"2026-01-01T00:00:00Z","action":"store","tenant":"t"}}"#)
    }

    #[test]
    fn only_the_attributes_asked_for_are_kept_and_all_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let line = r#"{"id":"e1","time":"2026-01-01T00:00:00Z","action":"store","subscription":"s1","ticket":"T-1","data":{"id":"d1","size":10}}"#;
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let read = |reader: EventReader| {
            let mut events = Vec::new();
            reader
                .read(false, |event| {
                    events.push(event);
                    Ok(())
                })
                .unwrap();
            events.pop().unwrap()
        };
        let all = read(EventReader::from_paths(std::slice::from_ref(&path)).unwrap());
        assert_eq!(
            all.extra.keys().collect::<Vec<_>>(),
            ["subscription", "ticket"]
        );
        assert_eq!(all.data.unwrap().extra["size"], 10);
        let names = vec!["subscription".to_string(), "absent".to_string()];
        let reader = EventReader::from_paths(&[path])
            .unwrap()
            .keeping_attributes(names);
        let some = read(reader);
        assert_eq!(some.extra.keys().collect::<Vec<_>>(), ["subscription"]);
        assert_eq!(some.extra["subscription"], "s1");
        let data = some.data.unwrap();
        assert!(data.extra.is_empty());
        assert_eq!(data.id.as_deref(), Some("d1"));
    }

    #[test]
    fn skips_blank_lines_and_accepts_bom_and_crlf() {
        let text = format!("\u{feff}{}\r\n\r\n   \n{}\n", event("e1"), event("e2"));
        let (seen, log) = read(text.as_bytes(), false);
        assert_eq!(seen, ["e1", "e2"]);
        assert_eq!(log.unwrap().events, 2);
    }

    #[test]
    fn bad_lines_are_listed_with_their_number_and_reading_goes_on() {
        let mut text = format!("{}\n{{\"id\": \n", event("e1")).into_bytes();
        text.extend_from_slice(b"\xff\n");
        text.extend_from_slice(format!("{}\n", event("e2")).as_bytes());
        let long = format!("{{\"pad\": \"{}\"}}\n", "x".repeat(MAX_LINE_BYTES));
        text.extend_from_slice(long.as_bytes());
        let deep = format!("{}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        text.extend_from_slice(deep.as_bytes());
        text.extend_from_slice(event("e3").as_bytes());
        let (seen, log) = read(&text, true);
        assert_eq!(seen, ["e1", "e2", "e3"]);
        let log = log.unwrap();
        let reasons: Vec<(&str, &str)> = log
            .rejected
            .iter()
            .map(|r| (r.location.rsplit(':').next().unwrap(), r.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(
            reasons[0].0 == "2"
                && reasons[0]
                    .1
                    .starts_with("malformed JSON: EOF while parsing")
        );
        assert_eq!(reasons[1], ("3", "not valid UTF-8 (at byte 1)"));
        assert_eq!(reasons[2], ("5", "line is longer than the 1 MiB limit"));
        assert!(reasons[3].0 == "6" && reasons[3].1.contains("recursion limit exceeded"));
        assert_eq!(
            (log.events, log.inputs[0].events, log.inputs[0].rejected),
            (3, 3, 4)
        );
    }

    #[test]
    fn a_duplicate_id_is_the_error_when_it_comes_first_whatever_was_spilled() {
        let lines: Vec<String> = (0..10).map(|i| event(&format!("e{i}"))).collect();
        let text = format!("{}\n{}\n{{\n", lines.join("\n"), event("e3"));
        let error = read(text.as_bytes(), false).1.unwrap_err().to_string();
        assert!(
            error.ends_with(
                "log.jsonl:11: field `id`: duplicate event id `e3` (first seen at line 4)"
            ),
            "{error}"
        );
        let text = format!("{}\n{{\n{}\n", lines.join("\n"), event("e3"));
        let error = read(text.as_bytes(), false).1.unwrap_err().to_string();
        assert!(error.contains("log.jsonl:11: malformed JSON"), "{error}");
    }

    #[test]
    fn under_skip_invalid_a_duplicate_never_reaches_the_sink() {
        let text = [event("a"), event("b"), event("a"), event("c"), event("b")].join("\n");
        let (seen, log) = read(text.as_bytes(), true);
        assert_eq!(seen, ["a", "b", "c"]);
        let log = log.unwrap();
        let reasons: Vec<&str> = log.rejected.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "field `id`: duplicate event id `a` (first seen at line 1)",
                "field `id`: duplicate event id `b` (first seen at line 2)"
            ]
        );
        assert_eq!((log.events, log.inputs[0].rejected), (3, 2));
    }

    #[test]
    fn confirming_duplicates_refuses_a_changed_file_even_without_a_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let text = [event("a"), event("b"), event("a")].join("\n");
        std::fs::write(&path, &text).unwrap();
        let reader = EventReader::from_paths(std::slice::from_ref(&path)).unwrap();
        // `validate`'s read: no digest, so the ids are the only check.
        let log = reader.check(true).unwrap();
        assert_eq!(log.rejected.len(), 1);
        assert!(
            reader
                .duplicates(&log.inputs, &log.ids)
                .unwrap()
                .duplicates
                .len()
                == 1
        );
        std::fs::write(&path, [event("a"), event("b"), event("c")].join("\n")).unwrap();
        let error = reader
            .duplicates(&log.inputs, &log.ids)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("log.jsonl: the file changed while it was being read (an event read at"),
            "{error}"
        );
    }

    #[test]
    fn places_are_found_again_and_a_changed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let lines: Vec<String> = (0..50).map(|i| event(&format!("e{i}"))).collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        let reader = EventReader::from_paths(std::slice::from_ref(&path))
            .unwrap()
            .with_id_budget(16 * 16);
        let log = reader.read(false, |_| Ok(())).unwrap();
        let places = reader.places(&log, ["e7", "e49", "nowhere"]).unwrap();
        assert_eq!(places.len(), 2);
        assert_eq!(places["e7"].location, Location { input: 0, line: 8 });
        assert_eq!(places["e49"].location.line, 50);
        assert_eq!(places["e49"].tenant.as_deref(), Some("t"));
        std::fs::write(&path, lines[..49].join("\n")).unwrap();
        let error = reader.places(&log, ["e7"]).unwrap_err().to_string();
        assert!(
            error.contains("the file changed while it was being read"),
            "{error}"
        );
    }
}

/// Merging: any split of a log into files that are each in (time, id)
/// order reads as the whole log sorted, and errors are those of a read one
/// file after another.
#[cfg(test)]
mod merge {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    fn line(id: usize, second: u8) -> String {
        format!(
            r#"{{"id":"e{id}","time":"2026-01-01T00:00:{:02}Z","action":"store"}}"#,
            second % 60
        )
    }

    /// Writes `files`, each a list of lines, and opens them in order.
    fn reader(dir: &Path, files: &[Vec<String>]) -> EventReader {
        let paths: Vec<PathBuf> = files
            .iter()
            .enumerate()
            .map(|(i, lines)| {
                let path = dir.join(format!("part-{i}.jsonl"));
                std::fs::write(&path, lines.join("\n")).unwrap();
                path
            })
            .collect();
        EventReader::from_paths(&paths)
            .unwrap()
            .with_id_budget(8 * 16)
    }

    proptest! {
        #[test]
        fn ordered_files_merge_into_the_sorted_log(
            seconds in proptest::collection::vec(any::<u8>(), 0..60),
            cuts in proptest::collection::vec(0usize..4, 0..60),
        ) {
            let mut events: Vec<(Timestamp, String, String)> = seconds
                .iter()
                .enumerate()
                .map(|(id, s)| {
                    let text = line(id, *s);
                    let event = parse_event_ref(&text).unwrap();
                    (event.time, event.id.to_string(), text)
                })
                .collect();
            events.sort();
            let mut files = vec![Vec::new(); 4];
            for (i, (_, _, text)) in events.iter().enumerate() {
                files[cuts.get(i).copied().unwrap_or(0)].push(text.clone());
            }
            files.retain(|f| !f.is_empty());
            if files.is_empty() {
                files.push(Vec::new());
            }
            let dir = tempfile::tempdir().unwrap();
            let reader = reader(dir.path(), &files);
            let mut seen = Vec::new();
            let log = reader.read_merged(false, |event| { seen.push(event.id); Ok(()) }).unwrap();
            let sorted: Vec<String> = events.iter().map(|(_, id, _)| id.clone()).collect();
            prop_assert_eq!(seen, sorted);
            prop_assert_eq!(log.events as usize, events.len());
        }
    }

    #[test]
    fn a_file_out_of_order_ends_the_merge_and_errors_come_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let backwards = vec![line(1, 2), line(2, 1)];
        let error = reader(dir.path(), &[vec![line(0, 0)], backwards])
            .read_merged(false, |_| Ok(()))
            .unwrap_err();
        assert!(error.is::<OutOfOrder>(), "{error:#}");
        // The second file's bad line is met first by the merge, but the
        // first file's comes first in input order.
        let first = vec![line(0, 0), line(1, 30), "{".to_string()];
        let second = vec!["{".to_string()];
        let error = reader(dir.path(), &[first, second])
            .read_merged(false, |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("part-0.jsonl:3: malformed JSON"), "{error}");
    }
}

/// Fuzzing the reader: whatever bytes arrive, it never panics and accounts
/// for every non-blank line, as an event or as a rejection.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Lines that are mostly near-valid events, to reach deep into parsing.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            (any::<u8>(), "[a-z]{0,8}", prop_oneof![Just("2026-01-01T00:00:00Z"), Just("2026-01-01T00:00:60+14:00"), Just("x")])
                .prop_map(|(n, action, time)| {
                    format!(r#"{{"id":"e{n}","time":"{time}","action":"{action}","data":{{"sources":[1]}}}}"#).into_bytes()
                }),
            "\\PC{0,80}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        // CI runs the default; set PROPTEST_CASES for a longer run.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
        ))]

        #[test]
        fn every_non_blank_line_is_an_event_or_a_rejection(lines in proptest::collection::vec(line(), 0..20)) {
            let mut text = Vec::new();
            for line in &lines {
                text.extend(line.iter().filter(|&&b| b != b'\n'));
                text.push(b'\n');
            }
            // A file that opens with gzip's or zstd's magic is read as one
            // (README: told by its first bytes), which these lines are not.
            prop_assume!(!text.starts_with(&[0x1f, 0x8b]) && !text.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("log.jsonl");
            std::fs::write(&path, &text).unwrap();
            let reader = EventReader::from_paths(&[path]).unwrap().with_id_budget(32);
            let mut seen = 0u64;
            let log = reader.read(true, |_| { seen += 1; Ok(()) }).unwrap();
            let blank = text
                .split(|&b| b == b'\n')
                .take(lines.len())
                .enumerate()
                .filter(|(i, l)| {
                    let l = if *i == 0 { l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l) } else { l };
                    std::str::from_utf8(l).is_ok_and(|t| t.trim().is_empty())
                })
                .count();
            prop_assert_eq!(seen, log.events);
            prop_assert_eq!(log.events + log.rejected.len() as u64, (lines.len() - blank) as u64);
        }
    }
}
