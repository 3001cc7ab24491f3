//! Bringing a database back to what this checkout holds after a branch switch: the revisions in
//! `alembic_version` that the checkout lacks are found in git (other branches, the reflog), their
//! files extracted privately, walked back with their own `downgrade()`, then the checkout's head
//! applied.

pub mod find;
pub mod scratch;

use crate::git::{GitError, Repo};
use crate::graph::Graph;
use crate::revisions::locate;
use crate::workspace::Config;

/// Why git could not be asked.
#[derive(Debug)]
pub enum Unsearchable {
    /// The workspace is not in a git work tree (or git cannot run).
    NoRepo,
    /// The versions directories cannot be located.
    Locate(String),
    Git(GitError),
}

impl std::fmt::Display for Unsearchable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsearchable::NoRepo => f.write_str("the workspace is not in a git work tree"),
            Unsearchable::Locate(why) => write!(f, "the versions directories: {why}"),
            Unsearchable::Git(e) => e.fmt(f),
        }
    }
}

/// Look in git for the revisions in `current` that `graph` (this checkout) lacks, and their
/// ancestors down to revisions the checkout has.
pub fn search(
    config: &Config,
    graph: &Graph,
    current: &[String],
) -> Result<find::Search, Unsearchable> {
    let repo = Repo::discover(&config.root).ok_or(Unsearchable::NoRepo)?;
    let dirs = locate::locate(&config.ini, &config.root, &[])
        .map_err(|e| Unsearchable::Locate(e.to_string()))?
        .dirs;
    find::find(&repo, &dirs, &|id| graph.contains(id), current).map_err(Unsearchable::Git)
}

/// Where the revisions came from, in a few words: `branch feature (…)`, or several sources.
pub fn sources(found: &[find::Found]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for f in found {
        let d = f.source.describe();
        if !seen.contains(&d) {
            seen.push(d);
        }
    }
    seen.join(", ")
}

#[cfg(test)]
mod snapshot_tests;
