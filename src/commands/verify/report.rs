//! What `verify` found, per component: the scratch database, each revision's steps with their
//! timings and verdicts, the drift between models and migrations, and the slowest steps; as
//! text (printed as the proof goes), one JSON document, or GitHub annotations.

use serde::Serialize;

use std::path::Path;

use crate::failure::Failure;
use crate::graph::Graph;
use crate::mask;
use crate::verify::drift::Difference;
use crate::verify::plan::{Idempotent, Subject};

#[derive(Serialize, Default)]
pub struct ComponentReport {
    pub component: String,
    pub config: String,
    /// The base ref new revisions were told by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scratch: Option<ScratchReport>,
    /// Steps that brought the scratch database to where the proof starts.
    pub prepare: Vec<Timed>,
    pub revisions: Vec<RevisionReport>,
    pub drift: DriftReport,
    /// How long one Alembic call takes before it migrates anything (measured by `alembic
    /// current` with the scratch ini): every step's `seconds` includes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alembic_startup_seconds: Option<f64>,
    /// The three slowest migration steps of the revisions proved.
    pub slowest: Vec<Slow>,
    /// Problems found (failed revisions, drift); 0 means verified.
    pub problems: usize,
    /// Why the proof could not be made or finished (the scratch database, a step that left
    /// nothing to continue from).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

#[derive(Serialize)]
pub struct ScratchReport {
    pub database: String,
    /// `template`, `dump-restore` or `empty`.
    pub made: &'static str,
    /// Made from this database (absent for an empty one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// How long making it took.
    pub seconds: f64,
    pub dropped: bool,
    /// `--keep`: how to connect (no password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<String>,
}

#[derive(Serialize, Clone)]
pub struct Timed {
    /// `upgrade`, `downgrade`, `upgrade again`, `stamp`, `upgrade twice`, …
    pub step: String,
    pub target: String,
    pub seconds: f64,
    pub ok: bool,
}

#[derive(Serialize)]
pub struct RevisionReport {
    pub revision: String,
    pub message: String,
    pub file: String,
    /// Why it is run twice: `backport` or `asked` (absent: not run twice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_because: Option<&'static str>,
    pub steps: Vec<Timed>,
    /// `ok`, `differs`, `failed` (a step failed), `skipped` (with `why`), `not-run`.
    pub roundtrip: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roundtrip_diff: Option<String>,
    /// `ok`, `differs`, `failed`, `not-run`; absent when not run twice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// What to do about a difference (a failed step's fix is in its `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl RevisionReport {
    /// A revision about to be proved: nothing run yet.
    pub fn new(graph: &Graph, subject: &Subject, root: &Path) -> RevisionReport {
        let rev = graph.rev(subject.rev);
        RevisionReport {
            revision: rev.id.clone(),
            message: rev.message.clone(),
            file: rev.path.as_deref().map_or_else(String::new, |p| {
                Path::new(p)
                    .strip_prefix(root)
                    .map_or_else(|_| p.to_owned(), |p| p.to_string_lossy().into_owned())
            }),
            idempotent_because: subject.idempotent.map(|i| match i {
                Idempotent::Backport => "backport",
                Idempotent::Asked => "asked",
            }),
            steps: Vec::new(),
            roundtrip: "not-run",
            roundtrip_diff: None,
            idempotent: subject.idempotent.map(|_| "not-run"),
            idempotent_diff: None,
            why: None,
            error: None,
            fix: None,
        }
    }

    /// Any sign of failure: a failed or differing verdict, a step that did not succeed, or an
    /// error. Each is enough on its own, so no path that records one can pass.
    pub fn failed(&self) -> bool {
        matches!(self.roundtrip, "differs" | "failed")
            || matches!(self.idempotent, Some("differs" | "failed"))
            || self.steps.iter().any(|t| !t.ok)
            || self.error.is_some()
    }

    /// The first step that did not succeed.
    pub fn failed_step(&self) -> Option<&Timed> {
        self.steps.iter().find(|t| !t.ok)
    }
}

#[derive(Serialize)]
pub struct DriftReport {
    /// `clean`, `differs`, `no-metadata`, `failed`, `skipped`.
    pub state: &'static str,
    pub differences: Vec<Difference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// What to do about a difference or a comparison that failed: which side to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// `fresh-copy`: the proof stopped before head, so this was measured on a second scratch
    /// database upgraded straight to head (absent: on the proof's own, at head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_on: Option<&'static str>,
    /// That second scratch database (dropped after).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fresh_copy: Option<String>,
}

impl DriftReport {
    /// A difference, or a comparison that could not be made.
    pub fn failed(&self) -> bool {
        matches!(self.state, "differs" | "failed")
    }
}

impl ComponentReport {
    /// Failed revisions, plus the drift check when it failed, plus the component's own error
    /// (the proof could not be made or finished): whatever makes verify exit non-zero counts.
    pub fn count_problems(&self) -> usize {
        self.revisions.iter().filter(|r| r.failed()).count()
            + usize::from(self.drift.failed())
            + usize::from(self.error.is_some())
    }
}

/// Until the comparison runs: not run, because the proof has not reached head.
impl Default for DriftReport {
    fn default() -> DriftReport {
        DriftReport {
            state: "skipped",
            differences: Vec::new(),
            why: Some("the proof did not reach head".into()),
            seconds: None,
            fix: None,
            measured_on: None,
            fresh_copy: None,
        }
    }
}

#[derive(Serialize)]
pub struct Slow {
    pub revision: String,
    pub step: String,
    pub seconds: f64,
}

#[derive(Serialize)]
pub struct Report {
    pub components: Vec<ComponentReport>,
    pub problems: usize,
}

pub fn seconds(s: f64) -> String {
    format!("{s:.2}s")
}

/// One revision's lines.
pub fn revision_text(r: &RevisionReport) -> String {
    let mut out = format!("  {}  {}", r.revision, r.message);
    if let Some(because) = r.idempotent_because {
        out.push_str(&format!("  ({because}: run twice)"));
    }
    out.push('\n');
    let steps: Vec<String> = r
        .steps
        .iter()
        .map(|t| {
            format!(
                "{} {} {}{}",
                t.step,
                t.target,
                seconds(t.seconds),
                if t.ok { "" } else { " FAILED" }
            )
        })
        .collect();
    if !steps.is_empty() {
        out.push_str(&format!("      {}\n", steps.join(", ")));
    }
    let verdict = match r.roundtrip {
        "ok" => "ok: downgrade and upgrade again leave the schema unchanged".to_owned(),
        "differs" => {
            "DIFFERS: downgrade (then upgrade again) does not give back the same schema:".to_owned()
        }
        "failed" => match r.failed_step() {
            Some(t) => format!("FAILED at {} {} (the error is below)", t.step, t.target),
            None => "FAILED".to_owned(),
        },
        "skipped" => format!("skipped ({})", r.why.as_deref().unwrap_or("")),
        _ => "not run".to_owned(),
    };
    out.push_str(&format!("      roundtrip   {verdict}\n"));
    if let Some(diff) = &r.roundtrip_diff {
        out.push_str(&indent(diff, 8));
    }
    if let Some(idempotent) = r.idempotent {
        let verdict = match idempotent {
            "ok" => "ok: stamped back to its parent and upgraded again, the schema is unchanged",
            "differs" => "DIFFERS: running it a second time changed the schema (- after the first run, + after the second)",
            "failed" => "FAILED: running it a second time failed; a backport must be able to run twice",
            _ => "not run",
        };
        out.push_str(&format!("      idempotent  {verdict}\n"));
        if let Some(diff) = &r.idempotent_diff {
            out.push_str(&indent(diff, 8));
        }
    }
    if let Some(e) = &r.error {
        out.push_str(&indent(&crate::render::text::failure(e), 6));
    }
    if let Some(fix) = &r.fix {
        out.push_str(&format!("      fix: {fix}\n"));
    }
    mask::mask(&out).into_owned()
}

pub fn drift_text(d: &DriftReport) -> String {
    let mut out = String::new();
    let took = d
        .seconds
        .map_or_else(String::new, |s| format!(" ({})", seconds(s)));
    match d.state {
        "clean" => out.push_str(&format!(
            "  drift     none: the models match the migrated schema{took}\n"
        )),
        "differs" => {
            out.push_str(&format!(
                "  drift     {} difference{} between the models and the migrated schema{took}; + only in the models, - only in the database, ~ in both, differently:\n",
                d.differences.len(),
                if d.differences.len() == 1 { "" } else { "s" }
            ));
            for diff in &d.differences {
                out.push_str(&format!("      {}\n", diff.line()));
            }
        }
        "no-metadata" => out.push_str(&format!(
            "  drift     not checked: {}\n",
            d.why
                .as_deref()
                .unwrap_or("env.py gives no target_metadata")
        )),
        "failed" => out.push_str(&format!(
            "  drift     FAILED: {}\n",
            d.why.as_deref().unwrap_or("")
        )),
        _ => out.push_str(&format!(
            "  drift     not checked: {}\n",
            d.why.as_deref().unwrap_or("")
        )),
    }
    if let Some(fix) = d.fix.as_deref().filter(|_| d.failed()) {
        out.push_str(&format!("      fix: {fix}\n"));
    }
    mask::mask(&out).into_owned()
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// GitHub workflow commands: one error per failed revision (on its file) and per difference.
pub fn github(reports: &[ComponentReport]) -> String {
    use crate::render::github::{data, property as prop};
    let mut out = String::new();
    for c in reports {
        for r in c.revisions.iter().filter(|r| r.failed()) {
            let what = match (r.roundtrip, r.idempotent, r.failed_step()) {
                ("differs", _, _) => {
                    "its downgrade does not undo its upgrade (roundtrip differs)".to_owned()
                }
                (_, Some("differs" | "failed"), _) => {
                    "it cannot run twice (a backport must)".to_owned()
                }
                (_, _, Some(t)) => format!("its {} step failed on the scratch database", t.step),
                _ => "a migration step failed on the scratch database".to_owned(),
            };
            let detail = r
                .error
                .as_ref()
                .map_or_else(String::new, |e| format!(": {}", e.message));
            out.push_str(&format!(
                "::error file={},line=1,title={}::{} {what}{detail}\n",
                prop(&r.file),
                prop("db-migrate verify"),
                data(&r.revision)
            ));
        }
        for d in &c.drift.differences {
            let side = match d.sign {
                '-' => "only in the database: add it to the models",
                '+' => "only in the models: add a migration (revision --autogenerate)",
                _ => "in both, differently: change the side that is wrong",
            };
            out.push_str(&format!(
                "::error title={}::{}: the models differ from the migrations: {} ({side})\n",
                prop("db-migrate verify drift"),
                data(&c.component),
                data(&d.line())
            ));
        }
        if c.drift.state == "failed" {
            out.push_str(&format!(
                "::error title={}::{}: the drift comparison failed: {} ({})\n",
                prop("db-migrate verify drift"),
                data(&c.component),
                data(c.drift.why.as_deref().unwrap_or("")),
                data(c.drift.fix.as_deref().unwrap_or(""))
            ));
        }
        if let Some(e) = &c.error {
            out.push_str(&format!(
                "::error title={}::{}: {} ({})\n",
                prop("db-migrate verify"),
                data(&c.component),
                data(&e.message),
                data(&e.fix)
            ));
        }
    }
    mask::mask(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proved() -> RevisionReport {
        RevisionReport {
            revision: "f3f3f3f3f3f3".into(),
            message: "add users.note".into(),
            file: "versions/f3f3f3f3f3f3_add_users_note.py".into(),
            idempotent_because: None,
            steps: vec![Timed {
                step: "upgrade".into(),
                target: "f3f3f3f3f3f3".into(),
                seconds: 1.0,
                ok: true,
            }],
            roundtrip: "ok",
            roundtrip_diff: None,
            idempotent: None,
            idempotent_diff: None,
            why: None,
            error: None,
            fix: None,
        }
    }

    fn failure() -> Failure {
        Failure::new(
            crate::failure::Kind::AlembicFailed,
            "it failed",
            "why",
            "what to do",
        )
    }

    #[test]
    fn any_one_sign_of_failure_fails_a_revision() {
        assert!(!proved().failed());
        type Make = fn(&mut RevisionReport);
        let cases: [(&str, Make); 5] = [
            ("roundtrip failed", |r| r.roundtrip = "failed"),
            ("roundtrip differs", |r| r.roundtrip = "differs"),
            ("idempotent failed", |r| r.idempotent = Some("failed")),
            // The verdict still says ok or not-run: the step and the error say otherwise.
            ("a step not ok", |r| r.steps[0].ok = false),
            ("an error", |r| {
                r.roundtrip = "not-run";
                r.error = Some(failure());
            }),
        ];
        for (what, make) in cases {
            let mut r = proved();
            make(&mut r);
            assert!(r.failed(), "{what}");
        }
    }

    #[test]
    fn a_component_error_is_a_problem() {
        let mut c = ComponentReport {
            revisions: vec![proved()],
            drift: DriftReport {
                state: "clean",
                why: None,
                ..DriftReport::default()
            },
            ..ComponentReport::default()
        };
        assert_eq!(c.count_problems(), 0);
        c.error = Some(failure());
        assert_eq!(c.count_problems(), 1);
        c.drift.state = "failed";
        c.revisions[0].roundtrip = "failed";
        assert_eq!(c.count_problems(), 3);
    }
}
