//! JSON Lines decoded on every core, and handed on in input order.
//!
//! One thread reads the input in blocks of [`BLOCK_BYTES`], cut after
//! their last newline, hashing (and, for standard input, spooling) every
//! byte as it goes. Worker threads decode whole blocks; the caller gets
//! them back in input order, so what it sees, errors included, is what a
//! one-thread read would give. Queues are short, so memory stays at a few
//! blocks whatever the input's size.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::files::hex_digest;
use super::ids::IdHasher;
use super::mapping::{Mapped, Mapping};
use super::parse::{KeptAttributes, ParseError, check_event, parse_event_ref};
use super::{Event, EventRef, MAX_LINE_BYTES, Timestamp};

/// The size of the blocks the input is cut into: big enough (about 900
/// events) that handing one to a thread costs nothing next to decoding
/// it, small enough that the decoded events of the few in flight stay a
/// few MiB even when every event is as heavy as the limits allow.
pub const BLOCK_BYTES: usize = 256 << 10;

/// What the decoding keeps of each event, and whether it digests the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decode {
    /// Only what checking needs: the id's hash and the time. No digest of
    /// the input is taken, since nothing `validate` says needs one.
    Check,
    /// As [`Decode::Check`], and the input's digest, for a first pass
    /// whose second must read the same bytes.
    CheckDigested,
    /// The owned event as well, for rules, and the input's digest.
    Events,
}

/// One event's text parsed as much as `decode` needs.
fn decode_event(text: &str, decode: Decode) -> Result<EventRef<'_>, ParseError> {
    match decode {
        Decode::Events => parse_event_ref(text),
        Decode::Check | Decode::CheckDigested => check_event(text),
    }
}

/// One record of the input: a line's event, or why it is not one.
#[derive(Debug)]
pub struct Record {
    /// The 1-based line (or array element) it was read from.
    pub line: u64,
    /// The event, or the reason the record was rejected.
    pub outcome: Result<Decoded, String>,
}

/// What decoding kept of one valid event; the event itself, under
/// [`Decode::Events`], is in [`Block::events`], so that a record stays
/// small.
#[derive(Debug)]
pub struct Decoded {
    /// The keyed hash of its id ([`IdHasher`]).
    pub hash: u64,
    /// Its time.
    pub time: Timestamp,
}

/// A run of records decoded together, with what ordering needs of them.
#[derive(Debug, Default)]
pub struct Block {
    /// Input bytes the block covers.
    pub bytes: u64,
    /// Its records, blank lines left out, in input order.
    pub records: Vec<Record>,
    /// Under [`Decode::Events`], the event of each valid record, in order.
    pub events: Vec<Event>,
    /// Whether some valid event comes before the valid event preceding it
    /// in the block, in (time, id) order.
    pub out_of_order: bool,
    /// The (time, id) of its first valid event.
    pub first: Option<(Timestamp, String)>,
    /// The (time, id) of its last valid event.
    pub last: Option<(Timestamp, String)>,
    /// Records the input's mapping left out as holding no event it maps.
    pub skipped: u64,
}

impl Block {
    /// Adds the outcome of the record `text` read at `line`: through the
    /// input's mapping, if it has one, into as many records (all at
    /// `line`) as the events it maps to. A record one of whose events is
    /// not valid is rejected whole.
    pub fn decode(&mut self, line: u64, text: &str, how: &Decoding<'_>) {
        let Some(mapping) = how.mapping else {
            let parsed = decode_event(text, how.decode);
            self.add(line, parsed.map_err(|e| e.to_string()), how);
            return;
        };
        let texts = match mapping.apply(text) {
            Err(reason) => return self.reject(line, reason),
            Ok(Mapped::Skipped) => return self.skipped += 1,
            Ok(Mapped::Events(texts)) => texts,
        };
        let parsed: Result<Vec<EventRef<'_>>, ParseError> = texts
            .iter()
            .map(|text| decode_event(text, how.decode))
            .collect();
        match parsed {
            Err(e) => self.reject(line, format!("mapped as {}: {e}", mapping.name())),
            Ok(events) => {
                for event in events {
                    self.add(line, Ok(event), how);
                }
            }
        }
    }

    /// Adds one event's outcome, keeping the order keys up to date.
    fn add(&mut self, line: u64, parsed: Result<EventRef<'_>, String>, how: &Decoding<'_>) {
        let Decoding { decode, hasher, .. } = *how;
        let outcome = parsed.map(|event| {
            let key = (event.time, event.id.as_ref());
            match &mut self.last {
                Some(last) => {
                    if key < (last.0, last.1.as_str()) {
                        self.out_of_order = true;
                    }
                    last.0 = event.time;
                    last.1.clear();
                    last.1.push_str(&event.id);
                }
                None => self.last = Some((event.time, event.id.to_string())),
            }
            if self.first.is_none() {
                self.first = self.last.clone();
            }
            let decoded = Decoded {
                hash: hasher.hash(&event.id),
                time: event.time,
            };
            if decode == Decode::Events {
                self.events.push(event.into_event(how.kept));
            }
            decoded
        });
        self.records.push(Record { line, outcome });
    }

    /// Empties the block for reuse, keeping its buffers.
    fn clear(&mut self) {
        self.bytes = 0;
        self.records.clear();
        self.events.clear();
        self.out_of_order = false;
        self.first = None;
        self.last = None;
        self.skipped = 0;
    }

    fn reject(&mut self, line: u64, reason: String) {
        self.records.push(Record {
            line,
            outcome: Err(reason),
        });
    }
}

/// A piece of input for a worker.
enum Chunk {
    /// Whole lines, the first of them numbered `first_line`.
    Lines { first_line: u64, bytes: Vec<u8> },
    /// A line over [`MAX_LINE_BYTES`], skipped unread: `bytes` long.
    TooLong { line: u64, bytes: u64 },
}

/// How an input is decoded: what is kept of each event, the ledger's
/// hasher for ids, and how many worker threads.
#[derive(Clone, Copy, Debug)]
pub struct Decoding<'h> {
    /// What is kept of each event, and whether the input is digested.
    pub decode: Decode,
    /// The hasher the ledger's entries come from.
    pub hasher: &'h IdHasher,
    /// Worker threads (the reading thread is one more).
    pub threads: usize,
    /// How the input's records become events; none for schema v1.
    pub mapping: Option<&'h Mapping>,
    /// The attributes kept of each event, under [`Decode::Events`].
    pub kept: KeptAttributes<'h>,
}

/// Reads JSON Lines from `source` (named `name` in errors), decoding as
/// `how` says, and hands each block to `each` in input order (`each` may
/// empty it). Blank lines are skipped; a UTF-8 byte-order mark on the first
/// line and CRLF line endings are accepted. Every byte read is also written
/// to `spool`, if given. Returns the hex SHA-256 of the input (empty under
/// [`Decode::Check`]).
///
/// An error from `each` stops the read and is returned as it is.
pub fn decode_lines(
    name: &str,
    source: impl Read + Send,
    spool: Option<&File>,
    how: Decoding<'_>,
    each: impl FnMut(&mut Block) -> Result<()>,
) -> Result<String> {
    decode_in_blocks(BLOCK_BYTES, name, source, spool, how, each)
}

/// [`decode_lines`], cutting blocks of about `block_bytes` (tests cut
/// small ones, to share a small input between threads).
fn decode_in_blocks(
    block_bytes: usize,
    name: &str,
    source: impl Read + Send,
    spool: Option<&File>,
    how: Decoding<'_>,
    mut each: impl FnMut(&mut Block) -> Result<()>,
) -> Result<String> {
    let Decoding {
        decode,
        hasher,
        threads,
        mapping,
        kept,
    } = how;
    std::thread::scope(|scope| {
        let depth = threads + 1;
        let (work, chunks) = sync_channel::<(u64, Chunk)>(depth);
        let (done, blocks) = sync_channel::<(u64, Block)>(depth);
        // Buffers go back to be filled again: the input's to the reading
        // thread, emptied blocks to the workers. Fresh ones would cost a
        // page fault every 4 KiB.
        let (recycle, recycled) = sync_channel::<Vec<u8>>(depth * 2);
        let (spare, spares) = sync_channel::<Block>(depth * 2);
        let digest = decode != Decode::Check;
        let reader =
            scope.spawn(move || read_chunks(source, spool, digest, work, &recycled, block_bytes));
        let chunks = Arc::new(Mutex::new(chunks));
        let spares = Arc::new(Mutex::new(spares));
        for _ in 0..threads.max(1) {
            let (chunks, done, hasher) = (chunks.clone(), done.clone(), hasher.clone());
            let (recycle, spares) = (recycle.clone(), spares.clone());
            scope.spawn(move || {
                let how = Decoding {
                    decode,
                    hasher: &hasher,
                    threads,
                    mapping,
                    kept,
                };
                decode_chunks(&chunks, &done, &recycle, &spares, &how)
            });
        }
        // The workers hold the only ends now, so that when they stop, the
        // reading thread's sends fail and it stops too.
        drop((chunks, done, recycle, spares));
        let handed = hand_on_in_order(blocks, &spare, &mut each);
        // Whatever ended the hand-on, the threads end too: their channels
        // are closed now.
        let digest = reader.join().expect("the reading thread does not panic");
        handed?;
        digest.with_context(|| format!("{name}: read failed"))
    })
}

/// Gives `each` the blocks in sequence order, holding those that come
/// early, and sends each back emptied as a `spare`.
fn hand_on_in_order(
    blocks: Receiver<(u64, Block)>,
    spare: &SyncSender<Block>,
    each: &mut impl FnMut(&mut Block) -> Result<()>,
) -> Result<()> {
    let mut early = BTreeMap::new();
    let mut next = 0u64;
    for (seq, block) in blocks {
        early.insert(seq, block);
        while let Some(mut block) = early.remove(&next) {
            each(&mut block)?;
            block.clear();
            let _ = spare.try_send(block);
            next += 1;
        }
    }
    Ok(())
}

fn decode_chunks(
    chunks: &Mutex<Receiver<(u64, Chunk)>>,
    done: &SyncSender<(u64, Block)>,
    recycle: &SyncSender<Vec<u8>>,
    spares: &Mutex<Receiver<Block>>,
    how: &Decoding<'_>,
) {
    loop {
        let next = chunks.lock().map(|chunks| chunks.recv());
        let Ok(Ok((seq, chunk))) = next else { return };
        let mut block = (spares.lock().ok())
            .and_then(|spares| spares.try_recv().ok())
            .unwrap_or_default();
        let block = match chunk {
            Chunk::Lines { first_line, bytes } => {
                decode_chunk(first_line, &bytes, how, &mut block);
                let _ = recycle.try_send(bytes);
                block
            }
            Chunk::TooLong { line, bytes } => {
                block.bytes = bytes;
                block.reject(
                    line,
                    format!("line is longer than the {} MiB limit", MAX_LINE_BYTES >> 20),
                );
                block
            }
        };
        if done.send((seq, block)).is_err() {
            return;
        }
    }
}

/// Decodes the lines of `bytes` into `block`, which is empty.
fn decode_chunk(first_line: u64, bytes: &[u8], how: &Decoding<'_>, block: &mut Block) {
    block.bytes = bytes.len() as u64;
    // One check of the whole block costs far less than one a line; only a
    // block that fails it has its lines checked alone, to name the line.
    let whole = std::str::from_utf8(bytes).ok();
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes)
        .chain((bytes.last() != Some(&b'\n')).then_some(bytes.len()));
    for (line, end) in (first_line..).zip(ends) {
        let range = start..end;
        start = end + 1;
        if range.len() > MAX_LINE_BYTES {
            let reason = format!("line is longer than the {} MiB limit", MAX_LINE_BYTES >> 20);
            block.reject(line, reason);
            continue;
        }
        // A newline is never inside a character, so the range is whole
        // characters of a valid block.
        let text = match whole {
            Some(whole) => Ok(&whole[range]),
            None => std::str::from_utf8(&bytes[range]),
        };
        let text = text.map(|text| match line {
            1 => text.strip_prefix('\u{feff}').unwrap_or(text),
            _ => text,
        });
        match text {
            Ok(text) => {
                let text = text.trim_end_matches('\r');
                if !text.trim().is_empty() {
                    block.decode(line, text, how);
                }
            }
            Err(e) => block.reject(
                line,
                format!("not valid UTF-8 (at byte {})", e.valid_up_to() + 1),
            ),
        }
    }
}

/// The reading thread: cuts `source` into chunks of whole lines.
fn read_chunks(
    source: impl Read,
    spool: Option<&File>,
    digest: bool,
    work: SyncSender<(u64, Chunk)>,
    recycled: &Receiver<Vec<u8>>,
    block_bytes: usize,
) -> Result<String> {
    let mut input = Hashing {
        source,
        sha: digest.then(Sha256::new),
        spool,
    };
    let mut buf = Vec::with_capacity(block_bytes);
    let mut lines_before = 0u64;
    let mut eof = false;
    for seq in 0.. {
        if !eof {
            eof = input.fill(&mut buf, block_bytes)?;
        }
        // A line longer than a block: read on to its end, or to the limit.
        while !eof && buf.len() <= MAX_LINE_BYTES && memchr::memrchr(b'\n', &buf).is_none() {
            let want = (buf.len() * 2).clamp(block_bytes, MAX_LINE_BYTES + 1);
            eof = input.fill(&mut buf, want)?;
        }
        if buf.is_empty() {
            break;
        }
        let chunk = match memchr::memrchr(b'\n', &buf) {
            Some(last) => {
                let mut rest = recycled
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(block_bytes));
                rest.clear();
                rest.extend_from_slice(&buf[last + 1..]);
                buf.truncate(last + 1);
                let first_line = lines_before + 1;
                lines_before += memchr::memchr_iter(b'\n', &buf).count() as u64;
                Chunk::Lines {
                    first_line,
                    bytes: std::mem::replace(&mut buf, rest),
                }
            }
            None if eof => {
                lines_before += 1;
                Chunk::Lines {
                    first_line: lines_before,
                    bytes: std::mem::take(&mut buf),
                }
            }
            None => {
                // No newline in more than the limit: too long to hold.
                lines_before += 1;
                let skipped = input.skip_line(&mut buf, block_bytes)?;
                eof = skipped.1;
                Chunk::TooLong {
                    line: lines_before,
                    bytes: skipped.0,
                }
            }
        };
        if work.send((seq, chunk)).is_err() {
            break;
        }
    }
    Ok(input.sha.map_or_else(String::new, hex_digest))
}

/// The input, hashed (unless `sha` is `None`) and spooled as it is read.
struct Hashing<'s, R> {
    source: R,
    sha: Option<Sha256>,
    spool: Option<&'s File>,
}

impl<R: Read> Hashing<'_, R> {
    /// Reads until `buf` holds `want` bytes or the input ends; says
    /// whether it ended.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<bool> {
        let start = buf.len();
        let Some(limit) = want.checked_sub(start).filter(|&n| n > 0) else {
            return Ok(false);
        };
        // `read_to_end` reads a file into the spare capacity as it is;
        // `read` would need it zeroed first, a second pass over each block.
        let read = (&mut self.source).take(limit as u64).read_to_end(buf)?;
        if let Some(sha) = &mut self.sha {
            sha.update(&buf[start..]);
        }
        if let Some(mut spool) = self.spool {
            spool.write_all(&buf[start..]).with_context(|| {
                format!(
                    "cannot keep a copy of standard input in a temporary file in {} (it is read again to place findings; set TMPDIR to a larger disk)",
                    std::env::temp_dir().display()
                )
            })?;
        }
        // It stops short of the limit only at the end of the input.
        Ok(read < limit)
    }

    /// Drops `buf` and the input up to and including the next newline;
    /// returns the bytes dropped and whether the input ended.
    fn skip_line(&mut self, buf: &mut Vec<u8>, block_bytes: usize) -> Result<(u64, bool)> {
        let mut skipped = 0;
        loop {
            if let Some(end) = memchr::memchr(b'\n', buf) {
                skipped += end as u64 + 1;
                buf.drain(..=end);
                return Ok((skipped, false));
            }
            skipped += buf.len() as u64;
            buf.clear();
            if self.fill(buf, block_bytes)? && !buf.contains(&b'\n') {
                skipped += buf.len() as u64;
                buf.clear();
                return Ok((skipped, true));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Each record as (line, id or reason), read with `threads` workers
    /// from blocks of about `block_bytes`.
    fn records(text: &[u8], block_bytes: usize, threads: usize) -> Vec<(u64, String)> {
        let hasher = super::super::ids::IdLedger::new(1 << 10).hasher();
        let mut seen = Vec::new();
        decode_in_blocks(
            block_bytes,
            "log",
            text,
            None,
            Decoding {
                decode: Decode::Events,
                hasher: &hasher,
                threads,
                mapping: None,
                kept: KeptAttributes::All,
            },
            |block| {
                let mut events = block.events.drain(..);
                for record in block.records.drain(..) {
                    let what = match record.outcome {
                        Ok(_) => events.next().expect("an event for each valid record").id,
                        Err(reason) => reason,
                    };
                    seen.push((record.line, what));
                }
                Ok(())
            },
        )
        .unwrap();
        seen
    }

    fn event(id: &str) -> String {
        format!(r#"{{"id":"{id}","time":"2026-01-01T00:00:00Z","action":"store"}}"#)
    }

    #[test]
    fn a_line_too_long_is_rejected_without_losing_the_next_or_the_last() {
        let long = format!("{{\"pad\": \"{}\"}}", "x".repeat(2 * MAX_LINE_BYTES));
        let text = format!("{}\n{long}\n{}\n{long}", event("a"), event("b"));
        assert_eq!(
            records(text.as_bytes(), BLOCK_BYTES, 2),
            [
                (1, "a".to_string()),
                (2, "line is longer than the 1 MiB limit".to_string()),
                (3, "b".to_string()),
                (4, "line is longer than the 1 MiB limit".to_string()),
            ]
        );
    }

    #[test]
    fn the_digest_covers_every_byte() {
        let hasher = super::super::ids::IdLedger::new(1 << 10).hasher();
        let read = |decode| {
            decode_lines(
                "log",
                &b"abc\ndef"[..],
                None,
                Decoding {
                    decode,
                    hasher: &hasher,
                    threads: 1,
                    mapping: None,
                    kept: KeptAttributes::All,
                },
                |_| Ok(()),
            )
            .unwrap()
        };
        assert_eq!(read(Decode::Check), "", "validate takes no digest");
        let digest = read(Decode::CheckDigested);
        // `printf 'abc\ndef' | sha256sum`
        assert_eq!(
            digest,
            "d53d6b91af7caf8fe3d8021f116270137c0079d579a1e16965da80c2ed138ffb"
        );
    }

    #[test]
    fn an_error_from_the_caller_stops_the_read() {
        let text: String = (0..200_000)
            .map(|i| event(&format!("e{i}")) + "\n")
            .collect();
        let hasher = super::super::ids::IdLedger::new(1 << 10).hasher();
        let mut blocks = 0;
        let error = decode_lines(
            "log",
            text.as_bytes(),
            None,
            Decoding {
                decode: Decode::Check,
                hasher: &hasher,
                threads: 2,
                mapping: None,
                kept: KeptAttributes::All,
            },
            |_| {
                blocks += 1;
                anyhow::bail!("enough")
            },
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "enough");
        assert_eq!(blocks, 1);
    }

    proptest! {
        /// However the work is shared, the records are a one-thread
        /// read's: the same lines, outcomes and order.
        #[test]
        fn any_number_of_threads_reads_what_one_does(
            lines in proptest::collection::vec(prop_oneof![
                "[a-c]{1,3}".prop_map(|id| event(&id)),
                Just(String::new()),
                Just("{".to_string()),
                "[ -~]{0,20}",
            ], 0..40),
            threads in 1usize..4,
            block_bytes in 1usize..200,
            crlf in any::<bool>(),
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let text = lines.join(end);
            prop_assert_eq!(
                records(text.as_bytes(), block_bytes, threads),
                records(text.as_bytes(), 1 << 20, 1)
            );
        }
    }
}
