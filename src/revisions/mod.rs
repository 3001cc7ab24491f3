//! The native side of the revision graph: revision files read statically, no Python run.

pub mod destructive;
pub mod locate;
pub mod reader;
pub mod tokenize;

use std::path::Path;

use crate::graph::Revision;
use crate::ini::Ini;

/// Why the native reader could not stand in for Alembic (the engine then falls back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// Not understood statically: fall back to Alembic, saying why under -v.
    NotStatic(String),
    /// Alembic would reject this too.
    Invalid(String),
}

/// Every revision of a config, in Alembic's file order.
pub fn read_all(ini: &Ini, root: &Path) -> Result<Vec<Revision>, ReadError> {
    let locations = locate::locate(ini, root).map_err(ReadError::NotStatic)?;
    let files = locate::revision_files(&locations)
        .map_err(|e| ReadError::NotStatic(format!("cannot list revision files: {e}")))?;
    // Reading is I/O plus a linear scan per file: split the files across the cores.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len() / 64 + 1);
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<Result<Vec<Revision>, ReadError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || read_files(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ReadError::NotStatic("a reader thread panicked".into()))
                })
            })
            .collect()
    });
    let mut revisions = Vec::with_capacity(files.len());
    for part in results {
        revisions.extend(part?);
    }
    Ok(revisions)
}

fn read_files(files: &[std::path::PathBuf]) -> Result<Vec<Revision>, ReadError> {
    let mut revisions = Vec::with_capacity(files.len());
    for file in files {
        let src = std::fs::read(file)
            .map_err(|e| ReadError::NotStatic(format!("cannot read {}: {e}", file.display())))?;
        match reader::read_file(file, &src) {
            reader::Read::Revision(r) => revisions.push(r),
            reader::Read::NotStatic(why) => return Err(ReadError::NotStatic(why)),
            reader::Read::Invalid(why) => return Err(ReadError::Invalid(why)),
        }
    }
    Ok(revisions)
}
