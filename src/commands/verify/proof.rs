//! The proof itself, on the scratch database: bring it to just below the first new revision,
//! round trip each revision (and run backports twice), go to head, compare models and schema.
//! Every step is timed, and held to its plan by `execute`.

use std::time::Instant;

use crate::event::Verify;
use crate::failure::{Failure, Kind};
use crate::graph::Graph;
use crate::inspect::{self, relay, Inspection};
use crate::plan::Direction;
use crate::postgres::pgdump::PgDump;
use crate::postgres::snapshot::{self, Snapshot};
use crate::settings::RunOptions;
use crate::state::State;
use crate::target::Target;
use crate::verify::drift::{self, Drift};
use crate::verify::plan::{Plan, Subject};
use crate::workspace::scratch::ScratchConfig;
use crate::workspace::Config;

use super::report::{ComponentReport, DriftReport, RevisionReport, Slow, Timed};
use super::{say, App};
use crate::commands::steps::execute;

/// The proof on the scratch database: where it is, and how to move and look at it.
pub struct Proof<'a> {
    pub app: &'a App,
    pub run: RunOptions,
    /// pg_dump of the scratch database.
    pub pg_dump: PgDump,
    pub at: Option<Inspection>,
    /// The configured ini and its `--component`/`--config` flag (the fixes name them, not the
    /// scratch copy).
    pub ini_arg: String,
    pub select: String,
    /// The proof stopped before head with its failure in the report: the drift is still to be
    /// measured (on a fresh copy).
    pub stopped: Option<String>,
}

impl Proof<'_> {
    pub async fn prove(
        &mut self,
        scratch: &ScratchConfig,
        plan: &Plan,
        graph: &Graph,
        report: &mut ComponentReport,
    ) -> Result<(), Failure> {
        let app = self.app;
        let at =
            inspect::inspect(&app.ws, &scratch.config, inspect::Engine::Auto, app.verbose).await?;
        if at.state == State::UnknownRevision {
            return Err(Failure::new(
                Kind::VerifyUnknownRevision,
                format!(
                    "the copy of the database is at {}, which the migration files do not have",
                    at.current.join(", ")
                ),
                "the database was migrated from another branch or checkout",
                format!(
                    "start from an empty database instead: db-migrate verify {} --from-empty",
                    self.select
                ),
            ));
        }
        self.at = Some(at);

        // Where the proof starts: just below the first revision to prove. With none to prove,
        // the copy stays where it is (it only goes to head, for the drift check).
        if !plan.subjects.is_empty() {
            self.prepare(graph, plan, report).await?;
        }

        for (n, subject) in plan.subjects.iter().enumerate() {
            let mut r = RevisionReport::new(graph, subject, &app.ws.root);
            let outcome = self.prove_revision(graph, subject, &mut r).await;
            self.fix_for_differences(&mut r);
            say(app, Verify::Revision(&r));
            report.revisions.push(r);
            if let Err(stop) = outcome {
                let left = &plan.subjects[n + 1..];
                for s in left {
                    let mut r = RevisionReport::new(graph, s, &app.ws.root);
                    r.why = Some(format!(
                        "not proved: {} failed, and the scratch database cannot go on from there",
                        graph.rev(subject.rev).id
                    ));
                    report.revisions.push(r);
                }
                report.drift.why = Some("the scratch database did not reach head".into());
                let ids: Vec<&str> = left.iter().map(|s| graph.rev(s.rev).id.as_str()).collect();
                say(app, Verify::NotProved(&ids));
                report.slowest = slowest(&report.revisions);
                return match stop {
                    // Recorded in the report: the drift is measured elsewhere (see `stopped`).
                    None => {
                        self.stopped = Some(graph.rev(subject.rev).id.clone());
                        Ok(())
                    }
                    Some(f) => {
                        say(app, Verify::Drift(&report.drift));
                        Err(f)
                    }
                };
            }
        }

        // At head, compare the models with the migrated schema.
        let at_head = self.at().current_indices();
        if graph.heads().iter().any(|h| !at_head.contains(h)) {
            let t = self.step(Direction::Upgrade, "head").await?;
            say(app, Verify::WentToHead(&t));
            report.prepare.push(t);
        }
        report.drift = self.drift(&scratch.config).await?;
        say(app, Verify::Drift(&report.drift));
        report.slowest = slowest(&report.revisions);
        say(app, Verify::Slowest(&report.slowest));
        Ok(())
    }

    /// Compare the models with the database `config` names (at head), timed, with the fix.
    pub async fn drift(&self, config: &Config) -> Result<DriftReport, Failure> {
        let app = self.app;
        let started = Instant::now();
        let mut measured = match drift::compare(&app.ws, config, app.verbose).await {
            Ok(Drift::Clean) => DriftReport {
                state: "clean",
                why: None,
                ..DriftReport::default()
            },
            Ok(Drift::Differences(differences)) => DriftReport {
                state: "differs",
                fix: Some(drift::fix(
                    &differences,
                    &format!(
                        "{} -m alembic -c {} revision --autogenerate -m \"…\"",
                        crate::commands::steps::execute::launcher_shown(&app.ws),
                        self.ini_arg
                    ),
                    &format!("rerun db-migrate verify {}", self.select),
                )),
                differences: differences.iter().map(Into::into).collect(),
                why: Some("the models have changes no migration makes (or the reverse)".into()),
                ..DriftReport::default()
            },
            Ok(Drift::NoMetadata) => DriftReport {
                state: "no-metadata",
                why: Some("env.py passes no target_metadata to context.configure(), so there are no models to compare".into()),
                ..DriftReport::default()
            },
            Err(f) if f.kind == Kind::Interrupted => return Err(f),
            Err(f) => DriftReport {
                state: "failed",
                why: Some(match &f.alembic_line {
                    Some(line) => format!("{} ({}); alembic: {line}", f.message, f.cause),
                    None => format!("{} ({})", f.message, f.cause),
                }),
                fix: Some(match f.kind {
                    // Alembic's generic advice names no command; name verify's.
                    Kind::AlembicFailed => format!(
                        "see everything the comparison printed: db-migrate -v verify {}; Alembic's own comparison, with your database at head: {} -m alembic -c {} check",
                        self.select,
                        crate::commands::steps::execute::launcher_shown(&app.ws),
                        self.ini_arg
                    ),
                    _ => f.fix,
                }),
                ..DriftReport::default()
            },
        };
        measured.seconds = Some(started.elapsed().as_secs_f64());
        Ok(measured)
    }

    /// Bring a fresh copy straight to head (no round trips) and measure the drift there; a
    /// failed upgrade leaves the drift `skipped`, saying why. `Err` only for an interrupt or a
    /// copy that cannot be read.
    pub async fn drift_straight_to_head(
        &mut self,
        scratch: &ScratchConfig,
        graph: &Graph,
    ) -> Result<DriftReport, Failure> {
        let app = self.app;
        let at =
            inspect::inspect(&app.ws, &scratch.config, inspect::Engine::Auto, app.verbose).await?;
        self.at = Some(at);
        let at_head = self.at().current_indices();
        if graph.heads().iter().any(|h| !at_head.contains(h)) {
            if let Err(f) = self.step(Direction::Upgrade, "head").await {
                if f.kind == Kind::Interrupted {
                    return Err(f);
                }
                let said = f
                    .alembic_line
                    .as_deref()
                    .map_or_else(String::new, |l| format!("; alembic: {l}"));
                return Ok(DriftReport {
                    why: Some(format!(
                        "upgrading a fresh copy straight to head failed too: {}{said}",
                        f.message
                    )),
                    ..DriftReport::default()
                });
            }
        }
        self.drift(&scratch.config).await
    }

    /// Bring the copy to `plan.start`: down when it has some of the revisions to prove (or
    /// others above them), up when it is older.
    async fn prepare(
        &mut self,
        graph: &Graph,
        plan: &Plan,
        report: &mut ComponentReport,
    ) -> Result<(), Failure> {
        let start_id = plan
            .start
            .first()
            .map_or_else(|| "base".to_owned(), |&s| graph.rev(s).id.clone());
        let wanted = graph.ancestors(&plan.start);
        for direction in [Direction::Downgrade, Direction::Upgrade] {
            let applied = graph.ancestors(&self.at().current_indices());
            let needed = match direction {
                Direction::Downgrade => applied.iter().any(|r| !wanted.contains(r)),
                Direction::Upgrade => wanted.iter().any(|r| !applied.contains(r)),
            };
            if needed {
                let t = self.step(direction, &start_id).await?;
                say(self.app, Verify::Prepared(&t));
                report.prepare.push(t);
            }
        }
        Ok(())
    }

    /// Round trip one revision (and run it twice when asked). `Err(Some(f))`: stop everything
    /// with `f`; `Err(None)`: stop, the failure is in the report; `Ok`: go on with the next.
    async fn prove_revision(
        &mut self,
        graph: &Graph,
        subject: &Subject,
        r: &mut RevisionReport,
    ) -> Result<(), Option<Failure>> {
        let id = graph.rev(subject.rev).id.clone();
        let parent = match graph.rev(subject.rev).parents.as_slice() {
            [] => "base".to_owned(),
            [one] => one.clone(),
            _ => {
                // A merge revision: upgrade through it, nothing to round trip on its own.
                self.timed(r, Direction::Upgrade, &id, "upgrade")
                    .await
                    .inspect_err(|stop| failed_unless_stopped(stop, &mut r.roundtrip))?;
                r.roundtrip = "skipped";
                r.why = Some("a merge revision has no single parent to go back to".into());
                return Ok(());
            }
        };
        // The snapshot below must be of the parent alone. Older revisions between the previous
        // subject and this one (an --idempotent one far back) are applied first; a sibling
        // proved just before (the branch has two lines that a merge of its own joins) is
        // downgraded away, or this revision's downgrade to the parent would take it along.
        if parent != "base" && self.at().current != [parent.clone()] {
            let applied = graph.ancestors(&self.at().current_indices());
            let (direction, name) = match graph.index_of(&parent) {
                Some(p) if applied.contains(&p) => (Direction::Downgrade, "downgrade to parent"),
                _ => (Direction::Upgrade, "upgrade to parent"),
            };
            self.timed(r, direction, &parent, name)
                .await
                .inspect_err(|stop| failed_unless_stopped(stop, &mut r.roundtrip))?;
        }
        let before = self.snapshot().await.map_err(Some)?;
        // A failed upgrade is the revision's failure: nothing after it can be proved.
        self.timed(r, Direction::Upgrade, &id, "upgrade")
            .await
            .inspect_err(|stop| failed_unless_stopped(stop, &mut r.roundtrip))?;
        let first = self.snapshot().await.map_err(Some)?;
        let at_revision = if subject.idempotent.is_some() && subject.downgrade_empty {
            r.roundtrip = "skipped";
            r.why = Some(
                "a backport whose downgrade() is pass: another migration in the chain undoes it"
                    .into(),
            );
            first
        } else {
            match self.round_trip(&id, &parent, before, first, r).await? {
                Some(at_revision) => at_revision,
                None => return Ok(()),
            }
        };
        if r.idempotent.is_some() {
            self.run_twice(&id, &parent, at_revision, r).await?;
        }
        Ok(())
    }

    /// Downgrade to the parent, which must give back the schema `before` the upgrade; upgrade
    /// again, which must give back the schema of the `first` upgrade. The schema at the
    /// revision afterwards; `None` when the downgrade failed (and rolled back: the database is
    /// still at the revision, the next revision can go on).
    async fn round_trip(
        &mut self,
        id: &str,
        parent: &str,
        before: Snapshot,
        first: Snapshot,
        r: &mut RevisionReport,
    ) -> Result<Option<Snapshot>, Option<Failure>> {
        match self
            .timed(r, Direction::Downgrade, parent, "downgrade")
            .await
        {
            Ok(()) => {}
            Err(None) => {
                r.roundtrip = "failed";
                return Ok(None);
            }
            Err(stop) => return Err(stop),
        }
        let reverted = self.snapshot().await.map_err(Some)?;
        let mut diffs = vec![snapshot::diff(
            &before,
            &reverted,
            &format!("the schema before {id}"),
            &format!("the schema after {id}'s downgrade"),
        )];
        if let Err(stop) = self.timed(r, Direction::Upgrade, id, "upgrade again").await {
            r.roundtrip = "failed";
            if let Some(e) = r.error.as_mut() {
                e.cause = format!("the downgrade of {id} left behind something its upgrade creates, so upgrading again failed ({})", e.cause);
                e.fix = format!("make downgrade() drop everything upgrade() creates (enum types, indexes, sequences, constraints), then rerun db-migrate verify {}", self.select);
            }
            record_diffs(r, diffs);
            return Err(stop);
        }
        let second = self.snapshot().await.map_err(Some)?;
        diffs.push(snapshot::diff(
            &first,
            &second,
            &format!("{id} after the first upgrade"),
            &format!("{id} after downgrade and upgrade again"),
        ));
        r.roundtrip = "ok";
        record_diffs(r, diffs);
        Ok(Some(second))
    }

    /// A backport may run on a database that has it already: stamp back to the parent (no
    /// SQL) and upgrade a second time; it must succeed and leave the schema `at_revision`.
    async fn run_twice(
        &mut self,
        id: &str,
        parent: &str,
        at_revision: Snapshot,
        r: &mut RevisionReport,
    ) -> Result<(), Option<Failure>> {
        self.stamp(r, parent).await.inspect_err(|stop| {
            if stop.is_none() {
                r.idempotent = Some("failed");
            }
        })?;
        match self.timed(r, Direction::Upgrade, id, "upgrade twice").await {
            Ok(()) => {}
            Err(None) => {
                r.idempotent = Some("failed");
                if let Some(e) = r.error.as_mut() {
                    e.cause = format!("{id} is marked as a backport (or --idempotent), so it may run on a database that has it already; its upgrade failed there ({})", e.cause);
                    e.fix = format!("guard each operation (IF NOT EXISTS, or inspect the schema first) so the upgrade can run twice, then rerun db-migrate verify {}", self.select);
                }
                // The second run rolled back; the schema has the revision: say so again.
                self.stamp(r, id).await?;
                return Ok(());
            }
            Err(stop) => return Err(stop),
        }
        let twice = self.snapshot().await.map_err(Some)?;
        let diff = snapshot::diff(
            &at_revision,
            &twice,
            &format!("{id} after one run"),
            &format!("{id} after running it twice"),
        );
        if diff.is_empty() {
            r.idempotent = Some("ok");
        } else {
            r.idempotent = Some("differs");
            r.idempotent_diff = Some(diff);
        }
        Ok(())
    }

    /// A difference has no failure to carry its fix: say it (a failed step's is in its error).
    fn fix_for_differences(&self, r: &mut RevisionReport) {
        if r.error.is_some() {
            return;
        }
        let rerun = format!("then rerun db-migrate verify {}", self.select);
        if r.roundtrip == "differs" {
            r.fix = Some(format!(
                "make downgrade() of {} undo exactly what its upgrade() does (drop what it creates, restore what it drops or changes; the diff above shows what is left), {rerun}",
                r.revision
            ));
        } else if r.idempotent == Some("differs") {
            r.fix = Some(format!(
                "guard each operation of {} (IF NOT EXISTS, or inspect the schema first) so that a second run changes nothing, {rerun}",
                r.revision
            ));
        }
    }

    fn at(&self) -> &Inspection {
        self.at.as_ref().expect("inspected before any step")
    }

    /// One Alembic step, timed and held to its plan by `execute`.
    async fn step(&mut self, direction: Direction, target: &str) -> Result<Timed, Failure> {
        let parsed = Target::parse(target)
            .map_err(|e| Failure::usage(Kind::BadTarget, e, "name the revision by its id"))?;
        let started = Instant::now();
        let (_, after) = execute(self.app, &self.run, self.at(), direction, &parsed)
            .await
            .map_err(|f| scratch_failure(f, &self.select))?;
        self.at = Some(after);
        Ok(Timed {
            step: direction.verb().to_owned(),
            target: target.to_owned(),
            seconds: started.elapsed().as_secs_f64(),
            ok: true,
        })
    }

    /// A step of a revision's proof, recorded in `r`. A failed step leaves its failure in `r`:
    /// `Err(None)` when the database is where it was (Alembic rolled back), `Err(Some)` for an
    /// interrupt, which stops everything.
    async fn timed(
        &mut self,
        r: &mut RevisionReport,
        direction: Direction,
        target: &str,
        name: &str,
    ) -> Result<(), Option<Failure>> {
        let started = Instant::now();
        match self.step(direction, target).await {
            Ok(t) => {
                r.steps.push(Timed {
                    step: name.to_owned(),
                    ..t
                });
                Ok(())
            }
            Err(f) => {
                r.steps.push(Timed {
                    step: name.to_owned(),
                    target: target.to_owned(),
                    seconds: started.elapsed().as_secs_f64(),
                    ok: false,
                });
                if f.kind == Kind::Interrupted {
                    return Err(Some(f));
                }
                self.refresh().await.map_err(Some)?;
                r.error = Some(f);
                Err(None)
            }
        }
    }

    /// `alembic stamp TARGET` (no SQL), checked.
    async fn stamp(&mut self, r: &mut RevisionReport, target: &str) -> Result<(), Option<Failure>> {
        let app = self.app;
        let config = self.at().config.clone();
        let started = Instant::now();
        let output = crate::alembic::migration(
            &app.ws,
            &config,
            crate::alembic::Input::Closed,
            &["stamp", target],
            relay(app.verbose, &config.label, "stamp"),
        )
        .await
        .map_err(Some)?;
        self.refresh().await.map_err(Some)?;
        let ok = output.success()
            && (self.at().current == [target.to_owned()]
                || (target == "base" && self.at().current.is_empty()));
        r.steps.push(Timed {
            step: "stamp".to_owned(),
            target: target.to_owned(),
            seconds: started.elapsed().as_secs_f64(),
            ok,
        });
        if output.interrupted {
            return Err(Some(Failure::new(
                Kind::Interrupted,
                "verify interrupted while stamping the scratch database",
                "db-migrate received SIGINT/SIGTERM",
                "rerun db-migrate verify when ready",
            )));
        }
        if !ok {
            let f = crate::remediation::diagnose(
                "stamp",
                &output,
                &crate::remediation::Context::of(&config),
            );
            r.error = Some(scratch_failure(f, &self.select));
            return Err(None);
        }
        Ok(())
    }

    async fn refresh(&mut self) -> Result<(), Failure> {
        let now = inspect::refresh(&self.app.ws, self.at(), self.app.verbose).await?;
        self.at = Some(now);
        Ok(())
    }

    async fn snapshot(&self) -> Result<Snapshot, Failure> {
        snapshot::take(&self.pg_dump, &self.at().config).await
    }
}

/// A step failed and the failure is in the report (`None`): the verdict is `failed`. An
/// interrupt (`Some`) stops everything and leaves the verdict as it was.
fn failed_unless_stopped(stop: &Option<Failure>, verdict: &mut &'static str) {
    if stop.is_none() {
        *verdict = "failed";
    }
}

/// Non-empty diffs make the round trip `differs`, whatever else failed.
fn record_diffs(r: &mut RevisionReport, diffs: Vec<String>) {
    let diff: String = diffs.into_iter().filter(|d| !d.is_empty()).collect();
    if !diff.is_empty() {
        r.roundtrip = "differs";
        r.roundtrip_diff = Some(diff);
    }
}

/// A step's failure as the report shows it: on the scratch database, which is dropped after.
fn scratch_failure(mut f: Failure, select: &str) -> Failure {
    f.database = None;
    if f.kind == Kind::Interrupted {
        f.fix = format!("rerun db-migrate verify {select} when ready");
    } else if f.kind == Kind::MigrationAsksInput {
        // verify has no terminal to answer on; an environment variable reaches the migration.
        f.fix = match f.fix.split_once("=ANSWER ") {
            Some((env, _)) => format!(
                "{env}=ANSWER db-migrate verify {select}   (ANSWER: your reply to the question)"
            ),
            None => format!(
                "verify cannot answer a question: make the migration read its answer from an environment variable when set (as Backend.AI's stringify_userid does), then VAR=ANSWER db-migrate verify {select}"
            ),
        };
    } else if f.fix.contains("db-migrate") {
        f.fix = format!("fix the migration (see the cause), then rerun db-migrate verify {select}");
    }
    f
}

/// The steps of a revision's own proof (not stamps, not older revisions on the way).
const PROOF_STEPS: [&str; 4] = ["upgrade", "downgrade", "upgrade again", "upgrade twice"];

/// The three slowest steps of the revisions' own proofs.
fn slowest(revisions: &[RevisionReport]) -> Vec<Slow> {
    let mut all: Vec<Slow> = revisions
        .iter()
        .flat_map(|r| {
            r.steps
                .iter()
                .filter(|t| t.ok && PROOF_STEPS.contains(&t.step.as_str()))
                .map(|t| Slow {
                    revision: r.revision.clone(),
                    step: t.step.clone(),
                    seconds: t.seconds,
                })
        })
        .collect();
    all.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    all.truncate(3);
    all
}
