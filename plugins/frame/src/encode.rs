//! The host's side: a batch of events encoded once, and each rule's frame
//! cut from it.

use std::collections::HashMap;

use crate::{
    ABSENT_SPAN, Field, HEADER_BYTES, INLINE, Key, LAYOUT, MAGIC, MAX_SYMBOL_BYTES, MAX_SYMBOLS,
    Projection,
};

/// An offset and a length into a heap.
type Span = (u32, u32);

const ABSENT: Span = (0, ABSENT_SPAN);

/// One event as the host read it, borrowed: what a [`Batch`] is built from.
#[derive(Clone, Copy, Debug)]
pub struct EventRecord<'a> {
    /// The event's id.
    pub id: &'a str,
    /// Its time, as seconds since the epoch.
    pub seconds: i64,
    /// And nanoseconds past them, below 10^9.
    pub nanos: u32,
    /// What was done.
    pub action: &'a str,
    /// The organisation in whose context it ran.
    pub tenant: Option<&'a str>,
    /// Who did it: kind, and id if given.
    pub actor: Option<(&'a str, Option<&'a str>)>,
    /// Why.
    pub purpose: Option<&'a str>,
    /// The consent's scope.
    pub scope: Option<&'a str>,
    /// The processing layer.
    pub layer: Option<&'a str>,
    /// Where.
    pub region: Option<&'a str>,
    /// The data item touched.
    pub data: Option<DataRecord<'a>>,
    /// The values of the batch's attributes, in the batch's order: `Some`
    /// where the event's value is a JSON string.
    pub attributes: &'a [Option<&'a str>],
}

/// The data item of an [`EventRecord`].
#[derive(Clone, Copy, Debug)]
pub struct DataRecord<'a> {
    /// Its id and the id's key.
    pub id: Option<(&'a str, Key)>,
    /// Its category.
    pub category: Option<&'a str>,
    /// The organisation tag it carries.
    pub tenant: Option<&'a str>,
    /// Where it is kept.
    pub store: Option<&'a str>,
    /// What it was derived from: ids and their keys.
    pub sources: &'a [(&'a str, Key)],
}

/// The strings that repeat, numbered once for the whole run and shared by
/// every rule; capped (`MAX_SYMBOLS`, `MAX_SYMBOL_BYTES`). Only numbers are
/// kept here: each symbol's text travels once, in the batch that made it.
#[derive(Debug, Default)]
struct Symbols {
    numbers: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    bytes: usize,
    /// The most symbols to make: at most `MAX_SYMBOLS`.
    cap: u32,
}

impl Symbols {
    /// The number of `text`, and whether it was made now, if there is room.
    fn number(&mut self, text: &str) -> Option<(u32, bool)> {
        if let Some(&number) = self.numbers.get(text) {
            return Some((number, false));
        }
        let count = self.numbers.len() as u32;
        if count >= self.cap || self.bytes + text.len() > MAX_SYMBOL_BYTES {
            return None;
        }
        self.bytes += text.len();
        self.numbers.insert(text.into(), count + 1);
        Some((count + 1, true))
    }

    /// The number the next symbol made will have.
    fn next(&self) -> u32 {
        self.numbers.len() as u32 + 1
    }
}

/// Builds the run's [`Batch`]es, once for every rule: it numbers the
/// strings that repeat across the whole run, and the events' ordinals.
#[derive(Debug)]
pub struct Encoder {
    symbols: Symbols,
    attribute_names: Vec<String>,
    batch: Batch,
}

impl Encoder {
    /// An encoder of events that carry the attributes `attribute_names`
    /// (the union of every rule's), starting at ordinal 0.
    pub fn new(attribute_names: Vec<String>) -> Encoder {
        Encoder::with_symbol_cap(attribute_names, MAX_SYMBOLS)
    }

    /// [`Encoder::new`], making at most `cap` symbols (never more than
    /// [`MAX_SYMBOLS`]): strings past it travel inline. Decoders accept any
    /// cap; the tests use a small one to reach it.
    pub fn with_symbol_cap(attribute_names: Vec<String>, cap: u32) -> Encoder {
        Encoder {
            symbols: Symbols {
                cap: cap.min(MAX_SYMBOLS),
                ..Symbols::default()
            },
            batch: Batch::empty(attribute_names.len(), 0, 1),
            attribute_names,
        }
    }

    /// This encoder, numbering events from `ordinal` rather than 0: a run
    /// that carries on from an earlier one's saved state continues its
    /// ordinals, so that the state's citations of earlier events stay
    /// distinct from this run's events.
    ///
    /// # Panics
    /// If an event was pushed already: the host's own bug.
    pub fn starting_at(mut self, ordinal: u64) -> Encoder {
        assert!(
            self.batch.is_empty() && self.batch.first_ordinal == 0,
            "an encoder starts before its first event"
        );
        self.batch.first_ordinal = ordinal;
        self
    }

    /// The attributes the batches' events carry, in order.
    pub fn attribute_names(&self) -> &[String] {
        &self.attribute_names
    }

    /// The batch being built.
    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// Adds `event`, the next in the run's order, to the batch being built.
    ///
    /// # Panics
    /// If `event.attributes` is not one value per attribute of the
    /// encoder, or the batch's heap passes 4 GiB: both are the host's own
    /// bugs.
    pub fn push(&mut self, event: &EventRecord<'_>) {
        assert_eq!(
            event.attributes.len(),
            self.attribute_names.len(),
            "one value per attribute"
        );
        self.batch.push(&mut self.symbols, event);
    }

    /// The batch built so far; the next starts empty, at the ordinal after
    /// its last event. Every rule's [`FrameWriter`] must be given every
    /// batch taken, in order: a batch carries the texts of the symbols it
    /// made, and no later one does.
    pub fn take(&mut self) -> Batch {
        let next = Batch::empty(
            self.attribute_names.len(),
            self.batch.first_ordinal + self.batch.len() as u64,
            self.symbols.next(),
        );
        std::mem::replace(&mut self.batch, next)
    }
}

/// A batch of events in columns, encoded once for every rule of the run by
/// an [`Encoder`], and read (shared across threads) by each rule's
/// [`FrameWriter`].
#[derive(Debug)]
pub struct Batch {
    first_ordinal: u64,
    /// The number of the first symbol this batch made; `made` holds the
    /// texts of those it made, in the heap, in number order.
    first_symbol: u32,
    made: Vec<Span>,
    times: Vec<(i64, u32)>,
    presence: Vec<u8>,
    ids: Vec<Span>,
    /// One column per [`Field::TEXTS`]: symbol numbers, or `INLINE` and an
    /// index into `inline`.
    texts: [Vec<u32>; 11],
    data_ids: Vec<Span>,
    data_keys: Vec<Key>,
    sources: Vec<(u32, u32)>,
    source_table: Vec<(Span, Key)>,
    attributes: Vec<Vec<u32>>,
    inline: Vec<Span>,
    heap: String,
}

impl Batch {
    fn empty(attributes: usize, first_ordinal: u64, first_symbol: u32) -> Batch {
        Batch {
            first_ordinal,
            first_symbol,
            made: Vec::new(),
            times: Vec::new(),
            presence: Vec::new(),
            ids: Vec::new(),
            texts: Default::default(),
            data_ids: Vec::new(),
            data_keys: Vec::new(),
            sources: Vec::new(),
            source_table: Vec::new(),
            attributes: vec![Vec::new(); attributes],
            inline: Vec::new(),
            heap: String::new(),
        }
    }

    /// The number of events in the batch.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The ordinal of the batch's first event.
    pub fn first_ordinal(&self) -> u64 {
        self.first_ordinal
    }

    /// The id of the event at `row`.
    ///
    /// # Panics
    /// If `row` is not below [`Batch::len`].
    pub fn id(&self, row: usize) -> &str {
        self.heap_text(self.ids[row])
    }

    fn push(&mut self, symbols: &mut Symbols, event: &EventRecord<'_>) {
        self.times.push((event.seconds, event.nanos));
        let data = event.data.as_ref();
        self.presence
            .push(u8::from(event.actor.is_some()) | (u8::from(data.is_some()) << 1));
        let id = self.span(event.id);
        self.ids.push(id);
        let actor = event.actor;
        let texts = [
            Some(event.action),
            event.tenant,
            actor.map(|(kind, _)| kind),
            actor.and_then(|(_, id)| id),
            event.purpose,
            event.scope,
            event.layer,
            event.region,
            data.and_then(|d| d.category),
            data.and_then(|d| d.tenant),
            data.and_then(|d| d.store),
        ];
        for (column, text) in texts.into_iter().enumerate() {
            let cell = self.cell(symbols, text);
            self.texts[column].push(cell);
        }
        let data_id = data.and_then(|d| d.id);
        let data_id_span = data_id.map_or(ABSENT, |(id, _)| self.span(id));
        self.data_ids.push(data_id_span);
        self.data_keys.push(data_id.map_or([0; 16], |(_, key)| key));
        let sources = data.map_or(&[][..], |d| d.sources);
        self.sources
            .push((self.source_table.len() as u32, sources.len() as u32));
        for &(source, key) in sources {
            let span = self.span(source);
            self.source_table.push((span, key));
        }
        for (column, value) in event.attributes.iter().enumerate() {
            let cell = self.cell(symbols, *value);
            self.attributes[column].push(cell);
        }
    }

    fn span(&mut self, text: &str) -> Span {
        let offset = u32::try_from(self.heap.len()).expect("a batch's heap is under 4 GiB");
        self.heap.push_str(text);
        (offset, text.len() as u32)
    }

    fn cell(&mut self, symbols: &mut Symbols, text: Option<&str>) -> u32 {
        let Some(text) = text else { return 0 };
        match symbols.number(text) {
            Some((number, made)) => {
                if made {
                    let span = self.span(text);
                    self.made.push(span);
                }
                number
            }
            None => {
                let span = self.span(text);
                self.inline.push(span);
                INLINE | (self.inline.len() as u32 - 1)
            }
        }
    }

    fn heap_text(&self, (offset, len): Span) -> &str {
        // A text heap, so that a span reads back with no UTF-8 check: the
        // per-rule writers copy every id this way.
        &self.heap[offset as usize..][..len as usize]
    }
}

/// The symbols' texts as one rule's writer keeps them: every batch's
/// made symbols, so that a symbol can be sent the first time the rule
/// needs it, however many batches after it was made.
#[derive(Debug, Default)]
struct Dictionary {
    text: String,
    /// Where symbol `n`'s text ends in `text`, at `n - 1`.
    ends: Vec<u32>,
}

impl Dictionary {
    /// Takes in the symbols `batch` made that are not known yet.
    ///
    /// # Panics
    /// If a batch that made symbols was skipped: the host's own bug.
    fn learn(&mut self, batch: &Batch) {
        let known = self.ends.len() as u32;
        assert!(
            batch.first_symbol <= known + 1,
            "every batch goes to every writer, in order"
        );
        let skip = (known + 1 - batch.first_symbol) as usize;
        for &span in batch.made.iter().skip(skip) {
            self.text.push_str(batch.heap_text(span));
            self.ends.push(self.text.len() as u32);
        }
    }

    fn text(&self, number: u32) -> &str {
        let end = self.ends[number as usize - 1] as usize;
        let start = match number {
            1 => 0,
            _ => self.ends[number as usize - 2] as usize,
        };
        &self.text[start..end]
    }
}

/// Writes one rule's frames from the batches: only what its projection
/// names, and each symbol the first time the rule needs it.
#[derive(Debug)]
pub struct FrameWriter {
    projection: Projection,
    /// For each of the projection's attributes, its column in the batch.
    attribute_columns: Vec<usize>,
    /// Bit `n` is set once symbol `n` has been sent to this rule.
    sent: Vec<u64>,
    dictionary: Dictionary,
    /// The batch's rows the last frame held.
    rows: Vec<usize>,
}

/// One frame under construction: the sections that come before the
/// columns are only known once the columns are written.
#[derive(Default)]
struct Draft {
    symbols: Vec<(u32, Span)>,
    inline: Vec<Span>,
    body: Vec<u8>,
    heap: Vec<u8>,
}

impl FrameWriter {
    /// A writer for a rule reading `projection` from batches carrying the
    /// attributes `attribute_names`; an error names an attribute the
    /// batches do not carry.
    pub fn new(projection: Projection, attribute_names: &[String]) -> Result<FrameWriter, String> {
        let attribute_columns = (projection.attributes.iter())
            .map(|name| {
                attribute_names
                    .iter()
                    .position(|n| n == name)
                    .ok_or_else(|| format!("the batches carry no attribute `{name}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if attribute_columns.len() > usize::from(u16::MAX) {
            return Err(format!("more than {} attributes", u16::MAX));
        }
        Ok(FrameWriter {
            projection,
            attribute_columns,
            sent: vec![0; MAX_SYMBOLS as usize / 64 + 1],
            dictionary: Dictionary::default(),
            rows: Vec::new(),
        })
    }

    /// Writes the rule's frame of `batch` to `out` (emptied first); returns
    /// the batch's rows it holds, in order: none when the projection's
    /// actions select none (the frame is still a valid, empty one).
    ///
    /// # Panics
    /// If a batch the [`Encoder`] made before this one was not written: its
    /// symbols would be missing.
    pub fn write(&mut self, batch: &Batch, out: &mut Vec<u8>) -> &[usize] {
        self.dictionary.learn(batch);
        let actions = &self.projection.actions;
        let dictionary = &self.dictionary;
        let action = |row: usize| match batch.texts[0][row] {
            inline if inline & INLINE != 0 => {
                batch.heap_text(batch.inline[(inline & !INLINE) as usize])
            }
            number => dictionary.text(number),
        };
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        rows.extend(
            (0..batch.len())
                .filter(|&row| actions.is_empty() || actions.iter().any(|a| a == action(row))),
        );
        let mut draft = Draft::default();
        let fields = self.projection.fields;
        for &row in &rows {
            // Rows are indices into one batch, so they fit where it does.
            draft.put_u32((row - rows[0]) as u32);
        }
        for &row in &rows {
            let (seconds, nanos) = batch.times[row];
            draft.body.extend_from_slice(&seconds.to_le_bytes());
            draft.put_u32(nanos);
        }
        draft
            .body
            .extend(rows.iter().map(|&row| batch.presence[row]));
        for field in fields.iter() {
            match field {
                Field::Id => {
                    for &row in &rows {
                        draft.put_span(batch, batch.ids[row]);
                    }
                }
                Field::DataId => {
                    for &row in &rows {
                        draft.put_span(batch, batch.data_ids[row]);
                    }
                    for &row in &rows {
                        draft.body.extend_from_slice(&batch.data_keys[row]);
                    }
                }
                Field::DataSources => {
                    let mut next = 0u32;
                    for &row in &rows {
                        let count = batch.sources[row].1;
                        draft.put_u32(next);
                        draft.put_u32(count);
                        next += count;
                    }
                    for &row in &rows {
                        let (first, count) = batch.sources[row];
                        for &(span, key) in &batch.source_table[first as usize..][..count as usize]
                        {
                            draft.put_span(batch, span);
                            draft.body.extend_from_slice(&key);
                        }
                    }
                }
                text => {
                    let column = text.text_index().expect("every other field is a text");
                    for &row in &rows {
                        draft.put_text(
                            &mut self.sent,
                            &self.dictionary,
                            batch,
                            batch.texts[column][row],
                        );
                    }
                }
            }
        }
        for &column in &self.attribute_columns {
            for &row in &rows {
                draft.put_text(
                    &mut self.sent,
                    &self.dictionary,
                    batch,
                    batch.attributes[column][row],
                );
            }
        }
        let source_count = match fields.contains(Field::DataSources) {
            true => rows.iter().map(|&row| batch.sources[row].1).sum(),
            false => 0,
        };
        let first_ordinal = batch.first_ordinal + rows.first().map_or(0, |&row| row as u64);
        draft.finish(
            out,
            [
                self.attribute_columns.len() as u32,
                fields.bits(),
                rows.len() as u32,
                source_count,
            ],
            first_ordinal,
        );
        self.rows = rows;
        &self.rows
    }
}

impl Draft {
    /// Writes a text cell, copying an inline string, and a symbol's text
    /// the first time the rule (whose sent symbols are `sent`) needs it.
    fn put_text(&mut self, sent: &mut [u64], dictionary: &Dictionary, batch: &Batch, cell: u32) {
        let cell = match cell {
            0 => 0,
            inline if inline & INLINE != 0 => {
                let span = self.copy(batch, batch.inline[(inline & !INLINE) as usize]);
                self.inline.push(span);
                INLINE | (self.inline.len() as u32 - 1)
            }
            number => {
                let (word, bit) = (number as usize / 64, number % 64);
                if sent[word] & (1 << bit) == 0 {
                    sent[word] |= 1 << bit;
                    let text = dictionary.text(number);
                    let span = self.copy_text(text);
                    self.symbols.push((number, span));
                }
                number
            }
        };
        self.put_u32(cell);
    }

    fn put_u32(&mut self, value: u32) {
        self.body.extend_from_slice(&value.to_le_bytes());
    }

    fn put_span(&mut self, batch: &Batch, span: Span) {
        let (offset, len) = match span.1 {
            ABSENT_SPAN => ABSENT,
            _ => self.copy(batch, span),
        };
        self.put_u32(offset);
        self.put_u32(len);
    }

    /// Copies the batch's `span` into the frame's heap.
    fn copy(&mut self, batch: &Batch, span: Span) -> Span {
        self.copy_text(batch.heap_text(span))
    }

    fn copy_text(&mut self, text: &str) -> Span {
        let offset = self.heap.len() as u32;
        self.heap.extend_from_slice(text.as_bytes());
        (offset, text.len() as u32)
    }

    /// Writes the frame: the header, the sections found while the columns
    /// were written, the columns, the heap.
    fn finish(self, out: &mut Vec<u8>, [attributes, fields, count, sources]: [u32; 4], first: u64) {
        out.clear();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&LAYOUT.to_le_bytes());
        out.extend_from_slice(&(attributes as u16).to_le_bytes());
        out.extend_from_slice(&first.to_le_bytes());
        for word in [
            fields,
            count,
            self.symbols.len() as u32,
            self.inline.len() as u32,
            sources,
            self.heap.len() as u32,
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&[0; 8]);
        debug_assert_eq!(out.len(), HEADER_BYTES);
        for (number, (offset, len)) in self.symbols {
            for word in [number, offset, len] {
                out.extend_from_slice(&word.to_le_bytes());
            }
        }
        for (offset, len) in self.inline {
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.heap);
    }
}
