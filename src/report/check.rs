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
