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
            "skipped no-merge-migration, released-unchanged, linear-on-base, heads-after-merge: not a git work tree"
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

/// `check ARGS` in text, JSON and GitHub format.
fn in_every_format(ws: &Workspace, args: &[&str]) -> [Run; 3] {
    let with = |format: &str| {
        let mut all = vec!["check", "--format", format];
        all.extend_from_slice(args);
        db_migrate(ws, &all)
    };
    [with("text"), with("json"), with("github")]
}

/// A feature branch adding an index without CONCURRENTLY: a hazard check must report.
fn hazard_on_a_branch() -> Workspace {
    let ws = repo();
    ws.add_revisions(
        Manager,
        &[migration(
            "d4d4d4d4d4d4",
            Some(B),
            "index sessions by owner",
            "    op.create_index(\"ix_sessions_owner\", \"sessions\", [\"owner\"])",
            "    op.drop_index(\"ix_sessions_owner\", table_name=\"sessions\")",
        )],
    );
    commit_all(ws.root(), "my work");
    ws
}

#[test]
fn an_explicit_base_that_does_not_exist_is_a_usage_error_in_every_format() {
    let ws = hazard_on_a_branch();
    // The hazard is there: with the real base it is reported.
    let found = db_migrate(&ws, &["check", "--base", "main"]);
    assert_eq!(found.code, Some(1), "{}", found.shown);

    let [text, json, github] = in_every_format(&ws, &["--base", "nosuchref"]);
    for r in [&text, &json, &github] {
        assert_eq!(r.code, Some(2), "a typo never skips the rules: {}", r.shown);
    }
    let listing = format!("git -C {} branch -a", ws.root().display());
    assert!(
        text.stderr.contains("--base nosuchref") && text.stderr.contains(&listing),
        "{}",
        text.shown
    );
    let doc = json.json();
    assert_eq!(doc["error"]["kind"], "unknown-base-ref", "{doc:#}");
    assert!(
        doc["error"]["fix"].as_str().unwrap().contains(&listing),
        "{doc:#}"
    );
    assert!(
        github
            .stdout
            .starts_with("::error title=db-migrate unknown-base-ref::--base nosuchref"),
        "{}",
        github.shown
    );

    // Outside git an explicit --base cannot be honoured either; without one, skipping stays.
    std::fs::remove_dir_all(ws.root().join(".git")).unwrap();
    let no_git = db_migrate(&ws, &["check", "--base", "main"]);
    assert_eq!(no_git.code, Some(2), "{}", no_git.shown);
    assert!(
        no_git.stderr.contains("not in a git work tree"),
        "{}",
        no_git.shown
    );
}

#[test]
fn a_revision_file_python_cannot_import_is_an_error_at_that_file() {
    let ws = repo();
    let good = table("c3c3c3c3c3c3", "keypairs", Some(B));
    ws.add_revisions(Manager, &[good]);
    // Saved as Latin-1: the table name's é is one byte, 0xe9, on the op.create_table line.
    let name = versions("c3c3c3c3c3c3_create_keypairs.py");
    let latin1: Vec<u8> = ws
        .read_file(&name)
        .replace("\"keypairs\"", "\"keypair\u{e9}s\"")
        .chars()
        .map(|c| c as u32 as u8)
        .collect();
    std::fs::write(ws.root().join(&name), latin1).unwrap();
    commit_all(ws.root(), "latin-1");

    let [text, json, github] = in_every_format(&ws, &[]);
    for r in [&text, &json, &github] {
        assert_eq!(r.code, Some(1), "{}", r.shown);
    }
    assert!(
        errors(&json.json()).contains(&("unloadable-file".into(), name.clone())),
        "{}",
        json.shown
    );
    assert!(
        text.stdout
            .contains("c3c3c3c3c3c3_create_keypairs.py:21  error   unloadable-file"),
        "{}",
        text.shown
    );
    assert!(
        github.stdout.contains(&format!(
            "::error file={name},line=21,title=db-migrate unloadable-file::"
        )),
        "{}",
        github.shown
    );
    // Static: found without the lint too.
    let static_only = db_migrate(&ws, &["check", "--no-lint"]);
    assert_eq!(static_only.code, Some(1), "{}", static_only.shown);

    // Binary garbage: named as the file it is, by check and by every other command.
    let garbage = versions("e5e5e5e5e5e5_garbage.py");
    std::fs::write(
        ws.root().join(&garbage),
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\xff\xfe\n",
    )
    .unwrap();
    let doc = db_migrate(&ws, &["check", "--format", "json"]).json();
    assert!(
        errors(&doc).contains(&("component-fault".into(), garbage.clone())),
        "{doc:#}"
    );
    let status = db_migrate(&ws, &["status"]);
    assert_eq!(status.code, Some(1), "{}", status.shown);
    assert!(
        status.stderr.contains("e5e5e5e5e5e5_garbage.py") && !status.stderr.contains("<frozen"),
        "{}",
        status.shown
    );
}

#[test]
fn a_launcher_that_runs_nothing_fails_the_lint_instead_of_passing_it() {
    let ws = hazard_on_a_branch();
    ws.write_file(
        "py",
        "#!/bin/sh\n# a broken launcher: runs nothing, succeeds\nexit 0\n",
    );
    let [text, json, github] = in_every_format(&ws, &[]);
    for r in [&text, &json, &github] {
        assert_eq!(r.code, Some(1), "the lint never ran: {}", r.shown);
    }
    let doc = json.json();
    let fault = doc["components"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "component-fault")
        .unwrap_or_else(|| panic!("{doc:#}"));
    let message = fault["message"].as_str().unwrap();
    assert!(
        message.contains("./py exited 0 but Alembic rendered no SQL for d4d4d4d4d4d4")
            && message.contains(&format!(
                "./py -m alembic -c alembic.ini upgrade {B}:d4d4d4d4d4d4 --sql"
            )),
        "{doc:#}"
    );
    assert!(
        text.stdout
            .contains("error   component-fault  ./py exited 0"),
        "{}",
        text.shown
    );
    assert!(
        github
            .stdout
            .contains("title=db-migrate component-fault::./py exited 0"),
        "{}",
        github.shown
    );
}

#[test]
fn a_failed_run_is_an_error_annotation_and_strict_says_it_failed_the_run() {
    let ws = repo();
    ws.write_file(
        "pyproject.toml",
        "[tool.db-migrate.check]\ndisabled = [\"part-of-comment\"]\n",
    );
    let [text, json, github] = in_every_format(&ws, &[]);
    for r in [&text, &json, &github] {
        assert_eq!(r.code, Some(1), "{}", r.shown);
    }
    assert!(
        text.stderr.contains("unknown key disabled"),
        "{}",
        text.shown
    );
    assert_eq!(
        json.json()["error"]["kind"],
        "check-config",
        "{}",
        json.shown
    );
    let line = github.stdout.lines().next().unwrap_or_default();
    assert!(
        line.starts_with(
            "::error title=db-migrate check-config::the check configuration is invalid"
        ) && line.contains("unknown key disabled")
            && line.contains("(fix: "),
        "{}",
        github.shown
    );
    std::fs::remove_file(ws.root().join("pyproject.toml")).unwrap();

    // A command line clap rejects: the usage error is an annotation too.
    let usage = db_migrate(&ws, &["check", "--format", "github", "--no-such-flag"]);
    assert_eq!(usage.code, Some(2), "{}", usage.shown);
    assert!(
        usage
            .stdout
            .starts_with("::error title=db-migrate usage::unexpected argument '--no-such-flag'"),
        "{}",
        usage.shown
    );
    assert!(usage.stderr.contains("--no-such-flag"), "{}", usage.shown);

    // Only a warning: it passes, unless --strict, which then says that it made the run fail.
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
    let lenient = db_migrate(&ws, &["check", "--format", "json"]);
    assert_eq!(lenient.code, Some(0), "{}", lenient.shown);
    assert_eq!(lenient.json()["failed_by_warnings"], false);
    let [text, json, github] = in_every_format(&ws, &["--strict"]);
    for r in [&text, &json, &github] {
        assert_eq!(r.code, Some(1), "{}", r.shown);
    }
    assert!(
        text.stdout
            .contains("0 errors, 2 warnings (--strict: the warnings fail this run)"),
        "{}",
        text.shown
    );
    let doc = json.json();
    assert_eq!(doc["strict"], true, "{doc:#}");
    assert_eq!(doc["failed_by_warnings"], true, "{doc:#}");
    assert!(
        github.stdout.contains(
            "::notice title=db-migrate check::--strict made this run fail: 2 warnings and no error"
        ),
        "{}",
        github.shown
    );
}

#[test]
fn an_empty_component_is_its_own_finding_and_the_others_are_still_checked() {
    // accountmgr before its first migration: a config, an empty versions directory.
    let ws = Workspace::new()
        .component(
            Manager,
            &[table(A, "users", None), table(B, "sessions", Some(A))],
        )
        .component(Component::Accountmgr, &[]);
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "released history");
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(
        Manager,
        &[migration(
            "d4d4d4d4d4d4",
            Some(B),
            "index sessions by owner",
            "    op.create_index(\"ix_sessions_owner\", \"sessions\", [\"owner\"])",
            "    op.drop_index(\"ix_sessions_owner\", table_name=\"sessions\")",
        )],
    );
    commit_all(ws.root(), "my work");

    let [text, json, github] = in_every_format(&ws, &[]);
    for r in [&text, &json, &github] {
        assert_eq!(r.code, Some(1), "{}", r.shown);
    }
    let doc = json.json();
    let account = component_json(&doc, Component::Accountmgr);
    assert_eq!(account["findings"][0]["rule"], "component-fault", "{doc:#}");
    assert_eq!(
        account["findings"][0]["file"],
        Component::Accountmgr.ini(),
        "{doc:#}"
    );
    assert!(
        account["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no migration scripts were found for accountmgr"),
        "{doc:#}"
    );
    // The manager was checked all the same.
    let manager = component_json(&doc, Manager);
    assert!(
        manager["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "require-concurrent-index-creation"),
        "{doc:#}"
    );
    assert!(
        text.stdout.contains("accountmgr (alembic-accountmgr.ini)")
            && text.stdout.contains("require-concurrent-index-creation"),
        "{}",
        text.shown
    );
    assert!(
        github.stdout.contains(
            "::error file=alembic-accountmgr.ini,line=1,title=db-migrate component-fault::no migration scripts"
        ) && github.stdout.contains("require-concurrent-index-creation"),
        "{}",
        github.shown
    );
}

#[test]
fn a_cycle_a_missing_parent_and_a_duplicate_id_are_findings_at_their_line() {
    let ws = repo();
    let cases = [
        (
            "cycle",
            vec![
                table("c1c1c1c1c1c1", "quotas", Some("c2c2c2c2c2c2")),
                table("c2c2c2c2c2c2", "limits", Some("c1c1c1c1c1c1")),
            ],
            [
                "c1c1c1c1c1c1_create_quotas.py",
                "c2c2c2c2c2c2_create_limits.py",
            ],
            "form a cycle",
        ),
        (
            "missing",
            vec![table("c1c1c1c1c1c1", "quotas", Some("e0e0e0e0e0e0"))],
            ["c1c1c1c1c1c1_create_quotas.py"; 2],
            "names e0e0e0e0e0e0 as its parent",
        ),
        (
            "duplicate",
            vec![table(B, "sessions", Some(A)).file_name_override("zz_copy.py")],
            ["zz_copy.py"; 2],
            "is defined in 2 files",
        ),
    ];
    for (case, revs, files, says) in cases {
        ws.add_revisions(Manager, &revs);
        let files = files.map(versions);
        let [text, json, github] = in_every_format(&ws, &["--no-lint"]);
        for r in [&text, &json, &github] {
            assert_eq!(r.code, Some(1), "{case}: {}", r.shown);
            assert!(
                !r.shown.contains("does not recognise"),
                "{case}: {}",
                r.shown
            );
        }
        let doc = json.json();
        let f = &doc["components"][0]["findings"][0];
        assert_eq!(f["rule"], "component-fault", "{case}: {doc:#}");
        let file = f["file"].as_str().unwrap().to_owned();
        assert!(files.contains(&file), "{case}: {doc:#}");
        // down_revision (or, for the duplicate, revision) of the file, as the template writes it.
        let line = if case == "duplicate" { 13 } else { 14 };
        assert_eq!(f["line"], line, "{case}: {doc:#}");
        assert!(
            f["message"].as_str().unwrap().contains(says),
            "{case}: {doc:#}"
        );
        assert!(
            text.stdout
                .contains(&format!("{line}  error   component-fault  ")),
            "{case}: {}",
            text.shown
        );
        assert!(
            github.stdout.contains(&format!(
                "::error file={file},line={line},title=db-migrate component-fault::"
            )),
            "{case}: {}",
            github.shown
        );
        for r in &revs {
            std::fs::remove_file(ws.root().join(versions(&r.file_name()))).unwrap();
        }
    }
}

#[test]
fn a_syntax_error_in_a_new_revision_is_an_error_at_its_line_never_a_warning() {
    let ws = repo();
    // Tokenizes (the native reader reads its ids), but Python rejects it: only Alembic's offline
    // render shows it, which used to make it a mere not-lintable-offline warning.
    ws.add_revisions(
        Manager,
        &[migration(
            "c3c3c3c3c3c3",
            Some(B),
            "broken",
            "    owner = = 1",
            "    pass",
        )],
    );
    commit_all(ws.root(), "broken");
    let file = versions("c3c3c3c3c3c3_broken.py");
    let [text, json, github] = in_every_format(&ws, &[]);
    for r in [&text, &json, &github] {
        assert_eq!(r.code, Some(1), "{}", r.shown);
    }
    let doc = json.json();
    let f = &doc["components"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "unloadable-file")
        .unwrap_or_else(|| panic!("{doc:#}"))
        .clone();
    assert_eq!(f["file"], file.as_str(), "{doc:#}");
    assert_eq!(f["line"], 21, "the line of the syntax error: {doc:#}");
    assert!(
        f["message"].as_str().unwrap().contains("SyntaxError"),
        "{doc:#}"
    );
    assert!(
        text.stdout
            .contains("c3c3c3c3c3c3_broken.py:21  error   unloadable-file"),
        "{}",
        text.shown
    );
    assert!(
        github.stdout.contains(&format!(
            "::error file={file},line=21,title=db-migrate unloadable-file::"
        )),
        "{}",
        github.shown
    );

    // One the native reader cannot tokenize either: Alembic names the file and line.
    ws.write_file(
        &file,
        &ws.read_file(&file).replace("owner = = 1", "owner = (1"),
    );
    let [text, json, github] = in_every_format(&ws, &[]);
    for r in [&text, &json, &github] {
        assert_eq!(r.code, Some(1), "{}", r.shown);
    }
    let doc = json.json();
    let f = &doc["components"][0]["findings"][0];
    assert_eq!(f["rule"], "component-fault", "{doc:#}");
    assert_eq!(f["file"], file.as_str(), "{doc:#}");
    assert!(
        text.stdout
            .contains("error   component-fault  migration file"),
        "{}",
        text.shown
    );
    assert!(
        github
            .stdout
            .contains(&format!("::error file={file},line=")),
        "{}",
        github.shown
    );
}
