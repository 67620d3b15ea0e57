//! The events a saved state's rules cite: each one's ordinal and id, and
//! where it was read, so that a later run's finding about it is placed.
//!
//! A long log's state cites millions of events (retention cites the store
//! of every item not yet deleted: 3 million at 10^7 events), so the table
//! stays in memory as it is stored. Each row is a handful of
//! variable-length integers and two strings, inputs and tenants are
//! interned once for the table, and ordinals and times are deltas from the
//! row before: about 40 bytes an event, where the JSON it replaced took about
//! 220 in the file, and more as owned strings in memory. Nothing indexes it: a run reads it in one pass, in ordinal
//! order, to hand rules their events back, and scans it for the few events
//! findings name.
//!
//! A row's layout, every integer LEB128:
//!
//! ```text
//! ordinal     delta from the row before (the first: the ordinal itself); at least 1
//! id          length, then UTF-8
//! input       0: not placed (a checkpoint's own run's event); else 1 + index into `inputs`
//! placed rows only:
//!   seconds   zigzag delta from the last placed row's
//!   nanos     below 10^9
//!   line      1-based line or array element
//!   tenant    0: none; else 1 + index into `tenants`
//!   data id   0: none; else 1 + length, then UTF-8
//! ```

use std::collections::{HashMap, HashSet};

use anyhow::{Result, anyhow, bail, ensure};
use serde::{Deserialize, Serialize};

use crate::events::{
    EventRef, InputFormat, InputSummary, Location, SourcePlace, SourcePlaces, Timestamp,
};
use crate::runtime::RuleSnapshot;

/// The cited events of a saved state, in increasing ordinal order; see
/// the module doc for the encoding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CitedEvents {
    strings: CitedStrings,
    rows: Vec<u8>,
}

/// The table's interned strings and size: what the state file's header
/// says of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CitedStrings {
    /// The rows.
    pub(super) events: u64,
    /// The rows' bytes in the file.
    pub(super) bytes: u64,
    /// The inputs placed rows name, by name as reports give it.
    pub(super) inputs: Vec<(String, InputFormat)>,
    /// The tenants placed rows name.
    pub(super) tenants: Vec<String>,
}

/// One row of [`CitedEvents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitedEvent<'a> {
    /// The event's ordinal in the chain.
    pub ordinal: u64,
    /// Its id.
    pub id: &'a str,
    /// Where it was read, if an earlier run read it.
    pub place: Option<CitedPlace<'a>>,
}

/// Where a cited event was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitedPlace<'a> {
    /// The event's time.
    pub time: Timestamp,
    /// The input, as an index into the table's inputs.
    input: u32,
    /// The 1-based line or array element.
    pub line: u64,
    /// The event's tenant, or its data's.
    pub tenant: Option<&'a str>,
    /// The id of the data item it touches.
    pub data_id: Option<&'a str>,
}

impl CitedEvents {
    /// How many events the table holds.
    pub fn len(&self) -> u64 {
        self.strings.events
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events, in ordinal order.
    pub fn iter(&self) -> impl Iterator<Item = CitedEvent<'_>> {
        let mut rows = Rows::new(&self.rows, &self.strings);
        (0..self.len()).map(move |_| {
            (rows.next())
                .expect("every row was checked when the table was made or read")
                .expect("the table holds `len` rows")
        })
    }

    /// The place of `event`, as a report gives it.
    pub fn source_place(&self, place: &CitedPlace<'_>) -> SourcePlace {
        let (input, format) = &self.strings.inputs[place.input as usize];
        SourcePlace {
            time: place.time,
            input: input.clone(),
            format: *format,
            line: place.line,
            tenant: place.tenant.map(str::to_string),
            data_id: place.data_id.map(str::to_string),
        }
    }

    /// The places of the events among `ids` that an earlier run read.
    pub fn places_of(&self, ids: &HashSet<&str>) -> SourcePlaces {
        (self.iter())
            .filter(|event| ids.contains(event.id))
            .filter_map(|event| Some((event.id.to_string(), self.source_place(&event.place?))))
            .collect()
    }

    /// For each list of `cites` (ordinals, increasing), the events it
    /// names with their ids, in one pass over the table: what each rule is
    /// handed back with its state. A list stops at the first ordinal the
    /// table does not hold, so a shorter answer than its list is an error
    /// for the caller to name.
    pub fn carried<'a>(&'a self, cites: &[&[u64]]) -> Vec<Vec<(u64, &'a str)>> {
        let mut carried: Vec<Vec<(u64, &str)>> = cites
            .iter()
            .map(|list| Vec::with_capacity(list.len()))
            .collect();
        for event in self.iter() {
            for (list, found) in cites.iter().zip(&mut carried) {
                if list.get(found.len()) == Some(&event.ordinal) {
                    found.push((event.ordinal, event.id));
                }
            }
        }
        carried
    }

    /// What the header says of the table, and its rows' bytes.
    pub(super) fn parts(&self) -> (&CitedStrings, &[u8]) {
        (&self.strings, &self.rows)
    }

    /// The table a state file holds: `strings` from its header, `rows` from
    /// its body. Every row is checked here, so that reading it later cannot
    /// fail: ordinals increase, strings are UTF-8 and indexes are in range.
    pub(super) fn from_parts(strings: CitedStrings, rows: &[u8]) -> Result<CitedEvents> {
        let mut reader = Rows::new(rows, &strings);
        for n in 0..strings.events {
            reader
                .next()
                .map_err(|e| anyhow!("cited event {n}: {e}"))?
                .ok_or_else(|| {
                    anyhow!(
                        "the state holds {n} cited events, but its header says {}",
                        strings.events
                    )
                })?;
        }
        ensure!(
            reader.bytes.is_empty(),
            "the cited events are followed by {} bytes they do not account for",
            rows.len() - reader.bytes.at
        );
        Ok(CitedEvents {
            strings,
            rows: rows.to_vec(),
        })
    }
}

/// A reader of the rows, which checks each as it goes.
struct Rows<'a> {
    bytes: Bytes<'a>,
    strings: &'a CitedStrings,
    ordinal: Option<u64>,
    seconds: i64,
}

impl<'a> Rows<'a> {
    fn new(rows: &'a [u8], strings: &'a CitedStrings) -> Rows<'a> {
        Rows {
            bytes: Bytes::new(rows),
            strings,
            ordinal: None,
            seconds: 0,
        }
    }

    /// The next row, or `None` at the end of the bytes.
    fn next(&mut self) -> Result<Option<CitedEvent<'a>>> {
        if self.bytes.is_empty() {
            return Ok(None);
        }
        let delta = self.bytes.varint()?;
        let ordinal = match self.ordinal {
            None => delta,
            Some(_) if delta == 0 => bail!("the events are not in increasing order"),
            Some(before) => {
                (before.checked_add(delta)).ok_or_else(|| anyhow!("ordinal overflows"))?
            }
        };
        self.ordinal = Some(ordinal);
        let id = self.bytes.text()?;
        ensure!(!id.is_empty(), "an empty event id");
        let input = self.bytes.varint()?;
        let place = match input.checked_sub(1) {
            None => None,
            Some(input) => {
                ensure!(
                    input < self.strings.inputs.len() as u64,
                    "names input {input} of {}",
                    self.strings.inputs.len()
                );
                let delta = unzigzag(self.bytes.varint()?);
                self.seconds =
                    (self.seconds.checked_add(delta)).ok_or_else(|| anyhow!("time overflows"))?;
                let nanos = u32::try_from(self.bytes.varint()?)
                    .ok()
                    .filter(|&n| n < 1_000_000_000)
                    .ok_or_else(|| anyhow!("nanoseconds past 10^9"))?;
                let line = self.bytes.varint()?;
                let tenant = match self.bytes.varint()?.checked_sub(1) {
                    None => None,
                    Some(n) => Some(
                        (self.strings.tenants.get(n as usize))
                            .ok_or_else(|| {
                                anyhow!("names tenant {n} of {}", self.strings.tenants.len())
                            })?
                            .as_str(),
                    ),
                };
                let data_id = match self.bytes.varint()?.checked_sub(1) {
                    None => None,
                    Some(len) => Some(self.bytes.utf8(len)?),
                };
                Some(CitedPlace {
                    time: Timestamp {
                        seconds: self.seconds,
                        nanos,
                    },
                    input: input as u32,
                    line,
                    tenant,
                    data_id,
                })
            }
        };
        Ok(Some(CitedEvent { ordinal, id, place }))
    }
}

/// Makes a [`CitedEvents`] from rows given in any order.
#[derive(Default)]
pub struct CitedEventsBuilder {
    inputs: Vec<(String, InputFormat)>,
    input_index: HashMap<(String, InputFormat), u32>,
    tenants: Vec<String>,
    tenant_index: HashMap<String, u32>,
    /// The ids' and data ids' bytes, end to end.
    text: Vec<u8>,
    rows: Vec<PendingRow>,
}

/// A row before it is encoded: strings as ranges of the builder's text.
struct PendingRow {
    ordinal: u64,
    id: (usize, usize),
    place: Option<PendingPlace>,
}

struct PendingPlace {
    time: Timestamp,
    input: u32,
    line: u64,
    /// Index into the builder's tenants, plus one; 0 for none.
    tenant: u32,
    data_id: Option<(usize, usize)>,
}

/// Where an event was read, for [`CitedEventsBuilder::push`]; `input` is
/// what [`CitedEventsBuilder::input`] gave for its input.
pub struct PlaceParts<'a> {
    /// The event's time.
    pub time: Timestamp,
    /// The input it was read from.
    pub input: u32,
    /// Its 1-based line or array element.
    pub line: u64,
    /// Its tenant, or its data's.
    pub tenant: Option<&'a str>,
    /// The id of the data item it touches.
    pub data_id: Option<&'a str>,
}

impl CitedEventsBuilder {
    /// The index to give [`push`](Self::push) for rows read from the
    /// input named `name`.
    pub fn input(&mut self, name: &str, format: InputFormat) -> u32 {
        let key = (name.to_string(), format);
        if let Some(&index) = self.input_index.get(&key) {
            return index;
        }
        let index = self.inputs.len() as u32;
        self.inputs.push(key.clone());
        self.input_index.insert(key, index);
        index
    }

    /// The inputs of `table`, as indexes into this builder's, for copying
    /// its placed rows.
    pub fn inputs_of(&mut self, table: &CitedEvents) -> Vec<u32> {
        (table.strings.inputs.iter())
            .map(|(name, format)| self.input(name, *format))
            .collect()
    }

    /// Adds the event `ordinal`, with `id`, read at `place` (`None` for an
    /// event that the run resuming the state reads again). Each ordinal
    /// is added once.
    pub fn push(&mut self, ordinal: u64, id: &str, place: Option<PlaceParts<'_>>) {
        let id = self.text(id);
        let place = place.map(|place| PendingPlace {
            time: place.time,
            input: place.input,
            line: place.line,
            tenant: place.tenant.map_or(0, |tenant| self.tenant(tenant) + 1),
            data_id: place.data_id.map(|data_id| self.text(data_id)),
        });
        self.rows.push(PendingRow { ordinal, id, place });
    }

    /// Adds `event` of `table`; `inputs` is what [`inputs_of`](Self::inputs_of)
    /// gave for `table`.
    pub fn copy(&mut self, event: &CitedEvent<'_>, inputs: &[u32]) {
        let place = event.place.map(|place| PlaceParts {
            time: place.time,
            input: inputs[place.input as usize],
            line: place.line,
            tenant: place.tenant,
            data_id: place.data_id,
        });
        self.push(event.ordinal, event.id, place);
    }

    fn text(&mut self, text: &str) -> (usize, usize) {
        let start = self.text.len();
        self.text.extend_from_slice(text.as_bytes());
        (start, text.len())
    }

    fn tenant(&mut self, tenant: &str) -> u32 {
        if let Some(&index) = self.tenant_index.get(tenant) {
            return index;
        }
        let index = self.tenants.len() as u32;
        self.tenants.push(tenant.to_string());
        self.tenant_index.insert(tenant.to_string(), index);
        index
    }

    /// The table, rows in ordinal order. Inputs no row names are left
    /// out: a chain's runs name every input they read, and the table
    /// would otherwise keep every file name of every day.
    pub fn finish(mut self) -> CitedEvents {
        self.rows.sort_unstable_by_key(|row| row.ordinal);
        let mut renumbered: Vec<Option<u32>> = vec![None; self.inputs.len()];
        let mut inputs = Vec::new();
        for place in self.rows.iter_mut().filter_map(|row| row.place.as_mut()) {
            let new = renumbered[place.input as usize].get_or_insert_with(|| {
                inputs.push(self.inputs[place.input as usize].clone());
                inputs.len() as u32 - 1
            });
            place.input = *new;
        }
        let mut out = Vec::with_capacity(self.rows.len() * 40);
        let (mut ordinal, mut seconds) = (None, 0i64);
        for row in &self.rows {
            debug_assert!(ordinal < Some(row.ordinal), "each ordinal is added once");
            put_varint(&mut out, row.ordinal - ordinal.unwrap_or(0));
            ordinal = Some(row.ordinal);
            put_text(&mut out, &self.text, row.id, 0);
            match &row.place {
                None => put_varint(&mut out, 0),
                Some(place) => {
                    put_varint(&mut out, u64::from(place.input) + 1);
                    put_varint(&mut out, zigzag(place.time.seconds.wrapping_sub(seconds)));
                    seconds = place.time.seconds;
                    put_varint(&mut out, u64::from(place.time.nanos));
                    put_varint(&mut out, place.line);
                    put_varint(&mut out, u64::from(place.tenant));
                    match place.data_id {
                        None => put_varint(&mut out, 0),
                        Some(range) => put_text(&mut out, &self.text, range, 1),
                    }
                }
            }
        }
        CitedEvents {
            strings: CitedStrings {
                events: self.rows.len() as u64,
                bytes: out.len() as u64,
                inputs,
                tenants: self.tenants,
            },
            rows: out,
        }
    }
}

/// The cited events of a state about to be saved, while its run places
/// its own: those an earlier run placed are copied from that run's state,
/// and the rest wait for the run to read their lines again.
pub struct Citing<'s> {
    builder: CitedEventsBuilder,
    /// The run's cited events not yet placed, by id, with their ordinals:
    /// millions of them, looked up once each, so hashed with foldhash.
    unplaced: foldhash::HashMap<&'s str, u64>,
    /// The builder's index of each of the run's inputs.
    inputs: Vec<u32>,
}

impl<'s> Citing<'s> {
    /// Starts the table of the events `snapshots` cite, given the table of
    /// the state the run resumed (`earlier`) and the run's inputs.
    pub fn new(
        snapshots: impl IntoIterator<Item = &'s RuleSnapshot>,
        earlier: &CitedEvents,
        inputs: &[InputSummary],
    ) -> Citing<'s> {
        let mut cited: Vec<(u64, &str)> = (snapshots.into_iter())
            .flat_map(|snapshot| snapshot.cited.iter().map(|(n, id)| (*n, id.as_str())))
            .collect();
        cited.sort_unstable_by_key(|&(ordinal, _)| ordinal);
        cited.dedup_by_key(|&mut (ordinal, _)| ordinal);
        let mut builder = CitedEventsBuilder::default();
        let earlier_inputs = builder.inputs_of(earlier);
        let inputs = (inputs.iter())
            .map(|input| builder.input(&input.name, input.format))
            .collect();
        let mut unplaced = foldhash::HashMap::default();
        let mut before = earlier.iter().peekable();
        for (ordinal, id) in cited {
            while before.next_if(|event| event.ordinal < ordinal).is_some() {}
            match before.peek() {
                Some(event) if event.ordinal == ordinal && event.place.is_some() => {
                    builder.copy(event, &earlier_inputs)
                }
                _ => {
                    unplaced.insert(id, ordinal);
                }
            }
        }
        Citing {
            builder,
            unplaced,
            inputs,
        }
    }

    /// The ids of the events the run has to place.
    pub fn wanted(&self) -> Vec<&'s str> {
        self.unplaced.keys().copied().collect()
    }

    /// Places `event`, read at `location`, if it is one of them.
    pub fn place(&mut self, location: Location, event: &EventRef<'_>) {
        if let Some(ordinal) = self.unplaced.remove(event.id.as_ref()) {
            let place = PlaceParts {
                time: event.time,
                input: self.inputs[location.input as usize],
                line: location.line,
                tenant: event.filed_tenant(),
                data_id: event.data_id(),
            };
            self.builder.push(ordinal, &event.id, Some(place));
        }
    }

    /// The table, once every event is placed: one that no run placed is an
    /// error naming the first.
    pub fn finish(self) -> Result<CitedEvents> {
        if let Some((id, _)) = self.unplaced.iter().min_by_key(|&(_, ordinal)| ordinal) {
            bail!("a rule's saved state names event `{id}`, which no run of the chain placed");
        }
        Ok(self.builder.finish())
    }

    /// The table of a checkpoint, whose run's own events stay unplaced:
    /// the run that resumes it reads them again.
    pub fn finish_unplaced(mut self) -> CitedEvents {
        for (id, ordinal) in std::mem::take(&mut self.unplaced) {
            self.builder.push(ordinal, id, None);
        }
        self.builder.finish()
    }
}

/// Appends `text[start..start + len]`, after its length plus `bias`.
fn put_text(out: &mut Vec<u8>, text: &[u8], (start, len): (usize, usize), bias: u64) {
    put_varint(out, len as u64 + bias);
    out.extend_from_slice(&text[start..start + len]);
}

/// Appends `value` as LEB128.
pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    (value >> 1) as i64 ^ -((value & 1) as i64)
}

/// A cursor over bytes from a state file, whose every read is checked.
pub(super) struct Bytes<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Bytes<'a> {
        Bytes { bytes, at: 0 }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// The next LEB128 integer.
    pub(super) fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *(self.bytes.get(self.at)).ok_or_else(|| anyhow!("cut short"))?;
            self.at += 1;
            let bits = u64::from(byte & 0x7f);
            ensure!(shift < 63 || bits <= 1, "an integer past 64 bits");
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("an integer past 64 bits")
    }

    /// A length, then that many bytes of UTF-8.
    fn text(&mut self) -> Result<&'a str> {
        let len = self.varint()?;
        self.utf8(len)
    }

    fn utf8(&mut self, len: u64) -> Result<&'a str> {
        let end = (usize::try_from(len).ok())
            .and_then(|len| self.at.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| anyhow!("cut short"))?;
        let text = std::str::from_utf8(&self.bytes[self.at..end])
            .map_err(|_| anyhow!("a string that is not UTF-8"))?;
        self.at = end;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64, nanos: u32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    fn table() -> CitedEvents {
        let mut builder = CitedEventsBuilder::default();
        let day1 = builder.input("day-1.jsonl", InputFormat::Jsonl);
        let day2 = builder.input("day-2.json", InputFormat::JsonArray);
        // Out of order, as a run finds its events' places.
        builder.push(
            900,
            "evt-900",
            Some(PlaceParts {
                time: at(1_000, 5),
                input: day2,
                line: 3,
                tenant: Some("contoso"),
                data_id: None,
            }),
        );
        builder.push(
            7,
            "evt-7",
            Some(PlaceParts {
                time: at(2_000, 999_999_999),
                input: day1,
                line: 7,
                tenant: Some("contoso"),
                data_id: Some("item-1"),
            }),
        );
        builder.push(u64::MAX, "last", None);
        builder.push(
            0,
            "ünïcode",
            Some(PlaceParts {
                time: at(-5, 0),
                input: day1,
                line: 1,
                tenant: None,
                data_id: Some(""),
            }),
        );
        builder.finish()
    }

    #[test]
    fn rows_come_back_in_ordinal_order_as_they_were_given() {
        let table = table();
        let rows: Vec<_> = table.iter().collect();
        let ordinals: Vec<u64> = rows.iter().map(|r| r.ordinal).collect();
        assert_eq!(ordinals, [0, 7, 900, u64::MAX]);
        assert_eq!(rows[0].id, "ünïcode");
        let place = rows[1].place.unwrap();
        assert_eq!((place.time, place.line), (at(2_000, 999_999_999), 7));
        assert_eq!(
            (place.tenant, place.data_id),
            (Some("contoso"), Some("item-1"))
        );
        assert_eq!(rows[0].place.unwrap().time, at(-5, 0));
        assert_eq!(rows[0].place.unwrap().data_id, Some(""));
        assert_eq!(rows[3].place, None);
        let shown = table.source_place(&rows[2].place.unwrap());
        assert_eq!(
            (shown.input.as_str(), shown.format),
            ("day-2.json", InputFormat::JsonArray)
        );
        assert_eq!(table.strings.tenants, ["contoso"]);
    }

    #[test]
    fn inputs_no_row_names_are_left_out() {
        let mut builder = CitedEventsBuilder::default();
        builder.input("day-1.jsonl", InputFormat::Jsonl);
        let day2 = builder.input("day-2.jsonl", InputFormat::Jsonl);
        let place = PlaceParts {
            time: at(0, 0),
            input: day2,
            line: 4,
            tenant: None,
            data_id: None,
        };
        builder.push(1, "evt-1", Some(place));
        let table = builder.finish();
        assert_eq!(
            table.strings.inputs,
            [("day-2.jsonl".to_string(), InputFormat::Jsonl)]
        );
        let event = table.iter().next().unwrap();
        assert_eq!(
            table.source_place(&event.place.unwrap()).describe(),
            "day-2.jsonl:4"
        );
    }

    #[test]
    fn a_table_read_back_equals_the_one_written() {
        let table = table();
        let (strings, rows) = table.parts();
        let back = CitedEvents::from_parts(strings.clone(), rows).unwrap();
        assert_eq!(back, table);
    }

    #[test]
    fn carried_names_each_list_of_cited_events_and_stops_at_a_missing_one() {
        let table = table();
        let carried = table.carried(&[&[7, u64::MAX], &[], &[7, 8, 900], &[900, 7]]);
        assert_eq!(carried[0], [(7, "evt-7"), (u64::MAX, "last")]);
        assert_eq!(carried[1], []);
        assert_eq!(carried[2], [(7, "evt-7")]);
        assert_eq!(carried[3], [(900, "evt-900")]);
    }

    #[test]
    fn places_of_gives_only_placed_events_asked_for() {
        let table = table();
        let places = table.places_of(&HashSet::from(["evt-7", "last", "nowhere"]));
        assert_eq!(places.len(), 1);
        assert_eq!(places["evt-7"].describe(), "day-1.jsonl:7");
    }

    #[test]
    fn every_damaged_table_is_refused() {
        let table = table();
        let (strings, rows) = table.parts();
        for cut in 0..rows.len() {
            assert!(
                CitedEvents::from_parts(strings.clone(), &rows[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = rows.to_vec();
        longer.push(0);
        assert!(CitedEvents::from_parts(strings.clone(), &longer).is_err());
        let fewer_inputs = CitedStrings {
            inputs: strings.inputs[..1].to_vec(),
            ..strings.clone()
        };
        let error = CitedEvents::from_parts(fewer_inputs, rows)
            .unwrap_err()
            .to_string();
        assert!(error.contains("names input 1 of 1"), "{error}");
        let no_tenants = CitedStrings {
            tenants: Vec::new(),
            ..strings.clone()
        };
        assert!(CitedEvents::from_parts(no_tenants, rows).is_err());
        // A repeated ordinal: the second row's delta made 0.
        let mut again = CitedEventsBuilder::default();
        again.push(3, "a", None);
        again.push(4, "b", None);
        let again = again.finish();
        let (strings, rows) = again.parts();
        let mut rows = rows.to_vec();
        assert_eq!(rows[4], 1, "the second row's delta");
        rows[4] = 0;
        let error = CitedEvents::from_parts(strings.clone(), &rows)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not in increasing order"), "{error}");
    }

    #[test]
    fn varints_round_trip_and_refuse_overlong_ones() {
        for value in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(Bytes::new(&out).varint().unwrap(), value);
        }
        for value in [0, 1, -1, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(value)), value);
        }
        assert!(Bytes::new(&[0xff; 10]).varint().is_err());
        assert!(Bytes::new(&[0x80]).varint().is_err());
    }
}
