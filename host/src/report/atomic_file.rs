//! Writing output files so that readers never see half of one.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames
/// it into place: an interrupted run leaves the old file or the new one,
/// never a torn mix that a CI job could mistake for a whole report.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |file| Ok(file.write_all(bytes)?))
}

/// Like [`write_atomically`], for output too large to hold in memory:
/// `write` streams into the temporary file (buffered) before the rename.
pub fn write_atomically_with<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: cannot create a file beside it", path.display()))?;
    let mut buffered = std::io::BufWriter::new(file);
    let value =
        write(&mut buffered).with_context(|| format!("{}: cannot write", path.display()))?;
    let file = buffered
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    file.as_file()
        .sync_all()
        .with_context(|| format!("{}: cannot write", path.display()))?;
    file.persist(path)
        .with_context(|| format!("{}: cannot replace", path.display()))?;
    Ok(value)
}
