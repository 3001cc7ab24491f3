//! The head file ([`crate::head_file`], `head.txt`) held against a component's one head: where it
//! must be, whether it names that head, and the rewrite that makes it do so. `check`'s
//! `head-file` rule reports the verdict; `fix-heads` shows the rewrite as a diff with its other
//! edits, writes it, and reads it back.

use std::io;
use std::path::{Path, PathBuf};

use crate::graph::Graph;
use crate::head_file;
use crate::revisions::edit;
use crate::revisions::locate;
use crate::workspace::Config;

/// Where a component's head file must be, and head files found where db-migrate does not read
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// `head_file::path` of the component's versions directories (absolute).
    pub path: PathBuf,
    /// `head.txt` in the other versions directories or in the script directory (the versions
    /// directory's parent): a file put in the wrong place, which nothing keeps current.
    pub elsewhere: Vec<PathBuf>,
}

impl Place {
    /// The place for versions directories `dirs` (the first one holds the file); `None` without
    /// a directory.
    pub fn of(dirs: &[PathBuf]) -> Option<Place> {
        let path = head_file::path(dirs)?;
        let mut candidates: Vec<PathBuf> =
            dirs[1..].iter().map(|d| d.join(head_file::NAME)).collect();
        if let Some(script_dir) = dirs[0].parent() {
            candidates.push(script_dir.join(head_file::NAME));
        }
        let elsewhere = candidates
            .into_iter()
            .filter(|p| *p != path && p.is_file())
            .collect();
        Some(Place { path, elsewhere })
    }

    /// The place for a config, its versions directories located statically; when they cannot
    /// be (a script package only the launcher's Python can find), the directory of the head's
    /// file. `None` without either.
    pub fn for_config(config: &Config, graph: &Graph) -> Option<Place> {
        let dirs = match locate::locate(&config.ini, &config.root, &[]) {
            Ok(located) => located.dirs,
            Err(_) => graph
                .heads()
                .first()
                .and_then(|&h| graph.rev(h).path.as_deref())
                .and_then(|p| Path::new(p).parent())
                .map(|d| vec![d.to_path_buf()])
                .unwrap_or_default(),
        };
        Place::of(&dirs)
    }
}

/// What the head file says about `head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It holds exactly the head's id (surrounding whitespace and blank lines aside).
    Right,
    /// There is no file.
    Missing,
    /// It holds something else: another id, an id prefix, several lines, or git's conflict
    /// markers (`conflicted`).
    Wrong { found: String, conflicted: bool },
}

/// Judge the file at `path` against `head`.
pub fn judge(path: &Path, head: &str) -> io::Result<Verdict> {
    Ok(match head_file::read(path)? {
        None => Verdict::Missing,
        Some(found) if found == head => Verdict::Right,
        Some(found) => Verdict::Wrong {
            conflicted: conflicted(&found),
            found,
        },
    })
}

/// Whether `text` holds git's conflict markers (a line starting with `<<<<<<<`, `=======` or
/// `>>>>>>>`, or diff3's `|||||||`).
pub fn conflicted(text: &str) -> bool {
    text.lines().any(|l| {
        ["<<<<<<<", "|||||||", "=======", ">>>>>>>"]
            .iter()
            .any(|m| l.starts_with(m))
    })
}

/// The rewrite of a head file that does not name the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    pub path: PathBuf,
    /// The head it will name.
    pub head: String,
    /// The bytes now; `None` when the file does not exist.
    pub old: Option<Vec<u8>>,
    /// Git's conflict markers are in it: rewriting it resolves the conflict, and the next step is
    /// `git add`.
    pub conflicted: bool,
}

impl Rewrite {
    /// The rewrite that makes `path` name `head`; `None` when it already does.
    pub fn plan(path: &Path, head: &str) -> io::Result<Option<Rewrite>> {
        let conflicted = match judge(path, head)? {
            Verdict::Right => return Ok(None),
            Verdict::Missing => false,
            Verdict::Wrong { conflicted, .. } => conflicted,
        };
        let old = match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(Some(Rewrite {
            path: path.to_path_buf(),
            head: head.to_owned(),
            old,
            conflicted,
        }))
    }

    /// The file's bytes after the rewrite.
    pub fn new_bytes(&self) -> String {
        head_file::content(&self.head)
    }

    /// The unified diff to show before writing, the file labelled `shown`.
    pub fn diff(&self, shown: &str) -> String {
        match &self.old {
            None => edit::new_file_diff(shown, &self.new_bytes()),
            Some(old) => edit::unified_diff(shown, old, self.new_bytes().as_bytes()),
        }
    }

    /// Write the file, then read it back: an error unless it now names the head.
    pub fn write(&self) -> io::Result<()> {
        head_file::write(&self.path, &self.head)?;
        match judge(&self.path, &self.head)? {
            Verdict::Right => Ok(()),
            _ => Err(io::Error::other(
                "read back, it does not hold the head id just written",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_tells_right_missing_stale_prefix_several_and_conflicted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(head_file::NAME);
        assert_eq!(judge(&file, "abc123").unwrap(), Verdict::Missing);
        std::fs::write(&file, "abc123\n").unwrap();
        assert_eq!(judge(&file, "abc123").unwrap(), Verdict::Right);
        for (text, conflicted) in [
            ("old999\n", false),
            ("abc\n", false),
            ("abc123\nold999\n", false),
            (
                "<<<<<<< HEAD\nabc123\n=======\nold999\n>>>>>>> main\n",
                true,
            ),
        ] {
            std::fs::write(&file, text).unwrap();
            assert_eq!(
                judge(&file, "abc123").unwrap(),
                Verdict::Wrong {
                    found: text.trim_end().to_owned(),
                    conflicted
                },
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_rewrite_shows_its_diff_writes_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(head_file::NAME);
        let missing = Rewrite::plan(&file, "abc123").unwrap().unwrap();
        assert_eq!(missing.old, None);
        assert!(missing.diff("v/head.txt").contains("+abc123"));
        missing.write().unwrap();
        assert_eq!(Rewrite::plan(&file, "abc123").unwrap(), None);

        std::fs::write(
            &file,
            "<<<<<<< HEAD\nabc123\n=======\nold999\n>>>>>>> main\n",
        )
        .unwrap();
        let conflict = Rewrite::plan(&file, "abc123").unwrap().unwrap();
        assert!(conflict.conflicted);
        let diff = conflict.diff("v/head.txt");
        assert!(
            diff.contains("-<<<<<<< HEAD") && diff.contains("-old999"),
            "{diff}"
        );
        conflict.write().unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "abc123\n");
    }

    #[test]
    fn the_place_is_the_first_versions_directory_and_strays_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let versions = dir.path().join("alembic/versions");
        let other = dir.path().join("more");
        std::fs::create_dir_all(&versions).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let dirs = [versions.clone(), other.clone()];
        let place = Place::of(&dirs).unwrap();
        assert_eq!(place.path, versions.join(head_file::NAME));
        assert!(place.elsewhere.is_empty());
        std::fs::write(dir.path().join("alembic").join(head_file::NAME), "x\n").unwrap();
        std::fs::write(other.join(head_file::NAME), "x\n").unwrap();
        let place = Place::of(&dirs).unwrap();
        assert_eq!(
            place.elsewhere,
            vec![
                other.join(head_file::NAME),
                dir.path().join("alembic").join(head_file::NAME)
            ]
        );
        assert_eq!(Place::of(&[]), None);
    }
}
