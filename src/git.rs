//! The one place db-migrate asks git questions.
//!
//! `fix-heads` edits migration files, so before it touches one it must know whether the file is
//! already *released* (present on the upstream branch, so other databases may have run it) and
//! whether it has uncommitted changes someone would lose; `check` compares revision files with a
//! base ref. Those answers come from the user's own `git`, driven through its command line the
//! way pre-commit and uv do it: `git -C <top> --no-optional-locks --literal-pathspecs …`, no
//! shell, null stdin (only `cat-file --batch` is fed its request through a pipe), `LC_ALL=C`,
//! `GIT_TERMINAL_PROMPT=0`, and `-z`/porcelain output parsed as bytes, so odd file names and the
//! user's locale cannot change what is read. `--no-optional-locks` keeps `status` from writing the
//! index beside an editor or another git; `--literal-pathspecs` makes a path mean that path, never
//! a glob. No libgit2: the git the user runs, with their configuration, gives the answers they
//! would get on their command line. Environment overrides such as `GIT_DIR` are left to the caller.
//!
//! Every call blocks until git exits; they are short, local reads. A missing `git` or a directory
//! outside a work tree is `None` or a [`GitError`], never a panic.

// fix-heads uses discovery, the upstream ref, files_at and is_dirty; file_at, merge_base and
// is_tracked are for `check`'s comparisons with a base ref, which comes next.
#![allow(dead_code)]

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A git work tree, named by its top directory.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The top as git printed it (`rev-parse --show-toplevel`).
    root: PathBuf,
    /// `root` with symlinks resolved, to recognise paths the caller spelled another way.
    canonical: PathBuf,
    /// The git executable (`git`, looked up on `PATH`).
    program: OsString,
}

/// A git question that got no answer.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// git could not be started or its output not read (not installed, not on `PATH`).
    #[error("cannot run `{command}`: {source}")]
    Run {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// git ran and failed; `stderr` is the last non-empty line it wrote there.
    #[error("`{command}` failed ({status}){}", if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    /// git answered, but not in a shape this module can read, or not about a file.
    #[error("`{command}`: {detail}")]
    Unexpected { command: String, detail: String },
    /// The ref does not name a commit (or cannot be passed to git: empty, leading `-`, a newline).
    #[error("`{name}` does not name a commit in {}", root.display())]
    NoCommit { name: String, root: PathBuf },
    /// The path is not inside the work tree.
    #[error("{} is outside the git work tree {}", path.display(), root.display())]
    OutsideWorkTree { path: PathBuf, root: PathBuf },
}

impl Repo {
    /// The work tree containing `dir` (`rev-parse --show-toplevel`); `None` outside a work tree
    /// (including inside `.git` or a bare repository), when `dir` does not exist, or when `git`
    /// cannot be run. Why is logged at debug level.
    pub fn discover(dir: &Path) -> Option<Repo> {
        Self::discover_with(OsStr::new("git"), dir)
    }

    fn discover_with(program: &OsStr, dir: &Path) -> Option<Repo> {
        let out = match run(program, dir, &args(["rev-parse", "--show-toplevel"]), None) {
            Ok(out) => out,
            Err(e) => {
                tracing::debug!("no git work tree at {}: {e}", dir.display());
                return None;
            }
        };
        let mut top = out.stdout;
        if top.last() == Some(&b'\n') {
            top.pop();
        }
        if !out.status.success() || top.is_empty() {
            tracing::debug!(
                "no git work tree at {}: {}",
                dir.display(),
                last_line(&out.stderr)
            );
            return None;
        }
        let root = bytes_path(&top);
        let canonical = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        Some(Repo {
            root,
            canonical,
            program: program.to_owned(),
        })
    }

    /// The top of the work tree, as git prints it (symlinks resolved).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The upstream ref to compare with. Tried in order, with `<remote>` being `origin`, or the
    /// only remote when there is exactly one and it has another name:
    /// 1. in a GitHub Actions `pull_request` run, `<remote>/$GITHUB_BASE_REF` (the branch the pull
    ///    request targets; actions/checkout sets no `<remote>/HEAD`);
    /// 2. the remote's default branch: the symbolic ref `refs/remotes/<remote>/HEAD` that
    ///    `git clone` or `git remote set-head <remote> --auto` writes, shortened (`origin/main`);
    /// 3. `<remote>/main`;
    /// 4. the local branch `main`.
    ///
    /// `None` when none of these names a commit. Other branch names (`master`) are not guessed.
    pub fn default_upstream(&self) -> Option<String> {
        self.default_upstream_with(std::env::var("GITHUB_BASE_REF").ok().as_deref())
    }

    /// [`Repo::default_upstream`] with `GITHUB_BASE_REF` given (tests pass it).
    fn default_upstream_with(&self, github_base_ref: Option<&str>) -> Option<String> {
        let remote = self.upstream_remote();
        if let (Some(remote), Some(branch)) = (&remote, github_base_ref.filter(|b| !b.is_empty())) {
            let candidate = format!("{remote}/{branch}");
            if passable(&candidate) && self.has_ref(&format!("refs/remotes/{candidate}")) {
                return Some(candidate);
            }
        }
        if let Some(remote) = remote {
            let head = format!("refs/remotes/{remote}/HEAD");
            match self.git(&args(["symbolic-ref", "--quiet", "--short", &head]), None) {
                Ok(out) if out.status.success() => {
                    let short = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
                    if !short.is_empty() && self.has_ref(&short) {
                        return Some(short);
                    }
                    tracing::debug!("{head} points to {short:?}, which is not a commit");
                }
                Ok(_) => tracing::debug!("{head} is not set"),
                Err(e) => tracing::debug!("{e}"),
            }
            let main = format!("{remote}/main");
            if self.has_ref(&format!("refs/remotes/{main}")) {
                return Some(main);
            }
        }
        self.has_ref("refs/heads/main").then(|| "main".to_owned())
    }

    /// `origin` if it exists, else the only remote, else `None`.
    fn upstream_remote(&self) -> Option<String> {
        let out = match self.git(&args(["remote"]), None) {
            Ok(out) if out.status.success() => out.stdout,
            Ok(out) => {
                tracing::debug!("git remote failed: {}", last_line(&out.stderr));
                return None;
            }
            Err(e) => {
                tracing::debug!("{e}");
                return None;
            }
        };
        let text = String::from_utf8_lossy(&out);
        let remotes: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        match remotes.as_slice() {
            _ if remotes.contains(&"origin") => Some("origin".to_owned()),
            [only] => Some((*only).to_owned()),
            _ => None,
        }
    }

    /// Whether `name` names a commit (`rev-parse --verify --quiet <name>^{commit}`); false too
    /// when git cannot answer.
    pub fn has_ref(&self, name: &str) -> bool {
        self.commit_exists(name).unwrap_or(false)
    }

    /// `has_ref` that tells "no such commit" (`Ok(false)`) from "git failed" (`Err`).
    fn commit_exists(&self, name: &str) -> Result<bool, GitError> {
        if !passable(name) {
            return Ok(false);
        }
        let peeled = format!("{name}^{{commit}}");
        let a = args(["rev-parse", "--verify", "--quiet", &peeled]);
        let out = self.git(&a, None)?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(self.failed(&a, &out)),
        }
    }

    /// Every file path (relative to the top, `/`-separated) under `dir` at `name`
    /// (`ls-tree -r -z --name-only <name> -- <dir>`). `dir` is absolute (inside the work tree)
    /// or relative to the top; the top itself lists the whole tree, and a file lists itself.
    /// A `dir` absent at `name` gives an empty set.
    pub fn files_at(&self, name: &str, dir: &Path) -> Result<HashSet<PathBuf>, GitError> {
        self.require_passable(name)?;
        let mut a = args(["ls-tree", "-r", "-z", "--name-only", name, "--"]);
        self.push_pathspec(&mut a, dir)?;
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.explain_failure(&a, &out, &[name]));
        }
        Ok(nul_paths(&out.stdout))
    }

    /// Paths under `dirs` (relative to the top) whose content in the work tree differs from REF,
    /// deleted ones included (`diff --name-only --no-renames REF -- dirs`, one call). Files not
    /// listed are the same at REF as on disk, so they need not be read from git.
    pub fn changed_since(
        &self,
        name: &str,
        dirs: &[PathBuf],
    ) -> Result<HashSet<PathBuf>, GitError> {
        self.require_passable(name)?;
        let mut a = args([
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            name,
            "--",
        ]);
        for dir in dirs {
            self.push_pathspec(&mut a, dir)?;
        }
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.explain_failure(&a, &out, &[name]));
        }
        Ok(nul_paths(&out.stdout))
    }

    /// The content of the file `path` at `name`, `None` when no such path exists there. `path` is
    /// absolute (inside the work tree) or relative to the top. One `cat-file --batch` call that
    /// also checks `name` is a commit; the bytes are the stored blob, without eol or smudge
    /// filters. A directory at `path` is [`GitError::Unexpected`].
    pub fn file_at(&self, name: &str, path: &Path) -> Result<Option<Vec<u8>>, GitError> {
        let mut contents = self.files_content_at(name, &[path.to_path_buf()])?;
        Ok(contents.pop().flatten())
    }

    /// The contents of many `paths` at REF in one `cat-file --batch` call (one git process
    /// however many files), in the order asked; `None` where a path does not exist there.
    pub fn files_content_at(
        &self,
        name: &str,
        paths: &[PathBuf],
    ) -> Result<Vec<Option<Vec<u8>>>, GitError> {
        self.require_passable(name)?;
        let a = args(["cat-file", "--batch"]);
        let mut input = format!("{name}^{{commit}}\n").into_bytes();
        let mut rels = Vec::with_capacity(paths.len());
        for path in paths {
            let rel = self.relative(path)?;
            let rel_bytes = path_bytes(&rel);
            if rel_bytes.contains(&b'\n') {
                return Err(GitError::Unexpected {
                    command: self.command_line(&a),
                    detail: format!(
                        "{} holds a newline, which --batch cannot ask",
                        rel.display()
                    ),
                });
            }
            input.extend_from_slice(format!("{name}:").as_bytes());
            input.extend_from_slice(&rel_bytes);
            input.push(b'\n');
            rels.push(rel);
        }
        let out = self.git(&a, Some(&input))?;
        if !out.status.success() {
            return Err(self.failed(&a, &out));
        }
        let unexpected = |detail: String| GitError::Unexpected {
            command: self.command_line(&a),
            detail,
        };
        let mut records = batch_records(&out.stdout).map_err(unexpected)?.into_iter();
        if records.len() != paths.len() + 1 {
            return Err(unexpected(format!(
                "{} answers for {} requests",
                records.len(),
                paths.len() + 1
            )));
        }
        if records.next().flatten().is_none() {
            return Err(GitError::NoCommit {
                name: name.to_owned(),
                root: self.root.clone(),
            });
        }
        records
            .zip(rels)
            .map(|(record, rel)| match record {
                None => Ok(None),
                Some((kind, content)) if kind == "blob" => Ok(Some(content)),
                Some((kind, _)) => Err(unexpected(format!(
                    "{} at {name} is a {kind}, not a file",
                    rel.display()
                ))),
            })
            .collect()
    }

    /// The best common ancestor of `a` and `b` (`merge-base a b`) as a full object id; `None` when
    /// they share no history.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, GitError> {
        self.require_passable(a)?;
        self.require_passable(b)?;
        let argv = args(["merge-base", a, b]);
        let out = self.git(&argv, None)?;
        match out.status.code() {
            Some(0) => {
                let oid = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
                if oid.is_empty() || !oid.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(GitError::Unexpected {
                        command: self.command_line(&argv),
                        detail: format!("{oid:?} is not an object id"),
                    });
                }
                Ok(Some(oid))
            }
            Some(1) if out.stderr.is_empty() => Ok(None),
            _ => Err(self.explain_failure(&argv, &out, &[a, b])),
        }
    }

    /// Whether `path` has uncommitted changes: staged, unstaged (including deletion), or untracked
    /// (`status --porcelain=v2 -z --untracked-files=all -- <path>`). Ignored files are not
    /// changes. A directory is dirty when anything under it is. `path` is absolute (inside the
    /// work tree) or relative to the top.
    pub fn is_dirty(&self, path: &Path) -> Result<bool, GitError> {
        let mut a = args([
            "status",
            "--porcelain=v2",
            "-z",
            "--untracked-files=all",
            "--",
        ]);
        self.push_pathspec(&mut a, path)?;
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.failed(&a, &out));
        }
        // Records are NUL-terminated; a rename record ("2 …") is followed by its original path,
        // but the rename itself already answers the question, so that field is never read.
        for record in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            match record[0] {
                b'1' | b'2' | b'u' | b'?' => return Ok(true),
                b'#' | b'!' => {}
                _ => {
                    return Err(GitError::Unexpected {
                        command: self.command_line(&a),
                        detail: format!(
                            "unknown status record {:?}",
                            String::from_utf8_lossy(record)
                        ),
                    })
                }
            }
        }
        Ok(false)
    }

    /// Whether `path` is in the index (`ls-files -z -- <path>` lists it): a committed file or a
    /// staged new one, not an untracked one nor one removed with `git rm --cached`. A directory is
    /// tracked when a file under it is. `path` is absolute (inside the work tree) or relative to
    /// the top.
    pub fn is_tracked(&self, path: &Path) -> Result<bool, GitError> {
        let mut a = args(["ls-files", "-z", "--"]);
        self.push_pathspec(&mut a, path)?;
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.failed(&a, &out));
        }
        Ok(out.stdout.iter().any(|b| *b != 0))
    }

    /// `path` relative to the top. A relative `path` is taken relative to the top; an absolute
    /// one is matched against the top as git printed it, then as the caller may have spelled it
    /// (through a symlink, e.g. `/tmp` → `/private/tmp`): the ancestor of `path` that resolves
    /// to the top is cut off, so symlinks *inside* the work tree are kept as git sees them.
    /// Append `path` (relative to the top) as a pathspec; the top itself adds nothing (all).
    fn push_pathspec(&self, a: &mut Vec<OsString>, path: &Path) -> Result<(), GitError> {
        let rel = self.relative(path)?;
        if !rel.as_os_str().is_empty() {
            a.push(rel.into_os_string());
        }
        Ok(())
    }

    fn relative(&self, path: &Path) -> Result<PathBuf, GitError> {
        let full = normalize(&self.root.join(path));
        for top in [&self.root, &self.canonical] {
            if let Ok(rel) = full.strip_prefix(top) {
                return Ok(rel.to_path_buf());
            }
        }
        for ancestor in full.ancestors() {
            if std::fs::canonicalize(ancestor).is_ok_and(|c| c == self.canonical) {
                if let Ok(rel) = full.strip_prefix(ancestor) {
                    return Ok(rel.to_path_buf());
                }
            }
        }
        Err(GitError::OutsideWorkTree {
            path: path.to_path_buf(),
            root: self.root.clone(),
        })
    }

    fn require_passable(&self, name: &str) -> Result<(), GitError> {
        if passable(name) {
            Ok(())
        } else {
            Err(GitError::NoCommit {
                name: name.to_owned(),
                root: self.root.clone(),
            })
        }
    }

    /// A failed command that took refs: a ref that is not a commit is the likely reason and the
    /// clearer message; otherwise git's own.
    fn explain_failure(&self, a: &[OsString], out: &Output, names: &[&str]) -> GitError {
        for name in names {
            if let Ok(false) = self.commit_exists(name) {
                return GitError::NoCommit {
                    name: (*name).to_owned(),
                    root: self.root.clone(),
                };
            }
        }
        self.failed(a, out)
    }

    fn failed(&self, a: &[OsString], out: &Output) -> GitError {
        GitError::Failed {
            command: self.command_line(a),
            status: out.status.to_string(),
            stderr: last_line(&out.stderr),
        }
    }

    fn git(&self, a: &[OsString], input: Option<&[u8]>) -> Result<Output, GitError> {
        run(&self.program, &self.root, a, input)
    }

    fn command_line(&self, a: &[OsString]) -> String {
        command_line(&self.program, &self.root, a)
    }
}

/// A branch tip: `main`, `origin/feature`, with its commit and that commit's date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    pub name: String,
    pub commit: String,
    /// The committer date, ISO 8601 (`2026-12-03T04:00:00+00:00`).
    pub date: String,
}

/// Questions about other commits than the checked-out one: where a file that this checkout lacks
/// still exists (branches, remote branches, the reflog).
impl Repo {
    /// Where git looks for hooks (`rev-parse --git-path hooks`: `.git/hooks`, or `core.hooksPath`),
    /// absolute.
    pub fn hooks_dir(&self) -> Result<PathBuf, GitError> {
        let a = args(["rev-parse", "--git-path", "hooks"]);
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.failed(&a, &out));
        }
        let mut path = out.stdout;
        if path.last() == Some(&b'\n') {
            path.pop();
        }
        Ok(self.root.join(bytes_path(&path)))
    }

    /// Local and remote branches, the most recently committed first (`for-each-ref
    /// --sort=-committerdate refs/heads refs/remotes`); symbolic refs (`origin/HEAD`) left out.
    pub fn branches_by_date(&self) -> Result<Vec<Tip>, GitError> {
        let a = args([
            "for-each-ref",
            "--sort=-committerdate",
            "--format=%(objectname)%00%(refname:short)%00%(committerdate:iso-strict)%00%(symref)",
            "refs/heads",
            "refs/remotes",
        ]);
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.failed(&a, &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let mut f = line.split('\0');
                let (commit, name, date, symref) = (f.next()?, f.next()?, f.next()?, f.next()?);
                symref.is_empty().then(|| Tip {
                    name: name.to_owned(),
                    commit: commit.to_owned(),
                    date: date.to_owned(),
                })
            })
            .collect())
    }

    /// The branches HEAD's reflog says were checked out, the most recent first, each once
    /// (`checkout: moving from A to B` names A and B). Empty without a reflog.
    pub fn recent_checkouts(&self) -> Result<Vec<String>, GitError> {
        let a = args(["log", "--walk-reflogs", "--format=%gs", "HEAD", "--"]);
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Ok(Vec::new());
        }
        let mut names: Vec<String> = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(rest) = line.strip_prefix("checkout: moving from ") else {
                continue;
            };
            let Some((from, to)) = rest.split_once(" to ") else {
                continue;
            };
            for name in [to, from] {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
        }
        Ok(names)
    }

    /// Every commit a reflog names, the newest first, with its date (`rev-list --reflog
    /// --no-walk`): what a deleted branch leaves behind until the reflog expires.
    pub fn reflog_commits(&self) -> Result<Vec<(String, String)>, GitError> {
        let a = args([
            "rev-list",
            "--reflog",
            "--no-walk",
            "--no-commit-header",
            "--format=%H %cI",
        ]);
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.failed(&a, &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(c, d)| (c.to_owned(), d.to_owned()))
            .collect())
    }

    /// The files under `dir` at `commit` with their blob ids (`ls-tree -r -z`), `dir` absolute
    /// (inside the work tree) or relative to the top. Absent at that commit: empty.
    pub fn blobs_at(&self, commit: &str, dir: &Path) -> Result<Vec<(PathBuf, String)>, GitError> {
        self.require_passable(commit)?;
        let mut a = args(["ls-tree", "-r", "-z", "--full-tree", commit, "--"]);
        self.push_pathspec(&mut a, dir)?;
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.explain_failure(&a, &out, &[commit]));
        }
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter_map(|entry| {
                let tab = entry.iter().position(|b| *b == b'\t')?;
                let head = String::from_utf8_lossy(&entry[..tab]).into_owned();
                let mut f = head.split(' ');
                let (_mode, kind, oid) = (f.next()?, f.next()?, f.next()?);
                (kind == "blob").then(|| (bytes_path(&entry[tab + 1..]), oid.to_owned()))
            })
            .collect())
    }

    /// The object id of `dir` at each of `commits` (`<commit>:<dir>`), in one `cat-file
    /// --batch-check` call, in the order asked; `None` where `dir` does not exist there. Commits
    /// whose directory has the same id hold the same files.
    pub fn trees_at(
        &self,
        commits: &[String],
        dir: &Path,
    ) -> Result<Vec<Option<String>>, GitError> {
        let rel = self.relative(dir)?;
        let a = args(["cat-file", "--batch-check"]);
        let rel_bytes = path_bytes(&rel);
        let mut input = Vec::new();
        for commit in commits {
            if !passable(commit) || rel_bytes.contains(&b'\n') {
                return Err(GitError::Unexpected {
                    command: self.command_line(&a),
                    detail: format!("{commit:?}:{} cannot be asked", rel.display()),
                });
            }
            input.extend_from_slice(commit.as_bytes());
            input.push(b':');
            input.extend_from_slice(&rel_bytes);
            input.push(b'\n');
        }
        let out = self.git(&a, Some(&input))?;
        if !out.status.success() {
            return Err(self.failed(&a, &out));
        }
        let answers: Vec<Option<String>> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| match l.split(' ').collect::<Vec<_>>().as_slice() {
                [oid, _kind, _size] => Some((*oid).to_owned()),
                _ => None,
            })
            .collect();
        if answers.len() != commits.len() {
            return Err(GitError::Unexpected {
                command: self.command_line(&a),
                detail: format!("{} answers for {} requests", answers.len(), commits.len()),
            });
        }
        Ok(answers)
    }

    /// The contents of blobs by id, in one `cat-file --batch` call, in the order asked.
    pub fn blobs(&self, oids: &[String]) -> Result<Vec<Option<Vec<u8>>>, GitError> {
        let a = args(["cat-file", "--batch"]);
        let mut input = Vec::new();
        for oid in oids {
            if !oid.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(GitError::Unexpected {
                    command: self.command_line(&a),
                    detail: format!("{oid:?} is not an object id"),
                });
            }
            input.extend_from_slice(oid.as_bytes());
            input.push(b'\n');
        }
        let out = self.git(&a, Some(&input))?;
        if !out.status.success() {
            return Err(self.failed(&a, &out));
        }
        let records = batch_records(&out.stdout).map_err(|detail| GitError::Unexpected {
            command: self.command_line(&a),
            detail,
        })?;
        Ok(records.into_iter().map(|r| r.map(|(_, c)| c)).collect())
    }
}

/// How old a ref's copy is: when it was last brought here, and how that was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefAge {
    /// Seconds since the Unix epoch.
    pub unix: i64,
    pub source: AgeSource,
}

/// Where a [`RefAge`] comes from, most telling first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeSource {
    /// The last `git fetch` that brought this remote branch (`FETCH_HEAD`'s mtime, when
    /// `FETCH_HEAD` names the branch).
    Fetch,
    /// The newest entry of the ref's reflog (a fetch, pull or push that moved it).
    Reflog,
    /// Nothing says when the ref was last updated: its commit's committer date.
    Commit,
}

/// A file that a first-parent commit added (`git log --first-parent --diff-filter=A`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    /// Relative to the top.
    pub path: PathBuf,
    /// The full commit id of the first-parent commit (the merge or squash of the PR).
    pub commit: String,
    /// Its committer date, ISO 8601 (`2026-12-03T04:00:00+00:00`).
    pub date: String,
    /// Its subject line.
    pub subject: String,
}

/// Questions about the upstream branch as last fetched (`check`'s merge-time heads rule): never
/// a fetch, only what the local copy of the ref says.
impl Repo {
    /// The commit `name` resolves to, as a full object id; `None` when it names no commit.
    pub fn commit_of(&self, name: &str) -> Result<Option<String>, GitError> {
        if !passable(name) {
            return Ok(None);
        }
        let peeled = format!("{name}^{{commit}}");
        let a = args(["rev-parse", "--verify", "--quiet", &peeled]);
        let out = self.git(&a, None)?;
        match out.status.code() {
            Some(0) => Ok(Some(
                String::from_utf8_lossy(&out.stdout).trim_end().to_owned(),
            )),
            Some(1) => Ok(None),
            _ => Err(self.failed(&a, &out)),
        }
    }

    /// When the local copy of `name` was last updated. A remote-tracking branch
    /// (`refs/remotes/…`): the newer of the last fetch that named it ([`AgeSource::Fetch`]) and
    /// its newest reflog entry; a local branch: its newest reflog entry; otherwise, or without
    /// either, the commit's committer date ([`AgeSource::Commit`]).
    pub fn ref_age(&self, name: &str) -> Result<RefAge, GitError> {
        self.require_passable(name)?;
        let a = args(["rev-parse", "--symbolic-full-name", name]);
        let out = self.git(&a, None)?;
        let full = if out.status.success() {
            String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
        } else {
            String::new()
        };
        let mut best: Option<RefAge> = None;
        let mut consider = |age: Option<RefAge>| {
            if let Some(age) = age {
                if best.is_none_or(|b| age.unix > b.unix) {
                    best = Some(age);
                }
            }
        };
        if let Some(branch) = full.strip_prefix("refs/remotes/") {
            consider(self.fetched_at(branch)?);
        }
        if full.starts_with("refs/remotes/") || full.starts_with("refs/heads/") {
            consider(self.reflog_newest(&full)?);
        }
        if let Some(age) = best {
            return Ok(age);
        }
        let a = args(["log", "-1", "--format=%ct", name, "--"]);
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.explain_failure(&a, &out, &[name]));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let unix = text.trim().parse().map_err(|_| GitError::Unexpected {
            command: self.command_line(&a),
            detail: format!("{:?} is not a timestamp", text.trim()),
        })?;
        Ok(RefAge {
            unix,
            source: AgeSource::Commit,
        })
    }

    /// `FETCH_HEAD`'s mtime when it lists `remote_branch` (`origin/main` → a line
    /// `… branch 'main' of …`); a remote named with a slash is matched by any split.
    fn fetched_at(&self, remote_branch: &str) -> Result<Option<RefAge>, GitError> {
        let a = args(["rev-parse", "--git-path", "FETCH_HEAD"]);
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Ok(None);
        }
        let mut rel = out.stdout;
        if rel.last() == Some(&b'\n') {
            rel.pop();
        }
        let path = self.root.join(bytes_path(&rel));
        let (Ok(text), Ok(meta)) = (std::fs::read(&path), std::fs::metadata(&path)) else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&text);
        let names_it = remote_branch
            .match_indices('/')
            .map(|(i, _)| &remote_branch[i + 1..])
            .any(|branch| text.contains(&format!("branch '{branch}' of ")));
        let unix = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64);
        Ok(names_it.then_some(unix).flatten().map(|unix| RefAge {
            unix,
            source: AgeSource::Fetch,
        }))
    }

    /// The time of the newest reflog entry of the full ref name `full`; `None` without a reflog.
    fn reflog_newest(&self, full: &str) -> Result<Option<RefAge>, GitError> {
        let a = args(["log", "-g", "-1", "--date=unix", "--format=%gd", full, "--"]);
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let unix = text
            .trim()
            .rsplit_once("@{")
            .and_then(|(_, rest)| rest.strip_suffix('}'))
            .and_then(|n| n.parse().ok());
        Ok(unix.map(|unix| RefAge {
            unix,
            source: AgeSource::Reflog,
        }))
    }

    /// The files under `paths` (relative to the top, or absolute inside the work tree) that a
    /// commit on the first-parent line `from..to` added, newest commit first
    /// (`log --first-parent --diff-filter=A --no-renames`: for a merge commit, what the merge
    /// added relative to its first parent, i.e. when the file reached `to`'s branch).
    pub fn first_parent_additions(
        &self,
        from: &str,
        to: &str,
        paths: &[PathBuf],
    ) -> Result<Vec<Addition>, GitError> {
        self.require_passable(from)?;
        self.require_passable(to)?;
        let range = format!("{from}..{to}");
        let mut a = args([
            "log",
            "--first-parent",
            "--diff-filter=A",
            "--no-renames",
            "--name-only",
            "-z",
            "--format=%x1e%H%x1f%cI%x1f%s",
            &range,
            "--",
        ]);
        for path in paths {
            self.push_pathspec(&mut a, path)?;
        }
        let out = self.git(&a, None)?;
        if !out.status.success() {
            return Err(self.explain_failure(&a, &out, &[from, to]));
        }
        let mut found = Vec::new();
        for record in out.stdout.split(|b| *b == 0x1e).filter(|r| !r.is_empty()) {
            let mut fields = record.split(|b| *b == 0);
            let header = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
            let mut h = header.split('\x1f');
            let (Some(commit), Some(date), subject) = (h.next(), h.next(), h.next()) else {
                return Err(GitError::Unexpected {
                    command: self.command_line(&a),
                    detail: format!("unreadable log record {header:?}"),
                });
            };
            for path in fields {
                let path = path.strip_prefix(b"\n").unwrap_or(path);
                if path.is_empty() {
                    continue;
                }
                found.push(Addition {
                    path: bytes_path(path),
                    commit: commit.to_owned(),
                    date: date.to_owned(),
                    subject: subject.unwrap_or_default().to_owned(),
                });
            }
        }
        Ok(found)
    }
}

/// Run `git -C <cwd> --no-optional-locks --literal-pathspecs <a>` and collect its output. stdin is
/// null, or a pipe that `input` is written to (from a second thread, so a large answer cannot
/// block git while it still reads) and then closed.
fn run(
    program: &OsStr,
    cwd: &Path,
    a: &[OsString],
    input: Option<&[u8]>,
) -> Result<Output, GitError> {
    let mut cmd = Command::new(program);
    cmd.arg("-C")
        .arg(cwd)
        .args(["--no-optional-locks", "--literal-pathspecs"])
        .args(a)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let io_error = |source| GitError::Run {
        command: command_line(program, cwd, a),
        source,
    };
    let mut child = cmd.spawn().map_err(io_error)?;
    let stdin = child.stdin.take();
    let output = std::thread::scope(|s| {
        if let (Some(mut stdin), Some(bytes)) = (stdin, input) {
            // A write error means git exited early; its status and stderr say why.
            s.spawn(move || drop(stdin.write_all(bytes)));
        }
        child.wait_with_output()
    });
    output.map_err(io_error)
}

/// The command as a user could retype it, for messages.
fn command_line(program: &OsStr, cwd: &Path, a: &[OsString]) -> String {
    let mut words = vec![program.to_owned(), "-C".into(), cwd.into()];
    words.extend(["--no-optional-locks".into(), "--literal-pathspecs".into()]);
    words.extend(a.iter().cloned());
    words
        .iter()
        .map(|w| {
            let w = w.to_string_lossy();
            let plain = !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@^{}~+,".contains(&b));
            if plain {
                w.into_owned()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn args<const N: usize>(a: [&str; N]) -> Vec<OsString> {
    a.iter().map(OsString::from).collect()
}

/// Whether `name` can be handed to git as a revision: not empty, not an option, one line.
fn passable(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('-') && !name.contains(['\n', '\0'])
}

/// The last non-empty line of stderr, where git puts its `fatal:`.
fn last_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// One `cat-file --batch` answer: the object's type (`blob`, `tree`, `commit`) and content.
type Object = (String, Vec<u8>);

/// `cat-file --batch` output: per request, `None` for "<request> missing", or the object's type
/// and content ("<oid> <type> <size>\n<content>\n").
fn batch_records(mut out: &[u8]) -> Result<Vec<Option<Object>>, String> {
    let mut records = Vec::new();
    while !out.is_empty() {
        let end = out
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("an answer without a newline")?;
        let header = String::from_utf8_lossy(&out[..end]).into_owned();
        out = &out[end + 1..];
        if header.ends_with(" missing") {
            records.push(None);
            continue;
        }
        let fields: Vec<&str> = header.split(' ').collect();
        let [_, kind, size] = fields.as_slice() else {
            return Err(format!("unreadable answer {header:?}"));
        };
        let size: usize = size
            .parse()
            .map_err(|_| format!("unreadable answer {header:?}"))?;
        if out.len() <= size || out[size] != b'\n' {
            return Err(format!("short answer after {header:?}"));
        }
        records.push(Some(((*kind).to_owned(), out[..size].to_vec())));
        out = &out[size + 1..];
    }
    Ok(records)
}

/// `.` and `..` removed lexically (`a/./b/../c` → `a/c`); `..` at the root stays at the root.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(unix)]
fn bytes_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    PathBuf::from(OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn bytes_path(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

/// A relative path as git spells it in `<rev>:<path>`.
#[cfg(unix)]
/// Paths from a `-z` listing (NUL-separated).
fn nul_paths(stdout: &[u8]) -> HashSet<PathBuf> {
    stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(bytes_path)
        .collect()
}

fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt as _;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().replace('\\', "/").into_bytes()
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use tempfile::TempDir;

    /// Run the real git in `dir`, isolated from the machine's global and system configuration
    /// (shared with the other modules' tests that need a repository).
    pub fn git(dir: &Path, a: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(a)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {a:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn configure(dir: &Path) {
        git(dir, &["config", "user.name", "Test"]);
        git(dir, &["config", "user.email", "test@example.com"]);
        git(dir, &["config", "commit.gpgsign", "false"]);
    }

    /// A fresh repository at `dir` on branch `branch`.
    fn init(dir: &Path, branch: &str) {
        std::fs::create_dir_all(dir).unwrap();
        git(dir, &["init", "-q", "-b", branch]);
        configure(dir);
    }

    fn write(dir: &Path, rel: &str, content: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn commit_all(dir: &Path, message: &str) -> String {
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", message]);
        git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// A repository on `main` with one commit: two revision files and a neighbouring directory
    /// whose name starts like theirs.
    fn seeded() -> (TempDir, PathBuf) {
        let tmp = TempDir::new().unwrap();
        let work = tmp.path().join("work");
        init(&work, "main");
        write(&work, "versions/a.py", "revision = 'a'\n");
        write(&work, "versions/with space ü.py", "revision = 'b'\n");
        write(&work, "versions_old/x.py", "old\n");
        write(&work, "README", "readme\n");
        commit_all(&work, "base");
        (tmp, work)
    }

    /// `work`, a clone of a bare repository that `seed` pushed `main` to, so `origin/HEAD` exists.
    fn cloned(origin: &str) -> (TempDir, PathBuf) {
        let (tmp, seed) = seeded();
        git(
            tmp.path(),
            &["init", "-q", "--bare", "-b", "main", "remote.git"],
        );
        git(&seed, &["push", "-q", "../remote.git", "main"]);
        git(
            tmp.path(),
            &["clone", "-q", "-o", origin, "remote.git", "clone"],
        );
        let clone = tmp.path().join("clone");
        configure(&clone);
        (tmp, clone)
    }

    fn set(paths: &[&str]) -> HashSet<PathBuf> {
        paths.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn discover_is_none_without_a_work_tree() {
        let tmp = TempDir::new().unwrap();
        assert!(Repo::discover(tmp.path()).is_none(), "plain directory");
        assert!(Repo::discover(&tmp.path().join("missing")).is_none());
        git(tmp.path(), &["init", "-q", "--bare", "bare.git"]);
        assert!(Repo::discover(&tmp.path().join("bare.git")).is_none());
        let (_tmp, work) = seeded();
        assert!(Repo::discover(&work.join(".git")).is_none(), "inside .git");
        assert!(Repo::discover_with(OsStr::new("/nonexistent/git"), &work).is_none());
    }

    #[test]
    #[cfg(unix)]
    fn discover_finds_the_top_from_below_and_through_a_symlink() {
        let (tmp, work) = seeded();
        let top = std::fs::canonicalize(&work).unwrap();
        let repo = Repo::discover(&work.join("versions")).unwrap();
        assert_eq!(std::fs::canonicalize(repo.root()).unwrap(), top);

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&work, &link).unwrap();
        let via_link = Repo::discover(&link.join("versions")).unwrap();
        assert_eq!(std::fs::canonicalize(via_link.root()).unwrap(), top);
        // Paths spelled through the symlink are still inside the work tree.
        write(&work, "versions/a.py", "changed\n");
        assert!(via_link.is_dirty(&link.join("versions/a.py")).unwrap());
        assert!(!via_link.is_dirty(&link.join("README")).unwrap());
        assert_eq!(
            via_link.files_at("main", &link.join("versions")).unwrap(),
            set(&["versions/a.py", "versions/with space ü.py"])
        );
    }

    #[test]
    fn default_upstream_prefers_the_remote_head_then_local_main() {
        let (_tmp, clone) = cloned("origin");
        let repo = Repo::discover(&clone).unwrap();
        assert_eq!(repo.default_upstream().as_deref(), Some("origin/main"));
        // A second remote does not unseat origin.
        git(&clone, &["remote", "add", "fork", "../remote.git"]);
        git(&clone, &["fetch", "-q", "fork"]);
        git(&clone, &["remote", "set-head", "fork", "main"]);
        assert_eq!(repo.default_upstream().as_deref(), Some("origin/main"));

        let (_tmp, upstream) = cloned("upstream");
        let repo = Repo::discover(&upstream).unwrap();
        assert_eq!(repo.default_upstream().as_deref(), Some("upstream/main"));

        let (_tmp, work) = seeded();
        let repo = Repo::discover(&work).unwrap();
        assert_eq!(repo.default_upstream().as_deref(), Some("main"));
        // A remote without a HEAD symref (actions/checkout sets none): its main, then local main.
        git(&work, &["remote", "add", "origin", "../work"]);
        git(&work, &["fetch", "-q", "origin"]);
        assert_eq!(
            repo.default_upstream_with(None).as_deref(),
            Some("origin/main")
        );
        git(&work, &["branch", "-q", "release"]);
        git(&work, &["fetch", "-q", "origin"]);
        // A pull request's target branch, in GitHub Actions.
        assert_eq!(
            repo.default_upstream_with(Some("release")).as_deref(),
            Some("origin/release")
        );
        assert_eq!(
            repo.default_upstream_with(Some("gone")).as_deref(),
            Some("origin/main")
        );
        git(&work, &["update-ref", "-d", "refs/remotes/origin/main"]);
        assert_eq!(repo.default_upstream_with(None).as_deref(), Some("main"));

        let tmp = TempDir::new().unwrap();
        init(tmp.path(), "trunk");
        write(tmp.path(), "f", "f\n");
        commit_all(tmp.path(), "first");
        let repo = Repo::discover(tmp.path()).unwrap();
        assert_eq!(repo.default_upstream(), None);
    }

    #[test]
    fn has_ref_knows_commits_only() {
        let (_tmp, clone) = cloned("origin");
        let repo = Repo::discover(&clone).unwrap();
        assert!(repo.has_ref("main"));
        assert!(repo.has_ref("origin/main"));
        assert!(repo.has_ref("HEAD"));
        assert!(!repo.has_ref("nope"));
        assert!(!repo.has_ref("HEAD:README"), "a blob");
        assert!(!repo.has_ref(""));
        assert!(!repo.has_ref("--all"));
        assert!(!repo.has_ref("main\nHEAD"));
    }

    #[test]
    fn files_at_lists_a_directory_at_a_ref() {
        let (_tmp, work) = seeded();
        git(&work, &["checkout", "-q", "-b", "feature"]);
        write(&work, "versions/b.py", "revision = 'b2'\n");
        write(&work, "versions/sub/c.py", "revision = 'c'\n");
        commit_all(&work, "feature");
        write(&work, "versions/untracked.py", "");
        let repo = Repo::discover(&work).unwrap();

        let main = set(&["versions/a.py", "versions/with space ü.py"]);
        assert_eq!(repo.files_at("main", Path::new("versions")).unwrap(), main);
        assert_eq!(repo.files_at("main", &work.join("versions")).unwrap(), main);
        assert_eq!(
            repo.files_at("feature", Path::new("versions/")).unwrap(),
            set(&[
                "versions/a.py",
                "versions/with space ü.py",
                "versions/b.py",
                "versions/sub/c.py"
            ])
        );
        assert_eq!(
            repo.files_at("main", Path::new("versions/a.py")).unwrap(),
            set(&["versions/a.py"])
        );
        assert!(repo.files_at("main", Path::new("vers")).unwrap().is_empty());
        assert!(repo
            .files_at("main", Path::new("versions/*"))
            .unwrap()
            .is_empty());
        assert_eq!(repo.files_at("main", &work).unwrap().len(), 4);

        let err = repo.files_at("nope", Path::new("versions")).unwrap_err();
        assert!(
            matches!(&err, GitError::NoCommit { name, .. } if name == "nope"),
            "{err}"
        );
        let err = repo.files_at("main", Path::new("/elsewhere")).unwrap_err();
        assert!(matches!(err, GitError::OutsideWorkTree { .. }), "{err}");
        let err = repo.files_at("main", Path::new("../x")).unwrap_err();
        assert!(matches!(err, GitError::OutsideWorkTree { .. }), "{err}");
    }

    #[test]
    fn file_at_reads_a_blob_or_says_it_is_missing() {
        let (_tmp, work) = seeded();
        git(&work, &["checkout", "-q", "-b", "feature"]);
        write(&work, "versions/a.py", "revision = 'a2'\n");
        write(&work, "versions/b.py", "revision = 'b2'\n");
        commit_all(&work, "feature");
        let repo = Repo::discover(&work).unwrap();

        let a = Path::new("versions/a.py");
        assert_eq!(
            repo.file_at("main", a).unwrap().as_deref(),
            Some(&b"revision = 'a'\n"[..])
        );
        assert_eq!(
            repo.file_at("feature", &work.join(a)).unwrap().as_deref(),
            Some(&b"revision = 'a2'\n"[..])
        );
        assert_eq!(
            repo.file_at("main", Path::new("versions/with space ü.py"))
                .unwrap()
                .as_deref(),
            Some(&b"revision = 'b'\n"[..])
        );
        assert_eq!(
            repo.file_at("main", Path::new("versions/b.py")).unwrap(),
            None
        );
        assert!(repo
            .file_at("feature", Path::new("versions/b.py"))
            .unwrap()
            .is_some());

        let err = repo.file_at("nope", a).unwrap_err();
        assert!(
            matches!(&err, GitError::NoCommit { name, .. } if name == "nope"),
            "{err}"
        );
        let err = repo.file_at("main", Path::new("versions")).unwrap_err();
        assert!(err.to_string().contains("is a tree, not a file"), "{err}");
    }

    #[test]
    fn merge_base_finds_the_fork_point() {
        let (_tmp, work) = seeded();
        let base = git(&work, &["rev-parse", "HEAD"]).trim().to_owned();
        git(&work, &["checkout", "-q", "-b", "feature"]);
        write(&work, "versions/b.py", "b\n");
        commit_all(&work, "feature");
        git(&work, &["checkout", "-q", "main"]);
        write(&work, "versions/c.py", "c\n");
        commit_all(&work, "main moves on");
        git(&work, &["checkout", "-q", "--orphan", "unrelated"]);
        commit_all(&work, "no shared history");
        let repo = Repo::discover(&work).unwrap();

        assert_eq!(repo.merge_base("main", "feature").unwrap(), Some(base));
        assert_eq!(repo.merge_base("main", "unrelated").unwrap(), None);
        let err = repo.merge_base("main", "nope").unwrap_err();
        assert!(
            matches!(&err, GitError::NoCommit { name, .. } if name == "nope"),
            "{err}"
        );
    }

    #[test]
    fn is_dirty_sees_staged_unstaged_and_untracked_changes() {
        let (_tmp, work) = seeded();
        write(&work, ".gitignore", "*.log\n");
        commit_all(&work, "ignore logs");
        let repo = Repo::discover(&work).unwrap();
        let a = Path::new("versions/a.py");
        assert!(!repo.is_dirty(a).unwrap(), "clean");
        assert!(!repo.is_dirty(&work).unwrap(), "clean tree");

        write(&work, "versions/a.py", "modified\n");
        assert!(repo.is_dirty(a).unwrap(), "modified");
        assert!(repo.is_dirty(&work.join(a)).unwrap(), "absolute");
        assert!(
            repo.is_dirty(Path::new("versions")).unwrap(),
            "its directory"
        );
        assert!(!repo.is_dirty(Path::new("README")).unwrap(), "another file");

        git(&work, &["add", "versions/a.py"]);
        assert!(repo.is_dirty(a).unwrap(), "staged");
        git(&work, &["commit", "-q", "-m", "commit a"]);
        assert!(!repo.is_dirty(a).unwrap(), "committed");

        write(&work, "new/dir/n.py", "n\n");
        assert!(
            repo.is_dirty(Path::new("new/dir/n.py")).unwrap(),
            "untracked"
        );
        write(&work, "debug.log", "log\n");
        assert!(!repo.is_dirty(Path::new("debug.log")).unwrap(), "ignored");

        std::fs::remove_file(work.join("README")).unwrap();
        assert!(repo.is_dirty(Path::new("README")).unwrap(), "deleted");

        git(
            &work,
            &["mv", "versions/with space ü.py", "versions/renamed.py"],
        );
        assert!(
            repo.is_dirty(Path::new("versions/renamed.py")).unwrap(),
            "renamed"
        );
        assert!(
            !repo.is_dirty(Path::new("versions/never.py")).unwrap(),
            "nonexistent"
        );
    }

    #[test]
    fn is_tracked_means_in_the_index() {
        let (_tmp, work) = seeded();
        let repo = Repo::discover(&work).unwrap();
        assert!(repo.is_tracked(Path::new("versions/a.py")).unwrap());
        assert!(repo
            .is_tracked(&work.join("versions/with space ü.py"))
            .unwrap());
        assert!(repo.is_tracked(Path::new("versions")).unwrap());
        assert!(!repo.is_tracked(Path::new("versions/never.py")).unwrap());

        write(&work, "versions/new.py", "new\n");
        assert!(
            !repo.is_tracked(Path::new("versions/new.py")).unwrap(),
            "untracked"
        );
        git(&work, &["add", "versions/new.py"]);
        assert!(
            repo.is_tracked(Path::new("versions/new.py")).unwrap(),
            "staged"
        );
        git(&work, &["rm", "-q", "--cached", "versions/a.py"]);
        assert!(
            !repo.is_tracked(Path::new("versions/a.py")).unwrap(),
            "rm --cached"
        );
    }

    #[test]
    fn a_vanished_repository_is_an_error_naming_the_command() {
        let (_tmp, work) = seeded();
        let repo = Repo::discover(&work).unwrap();
        std::fs::remove_dir_all(work.join(".git")).unwrap();
        let err = repo.is_dirty(Path::new("README")).unwrap_err();
        let GitError::Failed {
            command, stderr, ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert!(command.contains("--no-optional-locks"), "{command}");
        assert!(command.contains("status --porcelain=v2 -z"), "{command}");
        assert!(
            stderr.starts_with("fatal: not a git repository"),
            "{stderr}"
        );
        assert!(
            err.to_string().contains(": fatal: not a git repository"),
            "{err}"
        );
        assert!(!repo.has_ref("main"));
        assert!(repo.default_upstream().is_none());
    }

    #[test]
    fn a_missing_git_is_an_error_value() {
        let (_tmp, work) = seeded();
        let repo = Repo {
            program: "/nonexistent/git".into(),
            ..Repo::discover(&work).unwrap()
        };
        let err = repo.is_tracked(Path::new("README")).unwrap_err();
        assert!(matches!(err, GitError::Run { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("cannot run `/nonexistent/git -C "),
            "{err}"
        );
        assert!(!repo.has_ref("main"));
    }

    #[test]
    fn batch_answers_are_parsed_by_size() {
        let out = b"abc commit 3\nx\ny\nREF:p q missing\nabc blob 0\n\n";
        assert_eq!(
            batch_records(out).unwrap(),
            vec![
                Some(("commit".to_owned(), b"x\ny".to_vec())),
                None,
                Some(("blob".to_owned(), Vec::new())),
            ]
        );
        assert!(batch_records(b"abc blob 5\nab\n").is_err());
        assert!(batch_records(b"abc blob").is_err());
    }
}

#[cfg(test)]
mod upstream_tests {
    use super::tests::git;
    use super::*;
    use tempfile::TempDir;

    fn commit(dir: &Path, file: &str, message: &str) {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, message).unwrap();
        git(dir, &["add", "-A"]);
        git(
            dir,
            &[
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-q",
                "-m",
                message,
            ],
        );
    }

    #[test]
    fn first_parent_additions_tell_when_a_file_reached_the_branch() {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        commit(dir, "v/a.py", "base");
        let start = git(dir, &["rev-parse", "HEAD"]).trim().to_owned();
        git(dir, &["checkout", "-q", "-b", "pr"]);
        commit(dir, "v/b.py", "add b on a branch");
        commit(dir, "other/x.py", "elsewhere");
        git(dir, &["checkout", "-q", "main"]);
        commit(dir, "v/c.py", "add c directly");
        git(
            dir,
            &[
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "merge",
                "-q",
                "--no-ff",
                "pr",
                "-m",
                "Merge pull request #7",
            ],
        );
        let merge = git(dir, &["rev-parse", "HEAD"]).trim().to_owned();
        let repo = Repo::discover(dir).unwrap();
        let found = repo
            .first_parent_additions(&start, "main", &[PathBuf::from("v")])
            .unwrap();
        let shown: Vec<(String, String, String)> = found
            .iter()
            .map(|a| {
                (
                    a.path.display().to_string(),
                    a.commit.clone(),
                    a.subject.clone(),
                )
            })
            .collect();
        let direct = git(dir, &["rev-parse", "HEAD^1"]).trim().to_owned();
        assert_eq!(
            shown,
            [
                ("v/b.py".into(), merge, "Merge pull request #7".into()),
                ("v/c.py".into(), direct, "add c directly".into()),
            ]
        );
        assert!(found[0].date.starts_with("20"), "{:?}", found[0]);
        assert!(repo
            .first_parent_additions("main", "main", &[PathBuf::from("v")])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn ref_age_prefers_the_fetch_then_the_reflog_then_the_commit() {
        let tmp = TempDir::new().unwrap();
        let origin = tmp.path().join("origin");
        std::fs::create_dir_all(&origin).unwrap();
        git(&origin, &["init", "-q", "-b", "main"]);
        commit(&origin, "a", "one");
        git(tmp.path(), &["clone", "-q", "origin", "clone"]);
        let clone = tmp.path().join("clone");
        let repo = Repo::discover(&clone).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let back_date = |secs: u64| {
            let old = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
            std::fs::File::options()
                .write(true)
                .open(clone.join(".git/FETCH_HEAD"))
                .unwrap()
                .set_modified(old)
                .unwrap();
        };
        // A fresh clone: origin/main has no reflog (packed) and there is no FETCH_HEAD yet.
        assert_eq!(
            repo.ref_age("origin/main").unwrap().source,
            AgeSource::Commit
        );
        // A fetch that moved nothing still tells that the ref was current then.
        git(&clone, &["fetch", "-q", "origin"]);
        back_date(3600);
        let age = repo.ref_age("origin/main").unwrap();
        assert_eq!(age.source, AgeSource::Fetch);
        assert!((now - 3600 - age.unix).abs() < 60, "{age:?}");
        // A fetch that moved the ref leaves a reflog entry, newer than the back-dated fetch.
        commit(&origin, "b", "two");
        git(&clone, &["fetch", "-q", "origin"]);
        back_date(7200);
        let age = repo.ref_age("origin/main").unwrap();
        assert_eq!(age.source, AgeSource::Reflog);
        assert!((now - age.unix).abs() < 60, "{age:?}");
        // Without a reflog or a fetch: the commit's date.
        let head = git(&clone, &["rev-parse", "HEAD"]).trim().to_owned();
        let age = repo.ref_age(&head).unwrap();
        assert_eq!(age.source, AgeSource::Commit);
        let tip = git(&clone, &["rev-parse", "origin/main"]).trim().to_owned();
        assert_eq!(
            repo.commit_of("origin/main").unwrap().as_deref(),
            Some(tip.as_str())
        );
        assert_eq!(repo.commit_of("nope").unwrap(), None);
        assert!(repo.ref_age("nope").is_err());
    }
}
