// Reads covenant:rule@3.0.0 frames (layout 1, wit/v3/frame.md) in JavaScript.
//
// The reference decoder for rules written in JavaScript, held to the same
// test vectors as the Rust one (wit/v3/frame-vectors.json, by
// test_frame.mjs). A frame is checked whole when it is decoded; its events
// are then read field by field, lazily, from the frame's bytes:
//
//   const decoder = new Decoder(["id", "action", "tenant"], ["subscription"]);
//   for (const event of decoder.decode(frame)) {
//     if (event.text("action") === "access") { ... }
//   }
//
// Symbols (the strings that repeat) are kept by the decoder from one frame
// to the next, so a decoder serves one evaluator for its whole life.

const MAGIC = "CVNF";
const LAYOUT = 1;
const HEADER_BYTES = 48;
const MAX_SYMBOLS = 65536;
const ABSENT = 0xffffffff;
const INLINE = 0x80000000;

/** The `fields` flags of rule.wit, in bit order. */
export const FIELDS = [
  "id", "action", "tenant", "actor-kind", "actor-id", "purpose", "scope",
  "layer", "region", "data-id", "data-category", "data-tenant",
  "data-store", "data-sources",
];
const SPANS = new Set(["id", "data-id", "data-sources"]);

/** A frame that does not follow the layout, with what is wrong. */
export class FrameError extends Error {
  constructor(what) {
    super(`malformed frame: ${what}`);
  }
}

/** Decodes one evaluator's frames, for the projection it declared. */
export class Decoder {
  constructor(fields, attributes) {
    const unknown = fields.filter((f) => !FIELDS.includes(f));
    if (unknown.length) throw new Error(`unknown fields: ${unknown.join(", ")}`);
    this.fields = FIELDS.filter((f) => fields.includes(f));
    this.bits = this.fields.reduce((bits, f) => bits | (1 << FIELDS.indexOf(f)), 0) >>> 0;
    this.attributes = attributes.length;
    this.symbols = new Map();
  }

  /** The frame's events, as an array of Event views, once it is checked. */
  decode(bytes) {
    return new Frame(this, bytes).events;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

class Frame {
  constructor(decoder, bytes) {
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.at = 0;
    const header = this.take(HEADER_BYTES, "the header");
    if (String.fromCharCode(...this.bytes.subarray(0, 4)) !== MAGIC) {
      throw new FrameError("it does not start with `CVNF`");
    }
    const v = this.view;
    const layout = v.getUint16(4, true);
    const attributes = v.getUint16(6, true);
    this.first = v.getBigUint64(8, true);
    const [fields, count, fresh, inline, sources, heapLength] =
      [16, 20, 24, 28, 32, 36].map((at) => v.getUint32(at, true));
    if (layout !== LAYOUT) throw new FrameError(`layout ${layout}, but this decoder reads ${LAYOUT}`);
    if (this.bytes.subarray(header + 40, header + 48).some((b) => b !== 0)) {
      throw new FrameError("its reserved bytes are not zero");
    }
    if (fields !== decoder.bits || attributes !== decoder.attributes) {
      throw new FrameError("it carries other fields or attributes than the projection declared");
    }
    this.count = count;
    const symbolEntries = this.take(fresh * 12, "the new symbols");
    const inlineSpans = this.take(inline * 8, "the inline strings");
    this.ordinals = this.take(count * 4, "the ordinals");
    this.times = this.take(count * 12, "the times");
    this.presence = this.take(count, "the presence column");
    this.columns = new Map();
    for (const field of decoder.fields) {
      if (field === "id" || field === "data-id") {
        this.columns.set(field, this.take(count * 8, field));
        if (field === "data-id") this.keys = this.take(count * 16, "the data keys");
      } else if (field === "data-sources") {
        this.columns.set(field, this.take(count * 8, field));
        this.table = this.take(sources * 24, "the source table");
        this.tableRows = sources;
      } else {
        this.columns.set(field, this.take(count * 4, field));
      }
    }
    if (!this.columns.has("data-sources") && sources) {
      throw new FrameError("it has a source table but no data-sources column");
    }
    this.attributeCells = this.take(attributes * count * 4, "the attribute columns");
    this.heap = this.take(heapLength, "the heap");
    this.heapLength = heapLength;
    if (this.at !== this.bytes.length) {
      throw new FrameError(`${this.bytes.length - this.at} bytes follow the heap`);
    }
    try {
      utf8.decode(this.bytes.subarray(this.heap, this.heap + heapLength));
    } catch {
      throw new FrameError("its heap is not UTF-8");
    }
    for (let n = 0; n < fresh; n++) {
      const number = this.u32(symbolEntries + n * 12);
      const text = this.span(symbolEntries + n * 12 + 4);
      if (text === null) throw new FrameError("a symbol has an absent span");
      if (number < 1 || number > MAX_SYMBOLS) {
        throw new FrameError(`symbol number ${number} is outside 1 to ${MAX_SYMBOLS}`);
      }
      if (decoder.symbols.has(number)) throw new FrameError(`symbol ${number} is defined again`);
      decoder.symbols.set(number, text);
    }
    this.symbols = decoder.symbols;
    this.inline = [];
    for (let n = 0; n < inline; n++) {
      const text = this.span(inlineSpans + n * 8);
      if (text === null) throw new FrameError("an inline string has an absent span");
      this.inline.push(text);
    }
    this.check();
    this.events = Array.from({ length: count }, (_, i) => new Event(this, i));
  }

  /** Where the next `length` bytes start, after checking they are there. */
  take(length, what) {
    if (this.at + length > this.bytes.length) throw new FrameError(`${what} run past its end`);
    const start = this.at;
    this.at += length;
    return start;
  }

  u32(at) {
    return this.view.getUint32(at, true);
  }

  /** The text of the span at byte `at`, or null if absent. */
  span(at) {
    const offset = this.u32(at);
    const length = this.u32(at + 4);
    if (length === ABSENT) return null;
    if (offset + length > this.heapLength) {
      throw new FrameError(`span ${offset}+${length} is outside the heap or cuts a character`);
    }
    try {
      return utf8.decode(this.bytes.subarray(this.heap + offset, this.heap + offset + length));
    } catch {
      throw new FrameError(`span ${offset}+${length} is outside the heap or cuts a character`);
    }
  }

  /** A text cell as null, [number, text] for a symbol, or [null, text]. */
  text(cell) {
    if (cell === 0) return null;
    if (cell >= INLINE) {
      const index = cell - INLINE;
      if (index >= this.inline.length) throw new FrameError(`inline string ${index} is not in the frame`);
      return [null, this.inline[index]];
    }
    if (!this.symbols.has(cell)) throw new FrameError(`symbol ${cell} is not defined`);
    return [cell, this.symbols.get(cell)];
  }

  check() {
    let last = null;
    for (let i = 0; i < this.count; i++) {
      const delta = this.u32(this.ordinals + i * 4);
      if (last === null ? delta !== 0 : delta <= last) {
        throw new FrameError(`ordinal ${delta} at event ${i} is out of order`);
      }
      last = delta;
      if (this.u32(this.times + i * 12 + 8) >= 1e9) {
        throw new FrameError(`event ${i} has nanoseconds past a second`);
      }
      if (this.bytes[this.presence + i] > 3) throw new FrameError(`event ${i} has unknown presence bits`);
    }
    for (const [field, column] of this.columns) {
      for (let i = 0; i < this.count; i++) {
        if (field === "id" || field === "data-id") {
          this.span(column + i * 8);
        } else if (field === "data-sources") {
          const first = this.u32(column + i * 8);
          const count = this.u32(column + i * 8 + 4);
          if (first + count > this.tableRows) {
            throw new FrameError(`sources ${first}+${count} are outside the table of ${this.tableRows}`);
          }
        } else {
          this.text(this.u32(column + i * 4));
        }
      }
    }
    for (let n = 0; n < (this.tableRows ?? 0); n++) {
      if (this.span(this.table + n * 24) === null) throw new FrameError("a source has an absent span");
    }
    for (let n = 0; n < this.attributes(); n++) this.text(this.u32(this.attributeCells + n * 4));
  }

  attributes() {
    return (this.heap - this.attributeCells) / 4;
  }
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** One event of a frame; a field the projection did not name is null. */
export class Event {
  constructor(frame, index) {
    this.frame = frame;
    this.index = index;
  }

  /** Its place in the run's time order (a BigInt): what a finding names it by. */
  get ordinal() {
    return this.frame.first + BigInt(this.frame.u32(this.frame.ordinals + this.index * 4));
  }

  /** [seconds since the epoch (a BigInt), nanoseconds past them]. */
  get time() {
    const at = this.frame.times + this.index * 12;
    return [this.frame.view.getBigInt64(at, true), this.frame.u32(at + 8)];
  }

  get hasActor() {
    return (this.frame.bytes[this.frame.presence + this.index] & 1) !== 0;
  }

  get hasData() {
    return (this.frame.bytes[this.frame.presence + this.index] & 2) !== 0;
  }

  get id() {
    const column = this.frame.columns.get("id");
    return column === undefined ? null : this.frame.span(column + this.index * 8);
  }

  /** A text field as [symbol number or null if inline, text], or null. */
  symbol(field) {
    const column = this.frame.columns.get(field);
    if (column === undefined || SPANS.has(field)) return null;
    return this.frame.text(this.frame.u32(column + this.index * 4));
  }

  /** A text field's string, or null. */
  text(field) {
    const cell = this.symbol(field);
    return cell === null ? null : cell[1];
  }

  /** {id, key: hex} of the data item, or null. */
  get dataId() {
    const column = this.frame.columns.get("data-id");
    if (column === undefined) return null;
    const id = this.frame.span(column + this.index * 8);
    if (id === null) return null;
    const at = this.frame.keys + this.index * 16;
    return { id, key: hex(this.frame.bytes.subarray(at, at + 16)) };
  }

  /** [{id, key: hex}] the data item was derived from. */
  get sources() {
    const column = this.frame.columns.get("data-sources");
    if (column === undefined) return [];
    const first = this.frame.u32(column + this.index * 8);
    const count = this.frame.u32(column + this.index * 8 + 4);
    return Array.from({ length: count }, (_, n) => {
      const at = this.frame.table + (first + n) * 24;
      return { id: this.frame.span(at), key: hex(this.frame.bytes.subarray(at + 8, at + 24)) };
    });
  }

  /** The projection's index-th attribute as symbol() gives texts. */
  attributeSymbol(index) {
    const at = index * this.frame.count + this.index;
    if (at >= this.frame.attributes()) return null;
    return this.frame.text(this.frame.u32(this.frame.attributeCells + at * 4));
  }

  /** The projection's index-th attribute's string, or null. */
  attribute(index) {
    const cell = this.attributeSymbol(index);
    return cell === null ? null : cell[1];
  }
}
