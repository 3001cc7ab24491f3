//! The document of `new`: the revision it wrote, what db-migrate changed in Alembic's file, and
//! what to do next. A refusal or failure prints the failure document instead.

use schemars::JsonSchema;
use serde::Serialize;

/// `db-migrate new --format json`. Stable.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "NewDocument")]
pub struct Report {
    /// The component (`manager`, …, or the ini's file name for `--config`). Stable.
    pub component: String,
    /// The ini Alembic ran with, as passed. Stable.
    pub config: String,
    /// The new revision's id. Stable.
    pub revision: String,
    /// Its down_revision: the head it sits on; null for a component's first revision. Stable.
    pub down_revision: Option<String>,
    /// The file Alembic wrote, relative to the workspace root. Stable.
    pub file: String,
    /// The revision's message (`-m`). Stable.
    pub message: String,
    /// What db-migrate changed in Alembic's file, one entry per change (the file is otherwise
    /// Alembic's, template and post-write hooks included). Unstable: wording.
    pub added: Vec<String>,
    /// `head.txt`, relative to the workspace root, when `[tool.db-migrate] head-file = true`: it
    /// now names `revision`. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_file: Option<String>,
    /// `--autogenerate`: the scratch database the models were compared with. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autogenerate: Option<Autogenerate>,
    /// The commands to run next, pasteable (edit the file, upgrade, verify, check). Unstable:
    /// wording.
    pub next: Vec<String>,
}

/// Where `--autogenerate` compared the models.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "NewAutogenerate")]
pub struct Autogenerate {
    /// The scratch database's name. Stable.
    pub database: String,
    /// How it was made: `template` (a copy of the configured database), `dump-restore` (the
    /// same, through pg_dump) or `empty` (the configured database does not exist or is not on
    /// this history). Stable.
    pub made: &'static str,
    /// The database it was copied from; absent for `empty`. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// It was dropped afterwards. Stable.
    pub dropped: bool,
}
