"""Holds covenant_frame.py to the test vectors: every case's frames, in
order with one decoder, must give exactly the events written beside them.
Run by plugins/frame/tests/other_decoders.rs; alone, `python3 test_frame.py`.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from covenant_frame import Decoder, FrameError  # noqa: E402

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "frame-vectors.json")


def text_json(cell):
    if cell is None:
        return None
    number, text = cell
    return {"inline": text} if number is None else {"symbol": number, "text": text}


def event_json(event, projection):
    out = {
        "ordinal": event.ordinal,
        "time": list(event.time),
        "actor": event.has_actor,
        "data": event.has_data,
    }
    for field in projection["fields"]:
        if field == "id":
            out[field] = event.id
        elif field == "data-id":
            found = event.data_id
            out[field] = None if found is None else {"id": found[0], "key": found[1].hex()}
        elif field == "data-sources":
            out[field] = [{"id": id, "key": key.hex()} for id, key in event.sources]
        else:
            out[field] = text_json(event.symbol(field))
    out["attributes"] = [text_json(event.attribute_symbol(i))
                         for i in range(len(projection["attributes"]))]
    return out


def main():
    with open(VECTORS) as f:
        cases = json.load(f)["cases"]
    assert len(cases) == 4, "four cases"
    for case in cases:
        projection = case["projection"]
        decoder = Decoder(projection["fields"], projection["attributes"])
        for frame in case["frames"]:
            data = bytes.fromhex(frame["hex"])
            events = [event_json(e, projection) for e in decoder.decode(data)]
            if events != frame["events"]:
                sys.exit("%s: decoded %r, the vectors say %r" % (case["name"], events, frame["events"]))
    # A damaged frame is refused, never misread.
    first = cases[0]
    data = bytearray.fromhex(first["frames"][0]["hex"])
    data.append(0)
    try:
        Decoder(first["projection"]["fields"], first["projection"]["attributes"]).decode(data)
        sys.exit("a frame with a byte after its heap was decoded")
    except FrameError as e:
        assert "follow the heap" in str(e), str(e)
    print("python decoder: %d cases agree with the vectors" % len(cases))


if __name__ == "__main__":
    main()
