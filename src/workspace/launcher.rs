//! Which Python runs Alembic: the root's `./py`, else `--python` / `DB_MIGRATE_PYTHON`, else
//! `python3` on PATH.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::event::{self, Event, Note};
use crate::failure::{Failure, Kind};

/// `./py` when the root has one; else `--python`/`DB_MIGRATE_PYTHON`; else `python3`.
///
/// A `./py` without its execute bit is still Backend.AI's launcher: a silent switch to a system
/// `python3` (without the checkout's packages) would turn "chmod +x py" into a puzzling Alembic
/// failure. So it stays the launcher, and running it fails with "./py is not executable" — unless
/// `--python`/`DB_MIGRATE_PYTHON` names another one, which is then used, with a note.
pub(super) fn choose_launcher(root: &Path, python: Option<&str>) -> Result<Vec<String>, Failure> {
    let py = root.join("py");
    let py_mode = py
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.permissions().mode());
    let python = python.map(str::trim).filter(|c| !c.is_empty());
    match (py_mode, python) {
        (Some(mode), _) if mode & 0o111 != 0 => return Ok(vec![py.to_string_lossy().into_owned()]),
        (Some(_), None) => return Ok(vec![py.to_string_lossy().into_owned()]),
        (Some(_), Some(cmd)) => {
            event::emit(Event::Note(Note::PyNotExecutable { instead: cmd }));
        }
        (None, _) => {}
    }
    if let Some(cmd) = python {
        // A path to an interpreter may contain spaces; otherwise the value is a command line
        // such as `uv run python`.
        if Path::new(cmd).is_file() {
            return Ok(vec![cmd.to_owned()]);
        }
        return Ok(cmd.split_whitespace().map(str::to_owned).collect());
    }
    match which::which("python3") {
        Ok(path) => Ok(vec![path.to_string_lossy().into_owned()]),
        Err(_) => Err(Failure::new(
            Kind::NoPython,
            format!("no Python to run Alembic with: {} has no executable ./py and python3 is not on PATH", root.display()),
            "db-migrate runs `<launcher> -m alembic`; it found no launcher",
            "pass --python /path/to/venv/bin/python (or set DB_MIGRATE_PYTHON)",
        )),
    }
}
