//! Putting events in time order without holding the whole log in memory.
//!
//! Rules see events in time order (ties broken by id) whatever order the
//! input had, so that verdicts never depend on the order of lines or files.
//! Events are buffered in runs; a full run is sorted and spilled to a
//! temporary file, and the runs are merged when read back. Memory stays
//! bounded by one run, whatever the log's size.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

use anyhow::{Context, Result};

use super::{Event, EventReader, Pass, ReadLog, Timestamp, spill};

/// Events held in memory before a sorted run is spilled to disk.
pub const DEFAULT_RUN_LEN: usize = 100_000;

/// Collects events in any order and yields them in (time, id) order.
pub struct TimeOrder {
    run_len: usize,
    buffer: Vec<Event>,
    spilled: Vec<File>,
}

impl TimeOrder {
    /// A sorter that spills a sorted run to disk every `run_len` events.
    pub fn new(run_len: usize) -> TimeOrder {
        TimeOrder {
            run_len: run_len.max(1),
            buffer: Vec::new(),
            spilled: Vec::new(),
        }
    }

    /// Adds one event.
    pub fn push(&mut self, event: Event) -> Result<()> {
        self.buffer.push(event);
        if self.buffer.len() >= self.run_len {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        sort(&mut self.buffer);
        // Unlinked from the start, so nothing is left behind however the
        // run ends; its folder is named in errors, since a full disk there
        // is the likely cause.
        let folder = std::env::temp_dir();
        let mut file = tempfile::tempfile_in(&folder).with_context(|| {
            format!(
                "cannot create a temporary file in {} to sort events",
                folder.display()
            )
        })?;
        let mut write = || -> Result<()> {
            let mut writer = BufWriter::new(&mut file);
            writer.write_all(&(self.buffer.len() as u64).to_le_bytes())?;
            for event in self.buffer.drain(..) {
                spill::write_event(&mut writer, &event)?;
            }
            Ok(writer.flush()?)
        };
        write().with_context(|| {
            format!(
                "cannot write sorted events to a temporary file in {} (sorting needs about the log's size there; set TMPDIR to a larger disk)",
                folder.display()
            )
        })?;
        use std::io::Seek;
        file.rewind().context("cannot read back sorted events")?;
        self.spilled.push(file);
        Ok(())
    }

    /// Every event added, in (time, id) order.
    pub fn into_sorted(mut self) -> Result<SortedEvents> {
        sort(&mut self.buffer);
        let mut runs: Vec<Run> = self
            .spilled
            .into_iter()
            .map(|file| {
                let mut input = BufReader::new(file);
                let mut count = [0; 8];
                input
                    .read_exact(&mut count)
                    .context("cannot read back sorted events")?;
                Ok(Run::Spilled {
                    input,
                    left: u64::from_le_bytes(count),
                })
            })
            .collect::<Result<_>>()?;
        runs.push(Run::Memory(self.buffer.into_iter()));
        let mut heads = BinaryHeap::new();
        for (index, run) in runs.iter_mut().enumerate() {
            if let Some(event) = run.next_event()? {
                heads.push(Reverse(Head { event, run: index }));
            }
        }
        Ok(SortedEvents { runs, heads })
    }
}

fn sort(events: &mut [Event]) {
    events.sort_unstable_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
}

enum Run {
    Memory(std::vec::IntoIter<Event>),
    /// A spill file: its records ([`spill`]) still to read.
    Spilled {
        input: BufReader<File>,
        left: u64,
    },
}

impl Run {
    fn next_event(&mut self) -> Result<Option<Event>> {
        match self {
            Run::Memory(events) => Ok(events.next()),
            Run::Spilled { left: 0, .. } => Ok(None),
            Run::Spilled { input, left } => {
                *left -= 1;
                let event =
                    spill::read_event(input).context("sorted events were corrupted on disk")?;
                Ok(Some(event))
            }
        }
    }
}

/// The next event of one run, ordered by (time, id) for the merge.
struct Head {
    event: Event,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.event.time, &self.event.id).cmp(&(other.event.time, &other.event.id))
    }
}

/// One pass over a log in time order, given to [`in_time_order`]'s
/// caller: it reads the log, hands each event to the consumer it is given,
/// in (time, id) order, and returns what was read.
pub type Feed<'a> = dyn FnMut(&mut dyn FnMut(Event) -> Result<()>) -> Result<ReadLog> + 'a;

/// Runs `pass` over the events of `reader`'s log in (time, id) order, the
/// one way every command that needs time order reads a log.
///
/// Most logs are written in time order, so the first attempt bets on it:
/// the events stream from the reader to `pass`, read once and never held,
/// and several inputs are merged ([`EventReader::read_merged`]), so a log
/// of files that are each in order is read once too. The first event out
/// of order abandons that attempt, and `pass` runs
/// again, from the start, on the log read into a [`TimeOrder`] sorter of
/// `run_len` events a run; `pass` must therefore start afresh each time it
/// is called. (Standard input is read again from the copy the first read
/// kept.) A log read twice must not change in between: the second read
/// fails, naming the file, if its bytes differ from what the files held
/// when the first attempt ended. An event with the time and id of the one
/// before is a folded repeat ([`EventReader::read`]), and is dropped.
pub fn in_time_order<T>(
    reader: &EventReader,
    skip_invalid: bool,
    run_len: usize,
    mut pass: impl FnMut(&mut Feed<'_>) -> Result<T>,
) -> Result<T> {
    let mut streamed = |each: &mut dyn FnMut(Event) -> Result<()>| {
        let mut last = OrderCheck::default();
        reader.read_merged(skip_invalid, |event| {
            if last.repeats(&event) {
                return Ok(());
            }
            if !last.advance(&event) {
                return Err(OutOfOrder.into());
            }
            each(event)
        })
    };
    match pass(&mut streamed) {
        Err(e) if e.is::<OutOfOrder>() => {}
        done => return done,
    }
    let before = reader.digests()?;
    let mut sorted = |each: &mut dyn FnMut(Event) -> Result<()>| {
        let mut order = TimeOrder::new(run_len);
        let log = reader.read_pass(Pass::Sort, skip_invalid, |event| order.push(event))?;
        log.check_unchanged(&before)?;
        let mut last = OrderCheck::default();
        for event in order.into_sorted()? {
            let event = event?;
            if !last.repeats(&event) {
                last.advance(&event);
                each(event)?;
            }
        }
        Ok(log)
    };
    pass(&mut sorted)
}

/// Checks that events arrive in (time, id) order, one at a time, keeping
/// the last key in one reused buffer: a log already in order can go
/// straight to the rules, with no sorting.
#[derive(Debug, Default)]
pub struct OrderCheck {
    time: Option<Timestamp>,
    id: String,
}

impl OrderCheck {
    /// Whether `event` has the time and id of the last one. The read
    /// fails on a duplicate id unless its record repeats an earlier one
    /// exactly, to be folded ([`EventReader::read`]), so such an event is
    /// dropped: the rules have had it once.
    pub fn repeats(&self, event: &Event) -> bool {
        self.time == Some(event.time) && self.id == event.id
    }

    /// Moves on to `event` if it comes after the last one; says whether it did.
    pub fn advance(&mut self, event: &Event) -> bool {
        if let Some(time) = self.time
            && (event.time, event.id.as_str()) < (time, self.id.as_str())
        {
            return false;
        }
        self.time = Some(event.time);
        self.id.clear();
        self.id.push_str(&event.id);
        true
    }
}

/// The error that ends a pass which bet the log was in time order, when an
/// event turns out not to be: the caller reads it again through a
/// [`TimeOrder`].
#[derive(Debug)]
pub struct OutOfOrder;

impl std::fmt::Display for OutOfOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the log is not in time order")
    }
}

impl std::error::Error for OutOfOrder {}

/// Events in (time, id) order, merged from the sorted runs.
pub struct SortedEvents {
    runs: Vec<Run>,
    heads: BinaryHeap<Reverse<Head>>,
}

impl Iterator for SortedEvents {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        let Reverse(head) = self.heads.pop()?;
        match self.runs[head.run].next_event() {
            Ok(Some(event)) => self.heads.push(Reverse(Head {
                event,
                run: head.run,
            })),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(head.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Runs [`in_time_order`] over `lines` in a file, collecting the ids
    /// each pass is handed; `between` runs at the start of the second pass.
    fn passes(
        lines: &[&str],
        mut between: impl FnMut(&std::path::Path),
    ) -> Result<Vec<Vec<String>>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let reader = EventReader::from_paths(std::slice::from_ref(&path)).unwrap();
        let mut seen = Vec::new();
        in_time_order(&reader, false, 2, |feed| {
            if !seen.is_empty() {
                between(&path);
            }
            seen.push(Vec::new());
            let ids = seen.last_mut().unwrap();
            feed(&mut |event| {
                ids.push(event.id);
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(seen)
    }

    const LATE: &str = r#"{"id":"b","time":"2026-01-01T00:00:02Z","action":"store"}"#;
    const EARLY: &str = r#"{"id":"a","time":"2026-01-01T00:00:01Z","action":"store"}"#;
    const LATER: &str = r#"{"id":"c","time":"2026-01-01T00:00:03Z","action":"store"}"#;

    /// A CloudTrail record, one a line, read through the shipped profile.
    fn trail(id: &str, second: u8) -> String {
        format!(
            r#"{{"eventVersion":"1.11","eventID":"{id}","eventTime":"2026-01-01T00:00:0{second}Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{{"bucketName":"b","key":"k"}}}}"#
        )
    }

    #[test]
    fn a_folded_repeat_reaches_the_rules_once_streamed_or_sorted() {
        let (a, b, c) = (trail("a", 1), trail("b", 2), trail("c", 3));
        let streamed = passes(&[&a, &b, &b, &c], |_| {}).unwrap();
        assert_eq!(streamed, [["a", "b", "c"]]);
        let sorted = passes(&[&b, &a, &c, &b], |_| {}).unwrap();
        assert_eq!(sorted.last().unwrap(), &["a", "b", "c"]);
        let mut other = trail("b", 2);
        other = other.replace("\"key\":\"k\"", "\"key\":\"other\"");
        let error = passes(&[&a, &b, &other, &c], |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("duplicate event id `b` with other content"),
            "{error}"
        );
    }

    #[test]
    fn an_ordered_log_is_read_once_and_any_other_again_sorted() {
        let once = passes(&[EARLY, LATE, LATER], |_| {}).unwrap();
        assert_eq!(once, [["a", "b", "c"]]);
        let twice = passes(&[LATE, EARLY, LATER], |_| {}).unwrap();
        assert_eq!(twice, [vec!["b"], vec!["a", "b", "c"]]);
    }

    #[test]
    fn a_log_that_changes_between_its_two_reads_fails_naming_the_file() {
        let error = passes(&[LATE, EARLY], |path| {
            std::fs::write(path, format!("{LATE}\n{EARLY}\n{LATER}\n")).unwrap();
        })
        .unwrap_err();
        let error = format!("{error:#}");
        assert!(
            error.contains("log.jsonl: the file changed while it was being read"),
            "{error}"
        );
    }

    fn event(id: &str, seconds: i64) -> Event {
        Event {
            id: id.to_string(),
            time: Timestamp { seconds, nanos: 0 },
            action: "store".to_string(),
            tenant: None,
            actor: None,
            purpose: None,
            scope: None,
            layer: None,
            region: None,
            data: None,
            extra: BTreeMap::new(),
        }
    }

    fn order(run_len: usize, events: &[(&str, i64)]) -> Vec<String> {
        let mut sorter = TimeOrder::new(run_len);
        for (id, t) in events {
            sorter.push(event(id, *t)).unwrap();
        }
        sorter
            .into_sorted()
            .unwrap()
            .map(|e| e.unwrap().id)
            .collect()
    }

    #[test]
    fn orders_by_time_then_id_whatever_the_run_length() {
        let input = [("c", 2), ("b", 1), ("a", 2), ("d", 0), ("e", 1)];
        for run_len in [1, 2, 3, 100] {
            assert_eq!(
                order(run_len, &input),
                ["d", "b", "e", "a", "c"],
                "run_len {run_len}"
            );
        }
    }

    #[test]
    fn order_check_accepts_ties_broken_by_id_and_refuses_going_back() {
        let mut check = OrderCheck::default();
        assert!(check.advance(&event("b", 1)));
        assert!(check.advance(&event("c", 1)));
        assert!(check.advance(&event("a", 2)));
        assert!(!check.advance(&event("0", 2)), "same time, earlier id");
        assert!(!check.advance(&event("z", 1)), "earlier time");
        assert!(
            check.advance(&event("b", 2)),
            "a refusal does not move the check"
        );
    }

    #[test]
    fn spilled_events_round_trip_unchanged() {
        let mut original = event("x", 5);
        original
            .extra
            .insert("note".into(), serde_json::json!({"nested": [1, 2]}));
        let mut sorter = TimeOrder::new(1);
        sorter.push(original.clone()).unwrap();
        sorter.push(event("y", 6)).unwrap();
        let back: Vec<Event> = sorter.into_sorted().unwrap().map(Result::unwrap).collect();
        assert_eq!(back[0], original);
    }
}
