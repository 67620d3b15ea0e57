// Holds covenant_frame.mjs to the test vectors: every case's frames, in
// order with one decoder, must give exactly the events written beside
// them. Run by plugins/frame/tests/other_decoders.rs; alone,
// `node test_frame.mjs`.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Decoder, FrameError } from "./covenant_frame.mjs";

const vectors = JSON.parse(
  readFileSync(new URL("../frame-vectors.json", import.meta.url), "utf8"),
);

const textJson = (cell) =>
  cell === null ? null : cell[0] === null ? { inline: cell[1] } : { symbol: cell[0], text: cell[1] };

function eventJson(event, projection) {
  const [seconds, nanos] = event.time;
  const out = {
    ordinal: Number(event.ordinal),
    time: [Number(seconds), nanos],
    actor: event.hasActor,
    data: event.hasData,
  };
  for (const field of projection.fields) {
    if (field === "id") out[field] = event.id;
    else if (field === "data-id") out[field] = event.dataId;
    else if (field === "data-sources") out[field] = event.sources;
    else out[field] = textJson(event.symbol(field));
  }
  out.attributes = projection.attributes.map((_, i) => textJson(event.attributeSymbol(i)));
  return out;
}

const fromHex = (text) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));

assert.equal(vectors.cases.length, 4);
for (const { name, projection, frames } of vectors.cases) {
  const decoder = new Decoder(projection.fields, projection.attributes);
  for (const frame of frames) {
    const events = decoder.decode(fromHex(frame.hex)).map((e) => eventJson(e, projection));
    assert.deepStrictEqual(events, frame.events, name);
  }
}

// A damaged frame is refused, never misread.
const first = vectors.cases[0];
const damaged = new Uint8Array([...fromHex(first.frames[0].hex), 0]);
assert.throws(
  () => new Decoder(first.projection.fields, first.projection.attributes).decode(damaged),
  (e) => e instanceof FrameError && e.message.includes("follow the heap"),
);
console.log(`javascript decoder: ${vectors.cases.length} cases agree with the vectors`);
