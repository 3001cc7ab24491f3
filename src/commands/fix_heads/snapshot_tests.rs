//! Snapshots of what `fix-heads` reports, built in memory (no git, no files, no database): its
//! refusals and the failure of a new order on the scratch copy (text and JSON), and the JSON of a
//! repoint and of a merge (with the diff of the file, made from an in-memory revision file).
//!
//! Not reachable from memory: the `repoint`/`merge` header lines (the move, the diff, the
//! walk-back plan), `proved`/`unproved`, `rewrote`, and the dry-run line, which `repoint` and
//! `merge::write` print inline while they edit the file and migrate.

use super::{order_fails, refused};
use crate::heads::released::Released;
use crate::heads::{Fix, Refusal};
use crate::inspect::Inspection;
use crate::render::snapshot_tests::{
    diagnosed, diverged, explained, inspection, linear, status_json, VERSIONS,
};
use crate::render::snapshot_tests::{json, ComponentReport, MergeReport, RepointReport};
use crate::render::text;
use crate::revisions::edit;

fn both_formats(f: &crate::render::snapshot_tests::Failure) -> String {
    format!(
        "--- text\n{}--- json\n{}\n",
        text::failure(f),
        json::failure(f)
    )
}

/// The developer's diverged branch (`e1d1a2f4a0b9`, unreleased) on main's released head.
fn mine_unreleased() -> Inspection {
    explained(
        inspection(diverged(), &["e1d1a2f4a0b9"]),
        &[
            ("8679d0a7e22b", Released::Yes),
            ("e1d1a2f4a0b9", Released::No),
        ],
    )
}

#[test]
fn refusals() {
    let i = explained(
        inspection(diverged(), &["4b7b650bc30e"]),
        &[
            ("8679d0a7e22b", Released::No),
            ("e1d1a2f4a0b9", Released::No),
        ],
    );
    let why = i
        .explanation
        .as_ref()
        .and_then(|e| e.plan.clone().err())
        .expect("both branches unreleased: a refusal");
    insta::assert_snapshot!(
        "fix_heads_refused_several_unreleased",
        both_formats(&refused(&i, &why))
    );
    insta::assert_snapshot!(
        "fix_heads_refused_nothing_to_put_first",
        both_formats(&refused(&i, &Refusal::NothingToPutFirst))
    );
    let released_below = Refusal::ReleasedBelow(vec![i
        .graph
        .index_of("8679d0a7e22b")
        .expect("a known revision")]);
    insta::assert_snapshot!(
        "fix_heads_refused_released_below",
        both_formats(&refused(&i, &released_below))
    );
}

#[test]
fn a_new_order_that_fails_on_the_scratch_copy() {
    let i = mine_unreleased();
    let e = i.explanation.as_deref().expect("explained");
    let Ok(Fix::Repoint(r)) = &e.plan else {
        panic!("a repoint: {:?}", e.plan)
    };
    let failed = diagnosed(
        "upgrade",
        &[],
        &[
            "INFO  [alembic.runtime.migration] Running upgrade 8679d0a7e22b -> e1d1a2f4a0b9, add users.totp_key",
            "sqlalchemy.exc.ProgrammingError: (sqlalchemy.dialects.postgresql.asyncpg.ProgrammingError) <class 'asyncpg.exceptions.UndefinedColumnError'>: column \"priority\" does not exist",
        ],
    );
    // The other branch's files cannot be read here, so --mine-first is not offered.
    insta::assert_snapshot!(
        "fix_heads_order_fails",
        both_formats(&order_fails(&i, e, r, "backend", failed.clone(), false))
    );
    insta::assert_snapshot!(
        "fix_heads_order_fails_mine_first",
        both_formats(&order_fails(&i, e, r, "backend", failed, true))
    );
}

/// The developer's revision file, as `alembic revision` writes it.
fn totp_file() -> String {
    "\"\"\"add users.totp_key\n\nRevision ID: e1d1a2f4a0b9\nRevises: 4b7b650bc30e\nCreate Date: 2026-11-30 10:12:44.120931\n\n\"\"\"\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision = \"e1d1a2f4a0b9\"\ndown_revision = \"4b7b650bc30e\"\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    op.add_column(\"users\", sa.Column(\"totp_key\", sa.String(length=64), nullable=True))\n\n\ndef downgrade() -> None:\n    op.drop_column(\"users\", \"totp_key\")\n".to_owned()
}

#[test]
fn a_repoint_in_json() {
    let i = mine_unreleased();
    let shown = format!("{VERSIONS}/e1d1a2f4a0b9_add_users_totp_key.py");
    let before = totp_file();
    let after = edit::repoint(before.as_bytes(), "4b7b650bc30e", "8679d0a7e22b")
        .expect("a plain down_revision");
    let diff = edit::unified_diff(&shown, before.as_bytes(), &after);
    let mut report = ComponentReport::from_inspection(&i);
    report.repoint = Some(Box::new(RepointReport {
        revision: "e1d1a2f4a0b9".into(),
        file: shown,
        from: "4b7b650bc30e".into(),
        onto: "8679d0a7e22b".into(),
        diff,
        walk_back: true,
        written: false,
        proved: false,
        proof: "not run (--dry-run): the new order is proved on a scratch copy before the file is written".into(),
    }));
    insta::assert_snapshot!(
        "fix_heads_repoint_dry_run_json",
        status_json(vec![report], None)
    );
}

/// `--dry-run` when main has two released heads: the merge file that would be written.
#[test]
fn a_merge_in_json() {
    let i = explained(
        inspection(diverged(), &["8679d0a7e22b"]),
        &[
            ("8679d0a7e22b", Released::Yes),
            ("e1d1a2f4a0b9", Released::Yes),
        ],
    );
    let heads = ["8679d0a7e22b", "e1d1a2f4a0b9"];
    let id = "5d6e7f8091a2";
    let shown = format!("{VERSIONS}/{}", crate::heads::merge::file_name(id, &heads));
    let text = crate::heads::merge::text(id, &heads, "2026-12-02 23:59:00.000000");
    let mut report = ComponentReport::from_inspection(&i);
    report.merge = Some(Box::new(MergeReport {
        revision: id.into(),
        file: shown.clone(),
        heads: heads.iter().map(|h| (*h).to_owned()).collect(),
        diff: edit::new_file_diff(&shown, &text),
        written: false,
    }));
    insta::assert_snapshot!(
        "fix_heads_merge_dry_run_json",
        status_json(vec![report], None)
    );
}

/// The head file (`head-file = true`) after `git merge` reported a conflict in it: the lines
/// shown before writing, and the JSON once written (`next` starts with `git add`).
#[test]
fn a_conflicted_head_file_rewritten() {
    use super::head_file::{git_add_next, Planned};
    use crate::heads::file::Rewrite;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("head.txt");
    std::fs::write(
        &path,
        "<<<<<<< HEAD\ne1d1a2f4a0b9\n=======\n8679d0a7e22b\n>>>>>>> origin/main\n",
    )
    .expect("writable");
    let rewrite = Rewrite::plan(&path, "e1d1a2f4a0b9")
        .expect("readable")
        .expect("not current");
    let mut planned = Planned::new(rewrite, format!("{VERSIONS}/head.txt"));
    let shown = planned.shown();
    planned.report.written = true;
    // Repointed: one head, the database behind it (main's migration not applied yet).
    let i = inspection(linear(), &["4b7b650bc30e"]);
    let mut report = ComponentReport::from_inspection(&i);
    report.head_file = Some(Box::new(planned.report));
    git_add_next(&i, &mut report);
    insta::assert_snapshot!(
        "fix_heads_head_file_conflicted",
        format!(
            "--- text\n{shown}--- json\n{}\n",
            status_json(vec![report], None)
        )
    );
}
