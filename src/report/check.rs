//! The document of `check`: `{"components": [{…}], "errors", "warnings", "strict",
//! "failed_by_warnings"}`, each component with the rules skipped and the findings.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

/// The check document.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "CheckDocument")]
pub struct Report {
    /// One entry per component checked, in order. Stable.
    pub components: Vec<ComponentReport>,
    /// Findings of severity `error`, over every component. Stable.
    pub errors: usize,
    /// Findings of severity `warning`, over every component. Stable.
    pub warnings: usize,
    /// `--strict` was given: warnings fail the run too. Stable.
    pub strict: bool,
    /// The run fails only because `--strict` counts its warnings. Stable.
    pub failed_by_warnings: bool,
}

/// One component's findings.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "CheckComponent")]
pub struct ComponentReport {
    /// The component's name. Stable.
    pub component: String,
    /// The ini file, as given to `-c`. Stable.
    pub config: String,
    /// The base ref compared with, when there is one. Stable.
    pub base: Option<String>,
    /// Rules that did not run, with why (no base, lint not asked for). Stable.
    pub skipped: Vec<Skipped>,
    /// What the rules found, ordered by file, line and rule. Stable.
    pub findings: Vec<Finding>,
    /// The upstream ref the merge-time heads check (`heads-after-merge`) compared with; absent
    /// when that rule did not run. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
}

/// The upstream branch as last fetched, and what merging into it would leave.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "CheckUpstream")]
pub struct Upstream {
    /// The ref, as given with `--upstream` or found (`origin/main`). Stable.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Its commit, as last fetched. Stable.
    pub tip: String,
    /// The merge-base of HEAD and the tip. Stable.
    pub merge_base: String,
    /// When the local copy of the ref was last updated, in Unix seconds. Stable.
    pub updated: i64,
    /// How `updated` was told: the last fetch that brought the ref, its reflog, or (neither
    /// telling) the tip's commit date. Stable.
    pub updated_from: UpdatedFrom,
    /// Seconds from `updated` to this run. Stable.
    pub age_seconds: i64,
    /// Revisions the tip has that neither the merge-base nor the work tree has. Stable.
    pub new_revisions: Vec<UpstreamRevision>,
    /// The heads the merge would leave; empty when main did not move on or the branch adds no
    /// migration. Stable.
    pub heads_after_merge: Vec<String>,
}

/// How [`Upstream::updated`] was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "CheckUpstreamUpdatedFrom")]
pub enum UpdatedFrom {
    Fetch,
    Reflog,
    Commit,
}

/// One of the upstream's new revisions.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "CheckUpstreamRevision")]
pub struct UpstreamRevision {
    /// The revision id. Stable.
    pub id: String,
    /// Its file, relative to the workspace root. Stable.
    pub file: PathBuf,
    /// The first-parent commit on the tip that added the file (told when there is a finding).
    /// Stable.
    pub merged_in: Option<String>,
    /// That commit's committer date, ISO 8601. Stable.
    pub merged_at: Option<String>,
    /// That commit's subject. Unstable: wording.
    pub subject: Option<String>,
}

impl Upstream {
    pub fn new(
        up: &crate::check::rules::heads_after_merge::Upstream,
        outcome: &crate::check::rules::heads_after_merge::Outcome,
        now: i64,
    ) -> Upstream {
        use crate::git::AgeSource;
        Upstream {
            reference: up.reference.clone(),
            tip: up.tip.clone(),
            merge_base: up.merge_base.clone(),
            updated: up.age.unix,
            updated_from: match up.age.source {
                AgeSource::Fetch => UpdatedFrom::Fetch,
                AgeSource::Reflog => UpdatedFrom::Reflog,
                AgeSource::Commit => UpdatedFrom::Commit,
            },
            age_seconds: now - up.age.unix,
            new_revisions: outcome
                .main_new
                .iter()
                .map(|m| UpstreamRevision {
                    id: m.id.clone(),
                    file: m.file.clone(),
                    merged_in: m.merged.as_ref().map(|a| a.commit.clone()),
                    merged_at: m.merged.as_ref().map(|a| a.date.clone()),
                    subject: m.merged.as_ref().map(|a| a.subject.clone()),
                })
                .collect(),
            heads_after_merge: outcome.heads.clone(),
        }
    }
}

/// A rule that did not run.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "CheckSkipped")]
pub struct Skipped {
    /// The rule's name (`every rule` when the component could not be read). Stable.
    pub rule: String,
    /// Why it did not run. Unstable: wording.
    pub why: String,
}

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "CheckFinding")]
pub struct Finding {
    /// The rule's name (`db-migrate check --explain RULE` documents it). Stable.
    pub rule: &'static str,
    /// Stable.
    pub severity: Severity,
    /// Relative to the workspace root. Stable.
    pub file: PathBuf,
    /// 1-based; 0 when the finding is about the whole component (or a file that no longer
    /// exists). Stable.
    pub line: usize,
    /// What was found and what to do. Unstable: wording.
    pub message: String,
}

/// How a finding counts: an `error` fails the run, a `warning` only with `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "CheckSeverity")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl From<crate::check::Severity> for Severity {
    fn from(s: crate::check::Severity) -> Severity {
        match s {
            crate::check::Severity::Error => Severity::Error,
            crate::check::Severity::Warning => Severity::Warning,
        }
    }
}

impl From<crate::check::Finding> for Finding {
    fn from(f: crate::check::Finding) -> Finding {
        Finding {
            rule: f.rule,
            severity: f.severity.into(),
            file: f.file,
            line: f.line,
            message: f.message,
        }
    }
}
