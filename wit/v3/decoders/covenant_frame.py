"""Reads covenant:rule@3.0.0 frames (layout 1, wit/v3/frame.md) in Python.

The reference decoder for rules written in Python, held to the same test
vectors as the Rust one (wit/v3/frame-vectors.json, by test_frame.py). A
frame is checked whole when it is decoded; its events are then read field
by field, lazily, from the frame's bytes:

    decoder = Decoder(["id", "action", "tenant"], ["subscription"])
    for event in decoder.decode(frame):
        if event.text("action") == "access": ...

Symbols (the strings that repeat) are kept by the decoder from one frame to
the next, so a decoder serves one evaluator for its whole life.
"""

import struct

MAGIC = b"CVNF"
LAYOUT = 1
HEADER_BYTES = 48
MAX_SYMBOLS = 65536
ABSENT = 0xFFFFFFFF
INLINE = 1 << 31

#: The `fields` flags of rule.wit, in bit order.
FIELDS = [
    "id", "action", "tenant", "actor-kind", "actor-id", "purpose", "scope",
    "layer", "region", "data-id", "data-category", "data-tenant",
    "data-store", "data-sources",
]
#: The fields whose cells are spans rather than texts.
SPANS = {"id", "data-id", "data-sources"}


class FrameError(ValueError):
    """A frame that does not follow the layout, with what is wrong."""

    def __init__(self, what):
        super().__init__("malformed frame: " + what)


class Decoder:
    """Decodes one evaluator's frames, for the projection it declared."""

    def __init__(self, fields, attributes):
        unknown = [f for f in fields if f not in FIELDS]
        if unknown:
            raise ValueError("unknown fields: " + ", ".join(unknown))
        self.fields = [f for f in FIELDS if f in fields]
        self.bits = sum(1 << FIELDS.index(f) for f in self.fields)
        self.attributes = len(attributes)
        self.symbols = {}

    def decode(self, frame):
        """The frame's events, as a list of Event views, once it is checked."""
        return Frame(self, bytes(frame)).events


class Frame:
    def __init__(self, decoder, data):
        self.data = data
        self.at = 0
        header = self.take(HEADER_BYTES, "the header")
        if header[:4] != MAGIC:
            raise FrameError("it does not start with `CVNF`")
        layout, attributes, first, fields, count, new, inline, sources, heap_len = \
            struct.unpack_from("<HHQIIIIII", header, 4)
        if layout != LAYOUT:
            raise FrameError("layout %d, but this decoder reads %d" % (layout, LAYOUT))
        if header[40:48] != bytes(8):
            raise FrameError("its reserved bytes are not zero")
        if fields != decoder.bits or attributes != decoder.attributes:
            raise FrameError("it carries other fields or attributes than the projection declared")
        self.first, self.count = first, count
        symbol_entries = self.take(new * 12, "the new symbols")
        inline_spans = self.take(inline * 8, "the inline strings")
        self.ordinals = self.take(count * 4, "the ordinals")
        self.times = self.take(count * 12, "the times")
        self.presence = self.take(count, "the presence column")
        self.columns = {}
        self.keys = b""
        self.table = b""
        for field in decoder.fields:
            if field in ("id", "data-id"):
                self.columns[field] = self.take(count * 8, field)
                if field == "data-id":
                    self.keys = self.take(count * 16, "the data keys")
            elif field == "data-sources":
                self.columns[field] = self.take(count * 8, field)
                self.table = self.take(sources * 24, "the source table")
            else:
                self.columns[field] = self.take(count * 4, field)
        if "data-sources" not in self.columns and sources:
            raise FrameError("it has a source table but no data-sources column")
        self.attribute_cells = self.take(attributes * count * 4, "the attribute columns")
        heap = self.take(heap_len, "the heap")
        if self.at != len(data):
            raise FrameError("%d bytes follow the heap" % (len(data) - self.at))
        self.heap = heap
        try:
            heap.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FrameError("its heap is not UTF-8 (at byte %d)" % e.start) from None
        for n in range(new):
            number, = struct.unpack_from("<I", symbol_entries, n * 12)
            text = self.span(symbol_entries, n * 12 + 4)
            if text is None:
                raise FrameError("a symbol has an absent span")
            if not 1 <= number <= MAX_SYMBOLS:
                raise FrameError("symbol number %d is outside 1 to %d" % (number, MAX_SYMBOLS))
            if number in decoder.symbols:
                raise FrameError("symbol %d is defined again" % number)
            decoder.symbols[number] = text
        self.symbols = decoder.symbols
        self.inline = []
        for n in range(inline):
            text = self.span(inline_spans, n * 8)
            if text is None:
                raise FrameError("an inline string has an absent span")
            self.inline.append(text)
        self.check()
        self.events = [Event(self, i) for i in range(count)]

    def take(self, length, what):
        if self.at + length > len(self.data):
            raise FrameError(what + " run past its end")
        section = self.data[self.at:self.at + length]
        self.at += length
        return section

    def span(self, cells, at):
        offset, length = struct.unpack_from("<II", cells, at)
        if length == ABSENT:
            return None
        if offset + length > len(self.heap):
            raise FrameError("span %d+%d is outside the heap or cuts a character" % (offset, length))
        try:
            return self.heap[offset:offset + length].decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError("span %d+%d is outside the heap or cuts a character" % (offset, length)) from None

    def text(self, cell):
        """A text cell as None, (number, text) for a symbol, or (None, text)."""
        if cell == 0:
            return None
        if cell & INLINE:
            index = cell & ~INLINE
            if index >= len(self.inline):
                raise FrameError("inline string %d is not in the frame" % index)
            return (None, self.inline[index])
        if cell not in self.symbols:
            raise FrameError("symbol %d is not defined" % cell)
        return (cell, self.symbols[cell])

    def check(self):
        last = None
        for i in range(self.count):
            delta, = struct.unpack_from("<I", self.ordinals, i * 4)
            if (delta != 0) if last is None else (delta <= last):
                raise FrameError("ordinal %d at event %d is out of order" % (delta, i))
            last = delta
            nanos, = struct.unpack_from("<I", self.times, i * 12 + 8)
            if nanos >= 1_000_000_000:
                raise FrameError("event %d has nanoseconds past a second" % i)
            if self.presence[i] > 3:
                raise FrameError("event %d has unknown presence bits" % i)
        rows = len(self.table) // 24
        for field, column in self.columns.items():
            for i in range(self.count):
                if field in ("id", "data-id"):
                    self.span(column, i * 8)
                elif field == "data-sources":
                    first, count = struct.unpack_from("<II", column, i * 8)
                    if first + count > rows:
                        raise FrameError("sources %d+%d are outside the table of %d" % (first, count, rows))
                else:
                    self.text(struct.unpack_from("<I", column, i * 4)[0])
        for n in range(rows):
            if self.span(self.table, n * 24) is None:
                raise FrameError("a source has an absent span")
        for n in range(len(self.attribute_cells) // 4):
            self.text(struct.unpack_from("<I", self.attribute_cells, n * 4)[0])


class Event:
    """One event of a frame; a field the projection did not name is None."""

    __slots__ = ("_frame", "_index")

    def __init__(self, frame, index):
        self._frame = frame
        self._index = index

    @property
    def ordinal(self):
        """Its place in the run's time order: what a finding names it by."""
        delta, = struct.unpack_from("<I", self._frame.ordinals, self._index * 4)
        return self._frame.first + delta

    @property
    def time(self):
        """(seconds since the epoch, nanoseconds past them)."""
        return struct.unpack_from("<qI", self._frame.times, self._index * 12)

    @property
    def has_actor(self):
        return bool(self._frame.presence[self._index] & 1)

    @property
    def has_data(self):
        return bool(self._frame.presence[self._index] & 2)

    @property
    def id(self):
        column = self._frame.columns.get("id")
        return None if column is None else self._frame.span(column, self._index * 8)

    def symbol(self, field):
        """A text field as (symbol number or None if inline, text), or None."""
        column = self._frame.columns.get(field)
        if column is None or field in SPANS:
            return None
        return self._frame.text(struct.unpack_from("<I", column, self._index * 4)[0])

    def text(self, field):
        """A text field's string, or None."""
        cell = self.symbol(field)
        return None if cell is None else cell[1]

    @property
    def data_id(self):
        """(id, 16-byte key) of the data item, or None."""
        column = self._frame.columns.get("data-id")
        if column is None:
            return None
        id = self._frame.span(column, self._index * 8)
        if id is None:
            return None
        return (id, self._frame.keys[self._index * 16:self._index * 16 + 16])

    @property
    def sources(self):
        """[(id, 16-byte key)] the data item was derived from."""
        column = self._frame.columns.get("data-sources")
        if column is None:
            return []
        first, count = struct.unpack_from("<II", column, self._index * 8)
        table = self._frame.table
        return [(self._frame.span(table, n * 24), table[n * 24 + 8:n * 24 + 24])
                for n in range(first, first + count)]

    def attribute_symbol(self, index):
        """The projection's index-th attribute as symbol() gives texts."""
        cells = self._frame.attribute_cells
        at = (index * self._frame.count + self._index) * 4
        if at + 4 > len(cells):
            return None
        return self._frame.text(struct.unpack_from("<I", cells, at)[0])

    def attribute(self, index):
        """The projection's index-th attribute's string, or None."""
        cell = self.attribute_symbol(index)
        return None if cell is None else cell[1]
