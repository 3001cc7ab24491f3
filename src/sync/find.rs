//! Where the revisions this checkout lacks still exist in git. Candidates, in order: the
//! branches most recently checked out (HEAD's reflog), the other local and remote branches (the
//! most recently committed first), then every commit a reflog names (a deleted branch's commits
//! stay there until the reflog expires). A revision is found by the `revision = '…'` of a file
//! under the component's versions directories at that commit, read statically as the checkout's
//! own files are; its ancestors are looked for too, down to revisions the checkout has.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::git::{GitError, Repo};
use crate::graph::Revision;
use crate::revisions::reader::{self, Read};

/// Where a revision file was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The branch (`feature`, `origin/feature`); `None` for a commit only a reflog names.
    pub branch: Option<String>,
    pub commit: String,
    /// The commit's date, ISO 8601.
    pub date: String,
}

impl Source {
    /// `branch feature (a1b2c3d, 2026-12-03)` or `commit a1b2c3d of 2026-12-03 (reflog)`.
    pub fn describe(&self) -> String {
        let short = &self.commit[..self.commit.len().min(10)];
        let day = &self.date[..self.date.len().min(10)];
        match &self.branch {
            Some(b) => format!("branch {b} ({short}, {day})"),
            None => format!("commit {short} of {day} (reflog)"),
        }
    }
}

/// A revision file this checkout lacks, as git holds it.
#[derive(Debug, Clone)]
pub struct Found {
    pub revision: Revision,
    /// The file's path at that commit, relative to the top of the repository.
    pub path: PathBuf,
    pub content: Vec<u8>,
    pub source: Source,
}

/// The outcome: what was found (newest first, as the walk back reverts them) and what was not.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub found: Vec<Found>,
    pub missing: Vec<String>,
}

/// Look for `wanted` (and their ancestors that `have` says the checkout lacks) in the files
/// under `dirs` (the component's versions directories, inside the work tree) at other commits.
pub fn find(
    repo: &Repo,
    dirs: &[PathBuf],
    have: &dyn Fn(&str) -> bool,
    wanted: &[String],
) -> Result<Search, GitError> {
    let mut needed: Vec<String> = wanted.iter().filter(|w| !have(w)).cloned().collect();
    let mut search = Search::default();
    if needed.is_empty() {
        return Ok(search);
    }
    let mut cache: HashMap<String, Option<(Revision, Vec<u8>)>> = HashMap::new();
    let mut done: HashSet<String> = HashSet::new();
    let candidates = candidates(repo)?;
    // Commits whose versions directories are the same trees hold the same files: read each set
    // once (a long reflog mostly repeats a few trees).
    let commits: Vec<String> = candidates.iter().map(|c| c.commit.clone()).collect();
    let mut keys: Vec<Vec<Option<String>>> = vec![Vec::new(); commits.len()];
    for dir in dirs {
        let trees = match repo.trees_at(&commits, dir) {
            Ok(t) => t,
            Err(GitError::OutsideWorkTree { .. }) => vec![None; commits.len()],
            Err(e) => return Err(e),
        };
        for (key, tree) in keys.iter_mut().zip(trees) {
            key.push(tree);
        }
    }
    let mut seen_trees: HashSet<Vec<Option<String>>> = HashSet::new();
    for (source, key) in candidates.into_iter().zip(keys) {
        if needed.is_empty() {
            break;
        }
        if key.iter().all(Option::is_none) || !seen_trees.insert(key) {
            continue;
        }
        let files = files_at(repo, &source.commit, dirs, &mut cache)?;
        // Resolve what this commit holds, following parents it also holds.
        let mut progress = true;
        while progress {
            progress = false;
            let mut i = 0;
            while i < needed.len() {
                let Some((path, oid)) = files.get(&needed[i]) else {
                    i += 1;
                    continue;
                };
                let id = needed.remove(i);
                let Some(Some((revision, content))) = cache.get(oid) else {
                    continue;
                };
                done.insert(id);
                for parent in revision.parents.iter().chain(&revision.depends_on) {
                    if !have(parent) && !done.contains(parent) && !needed.contains(parent) {
                        needed.push(parent.clone());
                    }
                }
                search.found.push(Found {
                    revision: revision.clone(),
                    path: path.clone(),
                    content: content.clone(),
                    source: source.clone(),
                });
                progress = true;
            }
        }
    }
    search.missing = needed;
    Ok(search)
}

/// The commits to look in, in the order to look.
fn candidates(repo: &Repo) -> Result<Vec<Source>, GitError> {
    let tips = repo.branches_by_date()?;
    let recent = repo.recent_checkouts()?;
    let mut ordered: Vec<Source> = Vec::new();
    let as_source = |t: &crate::git::Tip| Source {
        branch: Some(t.name.clone()),
        commit: t.commit.clone(),
        date: t.date.clone(),
    };
    for name in &recent {
        if let Some(tip) = tips.iter().find(|t| &t.name == name) {
            ordered.push(as_source(tip));
        }
    }
    for tip in &tips {
        if !recent.contains(&tip.name) {
            ordered.push(as_source(tip));
        }
    }
    for (commit, date) in repo.reflog_commits()? {
        ordered.push(Source {
            branch: None,
            commit,
            date,
        });
    }
    Ok(ordered)
}

/// Revision id → (path, blob) of the `.py` files under `dirs` at `commit`; blobs not read yet are
/// read (one `cat-file --batch` per commit) and parsed into `cache`.
fn files_at(
    repo: &Repo,
    commit: &str,
    dirs: &[PathBuf],
    cache: &mut HashMap<String, Option<(Revision, Vec<u8>)>>,
) -> Result<HashMap<String, (PathBuf, String)>, GitError> {
    let mut listed: Vec<(PathBuf, String)> = Vec::new();
    for dir in dirs {
        match repo.blobs_at(commit, dir) {
            Ok(files) => listed.extend(
                files
                    .into_iter()
                    .filter(|(p, _)| p.extension().is_some_and(|e| e == "py")),
            ),
            // A versions directory outside the work tree (an installed package) is not in git.
            Err(GitError::OutsideWorkTree { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let unread: Vec<(PathBuf, String)> = listed
        .iter()
        .filter(|(_, oid)| !cache.contains_key(oid))
        .cloned()
        .collect();
    if !unread.is_empty() {
        let oids: Vec<String> = unread.iter().map(|(_, o)| o.clone()).collect();
        for ((path, oid), content) in unread.into_iter().zip(repo.blobs(&oids)?) {
            let parsed = content.and_then(|c| match reader::read_file(Path::new(&path), &c) {
                Read::Revision(r) => Some((r, c)),
                _ => None,
            });
            cache.insert(oid, parsed);
        }
    }
    Ok(listed
        .into_iter()
        .filter_map(|(path, oid)| {
            let id = cache.get(&oid)?.as_ref()?.0.id.clone();
            Some((id, (path, oid)))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::tests::git;

    fn revision_file(id: &str, parent: Option<&str>) -> String {
        let down = parent.map_or("None".to_owned(), |p| format!("'{p}'"));
        format!("\"\"\"{id} message\"\"\"\nrevision = '{id}'\ndown_revision = {down}\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n")
    }

    fn add(dir: &Path, id: &str, parent: Option<&str>) {
        let versions = dir.join("migrations/versions");
        std::fs::create_dir_all(&versions).unwrap();
        std::fs::write(
            versions.join(format!("{id}_rev.py")),
            revision_file(id, parent),
        )
        .unwrap();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", id]);
    }

    /// main: a → d; feature (from a): b → c, checked out, then main checked out again.
    fn switched() -> (tempfile::TempDir, Repo) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        git(dir, &["config", "user.name", "Test"]);
        git(dir, &["config", "user.email", "test@example.com"]);
        git(dir, &["config", "commit.gpgsign", "false"]);
        add(dir, "a", None);
        git(dir, &["switch", "-q", "-c", "feature"]);
        add(dir, "b", Some("a"));
        add(dir, "c", Some("b"));
        git(dir, &["switch", "-q", "-c", "other", "main"]);
        git(dir, &["switch", "-q", "main"]);
        add(dir, "d", Some("a"));
        let repo = Repo::discover(dir).unwrap();
        (tmp, repo)
    }

    fn ids(search: &Search) -> Vec<&str> {
        search
            .found
            .iter()
            .map(|f| f.revision.id.as_str())
            .collect()
    }

    #[test]
    fn the_missing_revision_and_its_ancestors_come_from_the_branch_holding_them() {
        let (tmp, repo) = switched();
        let dirs = [tmp.path().join("migrations/versions")];
        let have = |id: &str| matches!(id, "a" | "d");
        let search = find(&repo, &dirs, &have, &["c".to_owned()]).unwrap();
        assert_eq!(ids(&search), ["c", "b"]);
        assert!(search.missing.is_empty());
        let c = &search.found[0];
        assert_eq!(c.source.branch.as_deref(), Some("feature"));
        assert_eq!(c.path, Path::new("migrations/versions/c_rev.py"));
        assert_eq!(
            String::from_utf8(c.content.clone()).unwrap(),
            revision_file("c", Some("b"))
        );
        assert!(c.source.describe().starts_with("branch feature ("));
        // The work tree was not touched.
        assert_eq!(git(tmp.path(), &["status", "--porcelain"]), "");
    }

    #[test]
    fn a_deleted_branch_is_found_through_the_reflog() {
        let (tmp, repo) = switched();
        git(tmp.path(), &["branch", "-q", "-D", "feature"]);
        let dirs = [tmp.path().join("migrations/versions")];
        let have = |id: &str| matches!(id, "a" | "d");
        let search = find(&repo, &dirs, &have, &["c".to_owned()]).unwrap();
        assert_eq!(ids(&search), ["c", "b"]);
        assert_eq!(search.found[0].source.branch, None);
        assert!(search.found[0].source.describe().ends_with("(reflog)"));
    }

    #[test]
    fn a_revision_in_no_commit_is_reported_missing() {
        let (tmp, repo) = switched();
        let dirs = [tmp.path().join("migrations/versions")];
        let have = |id: &str| matches!(id, "a" | "d");
        let search = find(&repo, &dirs, &have, &["nowhere".to_owned()]).unwrap();
        assert!(search.found.is_empty());
        assert_eq!(search.missing, ["nowhere"]);
        // Nothing wanted that the checkout lacks: no git call needed, nothing found.
        let search = find(&repo, &dirs, &have, &["d".to_owned()]).unwrap();
        assert!(search.found.is_empty() && search.missing.is_empty());
    }

    #[test]
    fn the_most_recently_checked_out_branch_is_preferred() {
        let (tmp, repo) = switched();
        let dir = tmp.path();
        // A second branch holding c, committed later but checked out earlier than feature.
        git(dir, &["branch", "-q", "copy", "feature"]);
        git(dir, &["switch", "-q", "copy"]);
        git(dir, &["commit", "-q", "--allow-empty", "-m", "later"]);
        git(dir, &["switch", "-q", "feature"]);
        git(dir, &["switch", "-q", "main"]);
        let dirs = [dir.join("migrations/versions")];
        let have = |id: &str| matches!(id, "a" | "d");
        let search = find(&repo, &dirs, &have, &["c".to_owned()]).unwrap();
        assert_eq!(search.found[0].source.branch.as_deref(), Some("feature"));
    }
}
