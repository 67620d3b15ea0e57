//! Compressed logs: gzip and zstd files are read as the JSON they hold.
//!
//! Log shippers and object stores write `.gz` (CloudTrail delivers nothing
//! else) and, more and more, `.zst`. The compression is told by the file's
//! first bytes, not its name: JSON never starts with either magic number,
//! so a misnamed file is read right either way. Decompression streams, so
//! a file that expands a thousandfold costs no more memory than a plain
//! one; gzip files made of several members (concatenated, as shippers
//! append them) are read whole.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result};

/// How a file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not at all.
    None,
    /// gzip (RFC 1952), one member or several.
    Gzip,
    /// Zstandard (RFC 8878), one frame or several.
    Zstd,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The names a log may end in past `.jsonl` or `.json` when compressed.
pub const SUFFIXES: [&str; 2] = ["gz", "zst"];

impl Compression {
    /// How `file` is compressed, judged from its first bytes; the file is
    /// left at its start.
    pub fn of(file: &mut File) -> io::Result<Compression> {
        let mut head = [0; 4];
        let mut read = 0;
        while read < head.len() {
            match file.read(&mut head[read..])? {
                0 => break,
                n => read += n,
            }
        }
        file.seek(SeekFrom::Start(0))?;
        Ok(if head[..read].starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head[..read] == ZSTD_MAGIC {
            Compression::Zstd
        } else {
            Compression::None
        })
    }
}

/// Opens `path` as the text it holds: decompressed if it is compressed.
/// Corrupt or cut-short compressed data is an error of the read, naming
/// the file, when it is reached.
pub fn open_decompressed(path: &Path) -> Result<Box<dyn Read + Send>> {
    let name = || format!("{}: cannot open", path.display());
    let mut file = File::open(path).with_context(name)?;
    let compression = Compression::of(&mut file).with_context(name)?;
    Ok(match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(file)
                .with_context(|| format!("{}: cannot start reading zstd", path.display()))?,
        ),
    })
}

/// The file name that tells a log's format: its name without the
/// compression suffix, so `logs/a.json.gz` is `a.json`.
pub fn uncompressed_name(name: &Path) -> &Path {
    match name.extension() {
        Some(ext) if SUFFIXES.iter().any(|s| ext == *s) => name.file_stem().map_or(name, Path::new),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        out.write_all(bytes).unwrap();
        out.finish().unwrap()
    }

    fn read(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, bytes).unwrap();
        let mut text = Vec::new();
        open_decompressed(&path).unwrap().read_to_end(&mut text)?;
        Ok(text)
    }

    #[test]
    fn gzip_zstd_and_plain_files_read_as_their_text() {
        let text = b"{\"id\":\"e1\"}\n{\"id\":\"e2\"}\n";
        assert_eq!(read(text).unwrap(), text);
        assert_eq!(read(&gzip(text)).unwrap(), text);
        assert_eq!(
            read(&zstd::encode_all(&text[..], 1).unwrap()).unwrap(),
            text
        );
        assert_eq!(read(b"").unwrap(), b"");
        assert_eq!(read(b"\x1f").unwrap(), b"\x1f");
    }

    #[test]
    fn concatenated_members_and_frames_are_read_whole() {
        let (a, b) = (&b"{\"id\":\"a\"}\n"[..], &b"{\"id\":\"b\"}\n"[..]);
        assert_eq!(read(&[gzip(a), gzip(b)].concat()).unwrap(), [a, b].concat());
        let zstd = |t| zstd::encode_all(t, 1).unwrap();
        assert_eq!(read(&[zstd(a), zstd(b)].concat()).unwrap(), [a, b].concat());
    }

    #[test]
    fn cut_short_or_corrupt_data_is_an_error_not_a_short_log() {
        let whole = gzip(&b"{\"id\":\"e1\"}\n".repeat(1000));
        assert!(read(&whole[..whole.len() / 2]).is_err());
        let mut corrupt = whole.clone();
        let middle = corrupt.len() / 2;
        corrupt[middle] ^= 0xff;
        assert!(read(&corrupt).is_err());
        let zstd = zstd::encode_all(&b"{\"id\":\"e1\"}\n".repeat(1000)[..], 1).unwrap();
        assert!(read(&zstd[..zstd.len() / 2]).is_err());
    }

    #[test]
    fn a_compression_suffix_is_not_part_of_the_format() {
        assert_eq!(
            uncompressed_name(Path::new("d/a.json.gz")),
            Path::new("a.json")
        );
        assert_eq!(
            uncompressed_name(Path::new("a.jsonl.zst")),
            Path::new("a.jsonl")
        );
        assert_eq!(
            uncompressed_name(Path::new("a.jsonl")),
            Path::new("a.jsonl")
        );
    }
}
