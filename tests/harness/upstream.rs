//! A real "origin" for the scenarios about the upstream branch (`check`'s merge-time heads
//! check): a bare repository the workspace pushes `main` to and fetches from, and a teammate's
//! clone that merges pull requests into it. Only the test fetches; db-migrate never does.

use std::path::{Path, PathBuf};

use super::git::{commit_all, git};

/// A bare `origin.git` and a teammate's clone `mate/`, in their own temporary directory.
pub struct Origin {
    _dir: tempfile::TempDir,
    pub bare: PathBuf,
    /// The teammate's clone, on `main`.
    pub mate: PathBuf,
}

impl Origin {
    /// Make `root` (a repository on `main` with at least one commit) a clone of a new bare
    /// origin: push `main`, fetch it back so `origin/main` exists, and point `origin/HEAD` at it
    /// as `git clone` does. The teammate clones the same origin.
    pub fn serve(root: &Path) -> Origin {
        let dir = tempfile::Builder::new()
            .prefix("db-migrate-origin-")
            .tempdir()
            .expect("create origin tempdir");
        let bare = dir.path().join("origin.git");
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        let bare_arg = bare.to_string_lossy().into_owned();
        git(root, &["remote", "add", "origin", &bare_arg]);
        git(root, &["push", "-q", "origin", "main"]);
        git(root, &["fetch", "-q", "origin"]);
        git(root, &["remote", "set-head", "origin", "main"]);
        git(dir.path(), &["clone", "-q", &bare_arg, "mate"]);
        let mate = dir.path().join("mate");
        Origin {
            _dir: dir,
            bare,
            mate,
        }
    }

    /// The teammate merges a pull request into origin's `main`: on a branch, write `files`
    /// (path relative to the repository top → content), commit, merge it with a merge commit
    /// titled `title` (as GitHub's merge button does), and push. Returns the merge commit.
    pub fn merge_pr(&self, branch: &str, files: &[(String, String)], title: &str) -> String {
        let mate = &self.mate;
        git(mate, &["pull", "-q", "--ff-only", "origin", "main"]);
        git(mate, &["checkout", "-q", "-b", branch]);
        for (rel, content) in files {
            let path = mate.join(rel);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&path, content).expect("write");
        }
        commit_all(mate, &format!("work on {branch}"));
        git(mate, &["checkout", "-q", "main"]);
        git(mate, &["merge", "-q", "--no-ff", branch, "-m", title]);
        git(mate, &["push", "-q", "origin", "main"]);
        git(mate, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Origin's `main` as the bare repository has it now (fetched or not).
    pub fn main(&self) -> String {
        git(&self.bare, &["rev-parse", "main"]).trim().to_owned()
    }
}

/// `git fetch origin` as if run `seconds` ago: the reflog entries it writes carry that time (the
/// committer date git stamps them with) and so does `.git/FETCH_HEAD`'s modification time.
pub fn fetch_long_ago(root: &Path, seconds: u64) {
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds);
    let unix = then
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["fetch", "-q", "origin"])
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_DATE", format!("@{unix} +0000"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git fetch: {}",
        super::util::output_text(&out)
    );
    let path = root.join(".git/FETCH_HEAD");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(then))
        .unwrap_or_else(|e| panic!("back-date {}: {e}", path.display()));
}
