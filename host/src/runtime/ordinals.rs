//! The events a rule was sent, by ordinal, so that its findings (which
//! name ordinals) become event ids again.
//!
//! A rule may name any event it was sent, however long ago: retention
//! reports at the end a store it saw in the first batch. Keeping every id
//! in memory would grow with the log, which reading no longer does, so the
//! ids go to temporary files, once for every rule of the run: [`RunIds`]
//! holds the id of each event by ordinal, written as each batch is taken.
//! A rule keeps only which ordinals it was sent ([`SentIds`]), as runs of
//! consecutive ordinals, so that a rule sent every event keeps one run,
//! and the events an earlier run's saved state cites, with their ids.
//! Lookups read the files back with `pread`; findings are few.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail};

/// Bytes of one entry of a [`PairFile`].
const PAIR_BYTES: u64 = 16;

/// Entries of a [`PairFile`] read at once when it is read in order.
const CHUNK_PAIRS: u64 = 4_096;

/// The id of every event of the run, by ordinal: see the module doc.
///
/// The thread that reads the log appends each batch before any rule is
/// sent it, and the rules' threads read it back, so the table is behind a
/// lock; only calls that report findings take it.
#[derive(Debug)]
pub(super) struct RunIds {
    table: Mutex<IdTable>,
}

#[derive(Debug)]
struct IdTable {
    /// The ordinal of the table's first event.
    first: u64,
    /// Where each event's id starts in `ids`, 8 bytes an event.
    starts: BufWriter<File>,
    ids: TextFile,
    events: u64,
}

impl RunIds {
    /// An empty table for a run whose first event has ordinal `first`, with
    /// its files in `$TMPDIR`.
    pub(super) fn new(first: u64) -> Result<RunIds> {
        Ok(RunIds {
            table: Mutex::new(IdTable {
                first,
                starts: BufWriter::with_capacity(1 << 16, temporary_file()?),
                ids: TextFile::new()?,
                events: 0,
            }),
        })
    }

    /// Appends `ids`, the run's next events' in ordinal order.
    pub(super) fn extend<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let mut table = self.lock();
        for id in ids {
            let start = table.ids.push(id)?;
            table
                .starts
                .write_all(&start.to_le_bytes())
                .context(TEMP_WRITE)?;
            table.events += 1;
        }
        Ok(())
    }

    /// Whether `other` is this very table.
    pub(super) fn is(self: &Arc<RunIds>, other: &Arc<RunIds>) -> bool {
        Arc::ptr_eq(self, other)
    }

    /// The ordinal of the run's first event.
    fn first(&self) -> u64 {
        self.lock().first
    }

    /// The ids of `ordinals`, in the order given, each an event of the run.
    /// Reading is cheapest with the ordinals in increasing order: the
    /// starts are read a chunk at a time.
    fn ids(&self, ordinals: impl IntoIterator<Item = u64>) -> Result<Vec<String>> {
        let mut table = self.lock();
        table.starts.flush().context(TEMP_WRITE)?;
        table.ids.flush()?;
        let (first, events) = (table.first, table.events);
        let mut chunk: Vec<u8> = Vec::new();
        let mut chunk_at = u64::MAX;
        let mut start_of = |n: u64| -> Result<u64> {
            if n == events {
                return Ok(table.ids.len);
            }
            let at = n - n % CHUNK_PAIRS;
            if at != chunk_at {
                let count = CHUNK_PAIRS.min(events - at);
                chunk.resize(count as usize * 8, 0);
                (table.starts.get_ref().read_exact_at(&mut chunk, at * 8)).context(TEMP_READ)?;
                chunk_at = at;
            }
            let word = (n - at) as usize * 8;
            Ok(u64::from_le_bytes(
                chunk[word..word + 8].try_into().expect("8 bytes"),
            ))
        };
        let mut ids = Vec::new();
        for ordinal in ordinals {
            let n = (ordinal.checked_sub(first))
                .filter(|n| *n < events)
                .ok_or_else(|| anyhow!("event {ordinal} is not in the run's table of ids"))?;
            let (start, end) = (start_of(n)?, start_of(n + 1)?);
            ids.push(table.ids.read(start, end)?);
        }
        Ok(ids)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Which events one rule was sent, by ordinal; see the module doc.
#[derive(Debug)]
pub(super) struct SentIds {
    /// The run's ids, from the first batch the rule is sent.
    run: Option<Arc<RunIds>>,
    /// The runs of consecutive ordinals sent, as (first, end), but the last.
    runs: PairFile,
    /// The last run of ordinals sent, still growing.
    open: Option<(u64, u64)>,
    /// The events an earlier run's state cites, made by the first.
    carried: Option<Carried>,
    /// The ordinal after the last event of the run so far, sent or not.
    next: u64,
}

/// Events of an earlier run, which the run's table does not hold: the
/// pairs are (ordinal, where its id starts).
#[derive(Debug)]
struct Carried {
    index: PairFile,
    ids: TextFile,
}

impl SentIds {
    /// An empty record, with its file in `$TMPDIR`.
    pub(super) fn new() -> Result<SentIds> {
        Ok(SentIds {
            run: None,
            runs: PairFile::new()?,
            open: None,
            carried: None,
            next: 0,
        })
    }

    /// Takes the run's table from a batch; every batch must bring the same.
    pub(super) fn follow(&mut self, run: &Arc<RunIds>) -> Result<()> {
        match &self.run {
            Some(known) if !known.is(run) => bail!("was sent the events of two runs"),
            Some(_) => Ok(()),
            None => {
                self.run = Some(Arc::clone(run));
                Ok(())
            }
        }
    }

    /// Records that the run's event `ordinal` was sent; ordinals only grow.
    pub(super) fn push(&mut self, ordinal: u64) -> Result<()> {
        debug_assert!(ordinal >= self.next, "ordinals only grow");
        match &mut self.open {
            Some((_, end)) if *end == ordinal => *end += 1,
            open => {
                if let Some((first, end)) = open.replace((ordinal, ordinal + 1)) {
                    self.runs.push(first, end)?;
                }
            }
        }
        self.next = ordinal + 1;
        Ok(())
    }

    /// Records that an earlier run sent the event `ordinal`, with `id`:
    /// before any event of this run.
    pub(super) fn carry(&mut self, ordinal: u64, id: &str) -> Result<()> {
        debug_assert!(ordinal >= self.next, "ordinals only grow");
        let carried = match &mut self.carried {
            Some(carried) => carried,
            None => self.carried.insert(Carried {
                index: PairFile::new()?,
                ids: TextFile::new()?,
            }),
        };
        let start = carried.ids.push(id)?;
        carried.index.push(ordinal, start)?;
        self.next = ordinal + 1;
        Ok(())
    }

    /// Marks every ordinal before `next` as gone by, sent or not.
    pub(super) fn pass(&mut self, next: u64) {
        self.next = self.next.max(next);
    }

    /// The ids of `ordinals`, which one call of the rule reported; an
    /// error, in words for the rule's failure, names the first ordinal the
    /// rule was not sent or named twice.
    pub(super) fn resolve(&mut self, ordinals: &[u64]) -> Result<Vec<String>> {
        if ordinals.is_empty() {
            return Ok(Vec::new());
        }
        let mut seen = std::collections::HashSet::new();
        let mut ids = vec![String::new(); ordinals.len()];
        let mut of_run = Vec::new();
        for (at, &ordinal) in ordinals.iter().enumerate() {
            if !seen.insert(ordinal) {
                bail!("reported event {ordinal} twice in one call");
            }
            if self.sent_in_run(ordinal)? {
                of_run.push((at, ordinal));
                continue;
            }
            match self.carried_id(ordinal)? {
                Some(id) => ids[at] = id,
                None => bail!(
                    "reported a finding about event {ordinal}, which it was not sent ({} events have gone by)",
                    self.next
                ),
            }
        }
        if !of_run.is_empty() {
            of_run.sort_unstable_by_key(|(_, ordinal)| *ordinal);
            let found = self
                .run()?
                .ids(of_run.iter().map(|(_, ordinal)| *ordinal))?;
            for ((at, _), id) in of_run.iter().zip(found) {
                ids[*at] = id;
            }
        }
        Ok(ids)
    }

    /// The ids of `ordinals`, in increasing order, as [`SentIds::resolve`]
    /// gives them but in one pass over the files, however many there are:
    /// a rule's saved state may cite an event per data item.
    pub(super) fn resolve_in_order(&mut self, ordinals: &[u64]) -> Result<Vec<String>> {
        let not_sent = |ordinal: u64, next: u64| {
            anyhow!("cites event {ordinal}, which it was not sent ({next} events have gone by)")
        };
        let run_first = self.run.as_ref().map_or(u64::MAX, |run| run.first());
        let split = ordinals.partition_point(|ordinal| *ordinal < run_first);
        let (earlier, of_run) = ordinals.split_at(split);
        let mut ids = Vec::with_capacity(ordinals.len());
        if !earlier.is_empty() {
            let carried = (self.carried.as_mut()).ok_or_else(|| not_sent(earlier[0], self.next))?;
            carried.ids.flush()?;
            let (index, texts) = (&mut carried.index, &carried.ids);
            let mut entries = index.in_order()?.peekable();
            for &ordinal in earlier {
                let start = loop {
                    match entries.next().transpose()? {
                        Some((at, start)) if at == ordinal => break start,
                        Some((at, _)) if at < ordinal => continue,
                        _ => return Err(not_sent(ordinal, self.next)),
                    }
                };
                let end = match entries.peek() {
                    Some(Ok((_, next))) => *next,
                    Some(Err(_)) | None => texts.len,
                };
                ids.push(texts.read(start, end)?);
            }
        }
        if !of_run.is_empty() {
            let next = self.next;
            let mut runs = self.runs.in_order()?.chain(self.open.map(Ok));
            let mut current = runs.next().transpose()?;
            for &ordinal in of_run {
                while let Some((_, end)) = current
                    && end <= ordinal
                {
                    current = runs.next().transpose()?;
                }
                if current.is_none_or(|(first, _)| first > ordinal) {
                    return Err(not_sent(ordinal, next));
                }
            }
            drop(runs);
            ids.extend(self.run()?.ids(of_run.iter().copied())?);
        }
        Ok(ids)
    }

    /// The run's table, which every rule sent an event has followed.
    fn run(&self) -> Result<&RunIds> {
        (self.run.as_deref()).ok_or_else(|| anyhow!("was sent events without the run's ids"))
    }

    /// Whether the rule was sent this run's event `ordinal`.
    fn sent_in_run(&mut self, ordinal: u64) -> Result<bool> {
        if let Some((first, end)) = self.open
            && (first..end).contains(&ordinal)
        {
            return Ok(true);
        }
        self.runs.flush()?;
        // The last run that starts at or before `ordinal`.
        let (mut low, mut high) = (0, self.runs.len);
        while low < high {
            let middle = low + (high - low) / 2;
            match self.runs.get(middle)? {
                (first, _) if first <= ordinal => low = middle + 1,
                _ => high = middle,
            }
        }
        Ok(low > 0 && ordinal < self.runs.get(low - 1)?.1)
    }

    /// The id an earlier run sent as `ordinal`, if it did.
    fn carried_id(&mut self, ordinal: u64) -> Result<Option<String>> {
        let Some(carried) = &mut self.carried else {
            return Ok(None);
        };
        carried.index.flush()?;
        carried.ids.flush()?;
        let (mut low, mut high) = (0, carried.index.len);
        while low < high {
            let middle = low + (high - low) / 2;
            let (at, start) = carried.index.get(middle)?;
            match at.cmp(&ordinal) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => {
                    let end = match middle + 1 < carried.index.len {
                        true => carried.index.get(middle + 1)?.1,
                        false => carried.ids.len,
                    };
                    return carried.ids.read(start, end).map(Some);
                }
            }
        }
        Ok(None)
    }
}

/// A temporary file of pairs of numbers, appended to and read back.
#[derive(Debug)]
struct PairFile {
    file: BufWriter<File>,
    len: u64,
}

impl PairFile {
    fn new() -> Result<PairFile> {
        Ok(PairFile {
            file: BufWriter::with_capacity(1 << 16, temporary_file()?),
            len: 0,
        })
    }

    fn push(&mut self, a: u64, b: u64) -> Result<()> {
        let mut pair = [0; PAIR_BYTES as usize];
        pair[..8].copy_from_slice(&a.to_le_bytes());
        pair[8..].copy_from_slice(&b.to_le_bytes());
        self.file.write_all(&pair).context(TEMP_WRITE)?;
        self.len += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file.flush().context(TEMP_WRITE)
    }

    /// The `n`-th pair, once flushed.
    fn get(&self, n: u64) -> Result<(u64, u64)> {
        let mut pair = [0; PAIR_BYTES as usize];
        (self.file.get_ref().read_exact_at(&mut pair, n * PAIR_BYTES)).context(TEMP_READ)?;
        Ok(decode_pair(&pair))
    }

    /// Every pair, in order, read [`CHUNK_PAIRS`] at a time.
    fn in_order(&mut self) -> Result<impl Iterator<Item = Result<(u64, u64)>> + '_> {
        self.flush()?;
        let mut chunk = Vec::new();
        Ok((0..self.len).map(move |n| {
            let at = (n % CHUNK_PAIRS) as usize * PAIR_BYTES as usize;
            if at == 0 {
                let count = CHUNK_PAIRS.min(self.len - n);
                chunk.resize((count * PAIR_BYTES) as usize, 0);
                (self
                    .file
                    .get_ref()
                    .read_exact_at(&mut chunk, n * PAIR_BYTES))
                .context(TEMP_READ)?;
            }
            Ok(decode_pair(&chunk[at..at + PAIR_BYTES as usize]))
        }))
    }
}

/// A temporary file of ids, one after another, appended to and read back
/// by where each starts.
#[derive(Debug)]
struct TextFile {
    file: BufWriter<File>,
    /// Bytes written.
    len: u64,
}

impl TextFile {
    fn new() -> Result<TextFile> {
        Ok(TextFile {
            file: BufWriter::with_capacity(1 << 16, temporary_file()?),
            len: 0,
        })
    }

    /// Appends `text`, returning where it starts.
    fn push(&mut self, text: &str) -> Result<u64> {
        let start = self.len;
        self.file.write_all(text.as_bytes()).context(TEMP_WRITE)?;
        self.len += text.len() as u64;
        Ok(start)
    }

    fn flush(&mut self) -> Result<()> {
        self.file.flush().context(TEMP_WRITE)
    }

    /// The text from `start` to `end`, once flushed.
    fn read(&self, start: u64, end: u64) -> Result<String> {
        let mut text = vec![0; (end - start) as usize];
        (self.file.get_ref().read_exact_at(&mut text, start)).context(TEMP_READ)?;
        String::from_utf8(text).context(TEMP_READ)
    }
}

/// A temporary file in `$TMPDIR`, gone when closed.
fn temporary_file() -> Result<File> {
    let folder = std::env::temp_dir();
    tempfile::tempfile_in(&folder).with_context(|| {
        format!(
            "cannot keep the ids of the events sent to the rules in a temporary file in {} (set TMPDIR to a larger disk)",
            folder.display()
        )
    })
}

fn decode_pair(pair: &[u8]) -> (u64, u64) {
    let word = |at: usize| u64::from_le_bytes(pair[at..at + 8].try_into().expect("8 bytes"));
    (word(0), word(8))
}

const TEMP_WRITE: &str = "cannot write the ids of the events sent to the rules to a temporary file";
const TEMP_READ: &str =
    "cannot read back the ids of the events sent to the rules from a temporary file";

#[cfg(test)]
mod tests {
    use super::*;

    /// A run whose events `first..first + count` have ids `e<ordinal>`.
    fn run_of(first: u64, count: u64) -> Arc<RunIds> {
        let run = RunIds::new(first).unwrap();
        let ids: Vec<String> = (first..first + count).map(|o| format!("e{o}")).collect();
        run.extend(ids.iter().map(String::as_str)).unwrap();
        Arc::new(run)
    }

    #[test]
    fn ordinals_sent_resolve_to_their_ids_and_others_are_refused() {
        let run = RunIds::new(0).unwrap();
        run.extend(["e0", "e1", "event-two", "", "e4", "e5", "e6", "é7"])
            .unwrap();
        let mut sent = SentIds::new().unwrap();
        sent.follow(&Arc::new(run)).unwrap();
        for ordinal in [0, 2, 3, 7] {
            sent.push(ordinal).unwrap();
        }
        sent.pass(10);
        assert_eq!(
            sent.resolve(&[7, 0, 2, 3]).unwrap(),
            ["é7", "e0", "event-two", ""]
        );
        let mut refused = |ordinals: &[u64]| sent.resolve(ordinals).unwrap_err().to_string();
        assert!(refused(&[1]).contains("event 1, which it was not sent (10 events"));
        assert!(refused(&[10]).contains("event 10, which it was not sent"));
        assert!(refused(&[u64::MAX]).contains("which it was not sent"));
        assert!(refused(&[2, 7, 2]).contains("event 2 twice"));
        assert_eq!(sent.resolve_in_order(&[0, 3, 7]).unwrap(), ["e0", "", "é7"]);
        let unsent = sent.resolve_in_order(&[0, 1]).unwrap_err().to_string();
        assert!(
            unsent.contains("cites event 1, which it was not sent"),
            "{unsent}"
        );
    }

    #[test]
    fn one_table_serves_every_rule_each_with_its_own_events() {
        let run = run_of(0, 20_000);
        let mut every = SentIds::new().unwrap();
        let mut even = SentIds::new().unwrap();
        for sent in [&mut every, &mut even] {
            sent.follow(&run).unwrap();
        }
        for ordinal in 0..20_000 {
            every.push(ordinal).unwrap();
            if ordinal % 2 == 0 {
                even.push(ordinal).unwrap();
            }
        }
        // A rule sent every event keeps one run of ordinals.
        assert_eq!((every.runs.len, every.open), (0, Some((0, 20_000))));
        assert_eq!(even.runs.len, 9_999);
        assert_eq!(every.resolve(&[19_999, 1]).unwrap(), ["e19999", "e1"]);
        assert_eq!(even.resolve(&[19_998, 0]).unwrap(), ["e19998", "e0"]);
        assert!(even.resolve(&[1]).is_err());
        assert!(even.resolve(&[19_999]).is_err());
        let wanted: Vec<u64> = (0..20_000).step_by(998).collect();
        let expected: Vec<String> = wanted.iter().map(|o| format!("e{o}")).collect();
        assert_eq!(even.resolve_in_order(&wanted).unwrap(), expected);
        assert!(even.resolve_in_order(&[0, 997]).is_err());
        assert!(every.follow(&run_of(0, 1)).is_err(), "a second run's table");
    }

    #[test]
    fn events_carried_from_an_earlier_run_resolve_beside_this_runs() {
        let mut sent = SentIds::new().unwrap();
        for ordinal in (0..10_000u64).map(|n| n * 2) {
            sent.carry(ordinal, &format!("old-{ordinal}")).unwrap();
        }
        sent.follow(&run_of(20_000, 5)).unwrap();
        for ordinal in 20_000..20_005 {
            sent.push(ordinal).unwrap();
        }
        assert_eq!(
            sent.resolve(&[20_004, 19_998, 0]).unwrap(),
            ["e20004", "old-19998", "old-0"]
        );
        assert!(sent.resolve(&[19_999]).is_err());
        let wanted = [0, 1_994, 19_998, 20_000, 20_004];
        assert_eq!(
            sent.resolve_in_order(&wanted).unwrap(),
            ["old-0", "old-1994", "old-19998", "e20000", "e20004"]
        );
        assert!(sent.resolve_in_order(&[1]).is_err());
    }
}
