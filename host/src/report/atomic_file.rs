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
    let mut unfinished = unfinished();
    for path in unfinished.drain(..) {
        let _ = std::fs::remove_file(path);
    }
    // Held until the process exits, so no write starts or renames after.
    std::mem::forget(unfinished);
}

/// Locks [`UNFINISHED`]; a panic elsewhere does not stop the cleanup.
fn unfinished() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    UNFINISHED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Creates a temporary file beside `path` and lists it in [`UNFINISHED`]
/// under one lock, so a signal never finds a file made but not yet listed.
fn create_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut unfinished = unfinished();
    let file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: cannot create a file beside it", path.display()))?;
    unfinished.push(file.path().to_path_buf());
    Ok(file)
}

/// Takes the temporary files of an abandoned write off [`UNFINISHED`];
/// `NamedTempFile` removes the files themselves when dropped.
struct Listed(Vec<PathBuf>);

impl Drop for Listed {
    fn drop(&mut self) {
        unfinished().retain(|p| !self.0.contains(p));
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
    write_all_atomically(&[path.to_path_buf()], |outs| {
        write(&mut *outs[0]).with_context(|| format!("{}: cannot write", path.display()))
    })
}

/// Like [`write_atomically_with`], for a set of files that belong
/// together (a split's shards and lineage): `write` gets a writer for each
/// of `paths`, in order, and no file is renamed into place until all are
/// written and synced. The renames happen under the lock that
/// [`remove_unfinished`] takes, so a run stopped by a signal has replaced
/// all of them or none. `write`'s error is returned as it is.
pub fn write_all_atomically<T>(
    paths: &[PathBuf],
    write: impl FnOnce(&mut [&mut dyn Write]) -> Result<T>,
) -> Result<T> {
    let mut listed = Listed(Vec::with_capacity(paths.len()));
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let file = create_beside(path)?;
        listed.0.push(file.path().to_path_buf());
        files.push(std::io::BufWriter::new(file));
    }
    let value = {
        let mut outs: Vec<&mut dyn Write> = files.iter_mut().map(|f| f as &mut dyn Write).collect();
        write(&mut outs)?
    };
    let mut whole = Vec::with_capacity(files.len());
    for (path, buffered) in paths.iter().zip(files) {
        let file = buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.as_file().sync_all().map(|()| file))
            .with_context(|| format!("{}: cannot write", path.display()))?;
        whole.push(file);
    }
    let mut unfinished = unfinished();
    for (path, file) in paths.iter().zip(whole) {
        file.persist(path)
            .with_context(|| format!("{}: cannot replace", path.display()))?;
    }
    unfinished.retain(|p| !listed.0.contains(p));
    listed.0.clear();
    Ok(value)
}
