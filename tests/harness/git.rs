//! Real git repositories for the scenarios that need one (fix-heads, check), isolated from the
//! machine's git configuration.

use std::path::Path;
use std::process::Command;

use super::util::output_text;

/// `git -C root ARGS` with a fixed identity and no global or system config; panics with git's
/// output on failure. Returns stdout.
pub fn git(root: &Path, args: &[&str]) -> String {
    let out = git_command(root, args)
        .output()
        .expect("git runs (apt-get install git)");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        output_text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stage everything and commit.
pub fn commit_all(root: &Path, message: &str) {
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", message]);
}

/// `git -C root ARGS` with a fixed identity and no global or system config, not yet run.
pub fn git_command(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(root)
        .args(args)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    cmd
}
