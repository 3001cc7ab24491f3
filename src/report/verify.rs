//! The document of `verify`: `{"components": [{…}], "problems": N}`. Per component: the scratch
//! database, each revision's steps with their timings and verdicts, the drift between models and
//! migrations, and the slowest steps. Verdicts are fixed words (`ok`, `differs`, …) that the
//! proof sets and the renderers read.

use schemars::JsonSchema;
use serde::Serialize;

use super::failure::Failure;

/// The verify document.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "VerifyDocument")]
pub struct Report {
    /// One entry per component verified, in order. Stable.
    pub components: Vec<ComponentReport>,
    /// The sum of the components' `problems`; 0 means everything verified. Stable.
    pub problems: usize,
}

/// One component's proof.
#[derive(Debug, Serialize, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "VerifyComponent")]
pub struct ComponentReport {
    /// The component's name. Stable.
    pub component: String,
    /// The ini file, as given to `-c`. Stable.
    pub config: String,
    /// The base ref new revisions were told by. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The scratch database the proof ran on. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scratch: Option<ScratchReport>,
    /// Steps that brought the scratch database to where the proof starts. Stable.
    pub prepare: Vec<Timed>,
    /// One per revision proved, in apply order. Stable.
    pub revisions: Vec<RevisionReport>,
    /// The models compared with the migrated schema. Stable.
    pub drift: DriftReport,
    /// How long one Alembic call takes before it migrates anything (measured by `alembic
    /// current` with the scratch ini): every step's `seconds` includes it. Stable (a measurement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alembic_startup_seconds: Option<f64>,
    /// The three slowest migration steps of the revisions proved. Stable.
    pub slowest: Vec<Slow>,
    /// Problems found (failed revisions, drift, the component's own error); 0 means verified.
    /// Stable.
    pub problems: usize,
    /// Why the proof could not be made or finished (the scratch database, a step that left
    /// nothing to continue from). Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// The scratch database.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "Scratch")]
pub struct ScratchReport {
    /// Its name. Stable.
    pub database: String,
    /// `template`, `dump-restore` or `empty`. Stable.
    #[schemars(extend("enum" = ["template", "dump-restore", "empty"]))]
    pub made: &'static str,
    /// Made from this database (absent for an empty one). Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// How long making it took. Stable (a measurement).
    pub seconds: f64,
    /// It was dropped at the end (false with `--keep`). Stable.
    pub dropped: bool,
    /// `--keep`: how to connect (no password). Unstable: format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<String>,
}

/// One Alembic step on the scratch database, timed.
#[derive(Debug, Serialize, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "VerifyStep")]
pub struct Timed {
    /// `upgrade`, `downgrade`, `upgrade again`, `stamp`, `upgrade twice`, … Unstable: wording.
    pub step: String,
    /// The revision (or `head`, `base`) it went to. Stable.
    pub target: String,
    /// Wall-clock seconds, Alembic's start-up included. Stable (a measurement).
    pub seconds: f64,
    /// The step succeeded. Stable.
    pub ok: bool,
}

/// One revision's proof.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "VerifyRevision")]
pub struct RevisionReport {
    /// Stable.
    pub revision: String,
    /// The migration's message. Stable.
    pub message: String,
    /// Its file, relative to the workspace root. Stable.
    pub file: String,
    /// Why it is run twice: `backport` or `asked` (absent: not run twice). Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["backport", "asked"]))]
    pub idempotent_because: Option<&'static str>,
    /// The steps run for it, in order. Stable.
    pub steps: Vec<Timed>,
    /// `ok`, `differs`, `failed` (a step failed), `skipped` (with `why`), `not-run`. Stable.
    #[schemars(extend("enum" = ["ok", "differs", "failed", "skipped", "not-run"]))]
    pub roundtrip: &'static str,
    /// The schema diff when `roundtrip` is `differs`. Unstable: format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roundtrip_diff: Option<String>,
    /// `ok`, `differs`, `failed`, `not-run`; absent when not run twice. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ok", "differs", "failed", "not-run"]))]
    pub idempotent: Option<&'static str>,
    /// The schema diff when `idempotent` is `differs`. Unstable: format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_diff: Option<String>,
    /// Why a verdict is `skipped`. Unstable: wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The failure of the step that failed. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// What to do about a difference (a failed step's fix is in its `error`). Unstable: wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl RevisionReport {
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

/// The models compared with the schema the migrations make.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "Drift")]
pub struct DriftReport {
    /// `clean`, `differs`, `no-metadata`, `failed`, `skipped`. Stable.
    #[schemars(extend("enum" = ["clean", "differs", "no-metadata", "failed", "skipped"]))]
    pub state: &'static str,
    /// What differs (`state: differs`). Stable.
    pub differences: Vec<Difference>,
    /// Why the state is what it is. Unstable: wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// How long the comparison took. Stable (a measurement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// What to do about a difference or a comparison that failed: which side to change.
    /// Unstable: wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// `fresh-copy`: the proof stopped before head, so this was measured on a second scratch
    /// database upgraded straight to head (absent: on the proof's own, at head). Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["fresh-copy"]))]
    pub measured_on: Option<&'static str>,
    /// That second scratch database (dropped after). Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fresh_copy: Option<String>,
}

impl DriftReport {
    /// A difference, or a comparison that could not be made.
    pub fn failed(&self) -> bool {
        matches!(self.state, "differs" | "failed")
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

/// One difference between the models and the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "DriftDifference")]
pub struct Difference {
    /// `+` the models have it, the database does not; `-` the database has it, the models do
    /// not; `~` both have it, differently. Stable.
    #[schemars(extend("enum" = ["+", "-", "~"]))]
    pub sign: char,
    /// Alembic's name for it: `add_column`, `remove_index`, `modify_type`, … Stable.
    pub op: String,
    /// What differs, masked: `column users.email VARCHAR(64)`. Unstable: wording.
    pub text: String,
}

impl Difference {
    /// `+ column users.email VARCHAR(64)`.
    pub fn line(&self) -> String {
        format!("{} {}", self.sign, self.text)
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

/// One of the slowest steps.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "SlowStep")]
pub struct Slow {
    /// Stable.
    pub revision: String,
    /// The step, as in `steps[].step`. Unstable: wording.
    pub step: String,
    /// Stable (a measurement).
    pub seconds: f64,
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
