//! The opt-in head file: `head.txt` in a component's versions directory, holding the id of its one
//! head, the way django-linear-migrations keeps `max_migration.txt`. Two branches that each add a
//! migration on the same parent both change its one line, so git reports a conflict and the second
//! branch cannot merge until it is brought up to date, where `fix-heads` repoints it and rewrites
//! the file.
//!
//! Turned on in the workspace root's `pyproject.toml`:
//!
//! ```toml
//! [tool.db-migrate]
//! head-file = true
//! ```
//!
//! `new` and `fix-heads` keep the file current; `check`'s `head-file` rule says when it is
//! missing or names anything but the one head. This module only reads the setting and reads and
//! writes the file; what to do about a stale one is the callers'.

use std::io;
use std::path::{Path, PathBuf};

/// The file's name, inside the versions directory.
pub const NAME: &str = "head.txt";

const PYPROJECT: &str = "pyproject.toml";
const KEY: &str = "head-file";

/// Whether `[tool.db-migrate] head-file = true` is set in `root/pyproject.toml`. No file, no table
/// or no key means off. A value that is not a boolean, or a file that is not TOML, is an error
/// naming the file (a typo must not silently turn the file off).
pub fn enabled(root: &Path) -> Result<bool, String> {
    let path = root.join(PYPROJECT);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The setting in a `pyproject.toml`'s text.
pub fn parse(text: &str) -> Result<bool, String> {
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_owned())?;
    let value = doc
        .get("tool")
        .and_then(|t| t.get("db-migrate"))
        .and_then(|t| t.get(KEY));
    match value {
        None => Ok(false),
        Some(toml::Value::Boolean(on)) => Ok(*on),
        Some(other) => Err(format!(
            "[tool.db-migrate] {KEY} must be true or false, not {other}"
        )),
    }
}

/// Where the file lives for a component whose versions directories are `dirs`: the first one,
/// where Alembic writes new revisions. `None` when there is none.
pub fn path(dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.first().map(|d| d.join(NAME))
}

/// What the file holds, trimmed; `None` when it does not exist. Blank lines and surrounding
/// whitespace are ignored, so an editor's trailing newline does not matter; anything else (two
/// ids, git's conflict markers) comes back as written, for the caller to compare.
pub fn read(file: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(Some(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The file's content for `head`: the id and a newline.
pub fn content(head: &str) -> String {
    format!("{head}\n")
}

/// Write `head` to the file, unless it already says so. Returns whether the file changed.
pub fn write(file: &Path, head: &str) -> io::Result<bool> {
    let wanted = content(head);
    if std::fs::read_to_string(file).is_ok_and(|now| now == wanted) {
        return Ok(false);
    }
    std::fs::write(file, wanted)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_is_off_unless_set_true() {
        assert!(!parse("").unwrap());
        assert!(!parse("[tool.ruff]\nline-length = 100\n").unwrap());
        assert!(!parse("[tool.db-migrate.check]\ndisable = []\n").unwrap());
        assert!(!parse("[tool.db-migrate]\nhead-file = false\n").unwrap());
        assert!(parse("[tool.db-migrate]\nhead-file = true\n").unwrap());
    }

    #[test]
    fn a_wrong_value_is_an_error_not_off() {
        let err = parse("[tool.db-migrate]\nhead-file = \"yes\"\n").unwrap_err();
        assert!(err.contains("head-file must be true or false"), "{err}");
        assert!(parse("[tool.db-migrate\n").is_err());
    }

    #[test]
    fn enabled_reads_pyproject_and_no_file_is_off() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!enabled(dir.path()).unwrap());
        std::fs::write(
            dir.path().join(PYPROJECT),
            "[tool.db-migrate]\nhead-file = true\n",
        )
        .unwrap();
        assert!(enabled(dir.path()).unwrap());
        std::fs::write(
            dir.path().join(PYPROJECT),
            "[tool.db-migrate]\nhead-file = 1\n",
        )
        .unwrap();
        let err = enabled(dir.path()).unwrap_err();
        assert!(err.contains("pyproject.toml"), "{err}");
    }

    #[test]
    fn write_then_read_round_trips_and_reports_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(read(&file).unwrap(), None);
        assert!(write(&file, "abc123").unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "abc123\n");
        assert!(!write(&file, "abc123").unwrap());
        assert_eq!(read(&file).unwrap().as_deref(), Some("abc123"));
        std::fs::write(&file, "\n  abc123  \n\n").unwrap();
        assert_eq!(read(&file).unwrap().as_deref(), Some("abc123"));
        std::fs::write(&file, "<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> b\n").unwrap();
        assert_eq!(
            read(&file).unwrap().as_deref(),
            Some("<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> b")
        );
        assert_eq!(path(&[]), None);
    }
}
