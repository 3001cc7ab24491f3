//! Is a migration released? With a git work tree: its file exists on the upstream ref (given with
//! `--upstream`, else the remote's default branch, else `main`). Outside git, or when no ref was
//! given and neither default exists: its `# Part of:` comment (`NEXT_RELEASE_VERSION` =
//! unreleased, a version = released), a hint only, since not every file carries one. A ref given
//! with `--upstream` that does not exist is refused ([`require_upstream`]): falling back would
//! let a typo move a migration that is on main. The evidence used is always reported.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::failure::{Failure, Kind};
use crate::git::Repo;
use crate::graph::Graph;
use crate::remediation::select_flag;
use crate::workspace::shell::word;
use crate::workspace::Config;

/// The placeholder a migration carries until a release script freezes it to a version.
pub const PLACEHOLDER: &str = "NEXT_RELEASE_VERSION";

static PART_OF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)#\s*Part of:\s*([^\r\n]*?)\s*$").expect("valid regex"));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    Yes,
    No,
    /// Neither git nor a `# Part of:` comment tells.
    Unknown,
}

/// How released-ness was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// The file exists on this ref.
    Git { upstream: String },
    /// `# Part of:` comments, because git could not tell (`why`).
    PartOf { why: String },
}

impl Evidence {
    /// Completes "released when …".
    pub fn describe(&self) -> String {
        match self {
            Evidence::Git { upstream } => format!("the file exists on {upstream} (git)"),
            Evidence::PartOf { why } => format!(
                "its `# Part of:` comment names a version ({why}; a file without the comment is unknown)"
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Releases {
    pub evidence: Evidence,
    pub of: HashMap<usize, Released>,
}

impl Releases {
    pub fn get(&self, rev: usize) -> Released {
        self.of.get(&rev).copied().unwrap_or(Released::Unknown)
    }
}

/// An `--upstream` given on the command line must name a commit of the work tree's repository;
/// a usage error (exit 2) otherwise, naming the ref and how to list the ones that exist.
pub fn require_upstream(
    config: &Config,
    command: &str,
    upstream: Option<&str>,
) -> Result<(), Failure> {
    let Some(asked) = upstream else {
        return Ok(());
    };
    let rerun = format!("db-migrate {command} {}", select_flag(config));
    match Repo::discover(&config.root) {
        Some(repo) if repo.has_ref(asked) => Ok(()),
        Some(repo) => Err(Failure::usage(
            Kind::UpstreamMissing,
            format!(
                "--upstream {asked}: no such ref in {}; nothing was changed",
                repo.root().display()
            ),
            format!(
                "list the refs (git -C {} branch --all), then rerun {rerun} --upstream REF; or drop --upstream to use the remote's default branch (else main)",
                word(&repo.root().to_string_lossy())
            ),
        )),
        None => Err(Failure::usage(
            Kind::UpstreamMissing,
            format!(
                "--upstream {asked}: {} is not in a git work tree, so there is no ref to read; nothing was changed",
                config.root.display()
            ),
            format!("drop --upstream ({rerun}): outside git, `# Part of:` comments decide what is released"),
        )),
    }
}

/// Released-ness of `revs` (graph indices), by git when it can tell, else by `# Part of:`.
pub fn classify(root: &Path, graph: &Graph, revs: &[usize], upstream: Option<&str>) -> Releases {
    let why = match Repo::discover(root) {
        None => "not a git work tree".to_owned(),
        Some(repo) => match upstream
            .map(str::to_owned)
            .or_else(|| repo.default_upstream())
        {
            Some(r) if repo.has_ref(&r) => match by_git(&repo, &r, graph, revs) {
                Ok(of) => {
                    return Releases {
                        evidence: Evidence::Git { upstream: r },
                        of,
                    }
                }
                Err(e) => format!("git could not list {r}: {e}"),
            },
            Some(r) => format!("the ref {r} does not exist in this repository"),
            None => "no upstream ref (no remote default branch, no main)".to_owned(),
        },
    };
    let of = revs
        .iter()
        .map(|&r| {
            let released = graph
                .rev(r)
                .path
                .as_deref()
                .and_then(|p| std::fs::read(p).ok())
                .map_or(Released::Unknown, |src| part_of(&src));
            (r, released)
        })
        .collect();
    Releases {
        evidence: Evidence::PartOf { why },
        of,
    }
}

/// `# Part of: NEXT_RELEASE_VERSION` → no; `# Part of: 26.8.0` (or any version) → yes.
pub fn part_of(src: &[u8]) -> Released {
    match PART_OF.captures(src) {
        Some(c) if c[1].starts_with(PLACEHOLDER.as_bytes()) => Released::No,
        Some(c) if !c[1].is_empty() => Released::Yes,
        _ => Released::Unknown,
    }
}

fn by_git(
    repo: &Repo,
    upstream: &str,
    graph: &Graph,
    revs: &[usize],
) -> Result<HashMap<usize, Released>, String> {
    let top = repo
        .root()
        .canonicalize()
        .unwrap_or_else(|_| repo.root().to_path_buf());
    // One `ls-tree` per versions directory.
    let mut by_dir: BTreeMap<PathBuf, Vec<(usize, PathBuf)>> = BTreeMap::new();
    let mut of = HashMap::new();
    for &r in revs {
        let Some(path) = graph.rev(r).path.as_deref() else {
            of.insert(r, Released::Unknown);
            continue;
        };
        let path = Path::new(path)
            .canonicalize()
            .unwrap_or_else(|_| PathBuf::from(path));
        match path.strip_prefix(&top) {
            Ok(relative) => by_dir
                .entry(relative.parent().unwrap_or(Path::new("")).to_path_buf())
                .or_default()
                .push((r, relative.to_path_buf())),
            Err(_) => {
                of.insert(r, Released::Unknown);
            }
        }
    }
    for (dir, files) in by_dir {
        let present: HashSet<PathBuf> = repo.files_at(upstream, &dir).map_err(|e| e.to_string())?;
        for (r, relative) in files {
            let released = if present.contains(&relative) {
                Released::Yes
            } else {
                Released::No
            };
            of.insert(r, released);
        }
    }
    Ok(of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_of_comments_tell_released_from_unreleased() {
        assert_eq!(
            part_of(b"down_revision = 'a'\n# Part of: NEXT_RELEASE_VERSION\n"),
            Released::No
        );
        assert_eq!(
            part_of(b"revision: str = \"b\"  # Part of: 26.8.0\n"),
            Released::Yes
        );
        assert_eq!(
            part_of(b"# Part of: 26.4.8 (backport), 26.8.0 (main)\r\n"),
            Released::Yes
        );
        assert_eq!(part_of(b"revision = 'c'\n"), Released::Unknown);
    }
}
