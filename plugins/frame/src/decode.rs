//! The guest's side: a frame checked whole, then read as borrowed views.

use crate::{
    ABSENT_SPAN, Field, Fields, HEADER_BYTES, INLINE, Key, LAYOUT, MAGIC, MAX_SYMBOLS, Projection,
};

/// Why a frame was refused: what is wrong, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError(String);

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed frame: {}", self.0)
    }
}

impl std::error::Error for FrameError {}

fn malformed<T>(what: impl Into<String>) -> Result<T, FrameError> {
    Err(FrameError(what.into()))
}

/// Reads an evaluator's frames, keeping the dictionary between them. A
/// decoder that refused a frame is not to be used again: the frame may
/// have defined some of its symbols.
#[derive(Debug)]
pub struct Decoder {
    fields: Fields,
    attributes: usize,
    /// The text of symbol `n` at `n`, once defined.
    symbols: Vec<Option<Box<str>>>,
}

impl Decoder {
    /// A decoder for frames written for `projection`.
    pub fn new(projection: &Projection) -> Decoder {
        Decoder {
            fields: projection.fields,
            attributes: projection.attributes.len(),
            symbols: Vec::new(),
        }
    }

    /// Checks `frame` whole, adds its symbols to the dictionary, and gives
    /// its events.
    pub fn decode<'f>(&'f mut self, frame: &'f [u8]) -> Result<Frame<'f>, FrameError> {
        let mut cursor = Cursor {
            bytes: frame,
            at: 0,
        };
        let header = cursor.take(HEADER_BYTES, "the header")?;
        let word = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().expect("4 bytes"));
        if header[..4] != MAGIC {
            return malformed("it does not start with `CVNF`");
        }
        let layout = u16::from_le_bytes([header[4], header[5]]);
        if layout != LAYOUT {
            return malformed(format!("layout {layout}, but this decoder reads {LAYOUT}"));
        }
        let attributes = usize::from(u16::from_le_bytes([header[6], header[7]]));
        let first_ordinal = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        let fields = word(16);
        let [count, new_symbols, inline, sources, heap_len] =
            [20, 24, 28, 32, 36].map(|at| word(at) as usize);
        if header[40..48] != [0; 8] {
            return malformed("its reserved bytes are not zero");
        }
        if fields != self.fields.bits() || attributes != self.attributes {
            return malformed(format!(
                "it carries fields {fields:#x} and {attributes} attributes, but the projection declared {:#x} and {}",
                self.fields.bits(),
                self.attributes
            ));
        }
        let symbol_entries = cursor.take_cells(new_symbols, 12, "the new symbols")?;
        let inline_spans = cursor.take_cells(inline, 8, "the inline strings")?;
        let ordinals = cursor.take_cells(count, 4, "the ordinals")?;
        let times = cursor.take_cells(count, 12, "the times")?;
        let presence = cursor.take_cells(count, 1, "the presence column")?;
        let mut columns = [&[][..]; 14];
        let mut data_keys = &[][..];
        let mut source_table = &[][..];
        for field in self.fields.iter() {
            let name = field.name();
            columns[field as usize] = match field {
                Field::Id => cursor.take_cells(count, 8, name)?,
                Field::DataId => {
                    let spans = cursor.take_cells(count, 8, name)?;
                    data_keys = cursor.take_cells(count, 16, "the data keys")?;
                    spans
                }
                Field::DataSources => {
                    let ranges = cursor.take_cells(count, 8, name)?;
                    source_table = cursor.take_cells(sources, 24, "the source table")?;
                    ranges
                }
                _ => cursor.take_cells(count, 4, name)?,
            };
        }
        if !self.fields.contains(Field::DataSources) && sources != 0 {
            return malformed("it has a source table but no data-sources column");
        }
        let attribute_cells = cursor.take_cells(attributes * count, 4, "the attribute columns")?;
        let heap = cursor.take(heap_len, "the heap")?;
        if cursor.at != frame.len() {
            return malformed(format!("{} bytes follow the heap", frame.len() - cursor.at));
        }
        let heap = std::str::from_utf8(heap).or_else(|e| {
            malformed(format!(
                "its heap is not UTF-8 (at byte {})",
                e.valid_up_to()
            ))
        })?;
        let texts = Heap(heap);

        for entry in symbol_entries.chunks_exact(12) {
            let number = le32(&entry[..4]);
            let text = texts.span(&entry[4..])?.ok_or_else(|| absent("a symbol"))?;
            if number == 0 || number > MAX_SYMBOLS {
                return malformed(format!(
                    "symbol number {number} is outside 1 to {MAX_SYMBOLS}"
                ));
            }
            let number = number as usize;
            if self.symbols.len() <= number {
                self.symbols.resize(number + 1, None);
            }
            if self.symbols[number].is_some() {
                return malformed(format!("symbol {number} is defined again"));
            }
            self.symbols[number] = Some(text.into());
        }
        let inline: Vec<&str> = (inline_spans.chunks_exact(8))
            .map(|span| texts.span(span)?.ok_or_else(|| absent("an inline string")))
            .collect::<Result<_, _>>()?;

        let frame = Frame {
            symbols: &self.symbols,
            inline,
            first_ordinal,
            count,
            ordinals,
            times,
            presence,
            columns,
            data_keys,
            source_table,
            attribute_cells,
            heap: texts,
        };
        frame.check()?;
        Ok(frame)
    }
}

fn absent(what: &str) -> FrameError {
    FrameError(format!("{what} has an absent span"))
}

#[inline]
fn le32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))
}

/// Reads a frame's sections one after another.
struct Cursor<'f> {
    bytes: &'f [u8],
    at: usize,
}

impl<'f> Cursor<'f> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'f [u8], FrameError> {
        match self.bytes.get(self.at..).and_then(|rest| rest.get(..len)) {
            Some(section) => {
                self.at += len;
                Ok(section)
            }
            None => malformed(format!("{what} run past its end")),
        }
    }

    fn take_cells(
        &mut self,
        cells: usize,
        size: usize,
        what: &str,
    ) -> Result<&'f [u8], FrameError> {
        let len = cells
            .checked_mul(size)
            .ok_or_else(|| FrameError(format!("{what} are too many")))?;
        self.take(len, what)
    }
}

/// A frame's heap, and spans into it.
#[derive(Clone, Copy, Debug)]
struct Heap<'f>(&'f str);

impl<'f> Heap<'f> {
    /// The text of the 8-byte span at the start of `cell`; `None` if absent.
    #[inline]
    fn span(self, cell: &[u8]) -> Result<Option<&'f str>, FrameError> {
        let (offset, len) = (le32(&cell[..4]) as usize, le32(&cell[4..8]));
        if len == ABSENT_SPAN {
            return Ok(None);
        }
        let end = offset.checked_add(len as usize);
        match end.and_then(|end| self.0.get(offset..end)) {
            Some(text) => Ok(Some(text)),
            None => malformed(format!(
                "span {offset}+{len} is outside the heap or cuts a character"
            )),
        }
    }
}

/// A decoded frame: its events, read through [`Frame::event`].
#[derive(Debug)]
pub struct Frame<'f> {
    symbols: &'f [Option<Box<str>>],
    inline: Vec<&'f str>,
    first_ordinal: u64,
    count: usize,
    ordinals: &'f [u8],
    times: &'f [u8],
    presence: &'f [u8],
    /// Each field's column, by [`Field`] (empty when not sent).
    columns: [&'f [u8]; 14],
    data_keys: &'f [u8],
    source_table: &'f [u8],
    attribute_cells: &'f [u8],
    heap: Heap<'f>,
}

/// A text cell: a symbol (its number and string) or an inline string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text<'f> {
    /// Absent, or not sent.
    Absent,
    /// Symbol number `.0`, whose string is `.1`.
    Symbol(u32, &'f str),
    /// A string past the dictionary's cap, sent in this frame.
    Inline(&'f str),
}

impl<'f> Text<'f> {
    /// The string, if present.
    #[inline]
    pub fn as_str(self) -> Option<&'f str> {
        match self {
            Text::Absent => None,
            Text::Symbol(_, text) | Text::Inline(text) => Some(text),
        }
    }
}

/// One id a derived data item was computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source<'f> {
    /// The source item's id.
    pub id: &'f str,
    /// Its key.
    pub key: Key,
}

impl<'f> Frame<'f> {
    /// The number of events in the frame.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the frame holds no event.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The frame's `index`-th event.
    ///
    /// # Panics
    /// If `index` is not below [`Frame::len`].
    pub fn event(&self, index: usize) -> EventView<'_, 'f> {
        assert!(index < self.count, "event {index} of {}", self.count);
        EventView { frame: self, index }
    }

    /// The frame's events, in order.
    pub fn events(&self) -> impl Iterator<Item = EventView<'_, 'f>> {
        (0..self.count).map(|index| EventView { frame: self, index })
    }

    #[inline]
    fn cell(column: &[u8], size: usize, index: usize) -> &[u8] {
        &column[index * size..][..size]
    }

    fn text(&self, cell: u32) -> Result<Text<'f>, FrameError> {
        match self.lookup(cell) {
            Some(text) => Ok(text),
            None if cell & INLINE != 0 => malformed(format!(
                "inline string {} is not in the frame",
                cell & !INLINE
            )),
            None => malformed(format!("symbol {cell} is not defined")),
        }
    }

    /// The text of `cell`, if it names one: what [`Frame::text`] checks,
    /// without the words of an error, for views of a checked frame.
    #[inline]
    fn lookup(&self, cell: u32) -> Option<Text<'f>> {
        if cell == 0 {
            return Some(Text::Absent);
        }
        if cell & INLINE != 0 {
            let text = self.inline.get((cell & !INLINE) as usize)?;
            return Some(Text::Inline(text));
        }
        match self.symbols.get(cell as usize) {
            Some(Some(text)) => Some(Text::Symbol(cell, text)),
            _ => None,
        }
    }

    /// Checks every cell, so that the views need not.
    fn check(&self) -> Result<(), FrameError> {
        let mut last = None;
        for index in 0..self.count {
            let delta = le32(Frame::cell(self.ordinals, 4, index));
            let in_order = match last {
                None => delta == 0,
                Some(last) => delta > last,
            };
            if !in_order {
                return malformed(format!("ordinal {delta} at event {index} is out of order"));
            }
            last = Some(delta);
            let time = Frame::cell(self.times, 12, index);
            if le32(&time[8..]) >= 1_000_000_000 {
                return malformed(format!("event {index} has nanoseconds past a second"));
            }
            if self.presence[index] > 0b11 {
                return malformed(format!("event {index} has unknown presence bits"));
            }
        }
        for field in Field::ALL {
            let column = self.columns[field as usize];
            match field {
                Field::Id | Field::DataId => {
                    for cell in column.chunks_exact(8) {
                        self.heap.span(cell)?;
                    }
                }
                Field::DataSources => {
                    let table = self.source_table.len() / 24;
                    for cell in column.chunks_exact(8) {
                        let (first, count) = (le32(&cell[..4]) as usize, le32(&cell[4..]) as usize);
                        if first.checked_add(count).is_none_or(|end| end > table) {
                            return malformed(format!(
                                "sources {first}+{count} are outside the table of {table}"
                            ));
                        }
                    }
                    for entry in self.source_table.chunks_exact(24) {
                        self.heap.span(entry)?.ok_or_else(|| absent("a source"))?;
                    }
                }
                _ => {
                    for cell in column.chunks_exact(4) {
                        self.text(le32(cell))?;
                    }
                }
            }
        }
        for cell in self.attribute_cells.chunks_exact(4) {
            self.text(le32(cell))?;
        }
        Ok(())
    }
}

/// One event of a [`Frame`], read field by field; a field the projection
/// did not name reads as absent.
#[derive(Clone, Copy, Debug)]
pub struct EventView<'a, 'f> {
    frame: &'a Frame<'f>,
    index: usize,
}

// A rule reads every field it is sent of every event through these, in
// its sandbox, where a call that is not inlined costs several times what
// it does natively: so they are `#[inline]` across the crate boundary.
impl<'a, 'f> EventView<'a, 'f> {
    /// The event's place in the run's time order, counting from 0: what a
    /// finding names it by.
    #[inline]
    pub fn ordinal(&self) -> u64 {
        self.frame.first_ordinal + u64::from(le32(Frame::cell(self.frame.ordinals, 4, self.index)))
    }

    /// Its time: seconds since the epoch, and nanoseconds past them.
    #[inline]
    pub fn time(&self) -> (i64, u32) {
        let cell = Frame::cell(self.frame.times, 12, self.index);
        let seconds = i64::from_le_bytes(cell[..8].try_into().expect("8 bytes"));
        (seconds, le32(&cell[8..]))
    }

    /// Whether the event has an actor.
    #[inline]
    pub fn has_actor(&self) -> bool {
        self.frame.presence[self.index] & 1 != 0
    }

    /// Whether the event has a data item.
    #[inline]
    pub fn has_data(&self) -> bool {
        self.frame.presence[self.index] & 2 != 0
    }

    /// The event's id, if sent.
    #[inline]
    pub fn id(&self) -> Option<&'f str> {
        self.span(Field::Id)
    }

    /// The text field `field` (one of [`Field::TEXTS`]).
    #[inline]
    pub fn text(&self, field: Field) -> Text<'f> {
        let column = self.frame.columns[field as usize];
        if column.is_empty() || field.text_index().is_none() {
            return Text::Absent;
        }
        let cell = le32(Frame::cell(column, 4, self.index));
        self.frame.lookup(cell).unwrap_or(Text::Absent)
    }

    /// The data item's id and key, if sent and present.
    #[inline]
    pub fn data_id(&self) -> Option<(&'f str, Key)> {
        let id = self.span(Field::DataId)?;
        let key = Frame::cell(self.frame.data_keys, 16, self.index);
        Some((id, key.try_into().expect("16 bytes")))
    }

    /// The items the data item was derived from, if sent.
    pub fn sources(&self) -> impl Iterator<Item = Source<'f>> + use<'a, 'f> {
        let column = self.frame.columns[Field::DataSources as usize];
        let (first, count) = match column.is_empty() {
            true => (0, 0),
            false => {
                let cell = Frame::cell(column, 8, self.index);
                (le32(&cell[..4]) as usize, le32(&cell[4..]) as usize)
            }
        };
        let (table, heap) = (self.frame.source_table, self.frame.heap);
        (first..first + count).map(move |entry| {
            let entry = Frame::cell(table, 24, entry);
            Source {
                id: heap.span(entry).ok().flatten().unwrap_or_default(),
                key: entry[8..].try_into().expect("16 bytes"),
            }
        })
    }

    /// The projection's `index`-th attribute, if the event has it as a string.
    pub fn attribute(&self, index: usize) -> Text<'f> {
        let cells = self.frame.attribute_cells;
        let at = (index * self.frame.count + self.index) * 4;
        match cells.get(at..at + 4) {
            Some(cell) => self.frame.lookup(le32(cell)).unwrap_or(Text::Absent),
            None => Text::Absent,
        }
    }

    #[inline]
    fn span(&self, field: Field) -> Option<&'f str> {
        let column = self.frame.columns[field as usize];
        if column.is_empty() {
            return None;
        }
        self.frame
            .heap
            .span(Frame::cell(column, 8, self.index))
            .ok()
            .flatten()
    }
}
