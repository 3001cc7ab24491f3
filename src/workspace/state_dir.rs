//! `.db-migrate/` at the workspace root: db-migrate's own files (backups, caches). Kept private
//! (0700, also when an older db-migrate left it 0755) with a `.gitignore` of `*`, as pytest and
//! ruff do for their caches, so `git add -A` never picks up a database dump.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const NAME: &str = ".db-migrate";

/// What `.db-migrate/.gitignore` holds: everything in the directory, itself included, is ignored.
const GITIGNORE: &str =
    "# Created by db-migrate: backups hold real data, keep them out of git.\n*\n";

/// `root/.db-migrate/<sub>` (or the directory itself for `""`), created private, with the
/// `.gitignore` written unless one is there already.
pub fn ensure(root: &Path, sub: &str) -> std::io::Result<PathBuf> {
    let state = root.join(NAME);
    let dir = state.join(sub);
    DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
    for d in [&state, &dir] {
        std::fs::set_permissions(d, Permissions::from_mode(0o700))?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(state.join(".gitignore"))
    {
        Ok(mut file) => file.write_all(GITIGNORE.as_bytes())?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_state_directory_is_private_and_ignored_without_clobbering() {
        let root = tempfile::tempdir().unwrap();
        let mode = |p: &str| {
            std::fs::metadata(root.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        super::ensure(root.path(), "backups").unwrap();
        assert_eq!(
            (mode(".db-migrate"), mode(".db-migrate/backups")),
            (0o700, 0o700)
        );
        let ignore = root.path().join(".db-migrate/.gitignore");
        assert_eq!(std::fs::read_to_string(&ignore).unwrap(), super::GITIGNORE);
        std::fs::write(&ignore, "mine\n").unwrap();
        std::fs::set_permissions(
            root.path().join(".db-migrate/backups"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        super::ensure(root.path(), "backups").unwrap();
        assert_eq!(std::fs::read_to_string(&ignore).unwrap(), "mine\n");
        assert_eq!(mode(".db-migrate/backups"), 0o700);
    }
}
