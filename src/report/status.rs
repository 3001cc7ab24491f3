//! The components document: `{"components": [{…}], "error"?: {…}}`, printed by status, upgrade,
//! downgrade, migrate, roundtrip, fix-heads and current. One object per component selected, in
//! order; `error` is the first failure, which also sets the exit code.

use schemars::JsonSchema;
use serde::Serialize;

use crate::inspect::{Inspection, Known};
use crate::next_step::next_step;

use super::divergence::DivergenceReport;
use super::failure::Failure;
use super::fix_heads::{HeadFileReport, MergeReport, RepointReport};
use super::graph::{Engine, Revision};

/// The components document.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "ComponentsDocument")]
pub struct Report {
    /// One entry per component selected, in the order they were run. Stable.
    pub components: Vec<ComponentReport>,
    /// The first failure of the run (absent when nothing failed); the exit code follows its
    /// `kind`. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// A component's `state`: one of the five, or `skipped` when `upgrade --all` stopped before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "ComponentState")]
pub enum ReportState {
    Classified(State),
    Skipped(Skipped),
}

/// `skipped`: the component was not attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "SkippedState")]
pub enum Skipped {
    Skipped,
}

/// Where a component's database stands against its migration scripts: exactly one of five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// The database is at the single head.
    UpToDate,
    /// The database is at an ancestor of the head; `pending` lists what `upgrade heads` would run.
    Behind,
    /// The scripts have two or more heads (takes precedence: `upgrade head` cannot work).
    Diverged,
    /// The database has no alembic_version row (fresh database).
    NoRevision,
    /// The database holds a revision the scripts don't have.
    UnknownRevision,
}

impl From<crate::state::State> for State {
    fn from(s: crate::state::State) -> State {
        use crate::state::State as S;
        match s {
            S::UpToDate => State::UpToDate,
            S::Behind => State::Behind,
            S::Diverged => State::Diverged,
            S::NoRevision => State::NoRevision,
            S::UnknownRevision => State::UnknownRevision,
        }
    }
}

/// One component. `current`, `heads`, `pending` and `pending_revisions` are absent when they are
/// not known (a failed component whose database or files could not be read), never empty for
/// "unknown".
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "Component")]
pub struct ComponentReport {
    /// The component's name: `manager`, `accountmgr`, `appproxy`, or the ini's stem. Stable.
    pub component: String,
    /// The ini file, as given to `-c` (relative to the workspace root). Stable.
    pub config: String,
    /// One of the five states, or `skipped`; absent when the component failed before it could
    /// be classified. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ReportState>,
    /// `native` or `alembic`: which engine read the state. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// The revisions in the database's alembic_version table, sorted. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Vec<String>>,
    /// The head revisions of the migration scripts. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heads: Option<Vec<String>>,
    /// Pending revision ids, in apply order. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Vec<String>>,
    /// The pending revisions in full, in apply order. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_revisions: Option<Vec<Revision>>,
    /// Why the component was not attempted (`state: skipped`). Unstable: wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The next command to run (or action to take), for people. Unstable: wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// What the reverted revisions' downgrade() destroys (downgrades only). Stable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destructive: Vec<Destructive>,
    /// Steps Alembic ran (upgrade/downgrade), in order. Stable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<Step>,
    /// A diverged component's branches back to the fork point, and what `fix-heads` would do.
    /// Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub divergence: Option<Box<DivergenceReport>>,
    /// `fix-heads`: the repoint made (or, with `--dry-run`, that would be made). Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repoint: Option<Box<RepointReport>>,
    /// `fix-heads`: the empty merge migration written (or, with `--dry-run`, that would be).
    /// Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge: Option<Box<MergeReport>>,
    /// `fix-heads` with `[tool.db-migrate] head-file = true`: head.txt rewritten to the one head
    /// (or, with `--dry-run`, that would be). Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_file: Option<Box<HeadFileReport>>,
    /// `roundtrip`: the revision tested and whether the schema came back identical. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roundtrip: Option<Roundtrip>,
    /// The revisions the database is at (and below) that this checkout lacks, and where git
    /// still holds their files (`status` in the `unknown-revision` state, `sync`). Stable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub found_in_git: Vec<FoundInGit>,
    /// Why this component failed. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// A revision this checkout lacks, found in another commit of the repository.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FoundInGit {
    /// The revision id. Stable.
    pub revision: String,
    /// Its message (the docstring's first line). Stable.
    pub message: String,
    /// The branch holding it (`feature`, `origin/feature`); absent for a commit only a reflog
    /// still names (a deleted branch). Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The commit the file was read from (full id). Stable.
    pub commit: String,
    /// That commit's committer date, ISO 8601. Stable.
    pub date: String,
    /// The file's path in that commit, relative to the top of the repository. Stable.
    pub file: String,
}

impl FoundInGit {
    /// The found revisions as the components document shows them.
    pub fn list(found: &[crate::sync::find::Found]) -> Vec<FoundInGit> {
        found
            .iter()
            .map(|f| FoundInGit {
                revision: f.revision.id.clone(),
                message: f.revision.message.clone(),
                branch: f.source.branch.clone(),
                commit: f.source.commit.clone(),
                date: f.source.date.clone(),
                file: f.path.to_string_lossy().into_owned(),
            })
            .collect()
    }
}

/// One thing a reverted revision's `downgrade()` destroys, found statically.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Destructive {
    /// The revision whose downgrade does it. Stable.
    pub revision: String,
    /// Its file, relative to the workspace root. Stable.
    pub file: String,
    /// 1-based line in that file. Stable.
    pub line: usize,
    /// What it does, e.g. `drops table sessions`. Unstable: wording.
    pub operation: String,
}

/// `roundtrip`'s verdict.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Roundtrip {
    /// The revision tested. Stable.
    pub revision: String,
    /// The schema after downgrade + re-upgrade equals the schema after the first upgrade. Stable.
    pub identical: bool,
    /// Normalised `pg_dump --schema-only` lines compared. Stable.
    pub schema_lines: usize,
    /// Unified diff, first upgrade (`-`) against the round trip (`+`); empty when identical.
    /// Unstable: format.
    pub diff: String,
}

/// One step Alembic ran.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Step {
    /// `upgrade`, `downgrade` (or `stamp_revision`, as Alembic names a stamp). Stable.
    #[schemars(extend("enum" = ["upgrade", "downgrade", "stamp_revision"]))]
    pub direction: String,
    /// The revisions before the step. Stable.
    pub from: Vec<String>,
    /// The revisions after the step. Stable.
    pub to: Vec<String>,
    /// The migration's message. Stable.
    pub message: String,
}

/// What is pending, when it is known: not in the unknown-revision state.
fn known_pending(i: &Inspection) -> Option<&[usize]> {
    (i.state != crate::state::State::UnknownRevision).then_some(i.pending.as_slice())
}

impl ComponentReport {
    pub fn from_inspection(i: &Inspection) -> ComponentReport {
        ComponentReport {
            component: i.config.label.clone(),
            config: i.config.ini_arg.clone(),
            state: Some(ReportState::Classified(i.state.into())),
            engine: Some(i.engine.into()),
            current: Some(i.current.clone()),
            heads: Some(i.head_ids()),
            // At a revision this checkout lacks, nothing is known to be pending (the way back
            // is sync's to find): absent, not an empty list that reads as "nothing to do".
            pending: known_pending(i)
                .map(|pending| pending.iter().map(|&p| i.graph.rev(p).id.clone()).collect()),
            pending_revisions: known_pending(i).map(|pending| {
                pending
                    .iter()
                    .map(|&p| Revision::from(i.graph.rev(p)))
                    .collect()
            }),
            skipped: None,
            repoint: None,
            merge: None,
            head_file: None,
            divergence: i
                .explanation
                .as_ref()
                .map(|e| Box::new(DivergenceReport::new(&i.config, &i.graph, e))),
            next: Some(next_step(i)),
            destructive: Vec::new(),
            applied: Vec::new(),
            roundtrip: None,
            found_in_git: i
                .found_in_git
                .as_ref()
                .map(|s| FoundInGit::list(&s.found))
                .unwrap_or_default(),
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
            head_file: None,
            divergence: None,
            next: None,
            destructive: Vec::new(),
            applied: Vec::new(),
            roundtrip: None,
            found_in_git: Vec::new(),
            error: None,
        }
    }
}
