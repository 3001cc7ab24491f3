//! What `fix-heads` changed (or, with `--dry-run`, would change), in the components document.

use schemars::JsonSchema;
use serde::Serialize;

/// A repoint: one migration's down_revision moved onto the other branch's head.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "Repoint")]
pub struct RepointReport {
    /// The migration whose down_revision changed. Stable.
    pub revision: String,
    /// Its file, relative to the workspace root. Stable.
    pub file: String,
    /// Its down_revision before. Stable.
    pub from: String,
    /// Its down_revision after. Stable.
    pub onto: String,
    /// Unified diff of the file. Unstable: format.
    pub diff: String,
    /// The database had applied the moved branch: walked back to the fork point, then upgraded.
    /// Stable.
    pub walk_back: bool,
    /// The file was rewritten (false under `--dry-run`). Stable.
    pub written: bool,
    /// The new order upgraded a scratch copy of the database before the file was written.
    /// Stable.
    pub proved: bool,
    /// How it was proved, or why it was not. Unstable: wording.
    pub proof: String,
}

/// An empty merge migration joining main's heads.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "Merge")]
pub struct MergeReport {
    /// The new merge migration's id. Stable.
    pub revision: String,
    /// Its file, relative to the workspace root. Stable.
    pub file: String,
    /// Its down_revision: the heads it joins, in Alembic's head order. Stable.
    pub heads: Vec<String>,
    /// Unified diff (the new file). Unstable: format.
    pub diff: String,
    /// The file was written (false under `--dry-run`). Stable.
    pub written: bool,
}

/// The head file (`[tool.db-migrate] head-file = true`) rewritten to name the one head.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "HeadFile")]
pub struct HeadFileReport {
    /// The file (`head.txt`), relative to the workspace root. Stable.
    pub file: String,
    /// The head id it names after the rewrite. Stable.
    pub head: String,
    /// What it held before, trimmed; absent when it did not exist. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// It held git's conflict markers: the rewrite resolves the conflict; `git add` it next.
    /// Stable.
    pub conflicted: bool,
    /// Unified diff of the file. Unstable: format.
    pub diff: String,
    /// The file was rewritten (false under `--dry-run`). Stable.
    pub written: bool,
}
