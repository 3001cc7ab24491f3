//! JSON output. The serde structs here are the schema:
//! `{"components":[{"component","config","state","current","heads","pending",…}], "error"?: {…}}`.

use serde::Serialize;

use crate::failure::Failure;
use crate::graph::Graph;
use crate::graph::Revision;
use crate::heads::released::{Evidence, Released};
use crate::heads::{Explanation, Fix};
use crate::inspect::{Engine, Inspection, Known};
use crate::mask;
use crate::render::next_step;
use crate::state::State;
use crate::workspace::Config;

/// A component's `state`: one of the five, or `skipped` when `upgrade --all` stopped before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ReportState {
    Classified(State),
    Skipped(Skipped),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Skipped {
    Skipped,
}

/// One component. `current`, `heads`, `pending` and `pending_revisions` are absent when they are
/// not known (a failed component whose database or files could not be read), never empty for
/// "unknown".
#[derive(Debug, Serialize)]
pub struct ComponentReport {
    pub component: String,
    pub config: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ReportState>,
    /// `native` or `alembic`: which engine read the state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heads: Option<Vec<String>>,
    /// Pending revision ids, in apply order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_revisions: Option<Vec<Revision>>,
    /// Why the component was not attempted (`state: skipped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// What the reverted revisions' downgrade() destroys (downgrades only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destructive: Vec<Destructive>,
    /// Steps Alembic ran (upgrade/downgrade), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<Step>,
    /// A diverged component's branches back to the fork point, and what `fix-heads` would do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub divergence: Option<Box<DivergenceReport>>,
    /// `fix-heads`: the repoint made (or, with `--dry-run`, that would be made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repoint: Option<Box<RepointReport>>,
    /// `fix-heads`: the empty merge migration written (or, with `--dry-run`, that would be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge: Option<Box<MergeReport>>,
    /// `roundtrip`: the revision tested and whether the schema came back identical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roundtrip: Option<Roundtrip>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DivergenceReport {
    /// The newest revision every head descends from; null when they share none.
    pub fork_point: Option<String>,
    /// How released-ness was told: `{"by": "git", "upstream"}` or `{"by": "part-of", "why"}`.
    pub released_by: Evidence,
    pub branches: Vec<BranchReport>,
    /// The repoint `fix-heads` would make, when it can act.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixReport>,
    /// Why `fix-heads` would refuse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepointReport {
    /// The migration whose down_revision changed, and its file.
    pub revision: String,
    pub file: String,
    pub from: String,
    pub onto: String,
    /// Unified diff of the file.
    pub diff: String,
    /// The database had applied the moved branch: walked back to the fork point, then upgraded.
    pub walk_back: bool,
    /// The file was rewritten (false under `--dry-run`).
    pub written: bool,
    /// The new order upgraded a scratch copy of the database before the file was written.
    pub proved: bool,
    /// How it was proved, or why it was not.
    pub proof: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    /// The new merge migration's id, and its file.
    pub revision: String,
    pub file: String,
    /// Its down_revision: the heads it joins, in Alembic's head order.
    pub heads: Vec<String>,
    /// Unified diff (the new file).
    pub diff: String,
    /// The file was written (false under `--dry-run`).
    pub written: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BranchReport {
    pub head: String,
    /// From just above the fork point up to the head.
    pub revisions: Vec<BranchRevision>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BranchRevision {
    pub id: String,
    pub message: String,
    pub file: String,
    pub released: Released,
}

#[derive(Debug, Clone, Serialize)]
pub struct FixReport {
    pub command: String,
    /// `repoint` (a branch that diverged from main) or `merge` (main itself has several heads).
    pub action: &'static str,
    /// repoint: the migration whose down_revision changes, and its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onto: Option<String>,
    /// merge: the heads the empty merge migration joins, in Alembic's head order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heads: Vec<String>,
}

impl DivergenceReport {
    pub fn new(config: &Config, g: &Graph, e: &Explanation) -> DivergenceReport {
        let file = |r: usize| crate::render::text::shown_path(config, g.rev(r).path.as_deref());
        DivergenceReport {
            fork_point: e.divergence.fork.map(|f| g.rev(f).id.clone()),
            released_by: e.releases.evidence.clone(),
            branches: e
                .divergence
                .branches
                .iter()
                .map(|b| BranchReport {
                    head: g.rev(b.head).id.clone(),
                    revisions: b
                        .revisions
                        .iter()
                        .map(|&r| BranchRevision {
                            id: g.rev(r).id.clone(),
                            message: g.rev(r).message.clone(),
                            file: file(r),
                            released: e.releases.get(r),
                        })
                        .collect(),
                })
                .collect(),
            fix: e.plan.as_ref().ok().map(|fix| {
                let command = crate::render::fix_heads_hint(config, g, fix);
                match fix {
                    Fix::Repoint(r) => FixReport {
                        command,
                        action: "repoint",
                        revision: Some(g.rev(r.revision).id.clone()),
                        file: Some(file(r.revision)),
                        from: Some(g.rev(r.from).id.clone()),
                        onto: Some(g.rev(r.onto).id.clone()),
                        heads: Vec::new(),
                    },
                    Fix::Merge(m) => FixReport {
                        command,
                        action: "merge",
                        revision: None,
                        file: None,
                        from: None,
                        onto: None,
                        heads: m.heads.iter().map(|&h| g.rev(h).id.clone()).collect(),
                    },
                }
            }),
            refused: e.plan.as_ref().err().map(|why| why.describe(g)),
        }
    }
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
            state: Some(ReportState::Classified(i.state)),
            engine: Some(i.engine),
            current: Some(i.current.clone()),
            heads: Some(i.head_ids()),
            pending: Some(
                i.pending
                    .iter()
                    .map(|&p| i.graph.rev(p).id.clone())
                    .collect(),
            ),
            pending_revisions: Some(i.pending.iter().map(|&p| i.graph.rev(p).clone()).collect()),
            skipped: None,
            repoint: None,
            merge: None,
            divergence: i
                .explanation
                .as_ref()
                .map(|e| Box::new(DivergenceReport::new(&i.config, &i.graph, e))),
            next: Some(next_step(i)),
            destructive: Vec::new(),
            applied: Vec::new(),
            roundtrip: None,
            error: None,
        }
    }

    /// A component that failed, with whatever is still known about it.
    pub fn failed(label: &str, config: &str, failure: &Failure, known: &Known) -> ComponentReport {
        let mut report = match known {
            Known::Inspection(i) => ComponentReport {
                next: None,
                ..ComponentReport::from_inspection(i)
            },
            Known::Graph(graph) => ComponentReport {
                heads: Some(
                    graph
                        .heads()
                        .into_iter()
                        .map(|h| graph.rev(h).id.clone())
                        .collect(),
                ),
                ..ComponentReport::empty(label, config)
            },
            Known::Nothing => ComponentReport::empty(label, config),
        };
        report.error = Some(failure.clone());
        report
    }

    /// A component `upgrade --all` did not attempt because an earlier one failed.
    pub fn skipped(label: &str, config: &str, why: String) -> ComponentReport {
        ComponentReport {
            state: Some(ReportState::Skipped(Skipped::Skipped)),
            skipped: Some(why),
            ..ComponentReport::empty(label, config)
        }
    }

    fn empty(label: &str, config: &str) -> ComponentReport {
        ComponentReport {
            component: label.to_owned(),
            config: config.to_owned(),
            state: None,
            engine: None,
            current: None,
            heads: None,
            pending: None,
            pending_revisions: None,
            skipped: None,
            repoint: None,
            merge: None,
            divergence: None,
            next: None,
            destructive: Vec::new(),
            applied: Vec::new(),
            roundtrip: None,
            error: None,
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
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        format!("{{\"error\":{{\"kind\":\"internal-error\",\"cause\":\"{e}\"}}}}")
    });
    mask::mask(&text).into_owned()
}

pub fn failure(f: &Failure) -> String {
    to_string(&ErrorOnly { error: f })
}
