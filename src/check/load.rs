//! What `check` could not read is a finding, never a pass: a component whose revisions do not
//! form a graph (a cycle, a missing parent, a duplicate id, no revision at all) or whose lint
//! could not run is a [`COMPONENT_FAULT`] of that component alone, at the file and line that
//! shows it, and the other components are still checked; a revision file Python cannot import
//! is an [`UNLOADABLE_FILE`] error at that file.
//!
//! These findings are added after ignore comments and `[tool.db-migrate.check]` are applied:
//! neither can silence them.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::rules::Facts;
use super::{Finding, Rule, Severity};
use crate::failure::Failure;
use crate::graph::{Graph, GraphError};
use crate::workspace::Config as Ini;

pub const COMPONENT_FAULT: Rule = Rule {
    name: "component-fault",
    default_severity: Severity::Error,
    summary: "The component's migrations could be read and checked (one component's fault never hides the others).",
    explain: "\
A component whose revision files do not form one graph cannot be checked at all: a cycle, a
down_revision naming a revision that does not exist, two files with the same revision id, an empty
versions directory, a file Python cannot load, or a launcher that did not run Alembic's offline
render. Alembic would fail (or silently keep one of two files) on every command, so `check`
reports the fault at the file and line that show it, as an error of that component, and goes on
checking every other component. The message names the cause and the next step. It cannot be
disabled or ignored: fix the fault (git pull first if the files are not yours).",
};

pub const UNLOADABLE_FILE: Rule = Rule {
    name: "unloadable-file",
    default_severity: Severity::Error,
    summary: "Every revision file is Python that Alembic can import (UTF-8 unless it declares an encoding).",
    explain: "\
Alembic imports every revision file on every command. Python reads source as UTF-8 unless the
first two lines declare another encoding (`# -*- coding: latin-1 -*-`, PEP 263), so a file saved
in another encoding fails with `SyntaxError: (unicode error)` (or, on newer Pythons, even for a
byte in a comment), and so does a file Alembic's offline render cannot parse. Save the file as
UTF-8 (or declare its encoding) and fix the line named. It cannot be disabled or ignored.",
};

/// A component-level failure as a finding of that component, at the file and line that show it
/// when they are known, else at the component's ini.
pub fn fault(root: &Path, config: &Ini, failure: &Failure) -> Finding {
    let (file, line) = graph_fault_at(root, config)
        .or_else(|| file_in_message(root, &failure.message))
        .unwrap_or_else(|| (PathBuf::from(&config.ini_arg), 0));
    Finding {
        rule: COMPONENT_FAULT.name,
        severity: Severity::Error,
        file,
        line,
        message: format!(
            "{} ({}; fix: {})",
            failure.message, failure.cause, failure.fix
        ),
    }
}

/// Where the native reader finds the graph broken: the down_revision naming a missing parent,
/// the down_revision of the first revision of a cycle, the second file defining a duplicate id.
fn graph_fault_at(root: &Path, config: &Ini) -> Option<(PathBuf, usize)> {
    let revs = crate::revisions::read_all(&config.ini, root, &[]).ok()?;
    let (path, field) = match Graph::new(revs.clone()).err()? {
        GraphError::Missing { id, path, missing } => {
            let rev = revs.iter().find(|r| r.id == id)?;
            let field = if rev.parents.contains(&missing) {
                "down_revision"
            } else {
                "depends_on"
            };
            (path, field)
        }
        GraphError::Cycle { ids } => {
            let first = ids.first()?;
            (
                revs.iter().find(|r| &r.id == first)?.path.clone()?,
                "down_revision",
            )
        }
        GraphError::Duplicate { paths, .. } => (paths.last()?.clone(), "revision"),
    };
    let line = std::fs::read(&path)
        .ok()
        .and_then(|b| Facts::of(&b).line_of(field))
        .unwrap_or(1);
    Some((relative(root, Path::new(&path)), line))
}

static FILE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([^\s:'",()]+\.py)(?::(\d+)| line (\d+))?"#).expect("valid regex")
});

/// The first `path.py:N` / `path.py line N` / `path.py` in a failure's message.
fn file_in_message(root: &Path, message: &str) -> Option<(PathBuf, usize)> {
    let c = FILE_LINE.captures(message)?;
    let line = c
        .get(2)
        .or_else(|| c.get(3))
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or(1);
    Some((relative(root, Path::new(&c[1])), line))
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// Revision files that are not UTF-8 and declare no other encoding: Python cannot import them.
pub fn not_utf8(root: &Path, graph: &Graph) -> Vec<Finding> {
    let mut found = Vec::new();
    for i in 0..graph.len() {
        let Some(path) = graph.rev(i).path.as_deref() else {
            continue;
        };
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        if let Some((line, byte)) = undecodable(&bytes) {
            found.push(Finding {
                rule: UNLOADABLE_FILE.name,
                severity: Severity::Error,
                file: relative(root, Path::new(path)),
                line,
                message: format!(
                    "{} is not UTF-8 (byte 0x{byte:02x} on line {line}) and declares no encoding: Python source is UTF-8 unless it says otherwise (PEP 3120, PEP 263), and Alembic imports every revision file; save it as UTF-8",
                    graph.rev(i).id
                ),
            });
        }
    }
    found
}

/// The line and value of the first byte that is not UTF-8, unless the file declares an encoding
/// (PEP 263: a `coding[:=]` comment on line 1 or 2).
fn undecodable(bytes: &[u8]) -> Option<(usize, u8)> {
    let err = std::str::from_utf8(bytes).err()?;
    static COOKIE: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
        regex::bytes::Regex::new(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+").expect("valid regex")
    });
    if bytes
        .split(|&b| b == b'\n')
        .take(2)
        .any(|l| COOKIE.is_match(l))
    {
        return None;
    }
    let at = err.valid_up_to();
    let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
    Some((line, bytes[at]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_names_the_first_bad_line_unless_an_encoding_is_declared() {
        assert_eq!(
            undecodable(b"revision = 'a'\nx = 'caf\xe9'\n"),
            Some((2, 0xe9))
        );
        assert_eq!(undecodable("x = 'café'\n".as_bytes()), None);
        assert_eq!(
            undecodable(b"#!/usr/bin/env python\n# -*- coding: latin-1 -*-\nx = 'caf\xe9'\n"),
            None
        );
        // A cookie on line 3 does not count.
        assert_eq!(
            undecodable(b"\n\n# coding: latin-1\nx = '\xe9'\n"),
            Some((4, 0xe9))
        );
    }

    #[test]
    fn a_file_named_in_a_message_is_located_relative_to_the_root() {
        let root = Path::new("/w");
        assert_eq!(
            file_in_message(
                root,
                "a manager revision file is invalid: src/v/x.py:3: NUL"
            ),
            Some((PathBuf::from("src/v/x.py"), 3))
        );
        assert_eq!(
            file_in_message(root, "migration file /w/src/v/y.py line 12 does not parse"),
            Some((PathBuf::from("src/v/y.py"), 12))
        );
        assert_eq!(
            file_in_message(root, "no migration scripts were found"),
            None
        );
    }
}
