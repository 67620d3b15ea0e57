//! Reading one input's bytes outside the block pipeline: hashing what is
//! read, a `.json` document's records, the first record (to tell an
//! input's format), and the lines a second read wants.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};

use anyhow::{Context, Result, bail};
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::MAX_LINE_BYTES;
use super::chunks::{BLOCK_BYTES, Block, Decoding};
use super::mapping::Mapping;

/// The hex SHA-256 `sha` has taken, as reports and messages show digests.
pub(super) fn hex_digest(sha: Sha256) -> String {
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader that hashes everything read through it.
pub(super) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    /// Bytes read so far.
    pub(super) bytes: u64,
}

impl<R> HashingReader<R> {
    pub(super) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The hex SHA-256 of everything read.
    pub(super) fn digest(self) -> String {
        hex_digest(self.hasher)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Hands `give` the text of each of `lines` (sorted, 1-based) of a JSON
/// Lines input, as the first read saw it; with `whole`, reads on to the end.
pub(super) fn find_lines(
    source: impl Read,
    lines: &[u64],
    whole: bool,
    give: &mut impl FnMut(u64, &str),
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(BLOCK_BYTES, source);
    let mut line = 1u64;
    let mut text = Vec::new();
    for &next in lines {
        while line < next {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let mut used = buf.len();
            for newline in memchr::memchr_iter(b'\n', buf) {
                line += 1;
                if line == next {
                    used = newline + 1;
                    break;
                }
            }
            reader.consume(used);
        }
        text.clear();
        let limit = MAX_LINE_BYTES as u64 + 2;
        (&mut reader).take(limit).read_until(b'\n', &mut text)?;
        if text.last() == Some(&b'\n') {
            text.pop();
        } else if text.len() as u64 == limit {
            // Too long to be an event: the first read rejected it.
            reader.skip_until(b'\n')?;
            line += 1;
            continue;
        }
        line += 1;
        give_line(next, &text, give);
    }
    if whole {
        io::copy(&mut reader, &mut io::sink())?;
    }
    Ok(())
}

fn give_line(line: u64, bytes: &[u8], give: &mut impl FnMut(u64, &str)) {
    let bytes = if line == 1 {
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
    } else {
        bytes
    };
    if let Ok(text) = std::str::from_utf8(bytes) {
        give(line, text.trim_end_matches('\r'));
    }
}

/// The records of a `.json` document: the elements of its top-level
/// array or, for a mapped format, those of the array under the mapping's
/// `container` key (`Records`), or else the one object the document is.
pub(super) fn document_records<'a>(
    bytes: &'a [u8],
    name: &str,
    mapping: Option<&Mapping>,
) -> Result<Vec<&'a RawValue>> {
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).map_err(|e| {
            anyhow::anyhow!("{name}: not valid UTF-8 (at byte {})", e.valid_up_to() + 1)
        })?;
    let malformed = |e: serde_json::Error| anyhow::anyhow!("{name}: malformed JSON: {e}");
    if mapping.is_some_and(Mapping::ignores_input) {
        serde_json::from_str::<IgnoredAny>(text).map_err(malformed)?;
        return Ok(Vec::new());
    }
    let start = text.trim_start();
    if start.starts_with('[') {
        return serde_json::from_str(text).map_err(malformed);
    }
    let Some(mapping) = mapping.filter(|_| start.starts_with('{')) else {
        serde_json::from_str::<IgnoredAny>(text).map_err(malformed)?;
        bail!("{name}: a .json log must hold an array of events");
    };
    let whole =
        || -> Result<Vec<&RawValue>> { Ok(vec![serde_json::from_str(text).map_err(malformed)?]) };
    let Some(key) = mapping.container() else {
        return whole();
    };
    let fields: BTreeMap<String, &RawValue> = serde_json::from_str(text).map_err(malformed)?;
    match fields.get(key) {
        None => whole(),
        Some(records) => serde_json::from_str(records.get()).map_err(|_| {
            anyhow::anyhow!(
                "{name}: `{key}` must hold an array of {} records",
                mapping.name()
            )
        }),
    }
}

/// The first record of a JSON Lines input, or the document a `.json` one
/// holds with each array in it cut to its first element: what telling its
/// format needs. `None` when there is no record, or it is not JSON; then
/// the input is read as schema v1, whose checks say what is wrong.
pub(super) fn first_record(source: impl Read, document: bool) -> Result<Option<Value>> {
    let mut reader = BufReader::with_capacity(BLOCK_BYTES, source);
    if document {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        return Ok(serde_json::from_slice::<FirstElements>(text)
            .ok()
            .map(|f| f.0));
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Ok(None);
        }
        let text = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&line);
        if !text.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::from_slice(text).ok());
        }
    }
}

/// A JSON value with every array cut to its first element as it is read,
/// so that telling a document's format holds one record of it, not all.
struct FirstElements(Value);

impl<'de> serde::Deserialize<'de> for FirstElements {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(FirstElementsVisitor)
            .map(FirstElements)
    }
}

struct FirstElementsVisitor;

impl<'de> Visitor<'de> for FirstElementsVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let first = seq.next_element::<Value>()?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Array(first.into_iter().collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<FirstElements>()?;
            fields.insert(key, value.0);
        }
        Ok(Value::Object(fields))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// Reads a `.json` document as one block whose "lines" are the 1-based
/// numbers of its records ([`document_records`]). Returns the hex SHA-256
/// of the file.
pub(super) fn read_json_array(
    source: impl Read,
    name: &str,
    how: Decoding<'_>,
    each: &mut impl FnMut(&mut Block) -> Result<()>,
) -> Result<String> {
    let mut reader = HashingReader::new(source);
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .with_context(|| format!("{name}: read failed"))?;
    let mut block = Block {
        bytes: bytes.len() as u64,
        ..Block::default()
    };
    for (i, element) in document_records(&bytes, name, how.mapping)?
        .iter()
        .enumerate()
    {
        block.decode(i as u64 + 1, element.get(), &how);
    }
    each(&mut block)?;
    Ok(reader.digest())
}
