//! Writing output files so that readers never see half of one, and
//! removing the half-written ones when a run is interrupted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

/// Temporary files being written now. A run stopped by a signal ends
/// without running destructors, so [`remove_unfinished`] removes these
/// itself.
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary file still being written, and keeps any more
/// from being started, for a run about to exit on a signal. Destinations
/// are untouched: each holds its old content or a whole new one.
pub fn remove_unfinished() {
    let mut unfinished = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
    for path in unfinished.drain(..) {
        let _ = std::fs::remove_file(path);
    }
    // Held until the process exits, so no write starts or renames after.
    std::mem::forget(unfinished);
}

/// Tracks one temporary file in [`UNFINISHED`] while it is written.
struct Unfinished(PathBuf);

impl Unfinished {
    fn track(path: &Path) -> Unfinished {
        let mut unfinished = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
        unfinished.push(path.to_path_buf());
        Unfinished(path.to_path_buf())
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        let mut unfinished = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
        unfinished.retain(|p| *p != self.0);
    }
}

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
    let _tracked = Unfinished::track(file.path());
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
