//! Reading one input's bytes outside the block pipeline: hashing what is
//! read, a `.json` array's elements, and the lines a second read wants.

use std::io::{self, BufRead, BufReader, Read};

use anyhow::{Context, Result, bail};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::MAX_LINE_BYTES;
use super::chunks::{BLOCK_BYTES, Block, Decoding};

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

/// The elements of a `.json` file holding one array, as raw JSON texts.
pub(super) fn array_elements<'a>(bytes: &'a [u8], name: &str) -> Result<Vec<&'a RawValue>> {
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).map_err(|e| {
            anyhow::anyhow!("{name}: not valid UTF-8 (at byte {})", e.valid_up_to() + 1)
        })?;
    if !text.trim_start().starts_with('[') {
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| anyhow::anyhow!("{name}: malformed JSON: {e}"))?;
        bail!("{name}: a .json log must hold an array of events");
    }
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{name}: malformed JSON: {e}"))
}

/// Reads a `.json` file holding one array of events, as one block whose
/// "lines" are 1-based element numbers. Returns the hex SHA-256 of the file.
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
    for (i, element) in array_elements(&bytes, name)?.iter().enumerate() {
        block.decode(i as u64 + 1, element.get(), how.decode, how.hasher);
    }
    each(&mut block)?;
    Ok(reader.digest())
}
