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

use super::parse::{Fields, Plain, Shape, Slot, Table};

/// Nesting past this gives the line to the exact parser, which counts
/// depth the way serde_json does.
const MAX_DEPTH: usize = 64;

/// Fills `fields` (an empty table) with the slots of the event `text`
/// holds, if the scanner can read it; `None` leaves the text (and a partly
/// filled table) to the exact parser.
pub fn scan<'a>(text: &'a str, keep_attributes: bool, fields: &mut Fields<'a>) -> Option<()> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    scanner.skip_space();
    scanner.fields(Table::Event, fields, keep_attributes)?;
    scanner.skip_space();
    (scanner.at == scanner.bytes.len()).then_some(())
}

/// A mask with a bit per byte of `block`, set where a byte ends a plain
/// string: a quote, a backslash or a control character.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn string_ends(block: &[u8; 16]) -> u32 {
    // SAFETY: the cfg above makes this code exist only where the build's
    // target has SSE2 (every x86_64 does), which is all `sse2_string_ends`
    // requires.
    unsafe { sse2_string_ends(block) }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn sse2_string_ends(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };
    // Building the vector from two words keeps the load safe.
    let word = |at: usize| i64::from_le_bytes(block[at..at + 8].try_into().expect("8 bytes"));
    let bytes = _mm_set_epi64x(word(8), word(0));
    let quote = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'"' as i8));
    let backslash = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\\' as i8));
    // Unsigned `byte < 0x20` is `max(byte, 0x1f) == 0x1f`.
    let below = _mm_set1_epi8(0x1f);
    let control = _mm_cmpeq_epi8(_mm_max_epu8(bytes, below), below);
    _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
}

/// The same mask, a byte at a time, where SSE2 is not there to do it.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn string_ends(block: &[u8; 16]) -> u32 {
    let ends = |&byte: &u8| byte == b'"' || byte == b'\\' || byte < 0x20;
    block.iter().position(ends).map_or(0, |at| 1 << at)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// A string without escapes or control characters, borrowed.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let bytes = self.bytes;
        let mut at = start;
        // Sixteen bytes at a time: strings are most of a line.
        while let Some(block) = bytes.get(at..at + 16) {
            let found = string_ends(block.try_into().ok()?);
            if found != 0 {
                at += found.trailing_zeros() as usize;
                return self.close_string(start, at);
            }
            at += 16;
        }
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.close_string(start, at + end)
    }

    /// The string from `start` to `end`, if `end` is its closing quote.
    #[inline]
    fn close_string(&mut self, start: usize, end: usize) -> Option<&'a str> {
        if self.bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        // Both ends are ASCII quotes, so they are character boundaries.
        self.text.get(start..end)
    }

    /// An object of `table`, into its slots of `fields`, which are empty.
    fn fields(
        &mut self,
        table: Table,
        fields: &mut Fields<'a>,
        keep_attributes: bool,
    ) -> Option<()> {
        let rest = table.rest().filter(|_| keep_attributes);
        self.items(b'{', b'}', |scanner| {
            let key = scanner.key()?;
            match table.field(key) {
                Some((slot, shape)) => {
                    let value = scanner.slot(shape, fields, keep_attributes)?;
                    fields.known[slot] = Some(value);
                }
                None => {
                    let start = scanner.at;
                    scanner.value(1)?;
                    if let Some(rest) = rest {
                        let raw = &scanner.text[start..scanner.at];
                        fields.rest[rest].push((Cow::Borrowed(key), raw));
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
    #[inline]
    fn key(&mut self) -> Option<&'a str> {
        let key = self.string()?;
        self.skip_space();
        self.eat(b':')?;
        self.skip_space();
        Some(key)
    }

    /// A known field's value: what the schema expects there, or null.
    fn slot(
        &mut self,
        shape: Shape,
        fields: &mut Fields<'a>,
        keep_attributes: bool,
    ) -> Option<Slot<'a>> {
        match (shape, self.peek()?) {
            (_, b'"') => Some(Slot::Plain(Plain::Str(Cow::Borrowed(self.string()?)))),
            (_, b'n') => {
                self.literal(b"null")?;
                Some(Slot::Plain(Plain::Null))
            }
            (Shape::Object(table), b'{') => {
                fields.start(table);
                self.fields(table, fields, keep_attributes)?;
                Some(Slot::Object)
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
    use super::super::parse::{Fields, parse_event_exact};
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
    fn a_string_ends_at_its_first_quote_and_gives_up_at_an_escape_or_control() {
        // Every length around the sixteen-byte blocks and the tail after them.
        for len in 0..40 {
            for byte in 0..=255u8 {
                let mut text = vec![b'"'];
                text.extend(std::iter::repeat_n(b'a', len));
                text.push(byte);
                text.extend(b"b\"tail");
                let Ok(text) = String::from_utf8(text) else {
                    continue;
                };
                let mut scanner = super::Scanner {
                    text: &text,
                    bytes: text.as_bytes(),
                    at: 0,
                };
                let want = match byte {
                    b'"' => Some("a".repeat(len)),
                    b'\\' | 0..0x20 => None,
                    _ => Some(format!("{}{}b", "a".repeat(len), byte as char)),
                };
                assert_eq!(scanner.string().map(str::to_string), want, "{text:?}");
            }
        }
    }

    #[test]
    fn plain_events_are_scanned_and_anything_odd_is_left() {
        let plain = r#"{"id":"e","time":"2026-01-01T00:00:00Z","action":"x","n":[1,{"a":null}],"data":{"sources":["s"]}}"#;
        let scan = |text| super::scan(text, true, &mut Fields::new()).is_some();
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
