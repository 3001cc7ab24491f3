//! `db-migrate check` in real git repositories with the real Alembic rendering each new
//! revision's SQL offline: released history on main, a feature branch adding migrations, and the
//! findings in text, JSON and GitHub's annotation format.

mod harness;

use harness::*;
use serde_json::Value;
use Component::Manager;

const A: &str = "a1a1a1a1a1a1";
const B: &str = "b2b2b2b2b2b2";

/// A migration in Backend.AI's template: docstring ids, `# Part of:` after down_revision, the
/// given upgrade and downgrade bodies (already indented by 4).
fn migration(id: &str, down: Option<&str>, message: &str, upgrade: &str, downgrade: &str) -> Rev {
    let down_py = down.map_or("None".to_owned(), |d| format!("\"{d}\""));
    rev(id, down, message).raw(&format!(
        "\"\"\"{message}\n\nRevision ID: {id}\nRevises: {revises}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\nfrom typing import Sequence, Union\n\nimport sqlalchemy as sa\nfrom alembic import op\n\nrevision: str = \"{id}\"\ndown_revision: Union[str, None] = {down_py}\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels: Union[str, Sequence[str], None] = None\ndepends_on: Union[str, Sequence[str], None] = None\n\n\ndef upgrade() -> None:\n{upgrade}\n\n\ndef downgrade() -> None:\n{downgrade}\n",
        revises = down.unwrap_or("")
    ))
}

fn table(id: &str, name: &str, down: Option<&str>) -> Rev {
    migration(
        id,
        down,
        &format!("create {name}"),
        &format!("    op.create_table(\"{name}\", sa.Column(\"id\", sa.Integer(), primary_key=True), sa.Column(\"owner\", sa.Integer(), nullable=True))"),
        &format!("    op.drop_table(\"{name}\")"),
    )
}

/// main: A (users) → B (sessions), released. Checked out: branch `feature`.
fn repo() -> Workspace {
    let ws = Workspace::new().component(
        Manager,
        &[table(A, "users", None), table(B, "sessions", Some(A))],
    );
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "released history");
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws
}

fn versions(name: &str) -> String {
    format!("{}/alembic/versions/{name}", Manager.package_dir())
}

fn findings(doc: &Value) -> Vec<(String, String, String)> {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap().clone())
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["file"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn errors(doc: &Value) -> Vec<(String, String)> {
    findings(doc)
        .into_iter()
        .filter(|(_, severity, _)| severity == "error")
        .map(|(rule, _, file)| (rule, file))
        .collect()
}

#[test]
fn a_clean_a_hazardous_and_an_edited_released_migration_give_exactly_those_findings() {
    let ws = repo();
    // Clean: a new table. Hazardous: an index on an existing table without CONCURRENTLY.
    ws.add_revisions(
        Manager,
        &[
            table("c3c3c3c3c3c3", "keypairs", Some(B)),
            migration(
                "d4d4d4d4d4d4",
                Some("c3c3c3c3c3c3"),
                "index sessions by owner",
                "    op.create_index(\"ix_sessions_owner\", \"sessions\", [\"owner\"])",
                "    op.drop_index(\"ix_sessions_owner\", table_name=\"sessions\")",
            ),
        ],
    );
    // And a released migration edited: its down_revision changed.
    let released = versions(&format!("{B}_create_sessions.py"));
    let text = ws.read_file(&released).replace(
        &format!("down_revision: Union[str, None] = \"{A}\""),
        "down_revision: Union[str, None] = None",
    );
    ws.write_file(&released, &text);
    commit_all(ws.root(), "my work");

    let r = db_migrate(&ws, &["check", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let mut errs = errors(&doc);
    errs.sort();
    let hazardous = versions("d4d4d4d4d4d4_index_sessions_by_owner.py");
    assert!(
        errs.contains(&(
            "require-concurrent-index-creation".into(),
            hazardous.clone()
        )),
        "{doc:#}"
    );
    assert!(
        errs.contains(&("released-unchanged".into(), released.clone())),
        "{doc:#}"
    );
    // The clean migration has no finding of any severity.
    assert!(
        !findings(&doc)
            .iter()
            .any(|(_, _, f)| f.contains("c3c3c3c3c3c3")),
        "{doc:#}"
    );

    let text = db_migrate(&ws, &["check"]);
    assert_eq!(text.code, Some(1), "{}", text.shown);
    assert!(
        text.stdout.contains(&format!("  {hazardous}\n"))
            && text
                .stdout
                .contains("error   require-concurrent-index-creation"),
        "{}",
        text.shown
    );
    let line = text
        .stdout
        .lines()
        .find(|l| l.contains("require-concurrent-index-creation"))
        .unwrap();
    assert!(
        line.trim_start()
            .starts_with("d4d4d4d4d4d4_index_sessions_by_owner.py:21 "),
        "points at the op.create_index line: {line}"
    );

    let gh = db_migrate(&ws, &["check", "--format", "github"]);
    assert_eq!(gh.code, Some(1), "{}", gh.shown);
    assert!(
        gh.stdout.contains(&format!(
            "::error file={hazardous},line=21,title=db-migrate require-concurrent-index-creation::"
        )),
        "{}",
        gh.shown
    );
    // In GitHub Actions the annotations are the default.
    let auto = run(ws.cmd().env("GITHUB_ACTIONS", "true").arg("check"));
    assert!(auto.stdout.starts_with("::"), "{}", auto.shown);
}

#[test]
fn the_lint_catches_lock_hazards_and_accepts_them_with_a_reasoned_ignore() {
    let ws = repo();
    let hazards = [
        ("e1e1e1e1e1e1", "add required column", "    op.add_column(\"users\", sa.Column(\"email\", sa.String(64), nullable=False))", "    op.drop_column(\"users\", \"email\")", "adding-required-field"),
        ("e2e2e2e2e2e2", "change a column type", "    op.alter_column(\"users\", \"owner\", type_=sa.BigInteger())", "    op.alter_column(\"users\", \"owner\", type_=sa.Integer())", "changing-column-type"),
        ("e3e3e3e3e3e3", "link sessions to users", "    op.create_foreign_key(\"fk_sessions_owner\", \"sessions\", \"users\", [\"owner\"], [\"id\"])", "    op.drop_constraint(\"fk_sessions_owner\", \"sessions\", type_=\"foreignkey\")", "constraint-missing-not-valid"),
    ];
    let mut down = B.to_string();
    let mut revs = Vec::new();
    for (id, message, up, downgrade, _) in hazards {
        revs.push(migration(id, Some(&down), message, up, downgrade));
        down = id.to_string();
    }
    ws.add_revisions(Manager, &revs);
    // One of them in the plain (unannotated) style older Backend.AI migrations use.
    let plain = versions("e2e2e2e2e2e2_change_a_column_type.py");
    let text = ws
        .read_file(&plain)
        .replace("revision: str = ", "revision = ")
        .replace("down_revision: Union[str, None] = ", "down_revision = ")
        .replace(
            "branch_labels: Union[str, Sequence[str], None] = ",
            "branch_labels = ",
        )
        .replace(
            "depends_on: Union[str, Sequence[str], None] = ",
            "depends_on = ",
        )
        .replace("def upgrade() -> None:", "def upgrade():")
        .replace("def downgrade() -> None:", "def downgrade():");
    assert!(
        text.contains("\ndown_revision = \"e1e1e1e1e1e1\""),
        "{text}"
    );
    ws.write_file(&plain, &text);
    commit_all(ws.root(), "hazards");

    let doc = db_migrate(&ws, &["check", "--format", "json"]).json();
    let errs = errors(&doc);
    for (id, message, _, _, rule) in hazards {
        let file = versions(&format!("{id}_{}.py", message.replace(' ', "_")));
        assert!(
            errs.contains(&(rule.to_owned(), file)),
            "{rule} in {id}: {doc:#}"
        );
    }

    // Accepted with a reason: the finding goes. Without a reason: bad-ignore, and it stays.
    let first = versions("e1e1e1e1e1e1_add_required_column.py");
    let src = ws.read_file(&first).replace(
        "nullable=False))",
        "nullable=False))  # db-migrate: ignore[adding-required-field] users is empty in every deployment",
    );
    ws.write_file(&first, &src);
    let second = versions("e2e2e2e2e2e2_change_a_column_type.py");
    let src = ws.read_file(&second).replace(
        "type_=sa.BigInteger())",
        "type_=sa.BigInteger())  # db-migrate: ignore[changing-column-type]",
    );
    ws.write_file(&second, &src);
    let doc = db_migrate(&ws, &["check", "--format", "json"]).json();
    let errs = errors(&doc);
    assert!(
        !errs.iter().any(|(r, _)| r == "adding-required-field"),
        "{doc:#}"
    );
    assert!(
        errs.iter().any(|(r, f)| r == "bad-ignore" && *f == second),
        "{doc:#}"
    );
    assert!(
        errs.iter().any(|(r, _)| r == "changing-column-type"),
        "{doc:#}"
    );
}

#[test]
fn a_migration_that_reads_the_database_is_not_lintable_offline_never_a_silent_pass() {
    let ws = repo();
    ws.add_revisions(
        Manager,
        &[migration(
            "f1f1f1f1f1f1",
            Some(B),
            "backfill owners",
            "    rows = op.get_bind().execute(sa.text(\"SELECT id FROM users\")).fetchall()\n    for _ in rows:\n        pass",
            "    pass",
        )],
    );
    commit_all(ws.root(), "data migration");
    let r = db_migrate(&ws, &["check", "--format", "json"]);
    assert_eq!(r.code, Some(0), "a warning only: {}", r.shown);
    let doc = r.json();
    assert!(
        findings(&doc)
            .iter()
            .any(|(rule, severity, file)| rule == "not-lintable-offline"
                && severity == "warning"
                && file.contains("f1f1f1f1f1f1")),
        "{doc:#}"
    );
    let strict = db_migrate(&ws, &["check", "--strict"]);
    assert_eq!(strict.code, Some(1), "{}", strict.shown);
}

#[test]
fn history_rules_fire_on_a_merge_and_on_a_migration_that_starts_from_old_history() {
    let ws = repo();
    ws.add_revisions(
        Manager,
        &[
            table("c1c1c1c1c1c1", "quotas", Some(A)),
            merge("c9c9c9c9c9c9", &[B, "c1c1c1c1c1c1"], "merge heads"),
        ],
    );
    commit_all(ws.root(), "old parent and a merge");
    let doc = db_migrate(&ws, &["check", "--no-lint", "--format", "json"]).json();
    let rules: Vec<String> = errors(&doc).into_iter().map(|(r, _)| r).collect();
    assert!(rules.contains(&"no-merge-migration".to_owned()), "{doc:#}");
    assert!(rules.contains(&"linear-on-base".to_owned()), "{doc:#}");

    // The released history alone (main) is clean.
    git(ws.root(), &["checkout", "-q", "main"]);
    let clean = db_migrate(&ws, &["check"]);
    assert_eq!(clean.code, Some(0), "{}", clean.shown);
    assert!(
        clean.stdout.contains("0 errors, 0 warnings"),
        "{}",
        clean.shown
    );
}

#[test]
fn without_git_the_rules_that_need_a_base_say_they_were_skipped() {
    let ws = Workspace::new().component(
        Manager,
        &[table(A, "users", None), table(B, "sessions", Some(A))],
    );
    let r = db_migrate(&ws, &["check"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.contains(
            "skipped no-merge-migration, released-unchanged, linear-on-base: not a git work tree"
        ),
        "{}",
        r.shown
    );
    assert!(r.stdout.contains("squawk: no base ref"), "{}", r.shown);

    let explain = db_migrate(&ws, &["check", "--explain", "released-unchanged"]);
    assert_eq!(explain.code, Some(0), "{}", explain.shown);
    assert!(
        explain.stdout.starts_with("released-unchanged (error)"),
        "{}",
        explain.shown
    );
    let unknown = db_migrate(&ws, &["check", "--explain", "no-such-rule"]);
    assert_eq!(unknown.code, Some(2), "{}", unknown.shown);
}
