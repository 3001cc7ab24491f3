//! Snapshots of an upgrade and a downgrade plan, built in memory (no Alembic, no database): the
//! plan lines with what a downgrade destroys (found in in-memory revision sources, as
//! `destructive_ops` finds them in the files), and the JSON of a dry run and of a finished run.
//!
//! Not reachable from memory: the header line (`manager (alembic.ini): upgrade to head`), the
//! `sessions` line (asks the database), `already there`, `dry run: nothing was changed` and
//! `restart …`, which `prepare` and `apply` print inline, and the step lines Alembic's output
//! drives while the run goes.

use crate::commands::steps::{describe_destruction, describe_plan};
use crate::inspect::Inspection;
use crate::plan::{plan, Direction};
use crate::render::snapshot_tests::{inspection, linear, status_json};
use crate::render::snapshot_tests::{ComponentReport, Destructive, Step};
use crate::revisions::destructive;
use crate::target::Target;

/// The `downgrade()` of each fixture revision: what reverting it runs.
fn downgrade_source(id: &str) -> &'static str {
    match id {
        "e1d1a2f4a0b9" => {
            "def upgrade() -> None:\n    op.add_column(\"users\", sa.Column(\"totp_key\", sa.String(64)))\n\n\ndef downgrade() -> None:\n    op.drop_column(\"users\", \"totp_key\")\n"
        }
        "8679d0a7e22b" => {
            "def upgrade() -> None:\n    op.add_column(\"sessions\", sa.Column(\"priority\", sa.Integer()))\n\n\ndef downgrade() -> None:\n    op.execute(\"UPDATE sessions SET status = 'cancelled' WHERE priority > 10\")\n    op.drop_column(\"sessions\", \"priority\")\n"
        }
        _ => {
            "def upgrade() -> None:\n    op.create_table(\"keypairs\", sa.Column(\"access_key\", sa.String(20)))\n\n\ndef downgrade() -> None:\n    op.drop_table(\"keypairs\")\n"
        }
    }
}

/// What `destructive_ops` reports for `revs`, from the sources above.
fn destroys(i: &Inspection, revs: &[usize]) -> Vec<Destructive> {
    revs.iter()
        .flat_map(|&r| {
            let rev = i.graph.rev(r);
            destructive::in_downgrade(downgrade_source(&rev.id).as_bytes())
                .into_iter()
                .map(move |f| Destructive {
                    revision: rev.id.clone(),
                    file: rev.path.clone().unwrap_or_default(),
                    line: f.line,
                    operation: f.operation,
                })
        })
        .collect()
}

/// The plan lines `upgrade`/`downgrade` print before running, and what they destroy.
fn planned(i: &Inspection, direction: Direction, target: &str) -> (String, Vec<Destructive>) {
    let target = Target::parse(target).expect("a valid target");
    let revs = plan(i, direction, &target);
    let destructive = match (direction, revs.as_deref()) {
        (Direction::Downgrade, Some(revs)) => destroys(i, revs),
        _ => Vec::new(),
    };
    let mut text = describe_plan(i, direction, revs.as_deref());
    text.push_str(&describe_destruction(&destructive));
    (text, destructive)
}

#[test]
fn upgrade_plan() {
    let before = inspection(linear(), &["4b7b650bc30e"]);
    let (text, destructive) = planned(&before, Direction::Upgrade, "head");
    assert!(destructive.is_empty());
    insta::assert_snapshot!("upgrade_plan_text", text);
}

#[test]
fn upgrade_finished_in_json() {
    let after = inspection(linear(), &["e1d1a2f4a0b9"]);
    let mut report = ComponentReport::from_inspection(&after);
    report.applied = vec![
        Step {
            direction: "upgrade".into(),
            from: vec!["4b7b650bc30e".into()],
            to: vec!["8679d0a7e22b".into()],
            message: "add sessions.priority".into(),
        },
        Step {
            direction: "upgrade".into(),
            from: vec!["8679d0a7e22b".into()],
            to: vec!["e1d1a2f4a0b9".into()],
            message: "add users.totp_key".into(),
        },
    ];
    insta::assert_snapshot!("upgrade_finished_json", status_json(vec![report], None));
}

#[test]
fn downgrade_plan_with_data_loss() {
    let before = inspection(linear(), &["e1d1a2f4a0b9"]);
    let (text, destructive) = planned(&before, Direction::Downgrade, "base");
    insta::assert_snapshot!("downgrade_to_base_plan_text", text);
    let mut report = ComponentReport::from_inspection(&before);
    report.destructive = destructive;
    insta::assert_snapshot!(
        "downgrade_to_base_dry_run_json",
        status_json(vec![report], None)
    );
}

#[test]
fn downgrade_one_step_plan() {
    let before = inspection(linear(), &["e1d1a2f4a0b9"]);
    let (text, _) = planned(&before, Direction::Downgrade, "-1");
    insta::assert_snapshot!("downgrade_one_step_plan_text", text);
}

#[test]
fn downgrade_from_no_revision_plans_nothing() {
    let before = inspection(linear(), &[]);
    let (text, _) = planned(&before, Direction::Downgrade, "base");
    insta::assert_snapshot!("downgrade_from_base_plan_text", text);
}

fn both_formats(f: &crate::render::snapshot_tests::Failure) -> String {
    format!(
        "--- text\n{}--- json\n{}\n",
        crate::render::text::failure(f),
        crate::render::snapshot_tests::json::failure(f)
    )
}

fn alembic_output(stdout: &[&str], stderr: &[&str], code: i32) -> crate::alembic::Output {
    crate::alembic::Output {
        code: Some(code),
        stdout: stdout.iter().map(|l| (*l).to_owned()).collect(),
        stderr: stderr.iter().map(|l| (*l).to_owned()).collect(),
        interrupted: false,
        launcher: Some("./py".into()),
    }
}

#[test]
fn an_upgrade_that_exits_0_without_migrating_is_a_failure() {
    let before = inspection(linear(), &["4b7b650bc30e"]);
    let target = Target::parse("head").expect("a valid target");
    let planned = plan(&before, Direction::Upgrade, &target).expect("a plan");
    let ws = crate::workspace::Workspace {
        root: before.config.root.clone(),
        launcher: vec![format!("{}/py", crate::render::snapshot_tests::ROOT)],
        alembic_timeout: crate::workspace::DEFAULT_ALEMBIC_TIMEOUT,
    };
    // Alembic started (its context line) but ran no step: env.py never ran the migrations.
    let output = alembic_output(
        &[],
        &["INFO  [alembic.runtime.migration] Context impl PostgresqlImpl."],
        0,
    );
    let failure = crate::commands::steps::execute::verify_outcome(
        &ws,
        &before,
        &before,
        Direction::Upgrade,
        &planned,
        &output,
    )
    .expect_err("the database did not move");
    insta::assert_snapshot!("upgrade_outcome_mismatch", both_formats(&failure));
}

#[test]
fn an_unknown_target_is_explained_with_alembic_s_line() {
    let before = inspection(linear(), &["4b7b650bc30e"]);
    let target = Target::parse("ffff").expect("a valid target");
    let output = alembic_output(
        &[],
        &[
            "ERROR [alembic.util.messaging] Can't locate revision identified by 'ffff'",
            "  FAILED: Can't locate revision identified by 'ffff'",
        ],
        255,
    );
    let failure = crate::commands::steps::diagnose_run(&before, "upgrade", &target, &output, false);
    insta::assert_snapshot!("upgrade_unknown_target", both_formats(&failure));
}
