//! The events a rule was sent, by ordinal, so that its findings (which
//! name ordinals) become event ids again.
//!
//! A rule may name any event it was sent, however long ago: retention
//! reports at the end a store it saw in the first batch. Keeping every id
//! in memory would grow with the log, which reading no longer does, so the
//! ids go to temporary files as they are sent: an index of (ordinal, offset)
//! pairs, in ordinal order, and the ids' bytes. A lookup is a binary search
//! of the index by `pread`; findings are few.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;

use anyhow::{Context, Result, bail};

/// One index entry: an ordinal and where its id starts in the id file.
const ENTRY_BYTES: u64 = 16;

/// Every event sent to one rule, as ordinal and id; see the module doc.
#[derive(Debug)]
pub(super) struct SentIds {
    index: BufWriter<File>,
    ids: BufWriter<File>,
    /// Entries in the index, and bytes in the id file.
    entries: u64,
    id_bytes: u64,
    /// The ordinal after the last event of the run so far, sent or not.
    next: u64,
}

impl SentIds {
    /// An empty table, with its files in `$TMPDIR`.
    pub(super) fn new() -> Result<SentIds> {
        let folder = std::env::temp_dir();
        let file = || {
            tempfile::tempfile_in(&folder).with_context(|| {
                format!(
                    "cannot keep the ids sent to a rule in a temporary file in {} (set TMPDIR to a larger disk)",
                    folder.display()
                )
            })
        };
        Ok(SentIds {
            index: BufWriter::with_capacity(1 << 16, file()?),
            ids: BufWriter::with_capacity(1 << 16, file()?),
            entries: 0,
            id_bytes: 0,
            next: 0,
        })
    }

    /// Records that the event `ordinal`, with `id`, was sent. Ordinals
    /// only grow.
    pub(super) fn push(&mut self, ordinal: u64, id: &str) -> Result<()> {
        debug_assert!(ordinal >= self.next, "ordinals only grow");
        let mut entry = [0; ENTRY_BYTES as usize];
        entry[..8].copy_from_slice(&ordinal.to_le_bytes());
        entry[8..].copy_from_slice(&self.id_bytes.to_le_bytes());
        self.index.write_all(&entry).context(TEMP_WRITE)?;
        self.ids.write_all(id.as_bytes()).context(TEMP_WRITE)?;
        self.entries += 1;
        self.id_bytes += id.len() as u64;
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
        self.index.flush().context(TEMP_WRITE)?;
        self.ids.flush().context(TEMP_WRITE)?;
        let mut seen = std::collections::HashSet::new();
        ordinals
            .iter()
            .map(|&ordinal| {
                if !seen.insert(ordinal) {
                    bail!("reported event {ordinal} twice in one call");
                }
                match self.find(ordinal)? {
                    Some(id) => Ok(id),
                    None => bail!(
                        "reported a finding about event {ordinal}, which it was not sent ({} events have gone by)",
                        self.next
                    ),
                }
            })
            .collect()
    }

    /// The ids of `ordinals`, in increasing order, as [`SentIds::resolve`]
    /// gives them but in one pass over the table, however many there are:
    /// a rule's saved state may cite an event per data item.
    pub(super) fn resolve_in_order(&mut self, ordinals: &[u64]) -> Result<Vec<String>> {
        self.index.flush().context(TEMP_WRITE)?;
        self.ids.flush().context(TEMP_WRITE)?;
        let mut ids = Vec::with_capacity(ordinals.len());
        let mut entries = self.entries_in_order().peekable();
        for &ordinal in ordinals {
            let offset = loop {
                match entries.next().transpose()? {
                    Some((at, offset)) if at == ordinal => break offset,
                    Some((at, _)) if at < ordinal => continue,
                    _ => bail!(
                        "cites event {ordinal}, which it was not sent ({} events have gone by)",
                        self.next
                    ),
                }
            };
            let end = match entries.peek() {
                Some(Ok((_, next))) => *next,
                Some(Err(_)) | None => self.id_bytes,
            };
            let mut id = vec![0; (end - offset) as usize];
            (self.ids.get_ref().read_exact_at(&mut id, offset)).context(TEMP_READ)?;
            ids.push(String::from_utf8(id).context(TEMP_READ)?);
        }
        Ok(ids)
    }

    /// The id sent as `ordinal`, if one was.
    fn find(&self, ordinal: u64) -> Result<Option<String>> {
        let (mut low, mut high) = (0, self.entries);
        while low < high {
            let middle = low + (high - low) / 2;
            let (at, offset) = self.entry(middle)?;
            match at.cmp(&ordinal) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => {
                    let end = match middle + 1 < self.entries {
                        true => self.entry(middle + 1)?.1,
                        false => self.id_bytes,
                    };
                    let mut id = vec![0; (end - offset) as usize];
                    self.ids
                        .get_ref()
                        .read_exact_at(&mut id, offset)
                        .context(TEMP_READ)?;
                    let id = String::from_utf8(id).context(TEMP_READ)?;
                    return Ok(Some(id));
                }
            }
        }
        Ok(None)
    }

    /// Every entry of the index, read 4,096 at a time.
    fn entries_in_order(&self) -> impl Iterator<Item = Result<(u64, u64)>> + '_ {
        const CHUNK: u64 = 4_096;
        let mut chunk = Vec::new();
        (0..self.entries).map(move |n| {
            let at = (n % CHUNK) as usize * ENTRY_BYTES as usize;
            if at == 0 {
                let count = CHUNK.min(self.entries - n);
                chunk.resize((count * ENTRY_BYTES) as usize, 0);
                (self
                    .index
                    .get_ref()
                    .read_exact_at(&mut chunk, n * ENTRY_BYTES))
                .context(TEMP_READ)?;
            }
            Ok(decode_entry(&chunk[at..at + ENTRY_BYTES as usize]))
        })
    }

    fn entry(&self, n: u64) -> Result<(u64, u64)> {
        let mut entry = [0; ENTRY_BYTES as usize];
        self.index
            .get_ref()
            .read_exact_at(&mut entry, n * ENTRY_BYTES)
            .context(TEMP_READ)?;
        Ok(decode_entry(&entry))
    }
}

/// An index entry's ordinal and offset.
fn decode_entry(entry: &[u8]) -> (u64, u64) {
    let word = |at: usize| u64::from_le_bytes(entry[at..at + 8].try_into().expect("8 bytes"));
    (word(0), word(8))
}

const TEMP_WRITE: &str = "cannot write the ids sent to a rule to a temporary file";
const TEMP_READ: &str = "cannot read back the ids sent to a rule from a temporary file";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_sent_resolve_to_their_ids_and_others_are_refused() {
        let mut sent = SentIds::new().unwrap();
        for (ordinal, id) in [(0, "e0"), (2, "event-two"), (3, ""), (7, "é7")] {
            sent.push(ordinal, id).unwrap();
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
    fn a_long_table_resolves_in_order_across_chunks() {
        let mut sent = SentIds::new().unwrap();
        for ordinal in 0..10_000u64 {
            sent.push(ordinal * 2, &format!("id-{ordinal}")).unwrap();
        }
        let wanted: Vec<u64> = (0..10_000u64).step_by(997).map(|n| n * 2).collect();
        let ids = sent.resolve_in_order(&wanted).unwrap();
        let expected: Vec<String> = (0..10_000u64)
            .step_by(997)
            .map(|n| format!("id-{n}"))
            .collect();
        assert_eq!(ids, expected);
        assert!(sent.resolve_in_order(&[19_999]).is_err());
    }
}
