//! The document of `heads` and `history`: `{"components": [{…}], "error"?: {…}}`, each component
//! with its revisions (no database is read).

use schemars::JsonSchema;
use serde::Serialize;

use super::divergence::DivergenceReport;
use super::failure::Failure;

/// The heads/history document.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "GraphDocument")]
pub struct Report {
    /// One entry per component whose revisions could be read, in order. Stable.
    pub components: Vec<GraphReport>,
    /// The first failure (a component whose revisions could not be read); the exit code follows
    /// its `kind`. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// One component's revision graph.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "GraphComponent")]
pub struct GraphReport {
    /// The component's name. Stable.
    pub component: String,
    /// The ini file, as given to `-c`. Stable.
    pub config: String,
    /// `native` or `alembic`: which engine read the revisions. Stable.
    pub engine: Engine,
    /// The head revisions, in Alembic's head order. Stable.
    pub heads: Vec<String>,
    /// `heads`: the head revisions; `history`: every revision, newest first. Stable.
    pub revisions: Vec<Revision>,
    /// `heads` with several heads: each head's branch back to the fork point. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub divergence: Option<DivergenceReport>,
}

/// One migration script.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Revision {
    /// The revision id. Stable.
    pub id: String,
    /// `down_revision`: empty for a base, several for a merge point. Stable.
    pub parents: Vec<String>,
    /// `depends_on`: revision ids or branch labels. Stable.
    pub depends_on: Vec<String>,
    /// `branch_labels`. Stable.
    pub branch_labels: Vec<String>,
    /// The revision file (absent when Alembic did not say). Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The migration's message (its docstring's first line). Stable.
    pub message: String,
}

impl From<&crate::graph::Revision> for Revision {
    fn from(r: &crate::graph::Revision) -> Revision {
        Revision {
            id: r.id.clone(),
            parents: r.parents.clone(),
            depends_on: r.depends_on.clone(),
            branch_labels: r.branch_labels.clone(),
            path: r.path.clone(),
            message: r.message.clone(),
        }
    }
}

/// The engine that read the state (or the graph).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The revision files and `alembic_version`, read directly (milliseconds).
    Native,
    /// `alembic current` and `alembic history --verbose` (seconds).
    Alembic,
}

impl From<crate::inspect::Engine> for Engine {
    fn from(e: crate::inspect::Engine) -> Engine {
        use crate::inspect::Engine as E;
        match e {
            E::Alembic => Engine::Alembic,
            // `auto` is a choice, never a result: what ran is recorded, and auto runs native
            // unless it hands over to Alembic.
            E::Native | E::Auto => Engine::Native,
        }
    }
}
