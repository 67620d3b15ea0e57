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
/// every rule; capped (`MAX_SYMBOLS`, `MAX_SYMBOL_BYTES`).
#[derive(Debug, Default)]
struct Symbols {
    numbers: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    /// The text of symbol `n` at `n - 1`.
    texts: Vec<Box<str>>,
    bytes: usize,
    /// The most symbols to make: at most `MAX_SYMBOLS`.
    cap: u32,
}

impl Symbols {
    /// The number of `text`, made if there is room.
    fn number(&mut self, text: &str) -> Option<u32> {
        if let Some(&number) = self.numbers.get(text) {
            return Some(number);
        }
        let full =
            self.texts.len() as u32 >= self.cap || self.bytes + text.len() > MAX_SYMBOL_BYTES;
        if full {
            return None;
        }
        self.bytes += text.len();
        self.texts.push(text.into());
        let number = self.texts.len() as u32;
        self.numbers.insert(text.into(), number);
        Some(number)
    }

    fn text(&self, number: u32) -> &str {
        &self.texts[number as usize - 1]
    }
}

/// A batch of events in columns, encoded once for every rule of the run.
/// [`Batch::clear`] starts the next batch, keeping the symbols.
#[derive(Debug)]
pub struct Batch {
    symbols: Symbols,
    attribute_names: Vec<String>,
    first_ordinal: u64,
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
    heap: Vec<u8>,
}

impl Batch {
    /// An empty batch whose events carry the attributes `attribute_names`
    /// (the union of every rule's), starting at ordinal 0.
    pub fn new(attribute_names: Vec<String>) -> Batch {
        Batch::with_symbol_cap(attribute_names, MAX_SYMBOLS)
    }

    /// [`Batch::new`], making at most `cap` symbols (never more than
    /// [`MAX_SYMBOLS`]): strings past it travel inline. Decoders accept any
    /// cap; the tests use a small one to reach it.
    pub fn with_symbol_cap(attribute_names: Vec<String>, cap: u32) -> Batch {
        Batch {
            symbols: Symbols {
                cap: cap.min(MAX_SYMBOLS),
                ..Symbols::default()
            },
            attributes: vec![Vec::new(); attribute_names.len()],
            attribute_names,
            first_ordinal: 0,
            times: Vec::new(),
            presence: Vec::new(),
            ids: Vec::new(),
            texts: Default::default(),
            data_ids: Vec::new(),
            data_keys: Vec::new(),
            sources: Vec::new(),
            source_table: Vec::new(),
            inline: Vec::new(),
            heap: Vec::new(),
        }
    }

    /// The attributes the batch's events carry, in order.
    pub fn attribute_names(&self) -> &[String] {
        &self.attribute_names
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

    /// Adds `event`, the next in the run's order.
    ///
    /// # Panics
    /// If `event.attributes` is not one value per attribute of the batch,
    /// or the batch's heap passes 4 GiB: both are the host's own bugs.
    pub fn push(&mut self, event: &EventRecord<'_>) {
        assert_eq!(
            event.attributes.len(),
            self.attribute_names.len(),
            "one value per attribute"
        );
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
            let cell = self.cell(text);
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
            let cell = self.cell(*value);
            self.attributes[column].push(cell);
        }
    }

    /// Empties the batch for the events after it, keeping the symbols.
    pub fn clear(&mut self) {
        self.first_ordinal += self.len() as u64;
        self.times.clear();
        self.presence.clear();
        self.ids.clear();
        self.texts.iter_mut().for_each(Vec::clear);
        self.data_ids.clear();
        self.data_keys.clear();
        self.sources.clear();
        self.source_table.clear();
        self.attributes.iter_mut().for_each(Vec::clear);
        self.inline.clear();
        self.heap.clear();
    }

    fn span(&mut self, text: &str) -> Span {
        let offset = u32::try_from(self.heap.len()).expect("a batch's heap is under 4 GiB");
        self.heap.extend_from_slice(text.as_bytes());
        (offset, text.len() as u32)
    }

    fn cell(&mut self, text: Option<&str>) -> u32 {
        let Some(text) = text else { return 0 };
        if let Some(number) = self.symbols.number(text) {
            return number;
        }
        let span = self.span(text);
        self.inline.push(span);
        INLINE | (self.inline.len() as u32 - 1)
    }

    fn action(&self, row: usize) -> &str {
        let cell = self.texts[0][row];
        match cell & INLINE {
            0 => self.symbols.text(cell),
            _ => self.heap_text(self.inline[(cell & !INLINE) as usize]),
        }
    }

    fn heap_text(&self, (offset, len): Span) -> &str {
        let bytes = &self.heap[offset as usize..][..len as usize];
        // Every span was cut from a `&str` pushed whole.
        std::str::from_utf8(bytes).expect("spans hold whole strings")
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
            rows: Vec::new(),
        })
    }

    /// Writes the rule's frame of `batch` to `out` (emptied first); returns
    /// the batch's rows it holds, in order: none when the projection's
    /// actions select none (the frame is still a valid, empty one).
    pub fn write(&mut self, batch: &Batch, out: &mut Vec<u8>) -> &[usize] {
        let actions = &self.projection.actions;
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        rows.extend(
            (0..batch.len()).filter(|&row| {
                actions.is_empty() || actions.iter().any(|a| a == batch.action(row))
            }),
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
                        draft.put_text(&mut self.sent, batch, batch.texts[column][row]);
                    }
                }
            }
        }
        for &column in &self.attribute_columns {
            for &row in &rows {
                draft.put_text(&mut self.sent, batch, batch.attributes[column][row]);
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
    fn put_text(&mut self, sent: &mut [u64], batch: &Batch, cell: u32) {
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
                    let text = batch.symbols.text(number);
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
