//! `db-migrate check` follows the team's migration policy (the alembic directory's `AGENTS.md`
//! and README), in real git repositories with the real Alembic: the empty merge of main's heads,
//! the README's backport insertion, a released file's own declarations, and ignore comments
//! where people put them.

mod harness;

use harness::*;
use serde_json::Value;
use Component::Manager;

const A: &str = "a1a1a1a1a1a1";
const B: &str = "b2b2b2b2b2b2";
const C: &str = "c3c3c3c3c3c3";

const UNRELEASED: &str = "NEXT_RELEASE_VERSION";
const BACKPORT: &str = "26.4.8 (backport), 26.8.0 (main)";

/// A migration in Backend.AI's template: docstring ids, `# Part of: {part_of}` after
/// down_revision (a tuple for a merge), the given bodies (already indented by 4).
fn migration(
    id: &str,
    down: &[&str],
    message: &str,
    part_of: &str,
    upgrade: &str,
    downgrade: &str,
) -> Rev {
    let down_py = match down {
        [] => "None".to_owned(),
        [one] => format!("\"{one}\""),
        many => format!(
            "({})",
            many.iter()
                .map(|d| format!("\"{d}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    merge(id, down, message).raw(&format!(
        "\"\"\"{message}\n\nRevision ID: {id}\nRevises: {revises}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision = \"{id}\"\ndown_revision = {down_py}\n# Part of: {part_of}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n{upgrade}\n\n\ndef downgrade() -> None:\n{downgrade}\n",
        revises = down.join(", ")
    ))
}

/// A new table, released or not.
fn table(id: &str, name: &str, down: &[&str], part_of: &str) -> Rev {
    migration(
        id,
        down,
        &format!("create {name}"),
        part_of,
        &format!("    op.create_table(\"{name}\", sa.Column(\"id\", sa.Integer(), primary_key=True), sa.Column(\"owner\", sa.Integer(), nullable=True))"),
        &format!("    op.drop_table(\"{name}\")"),
    )
}

/// The team's merge: empty bodies, `# Part of: NEXT_RELEASE_VERSION`.
fn empty_merge(id: &str, heads: &[&str]) -> Rev {
    migration(
        id,
        heads,
        &format!("merge heads {}", heads.join(" and ")),
        UNRELEASED,
        "    pass",
        "    pass",
    )
}

fn versions(name: &str) -> String {
    format!("{}/alembic/versions/{name}", Manager.package_dir())
}

fn file(r: &Rev) -> String {
    versions(&r.file_name())
}

/// `revs` committed on main (released), then branch `feature` checked out.
fn released(revs: &[Rev]) -> Workspace {
    let ws = Workspace::new().component(Manager, revs);
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "released history");
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws
}

/// main: A, with B and C both on A (two released heads).
fn two_heads() -> (Workspace, [Rev; 3]) {
    let revs = [
        table(A, "users", &[], "26.8.0"),
        table(B, "sessions", &[A], "26.8.0"),
        table(C, "keypairs", &[A], "26.8.0"),
    ];
    (released(&revs), revs)
}

/// One finding: (rule, severity, file, message).
type Found = (String, String, String, String);

/// Every finding.
fn findings(doc: &Value) -> Vec<Found> {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap().clone())
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_owned();
            (s("rule"), s("severity"), s("file"), s("message"))
        })
        .collect()
}

fn check_json(ws: &Workspace) -> (Option<i32>, Vec<Found>, Value) {
    let r = db_migrate(ws, &["check", "--format", "json"]);
    let doc = r.json();
    (r.code, findings(&doc), doc)
}

/// The one head Alembic itself sees.
fn alembic_heads(ws: &Workspace) -> Vec<String> {
    ws.alembic_ok(Manager, &["heads"])
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_teams_empty_merge_of_mains_two_heads_is_accepted_with_a_migration_on_top() {
    let (ws, _) = two_heads();
    let merge = empty_merge("e1e1e1e1e1e1", &[C, B]);
    let mine = table("f1f1f1f1f1f1", "quotas", &["e1e1e1e1e1e1"], UNRELEASED);
    ws.add_revisions(Manager, &[merge, mine]);
    commit_all(ws.root(), "merge main's heads, then my migration");

    let (code, found, doc) = check_json(&ws);
    assert_eq!(code, Some(0), "{doc:#}");
    assert!(found.is_empty(), "not a single finding: {found:#?}");
    assert_eq!(
        alembic_heads(&ws),
        ["f1f1f1f1f1f1"],
        "Alembic sees one head"
    );
    let text = db_migrate(&ws, &["check"]);
    assert_eq!(text.code, Some(0), "{}", text.shown);
    assert!(
        text.stdout.contains("0 errors, 0 warnings"),
        "{}",
        text.shown
    );
}

#[test]
fn a_merge_of_non_heads_with_content_or_not_needed_is_still_flagged_in_every_format() {
    let (ws, _) = two_heads();
    // Each case on its own branch from main; the merge is the last revision.
    let cases: Vec<(&str, Vec<Rev>, &str)> = vec![
        (
            "content",
            vec![migration(
                "e2e2e2e2e2e2",
                &[C, B],
                "merge heads with a table",
                UNRELEASED,
                "    op.create_table(\"quotas\", sa.Column(\"id\", sa.Integer(), primary_key=True))",
                "    op.drop_table(\"quotas\")",
            )],
            "do something",
        ),
        (
            "non-heads",
            vec![
                table("d1d1d1d1d1d1", "quotas", &[B], UNRELEASED),
                empty_merge("e3e3e3e3e3e3", &["d1d1d1d1d1d1", C]),
            ],
            "the heads at",
        ),
    ];
    for (name, revs, says) in cases {
        let merge = file(revs.last().unwrap());
        git(ws.root(), &["checkout", "-q", "-b", name, "main"]);
        ws.add_revisions(Manager, &revs);
        commit_all(ws.root(), name);
        let (code, found, doc) = check_json(&ws);
        assert_eq!(code, Some(1), "{name}: {doc:#}");
        let hit = found
            .iter()
            .find(|(rule, sev, f, _)| rule == "no-merge-migration" && sev == "error" && *f == merge)
            .unwrap_or_else(|| panic!("{name}: {doc:#}"));
        assert!(hit.3.contains(says), "{name}: {}", hit.3);

        let gh = db_migrate(&ws, &["check", "--format", "github"]);
        assert_eq!(gh.code, Some(1), "{}", gh.shown);
        assert!(
            gh.stdout.contains(&format!(
                "::error file={merge},line=14,title=db-migrate no-merge-migration::"
            )),
            "{}",
            gh.shown
        );
        let text = db_migrate(&ws, &["check", "--no-lint"]);
        assert_eq!(text.code, Some(1), "{}", text.shown);
        assert!(
            text.stdout.contains("error   no-merge-migration"),
            "{}",
            text.shown
        );
    }

    // Not needed: main has a single head, so the developer's migration is repointed instead.
    let ws = released(&[
        table(A, "users", &[], "26.8.0"),
        table(B, "sessions", &[A], "26.8.0"),
    ]);
    let merge = empty_merge("e4e4e4e4e4e4", &[B, "d2d2d2d2d2d2"]);
    ws.add_revisions(
        Manager,
        &[
            table("d2d2d2d2d2d2", "quotas", &[A], UNRELEASED),
            merge.clone(),
        ],
    );
    commit_all(ws.root(), "merge my diverged migration");
    let (code, found, doc) = check_json(&ws);
    assert_eq!(code, Some(1), "{doc:#}");
    let hit = found
        .iter()
        .find(|(rule, _, f, _)| rule == "no-merge-migration" && *f == file(&merge))
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert!(
        hit.3.contains("has a single head")
            && hit.3.contains("repoint your own unmerged migration"),
        "{}",
        hit.3
    );
}

#[test]
fn the_readme_backport_insertion_is_accepted_and_other_edits_of_released_revisions_are_not() {
    // main: A → B → C, released.
    let b = table(B, "sessions", &[A], "26.8.0");
    let c = table(C, "keypairs", &[B], "26.8.0");
    let ws = released(&[table(A, "users", &[], "26.8.0"), b.clone(), c.clone()]);
    // d below B (its id from the release branch), d' on top of C, B repointed from A to d.
    let idempotent = |id: &str, down: &[&str], message: &str| {
        migration(
            id,
            down,
            message,
            BACKPORT,
            "    op.execute(\"UPDATE users SET owner = NULL WHERE owner = 0\")",
            "    pass",
        )
    };
    let d = idempotent("d5d5d5d5d5d5", &[A], "clear zero owners");
    let d2 = idempotent("d6d6d6d6d6d6", &[C], "clear zero owners again");
    ws.add_revisions(Manager, &[d, d2]);
    let repoint = |rev: &Rev, from: &str, to: &str| {
        let text = ws
            .read_file(&file(rev))
            .replace(
                &format!("down_revision = \"{from}\""),
                &format!("down_revision = \"{to}\""),
            )
            .replace(&format!("Revises: {from}"), &format!("Revises: {to}"));
        assert!(
            text.contains(&format!("down_revision = \"{to}\"")),
            "{text}"
        );
        ws.write_file(&file(rev), &text);
    };
    repoint(&b, A, "d5d5d5d5d5d5");
    commit_all(ws.root(), "backport: clear zero owners");

    let (code, found, doc) = check_json(&ws);
    assert_eq!(code, Some(0), "{doc:#}");
    assert!(
        !found.iter().any(|(_, sev, _, _)| sev == "error"),
        "{found:#?}"
    );
    assert_eq!(alembic_heads(&ws), ["d6d6d6d6d6d6"], "one head");
    let history = ws.alembic_ok(Manager, &["history"]);
    assert!(
        history.contains(&format!("{A} -> d5d5d5d5d5d5"))
            && history.contains(&format!("d5d5d5d5d5d5 -> {B}")),
        "Alembic runs d between A and B: {history}"
    );

    // Any other edit of a released revision is rejected, never pointed at fix-heads: C repointed
    // past B onto d (B would be skipped) ...
    git(ws.root(), &["checkout", "-q", "-b", "skip-b"]);
    repoint(&c, B, "d5d5d5d5d5d5");
    commit_all(ws.root(), "C past B");
    let (code, found, doc) = check_json(&ws);
    assert_eq!(code, Some(1), "{doc:#}");
    let hit = found
        .iter()
        .find(|(rule, _, f, _)| rule == "released-unchanged" && *f == file(&c))
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert!(
        hit.3
            .contains(&format!("down_revision changed from {B} to d5d5d5d5d5d5")),
        "{}",
        hit.3
    );
    assert!(!hit.3.contains("fix-heads"), "{}", hit.3);

    // ... and B moved onto nothing (a new root), no backport involved.
    git(ws.root(), &["checkout", "-q", "-b", "b-root", "feature"]);
    let text = ws
        .read_file(&file(&b))
        .replace("down_revision = \"d5d5d5d5d5d5\"", "down_revision = None");
    ws.write_file(&file(&b), &text);
    commit_all(ws.root(), "B as a root");
    let (code, found, doc) = check_json(&ws);
    assert_eq!(code, Some(1), "{doc:#}");
    let hit = found
        .iter()
        .find(|(rule, _, f, _)| rule == "released-unchanged" && *f == file(&b))
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert!(hit.3.contains("only to insert a backport"), "{}", hit.3);
}

#[test]
fn a_branch_label_added_to_one_released_file_is_reported_on_that_file_alone() {
    let a = table(A, "users", &[], "26.8.0");
    let ws = released(&[
        a.clone(),
        table(B, "sessions", &[A], "26.8.0"),
        table(C, "keypairs", &[B], "26.8.0"),
    ]);
    let text = ws
        .read_file(&file(&a))
        .replace("branch_labels = None", "branch_labels = (\"core\",)");
    ws.write_file(&file(&a), &text);
    commit_all(ws.root(), "label the root");
    // Alembic gives B and C the label too; only A's file changed.
    assert!(
        ws.alembic_ok(Manager, &["heads"]).contains("(core)"),
        "Alembic inherits the label"
    );

    let (code, found, doc) = check_json(&ws);
    assert_eq!(code, Some(1), "{doc:#}");
    assert_eq!(found.len(), 1, "exactly one finding: {found:#?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].2.as_str()),
        ("released-unchanged", file(&a).as_str())
    );
    assert!(
        found[0]
            .3
            .contains("branch_labels changed from None to core"),
        "{}",
        found[0].3
    );
}

#[test]
fn an_ignore_above_a_multi_line_call_or_on_its_last_line_accepts_the_lint_finding() {
    let ws = released(&[
        table(A, "users", &[], "26.8.0"),
        table(B, "sessions", &[A], "26.8.0"),
    ]);
    let call = "    op.create_index(\n        \"ix_sessions_owner\",\n        \"sessions\",\n        [\"owner\"],\n    )";
    let index = |upgrade: &str| {
        migration(
            "d7d7d7d7d7d7",
            &[B],
            "index sessions by owner",
            UNRELEASED,
            upgrade,
            "    op.drop_index(\"ix_sessions_owner\", table_name=\"sessions\")",
        )
    };
    let rule = "require-concurrent-index-creation";
    let path = file(&index(call));
    let lint_hits = |found: &[Found]| {
        found
            .iter()
            .filter(|(r, _, f, _)| r == rule && *f == path)
            .count()
    };

    // Without an ignore the hazard is reported, at the call's first line.
    ws.add_revisions(Manager, &[index(call)]);
    commit_all(ws.root(), "index");
    let (code, found, doc) = check_json(&ws);
    assert_eq!(code, Some(1), "{doc:#}");
    assert_eq!(lint_hits(&found), 1, "{doc:#}");
    let text = db_migrate(&ws, &["check"]);
    assert!(
        text.stdout
            .contains("d7d7d7d7d7d7_index_sessions_by_owner.py:21 "),
        "{}",
        text.shown
    );

    let variants = [
        (
            "above, stacked with another ignore",
            format!("    # db-migrate: ignore[{rule}] sessions has a few hundred rows everywhere\n    # db-migrate: ignore[adding-required-field] belt and braces\n{call}"),
            0,
        ),
        (
            "at the end of the last line",
            format!("{call}  # db-migrate: ignore[{rule}] sessions is small"),
            0,
        ),
        (
            "above a blank line: covers nothing",
            format!("    # db-migrate: ignore[{rule}] sessions is small\n\n{call}"),
            1,
        ),
    ];
    for (name, upgrade, hits) in variants {
        ws.add_revisions(Manager, &[index(&upgrade)]);
        let (code, found, doc) = check_json(&ws);
        assert_eq!(lint_hits(&found), hits, "{name}: {doc:#}");
        let unused: Vec<&str> = found
            .iter()
            .filter(|(r, _, _, _)| r == "unused-ignore")
            .map(|(_, _, _, m)| m.as_str())
            .collect();
        if hits == 0 {
            // The stacked adding-required-field ignore found nothing: reported, as a warning.
            assert_eq!(code, Some(0), "{name}: {doc:#}");
            assert!(
                unused.iter().all(|m| m.contains("adding-required-field")),
                "{name}: {unused:?}"
            );
        } else {
            assert_eq!(code, Some(1), "{name}: {doc:#}");
            assert_eq!(unused.len(), 1, "{name}: {doc:#}");
        }
    }
}
