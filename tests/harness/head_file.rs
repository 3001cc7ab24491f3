//! The opt-in head file (`[tool.db-migrate] head-file = true`) in test workspaces: turn it on,
//! read and write a component's `head.txt`, and a git command that may fail (the merge that
//! conflicts in `head.txt`).

use std::process::Command;

use super::util::output_text;
use super::workspace::{Component, Workspace};

/// Write `pyproject.toml` at the workspace root with `[tool.db-migrate] head-file = true`.
pub fn enable_head_file(ws: &Workspace) {
    ws.write_file("pyproject.toml", "[tool.db-migrate]\nhead-file = true\n");
}

/// The component's head file, relative to the workspace root.
pub fn head_txt(c: Component) -> String {
    format!("{}/alembic/versions/head.txt", c.package_dir())
}

/// Set the component's head file to `text` (written as is).
pub fn write_head_txt(ws: &Workspace, c: Component, text: &str) {
    ws.write_file(&head_txt(c), text);
}

/// The component's head file's text.
pub fn read_head_txt(ws: &Workspace, c: Component) -> String {
    ws.read_file(&head_txt(c))
}

/// `git -C root ARGS` like [`super::git`], but a failure is returned, not a panic: whether it
/// succeeded, and what it printed.
pub fn git_may_fail(root: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = super::git::git_command(root, args)
        .output()
        .expect("git runs (apt-get install git)");
    (out.status.success(), output_text(&out))
}
