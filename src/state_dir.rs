//! `.db-migrate/` at the workspace root: db-migrate's own files (backups, caches). Created private
//! (0700) with a `.gitignore` of `*`, as pytest and ruff do for their caches, so `git add -A`
//! never picks up a database dump.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const NAME: &str = ".db-migrate";

/// The directory, created if needed (with its `.gitignore`); an existing `.gitignore` is kept.
pub fn ensure(root: &Path) -> std::io::Result<PathBuf> {
    let dir = root.join(NAME);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&ignore)?;
        file.write_all(
            b"# Written by db-migrate: backups and caches, never to be committed.\n*\n",
        )?;
    }
    Ok(dir)
}
