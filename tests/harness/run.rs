//! Running the binary in a scenario and reading what it printed.

use std::process::Output;

use serde_json::Value;

use super::revision::Rev;
use super::util::{output_text, stderr_of, stdout_of};
use super::workspace::{assert_no_secret, Component, Workspace};

/// A finished db-migrate run.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Exit status, stdout and stderr together, for assertion messages.
    pub shown: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.shown))
    }
}

pub fn run(cmd: &mut assert_cmd::Command) -> Run {
    let out: Output = cmd.output().expect("run db-migrate");
    Run {
        code: out.status.code(),
        stdout: stdout_of(&out),
        stderr: stderr_of(&out),
        shown: output_text(&out),
    }
}

/// `db-migrate <args>` in the workspace root; asserts no password leaked.
pub fn db_migrate(ws: &Workspace, args: &[&str]) -> Run {
    let r = run(ws.cmd().args(args));
    assert_no_secret(&r.shown, ws);
    r
}

/// The object of `component` in a JSON report's `components`.
pub fn component_json(doc: &Value, component: Component) -> &Value {
    doc["components"]
        .as_array()
        .unwrap_or_else(|| panic!("no components array: {doc:#}"))
        .iter()
        .find(|c| c["component"] == component.name())
        .unwrap_or_else(|| panic!("{} missing from {doc:#}", component.name()))
}

/// A JSON array of strings.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_owned()
        })
        .collect()
}

/// The absolute path of `r`'s file in `c`'s versions directory.
pub fn file_of(ws: &Workspace, c: Component, r: &Rev) -> String {
    ws.versions_dir(c)
        .join(r.file_name())
        .to_string_lossy()
        .into_owned()
}
