//! JSON output. The serde structs here are the schema:
//! `{"components":[{"component","config","state","current","heads","pending",…}], "error"?: {…}}`.

use serde::Serialize;

use crate::error::Failure;
use crate::graph::Revision;
use crate::inspect::{Engine, Inspection};
use crate::mask;
use crate::render::next_step;
use crate::state::State;

#[derive(Debug, Serialize)]
pub struct ComponentReport {
    pub component: String,
    pub config: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// `native` or `alembic`: which engine read the state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    pub current: Vec<String>,
    pub heads: Vec<String>,
    /// Pending revision ids, in apply order.
    pub pending: Vec<String>,
    pub pending_revisions: Vec<Revision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// What the reverted revisions' downgrade() destroys (downgrades only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destructive: Vec<Destructive>,
    /// Steps Alembic ran (upgrade/downgrade), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<Step>,
    /// `roundtrip`: the revision tested and whether the schema came back identical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roundtrip: Option<Roundtrip>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Destructive {
    pub revision: String,
    pub file: String,
    pub line: usize,
    pub operation: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Roundtrip {
    pub revision: String,
    /// The schema after downgrade + re-upgrade equals the schema after the first upgrade.
    pub identical: bool,
    /// Normalised `pg_dump --schema-only` lines compared.
    pub schema_lines: usize,
    /// Unified diff, first upgrade (`-`) against the round trip (`+`); empty when identical.
    pub diff: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub direction: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub message: String,
}

impl ComponentReport {
    pub fn from_inspection(i: &Inspection) -> ComponentReport {
        ComponentReport {
            component: i.config.label.clone(),
            config: i.config.ini_arg.clone(),
            state: Some(i.state),
            engine: Some(i.engine),
            current: i.current.clone(),
            heads: i.head_ids(),
            pending: i
                .pending
                .iter()
                .map(|&p| i.graph.rev(p).id.clone())
                .collect(),
            pending_revisions: i.pending.iter().map(|&p| i.graph.rev(p).clone()).collect(),
            next: Some(next_step(i)),
            destructive: Vec::new(),
            applied: Vec::new(),
            roundtrip: None,
            error: None,
        }
    }

    pub fn failed(label: &str, config: &str, failure: &Failure) -> ComponentReport {
        ComponentReport {
            component: label.to_owned(),
            config: config.to_owned(),
            state: None,
            engine: None,
            current: Vec::new(),
            heads: Vec::new(),
            pending: Vec::new(),
            pending_revisions: Vec::new(),
            next: None,
            destructive: Vec::new(),
            applied: Vec::new(),
            roundtrip: None,
            error: Some(failure.clone()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub components: Vec<ComponentReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

#[derive(Serialize)]
struct ErrorOnly<'a> {
    error: &'a Failure,
}

/// Serialise and mask.
pub fn to_string<T: Serialize>(value: &T) -> String {
    let text = serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\":{{\"kind\":\"internal\",\"cause\":\"{e}\"}}}}"));
    mask::mask(&text).into_owned()
}

pub fn failure(f: &Failure) -> String {
    to_string(&ErrorOnly { error: f })
}
