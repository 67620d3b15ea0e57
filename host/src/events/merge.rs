//! One input of a k-way merge ([`EventReader::read_merged`]): the blocks
//! its own reading threads decode, taken in one record at a time as the
//! merge asks for that input's next event.
//!
//! [`EventReader::read_merged`]: super::EventReader::read_merged

use std::sync::mpsc::Receiver;

use anyhow::Result;

use super::chunks::{Block, Record};
use super::reader::{ReadProgress, ReadState};
use super::{Event, Timestamp};

/// One input of a merge: its blocks as they arrive, and the one in hand.
pub(super) struct Cursor {
    /// The blocks the input's reading thread hands on.
    pub(super) blocks: Receiver<Block>,
    records: std::vec::IntoIter<Record>,
    events: std::vec::IntoIter<Event>,
}

impl Cursor {
    /// A cursor over the blocks `blocks` will bring.
    pub(super) fn new(blocks: Receiver<Block>) -> Cursor {
        Cursor {
            blocks,
            records: Vec::new().into_iter(),
            events: Vec::new().into_iter(),
        }
    }

    /// The input's next event to hand on, taking its records in as it goes.
    pub(super) fn next(
        &mut self,
        number: u32,
        state: &mut ReadState,
        progress: &dyn ReadProgress,
    ) -> Result<Option<Event>> {
        loop {
            let Some(record) = self.records.next() else {
                let Ok(block) = self.blocks.recv() else {
                    return Ok(None);
                };
                progress.bytes(block.bytes);
                state.count_skipped(number, block.skipped);
                self.records = block.records.into_iter();
                self.events = block.events.into_iter();
                continue;
            };
            progress.record();
            let event = record.outcome.is_ok().then(|| self.events.next()).flatten();
            if let Some(event) = state.take_record(number, record, event)? {
                return Ok(Some(event));
            }
        }
    }
}

/// The next event of one merged input, ordered by (time, id, input).
pub(super) struct MergeHead {
    /// The event.
    pub(super) event: Event,
    /// The input it came from.
    pub(super) number: usize,
}

impl MergeHead {
    fn key(&self) -> (Timestamp, &str, usize) {
        (self.event.time, &self.event.id, self.number)
    }
}

impl PartialEq for MergeHead {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for MergeHead {}

impl PartialOrd for MergeHead {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MergeHead {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}
