//! The fast path of parsing: a scanner for the events most logs hold.
//!
//! serde_json's general parser was most of the cost of reading. Most lines
//! are plain: known fields holding unescaped strings, attributes of any
//! JSON. This scanner walks such a line once, byte by byte, borrowing every
//! string, and fills the same slots the exact parser fills, so the schema
//! checks that follow are the same code. Anything else (an escape, a control
//! character, a known field holding something other than a string, null or
//! its object, deep nesting, or a text that is not JSON) makes it give up,
//! and the exact parser reads the line and names what is wrong. So it never
//! decides a verdict on its own; the property test below holds it to that.

use std::borrow::Cow;

use super::parse::{Object, Plain, Shape, Slot, Table};

/// Nesting past this gives the line to the exact parser, which counts
/// depth the way serde_json does.
const MAX_DEPTH: usize = 64;

/// Fills `event` (an empty [`Table::Event`] object) with the slots of the
/// event `text` holds, if the scanner can read it; `None` leaves the text
/// (and a partly filled `event`) to the exact parser.
pub fn scan<'a>(text: &'a str, keep_attributes: bool, event: &mut Object<'a>) -> Option<()> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    scanner.skip_space();
    scanner.fields(event, keep_attributes)?;
    scanner.skip_space();
    (scanner.at == scanner.bytes.len()).then_some(())
}

/// A mask whose lowest set bit marks the first byte of `word` (read
/// little-endian) that ends a plain string: a quote, a backslash or a
/// control character. Bits above the lowest may be wrong; only it is used.
fn string_end(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// A string without escapes or control characters, borrowed.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let bytes = self.bytes;
        let mut at = start;
        // Eight bytes at a time: strings are most of a line.
        while let Some(word) = bytes.get(at..at + 8) {
            let found = string_end(u64::from_le_bytes(word.try_into().ok()?));
            if found != 0 {
                at += (found.trailing_zeros() / 8) as usize;
                return self.close_string(start, at);
            }
            at += 8;
        }
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.close_string(start, at + end)
    }

    /// The string from `start` to `end`, if `end` is its closing quote.
    fn close_string(&mut self, start: usize, end: usize) -> Option<&'a str> {
        if self.bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        // Both ends are ASCII quotes, so they are character boundaries.
        self.text.get(start..end)
    }

    /// An object's fields, into `object`, which is empty.
    fn fields(&mut self, object: &mut Object<'a>, keep_attributes: bool) -> Option<()> {
        let table = object.table;
        self.items(b'{', b'}', |scanner| {
            let key = scanner.key()?;
            match table.field(key) {
                Some((slot, shape)) => {
                    object.known[slot] = Some(scanner.slot(shape, keep_attributes)?)
                }
                None => {
                    let start = scanner.at;
                    scanner.value(1)?;
                    if keep_attributes && table != Table::Actor {
                        let raw = &scanner.text[start..scanner.at];
                        object.rest.push((Cow::Borrowed(key), raw));
                    }
                }
            }
            Some(())
        })
    }

    /// `open`, items separated by commas (each read by `item`, with the
    /// space around it skipped), then `close`.
    fn items(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.skip_space();
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            self.skip_space();
            item(self)?;
            self.skip_space();
            match self.peek()? {
                b',' => self.at += 1,
                end if end == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An object's key and its colon.
    fn key(&mut self) -> Option<&'a str> {
        let key = self.string()?;
        self.skip_space();
        self.eat(b':')?;
        self.skip_space();
        Some(key)
    }

    /// A known field's value: what the schema expects there, or null.
    fn slot(&mut self, shape: Shape, keep_attributes: bool) -> Option<Slot<'a>> {
        match (shape, self.peek()?) {
            (_, b'"') => Some(Slot::Plain(Plain::Str(Cow::Borrowed(self.string()?)))),
            (_, b'n') => {
                self.literal(b"null")?;
                Some(Slot::Plain(Plain::Null))
            }
            (Shape::Object(table), b'{') => {
                let mut nested = Box::new(Object::new(table));
                self.fields(&mut nested, keep_attributes)?;
                Some(Slot::Object(nested))
            }
            (Shape::Strings, b'[') => {
                let mut items = Vec::new();
                self.items(b'[', b']', |scanner| {
                    items.push(Cow::Borrowed(scanner.string()?));
                    Some(())
                })?;
                Some(Slot::List(Ok(items)))
            }
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes[self.at..]
            .starts_with(word)
            .then(|| self.at += word.len())
    }

    /// Any JSON value, `depth` levels in; only checked, not kept.
    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' => self.items(b'[', b']', |scanner| scanner.value(depth + 1)),
            b'{' => self.items(b'{', b'}', |scanner| {
                scanner.key()?;
                scanner.value(depth + 1)
            }),
            _ => None,
        }
    }

    /// A number as JSON writes one: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::{Object, Table, parse_event_exact};
    use super::super::parse_event_text;
    use proptest::prelude::*;

    /// Texts near events: known and unknown keys, every kind of value,
    /// escapes, odd numbers and spacing, then often broken somewhere.
    fn text() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            proptest::sample::select(vec![
                "id", "time", "action", "tenant", "actor", "type", "data", "sources", "region",
                "store", "category", "x",
            ])
            .prop_map(str::to_string),
            Just("ti\\u006de".to_string()),
        ];
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            proptest::sample::select(vec![
                "0", "-1", "1.5", "1e5", "-0.0E-2", "01", "1.", "-", "2e", "1e400"
            ])
            .prop_map(str::to_string),
            Just("\"2026-01-01T00:00:00Z\"".to_string()),
            "\"[a-z ]{0,4}\"",
            Just("\"a\\\"b\"".to_string()),
            Just("\"tab\there\"".to_string()),
            Just("\"é\"".to_string()),
        ];
        let value = leaf.prop_recursive(3, 20, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(("[a-z]{1,5}|id|type|sources", inner), 0..4).prop_map(
                    |fields| {
                        let body: Vec<String> = fields
                            .iter()
                            .map(|(k, v)| format!("\"{k}\" : {v}"))
                            .collect();
                        format!("{{{}}}", body.join(","))
                    }
                ),
            ]
        });
        (
            proptest::collection::vec((key, value), 0..8),
            any::<bool>(),
            proptest::option::of((any::<usize>(), any::<u8>())),
        )
            .prop_map(|(fields, base, damage)| {
                let mut body: Vec<String> =
                    fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                if base {
                    body.insert(
                        0,
                        r#""id":"e","time":"2026-01-01T00:00:00Z","action":"x""#.to_string(),
                    );
                }
                let mut text = format!(" {{{}}} ", body.join(", "));
                if let Some((at, byte)) = damage {
                    let at = at % (text.len() + 1);
                    if text.is_char_boundary(at) {
                        text.insert(at, char::from(byte % 128));
                    }
                }
                text
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2048)
        ))]

        /// Whatever the scanner takes, it reads as the exact parser does,
        /// event or schema error; what it cannot take, it leaves.
        #[test]
        fn the_scanner_agrees_with_the_exact_parser(text in text()) {
            let exact = parse_event_exact(&text).map_err(|e| e.to_string());
            let either = parse_event_text(&text).map_err(|e| e.to_string());
            prop_assert_eq!(either, exact, "{}", text);
        }
    }

    #[test]
    fn the_word_test_finds_the_first_byte_that_ends_a_string() {
        let ends = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        for byte in 0..=255u8 {
            for at in 0..8 {
                for later in [b'a', b'"', 0x01, 0xff] {
                    let mut word = [b'a'; 8];
                    word[at] = byte;
                    if at < 7 {
                        word[at + 1] = later;
                    }
                    let first = word.iter().position(|&b| ends(b));
                    let found = super::string_end(u64::from_le_bytes(word));
                    let got = (found != 0).then(|| (found.trailing_zeros() / 8) as usize);
                    assert_eq!(got, first, "{word:?}");
                }
            }
        }
    }

    #[test]
    fn plain_events_are_scanned_and_anything_odd_is_left() {
        let plain = r#"{"id":"e","time":"2026-01-01T00:00:00Z","action":"x","n":[1,{"a":null}],"data":{"sources":["s"]}}"#;
        let scan = |text| super::scan(text, true, &mut Object::new(Table::Event)).is_some();
        assert!(scan(plain));
        for odd in [
            r#"{"id":"\u0065","time":"2026-01-01T00:00:00Z","action":"x"}"#,
            r#"{"id":7,"time":"2026-01-01T00:00:00Z","action":"x"}"#,
            r#"{"id":"e","time":"2026-01-01T00:00:00Z","action":"x"} x"#,
            r#"[1]"#,
            r#"{"id":"e","n":01}"#,
        ] {
            assert!(!scan(odd), "{odd}");
        }
    }
}
