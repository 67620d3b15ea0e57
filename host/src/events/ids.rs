//! Unique event ids in a few bytes an event, whatever the log's size.
//!
//! An index of every id read cost about 240 bytes an event, so a month of
//! logs could not be read on any machine. The ledger keeps, of each event,
//! a keyed 64-bit hash of its id and where it was read: 16 bytes. Past a
//! budget the entries are sorted and spilled to a temporary file as a run;
//! at the end the runs are merged, and ids whose hashes meet are
//! *candidates*. The reader confirms candidates by reading their lines
//! again, so a hash collision costs a look, never a wrong verdict.
//!
//! The key is random per run, so nobody can write a log whose ids collide
//! on purpose; two runs over one log need not see the same candidates.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;

use anyhow::{Context, Result, bail};
use foldhash::quality::RandomState;

use super::Location;

/// Memory the ledger holds before it spills a sorted run to disk: 32 MiB,
/// 2 Mi events. It is the reader's one per-event cost; past it, each event
/// costs 16 bytes of temporary disk instead.
pub const ID_BUDGET_BYTES: usize = 32 << 20;

/// The bytes one event costs the ledger, in memory or spilled.
pub const BYTES_PER_ID: usize = std::mem::size_of::<Entry>();

/// Lines and inputs are packed into one word: 40 bits of line (a trillion
/// lines a file), 24 of input (16 Mi files).
const LINE_BITS: u32 = 40;

/// Hashes ids with the ledger's key. It is `Send` and cheap to clone, so
/// the threads that parse hash as they go.
///
/// foldhash, not SipHash: it was 2% of reading, and a hash here needs to be
/// even and unguessable (a random seed each run), not a cryptographic
/// function, since a collision costs a second look, never a wrong verdict.
#[derive(Clone, Debug)]
pub struct IdHasher(RandomState);

impl IdHasher {
    /// The keyed hash of `id`.
    pub fn hash(&self, id: &str) -> u64 {
        self.0.hash_one(id)
    }
}

/// One event in the ledger: its id's hash, then where it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(C)]
struct Entry {
    hash: u64,
    place: u64,
}

impl Entry {
    fn location(self) -> Location {
        Location {
            input: (self.place >> LINE_BITS) as u32,
            line: self.place & ((1 << LINE_BITS) - 1),
        }
    }

    fn to_bytes(self) -> [u8; 16] {
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&self.hash.to_le_bytes());
        bytes[8..].copy_from_slice(&self.place.to_le_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8]) -> Entry {
        let word = |range: std::ops::Range<usize>| {
            u64::from_le_bytes(bytes[range].try_into().expect("8 bytes"))
        };
        Entry {
            hash: word(0..8),
            place: word(8..16),
        }
    }
}

/// Every id read so far, as hashes and places; see the module doc.
#[derive(Debug)]
pub struct IdLedger {
    hasher: IdHasher,
    budget: usize,
    held: Vec<Entry>,
    runs: Vec<Run>,
}

/// A sorted run spilled to a temporary file.
#[derive(Debug)]
struct Run {
    file: File,
    /// The index of its first entry in the upper [`Half`] of hashes.
    upper: u64,
}

/// The halves of the hash space, which are merged apart, on two threads:
/// the merge at the end of reading is a step nothing else overlaps.
#[derive(Clone, Copy, Debug)]
enum Half {
    Lower,
    Upper,
}

impl Half {
    const BOTH: [Half; 2] = [Half::Lower, Half::Upper];

    /// The index of the first entry of this half in sorted `entries`, and
    /// the index past its last.
    fn bounds(self, entries: &[Entry]) -> std::ops::Range<usize> {
        let upper = upper_start(entries);
        match self {
            Half::Lower => 0..upper,
            Half::Upper => upper..entries.len(),
        }
    }
}

/// Where the upper half of hashes starts in sorted `entries`.
fn upper_start(entries: &[Entry]) -> usize {
    entries.partition_point(|entry| entry.hash < 1 << 63)
}

impl IdLedger {
    /// A ledger that holds up to `budget_bytes` of entries in memory.
    pub fn new(budget_bytes: usize) -> IdLedger {
        let budget = (budget_bytes / BYTES_PER_ID).max(1);
        IdLedger {
            hasher: IdHasher(RandomState::default()),
            budget,
            // Reserved whole, so that it never moves as it fills; pages
            // that are never written cost no memory.
            held: Vec::with_capacity(budget.min(ID_BUDGET_BYTES / BYTES_PER_ID)),
            runs: Vec::new(),
        }
    }

    /// The hasher that [`IdLedger::push`]'s hashes must come from.
    pub fn hasher(&self) -> IdHasher {
        self.hasher.clone()
    }

    /// Records that an event whose id hashes to `hash` was read at `location`.
    pub fn push(&mut self, hash: u64, location: Location) -> Result<()> {
        if location.input >= 1 << (64 - LINE_BITS) {
            bail!("more than {} inputs", 1u64 << (64 - LINE_BITS));
        }
        if location.line >= 1 << LINE_BITS {
            bail!("input {} has more than 2^{LINE_BITS} lines", location.input);
        }
        self.held.push(Entry {
            hash,
            place: (u64::from(location.input) << LINE_BITS) | location.line,
        });
        if self.held.len() >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        sort_entries(&mut self.held);
        let folder = std::env::temp_dir();
        let context = || {
            format!(
                "cannot write event ids to a temporary file in {} (a log past {} events needs {BYTES_PER_ID} bytes an event there; set TMPDIR to a larger disk)",
                folder.display(),
                self.budget
            )
        };
        let file = tempfile::tempfile_in(&folder).with_context(context)?;
        let mut out = BufWriter::with_capacity(1 << 16, &file);
        let upper = upper_start(&self.held) as u64;
        for entry in self.held.drain(..) {
            out.write_all(&entry.to_bytes()).with_context(context)?;
        }
        out.flush().with_context(context)?;
        drop(out);
        self.runs.push(Run { file, upper });
        Ok(())
    }

    /// Ends the reading: sorts what is held and finds the candidates.
    pub fn seal(mut self) -> Result<SealedIds> {
        sort_entries(&mut self.held);
        let mut sealed = SealedIds {
            hasher: self.hasher,
            held: self.held,
            runs: self.runs,
            candidates: Vec::new(),
        };
        let halves = std::thread::scope(|scope| {
            let sealed = &sealed;
            let lower = scope.spawn(|| sealed.candidates_in(Half::Lower));
            let upper = sealed.candidates_in(Half::Upper);
            (lower.join().expect("the merge does not panic"), upper)
        });
        let (mut candidates, upper) = (halves.0?, halves.1?);
        candidates.extend(upper);
        sealed.candidates = candidates;
        Ok(sealed)
    }
}

/// Sorts `entries` on two threads: the sort is the one step of reading
/// that no other thread overlaps, so the second core would be idle.
fn sort_entries(entries: &mut [Entry]) {
    if entries.len() < 1 << 16 {
        entries.sort_unstable();
        return;
    }
    let middle = entries.len() / 2;
    entries.select_nth_unstable(middle);
    let (low, high) = entries.split_at_mut(middle);
    std::thread::scope(|scope| {
        scope.spawn(|| low.sort_unstable());
        high.sort_unstable();
    });
}

/// The ledger once reading is done: the candidates for duplicate ids, and
/// a way to find where an id was read.
#[derive(Debug)]
pub struct SealedIds {
    hasher: IdHasher,
    held: Vec<Entry>,
    runs: Vec<Run>,
    candidates: Vec<(u64, Vec<Location>)>,
}

impl SealedIds {
    /// Groups of places whose ids share a hash, with the hash, each in
    /// input order: the only places that can hold a duplicate id.
    pub fn candidates(&self) -> &[(u64, Vec<Location>)] {
        &self.candidates
    }

    /// The hasher the entries' hashes came from.
    pub fn hasher(&self) -> &IdHasher {
        &self.hasher
    }

    /// For each of `ids`, every place whose id shares its hash, with the
    /// hash, in input order: where the event with that id is, if it was
    /// read at all.
    pub fn find<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<Vec<(Location, u64)>> {
        let mut wanted: Vec<u64> = ids.into_iter().map(|id| self.hasher.hash(id)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut found = Vec::new();
        if wanted.is_empty() {
            return Ok(found);
        }
        let mut next = 0;
        for half in Half::BOTH {
            self.merged(half, |entry| {
                while next < wanted.len() && wanted[next] < entry.hash {
                    next += 1;
                }
                if wanted.get(next) == Some(&entry.hash) {
                    found.push((entry.location(), entry.hash));
                }
            })?;
        }
        found.sort_unstable();
        Ok(found)
    }

    /// The groups of entries of `half` that share a hash.
    fn candidates_in(&self, half: Half) -> Result<Vec<(u64, Vec<Location>)>> {
        let mut group: Vec<Entry> = Vec::new();
        let mut candidates = Vec::new();
        self.merged(half, |entry| {
            if group.last().is_some_and(|last| last.hash != entry.hash) {
                if group.len() > 1 {
                    candidates.push((group[0].hash, group.iter().map(|e| e.location()).collect()));
                }
                group.clear();
            }
            group.push(entry);
        })?;
        if group.len() > 1 {
            candidates.push((group[0].hash, group.iter().map(|e| e.location()).collect()));
        }
        Ok(candidates)
    }

    /// Every entry of `half`, in (hash, place) order, merged from the runs.
    fn merged(&self, half: Half, mut each: impl FnMut(Entry)) -> Result<()> {
        let held = &self.held[half.bounds(&self.held)];
        if self.runs.is_empty() {
            held.iter().copied().for_each(each);
            return Ok(());
        }
        let mut readers: Vec<RunReader<'_>> = self
            .runs
            .iter()
            .map(|run| RunReader::new(run, half))
            .collect();
        let mut heads = BinaryHeap::new();
        for (run, reader) in readers.iter_mut().enumerate() {
            if let Some(entry) = reader.next()? {
                heads.push(Reverse((entry, run)));
            }
        }
        let mut held = held.iter().copied().peekable();
        loop {
            let from_runs = heads.peek().map(|Reverse((entry, _))| *entry);
            match (from_runs, held.peek().copied()) {
                (None, None) => return Ok(()),
                (Some(run_entry), Some(held_entry)) if held_entry < run_entry => {
                    held.next();
                    each(held_entry);
                }
                (None, Some(held_entry)) => {
                    held.next();
                    each(held_entry);
                }
                (Some(_), _) => {
                    let Some(Reverse((entry, run))) = heads.pop() else {
                        unreachable!("peeked")
                    };
                    if let Some(next) = readers[run].next()? {
                        heads.push(Reverse((next, run)));
                    }
                    each(entry);
                }
            }
        }
    }
}

/// Reads one spilled run from its start, a block at a time, without
/// moving the file's own cursor (so a run can be read more than once).
struct RunReader<'f> {
    file: &'f File,
    offset: u64,
    /// Where its half ends, if before the end of the file.
    end: Option<u64>,
    block: Vec<u8>,
    at: usize,
}

impl<'f> RunReader<'f> {
    fn new(run: &'f Run, half: Half) -> RunReader<'f> {
        let upper = run.upper * BYTES_PER_ID as u64;
        let (offset, end) = match half {
            Half::Lower => (0, Some(upper)),
            Half::Upper => (upper, None),
        };
        RunReader {
            file: &run.file,
            offset,
            end,
            block: Vec::new(),
            at: 0,
        }
    }

    fn next(&mut self) -> Result<Option<Entry>> {
        if self.at == self.block.len() {
            let left = self
                .end
                .map_or(u64::MAX, |end| end.saturating_sub(self.offset));
            self.block.resize(left.min(1 << 16) as usize, 0);
            let read = read_full_at(self.file, &mut self.block, self.offset)
                .context("cannot read event ids back from a temporary file")?;
            // Short of a whole entry, or of the half's end: the file shrank.
            if read % BYTES_PER_ID != 0 || (read == 0 && self.end.is_some() && left > 0) {
                bail!("event ids in a temporary file were cut short");
            }
            self.block.truncate(read);
            self.offset += read as u64;
            self.at = 0;
            if read == 0 {
                return Ok(None);
            }
        }
        let entry = Entry::from_bytes(&self.block[self.at..self.at + BYTES_PER_ID]);
        self.at += BYTES_PER_ID;
        Ok(Some(entry))
    }
}

/// Reads as much of `buf` as the file holds from `offset`.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut read = 0;
    while read < buf.len() {
        match file.read_at(&mut buf[read..], offset + read as u64)? {
            0 => break,
            n => read += n,
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(input: u32, line: u64) -> Location {
        Location { input, line }
    }

    /// Fills a ledger of `budget` entries with `ids`, one a line of input 0.
    fn ledger(budget: usize, ids: &[&str]) -> SealedIds {
        let mut ledger = IdLedger::new(budget * BYTES_PER_ID);
        let hasher = ledger.hasher();
        for (line, id) in ids.iter().enumerate() {
            ledger
                .push(hasher.hash(id), at(0, line as u64 + 1))
                .unwrap();
        }
        ledger.seal().unwrap()
    }

    #[test]
    fn an_entry_is_sixteen_bytes() {
        assert_eq!(BYTES_PER_ID, 16);
    }

    #[test]
    fn places_too_far_for_the_packing_are_refused_not_wrapped() {
        let mut ledger = IdLedger::new(1 << 10);
        let error = ledger.push(1, at(0, 1 << LINE_BITS)).unwrap_err();
        assert!(
            error.to_string().contains("more than 2^40 lines"),
            "{error}"
        );
        assert!(ledger.push(1, at(1 << 24, 1)).is_err());
        ledger
            .push(1, at((1 << 24) - 1, (1 << LINE_BITS) - 1))
            .unwrap();
        let sealed = ledger.seal().unwrap();
        assert_eq!(sealed.held[0].location(), at((1 << 24) - 1, (1 << 40) - 1));
    }

    #[test]
    fn a_ledger_big_enough_to_sort_on_two_threads_is_sorted_whole() {
        let mut entries: Vec<Entry> = (0..200_003u64)
            .map(|n| Entry {
                hash: n.wrapping_mul(0x9e37_79b9_7f4a_7c15) % 50_000,
                place: n,
            })
            .collect();
        let mut want = entries.clone();
        want.sort_unstable();
        sort_entries(&mut entries);
        assert_eq!(entries, want);
    }

    proptest! {
        /// Whatever the budget (so however many runs are spilled), the
        /// candidates hold every repeated id, and `find` finds every id.
        #[test]
        fn candidates_and_finds_do_not_depend_on_spilling(
            ids in proptest::collection::vec("[a-e]{1,2}", 0..60),
            budget in 1usize..20,
        ) {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let sealed = ledger(budget, &ids);
            let in_memory = ledger(usize::MAX / BYTES_PER_ID, &ids);
            for id in &ids {
                let lines: Vec<u64> = (1..).zip(&ids).filter(|(_, i)| *i == id).map(|(l, _)| l).collect();
                let found: Vec<Location> = sealed.find([*id]).unwrap().into_iter().map(|(l, _)| l).collect();
                for line in &lines {
                    prop_assert!(found.contains(&at(0, *line)), "{} at {}", id, line);
                }
                if lines.len() > 1 {
                    let group: Vec<Location> = lines.iter().map(|l| at(0, *l)).collect();
                    prop_assert!(
                        sealed.candidates().iter().any(|(_, c)| group.iter().all(|l| c.contains(l))),
                        "{} repeated at {:?}", id, lines
                    );
                }
            }
            // One hash key per ledger, so compare shapes, not members.
            let count = |s: &SealedIds| s.candidates().iter().map(|(_, c)| c.len()).sum::<usize>();
            prop_assert!(count(&sealed) >= ids.len() - ids.iter().collect::<std::collections::HashSet<_>>().len());
            prop_assert!(count(&in_memory) >= ids.len() - ids.iter().collect::<std::collections::HashSet<_>>().len());
        }
    }
}
