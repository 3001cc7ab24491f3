//! Every row of `src/remediation.toml`, triggered for real (real Alembic 1.13.3, real PostgreSQL,
//! real Python environments) and checked as the user sees it:
//!
//! ```text
//! error: <message>
//!   alembic: <the Alembic line that identified the failure>
//! cause: <cause>
//! fix: <fix>
//! database: <where the database was left>      (when it could be checked)
//! ```
//!
//! on stderr with exit code 1 and no Python traceback (unless `-v`), and the same failure as
//! `{"error":{"kind","message","alembic_line","cause","fix","database"}}` on stdout with
//! `--format json`.

mod harness;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use harness::*;
use serde_json::Value;
use Component::{Accountmgr, Manager};

const TRACEBACK: &str = "Traceback (most recent call last)";

// ---------------------------------------------------------------------------------------------
// Running db-migrate and reading its failure report
// ---------------------------------------------------------------------------------------------

/// What one db-migrate run printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: stdout_of(&out),
            stderr: stderr_of(&out),
        }
    }

    fn transcript(&self) -> String {
        format!(
            "exit code: {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn db_migrate(ws: &Workspace, args: &[&str]) -> Run {
    Run::from_output(ws.cmd().args(args).output().expect("run db-migrate"))
}

/// A failure as db-migrate reports it (the text block on stderr, or the JSON `error` object).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    message: String,
    alembic_line: Option<String>,
    cause: String,
    fix: String,
    database: Option<String>,
}

/// The `error:` block at the end of a text-mode stderr, checked line by line.
fn text_failure(run: &Run) -> Shown {
    let lines: Vec<&str> = run.stderr.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no `error:` line on stderr:\n{}", run.transcript()));
    let mut rest = lines[start..].iter().copied().peekable();
    let message = rest.next().unwrap()["error: ".len()..].to_owned();
    let alembic_line = rest
        .next_if(|l| l.starts_with("  alembic: "))
        .map(|l| l["  alembic: ".len()..].to_owned());
    let mut field = |name: &str| -> String {
        let prefix = format!("{name}: ");
        match rest.next() {
            Some(l) if l.starts_with(&prefix) => l[prefix.len()..].to_owned(),
            other => panic!(
                "expected a `{prefix}` line, found {other:?}:\n{}",
                run.transcript()
            ),
        }
    };
    let cause = field("cause");
    let fix = field("fix");
    let database = rest
        .next_if(|l| l.starts_with("database: "))
        .map(|l| l["database: ".len()..].to_owned());
    let trailing: Vec<&str> = rest.collect();
    assert!(
        trailing.is_empty(),
        "unexpected lines after the failure block: {trailing:?}\n{}",
        run.transcript()
    );
    Shown {
        message,
        alembic_line,
        cause,
        fix,
        database,
    }
}

/// The `error` object of a `--format json` run's stdout, and its `kind`.
fn json_failure(run: &Run) -> (String, Shown) {
    let v: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout of a --format json run is not JSON ({e}):\n{}",
            run.transcript()
        )
    });
    let e = &v["error"];
    assert!(
        e.is_object(),
        "no `error` object in the JSON:\n{}",
        run.transcript()
    );
    let s = |k: &str| -> String {
        e[k].as_str()
            .unwrap_or_else(|| panic!("error.{k} is not a string:\n{}", run.transcript()))
            .to_owned()
    };
    let opt = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
    (
        s("kind"),
        Shown {
            message: s("message"),
            alembic_line: opt("alembic_line"),
            cause: s("cause"),
            fix: s("fix"),
            database: opt("database"),
        },
    )
}

fn assert_no_traceback(run: &Run) {
    assert!(
        !run.stderr.contains(TRACEBACK) && !run.stdout.contains(TRACEBACK),
        "a raw Python traceback was printed without -v:\n{}",
        run.transcript()
    );
}

/// Check the contract shared by every failure and return what the text mode showed:
/// `args` fails with exit 1 and the block above (no traceback), and `--format json args` fails
/// with exit 1 and the same failure, of kind `kind`, as JSON on stdout.
fn expect_failure(ws: &Workspace, args: &[&str], kind: &str) -> Shown {
    let text = db_migrate(ws, args);
    let json_args: Vec<&str> = ["--format", "json"].iter().chain(args).copied().collect();
    let json = db_migrate(ws, &json_args);
    check_failure_pair(&text, &json, kind)
}

fn check_failure_pair(text: &Run, json: &Run, kind: &str) -> Shown {
    let (json_kind, from_json) = json_failure(json);
    assert_eq!(
        json_kind,
        kind,
        "wrong failure kind\n=== text run ===\n{}\n=== json run ===\n{}",
        text.transcript(),
        json.transcript()
    );
    assert_eq!(text.code, Some(1), "{}", text.transcript());
    assert_eq!(json.code, Some(1), "{}", json.transcript());
    assert_no_traceback(text);
    assert_no_traceback(json);
    let shown = text_failure(text);
    assert_eq!(
        shown,
        from_json,
        "text and JSON disagree\n=== text run ===\n{}\n=== json run ===\n{}",
        text.transcript(),
        json.transcript()
    );
    assert!(!shown.message.is_empty() && !shown.cause.is_empty() && !shown.fix.is_empty());
    eprintln!(
        "[{kind}] alembic: {}",
        shown.alembic_line.as_deref().unwrap_or("(none)")
    );
    shown
}

/// The `alembic:` line, which every recognised failure must show.
fn alembic_line(shown: &Shown) -> &str {
    shown
        .alembic_line
        .as_deref()
        .unwrap_or_else(|| panic!("no `alembic:` line in {shown:#?}"))
}

/// `alembic:` must be the exception line Python printed last (`module.Name: message`), not a line
/// of source code quoted inside the traceback.
fn assert_exception_line(shown: &Shown, class: &str) {
    let line = alembic_line(shown);
    assert!(
        line == class || line.starts_with(&format!("{class}: ")),
        "the `alembic:` line should be Python's `{class}: …` exception line, got {line:?}\n{shown:#?}"
    );
}

fn still_at(rev: &str) -> Option<String> {
    Some(format!("still at {rev} (nothing was changed)"))
}

// ---------------------------------------------------------------------------------------------
// Python environments for the launcher rows
// ---------------------------------------------------------------------------------------------

fn harness_site_packages() -> PathBuf {
    let lib = venv().join("lib");
    std::fs::read_dir(&lib)
        .expect("read venv lib")
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .expect("harness venv has a site-packages")
}

/// A virtualenv made from the harness venv's interpreter without pip: no Alembic, nothing.
fn bare_env(dir: &Path) -> PathBuf {
    let out = Command::new(venv_python())
        .args(["-m", "venv", "--without-pip"])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run python -m venv");
    assert!(out.status.success(), "{}", output_text(&out));
    dir.join("bin/python")
}

/// A virtualenv with every package of the harness venv (linked, not copied) except those whose
/// name starts with `leave_out`, and `src` on `sys.path` (what Backend.AI's ./py adds).
fn env_without(dir: &Path, leave_out: &str, src: &Path) -> PathBuf {
    let python = bare_env(dir);
    let from = harness_site_packages();
    let to = dir
        .join("lib")
        .join(from.parent().unwrap().file_name().unwrap())
        .join("site-packages");
    for entry in std::fs::read_dir(&from)
        .expect("read site-packages")
        .flatten()
    {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(leave_out) {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), to.join(&name)).expect("link package");
    }
    std::fs::write(to.join("workspace_src.pth"), format!("{}\n", src.display()))
        .expect("write .pth");
    python
}

fn remove_py(ws: &Workspace) {
    std::fs::remove_file(ws.root().join("py")).expect("remove ./py");
}

// ---------------------------------------------------------------------------------------------
// Revision graphs
// ---------------------------------------------------------------------------------------------

const A1: &str = "a10000000001";
const A2: &str = "a10000000002";
const A3: &str = "a10000000003";

/// a1 -> a2 -> a3, each creating its own table `t_<id>`.
/// The versions directory relative to the workspace root, as failures name revision files.
fn versions_rel(c: Component) -> String {
    format!("{}/alembic/versions", c.package_dir())
}

fn three_step_chain() -> Vec<Rev> {
    vec![
        rev(A1, None, "create accounts"),
        rev(A2, Some(A1), "create sessions"),
        rev(A3, Some(A2), "create kernels"),
    ]
}

// ---------------------------------------------------------------------------------------------
// Script problems
// ---------------------------------------------------------------------------------------------

#[test]
fn diverged_scripts_upgrade_fails_with_both_heads_and_no_merge_migration() {
    // Two branches each added a migration on top of a2 and both got merged.
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A2);
    ws.add_revisions(Manager, &[rev("b20000000009", Some(A2), "add user quotas")]);

    let shown = expect_failure(&ws, &["upgrade"], "multiple-heads");

    assert_eq!(
        alembic_line(&shown),
        "FAILED: Multiple head revisions are present for given argument 'head'; please specify a \
         specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' \
         for all heads"
    );
    assert!(shown.message.contains(A3), "{shown:#?}");
    assert!(shown.message.contains("b20000000009"), "{shown:#?}");
    for (id, file) in [
        (A3, "a10000000003_create_kernels.py"),
        ("b20000000009", "b20000000009_add_user_quotas.py"),
    ] {
        assert!(
            shown.fix.contains(id),
            "fix should name head {id}: {shown:#?}"
        );
        assert!(
            shown.fix.contains(file),
            "fix should name the file {file}: {shown:#?}"
        );
    }
    assert!(
        shown
            .fix
            .contains("db-migrate fix-heads --component manager")
            && shown.fix.contains("no merge migration")
            && shown.fix.contains("empty merge migration"),
        "{shown:#?}"
    );
    assert_eq!(shown.database, still_at(A2));
    assert_eq!(ws.db_revisions(Manager), vec![A2.to_string()]);
}

#[test]
fn syntax_error_in_a_revision_file_names_the_file_and_line() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A3);
    // Somebody committed a half-edited migration: line 4 opens a parenthesis that never closes.
    ws.add_revisions(
        Manager,
        &[rev("c30000000004", Some(A3), "broken").raw(
            "\"\"\"broken\"\"\"\nrevision = 'c30000000004'\ndown_revision = 'a10000000003'\n\
             branch_labels = (\n",
        )],
    );
    let file = ws.versions_dir(Manager).join("c30000000004_broken.py");
    let file = file.to_str().unwrap();

    let shown = expect_failure(&ws, &["upgrade"], "migration-syntax-error");

    assert_eq!(alembic_line(&shown), "SyntaxError: '(' was never closed");
    assert!(
        shown.message.contains(&format!("{file} line 4")),
        "message should name {file} and line 4: {shown:#?}"
    );
    assert!(
        shown.fix.contains(&format!("fix {file} at line 4")),
        "{shown:#?}"
    );
    assert_eq!(ws.db_revisions(Manager), vec![A3.to_string()]);
}

#[test]
fn revision_whose_parent_is_missing_is_named_with_its_missing_parent() {
    // A migration was written on top of e0ee00000000, which this checkout does not have.
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.add_revisions(
        Manager,
        &[rev(
            "d40000000004",
            Some("e0ee00000000"),
            "add orphaned table",
        )],
    );

    let shown = expect_failure(&ws, &["upgrade"], "missing-down-revision");

    assert!(
        alembic_line(&shown).ends_with(
            "UserWarning: Revision e0ee00000000 referenced from e0ee00000000 -> d40000000004 \
             (head), add orphaned table is not present"
        ),
        "{shown:#?}"
    );
    assert!(shown.message.contains("d40000000004"), "{shown:#?}");
    assert!(
        shown.message.contains("names e0ee00000000 as its parent"),
        "{shown:#?}"
    );
    assert!(shown.fix.starts_with("git pull"), "{shown:#?}");
    // The migration whose down_revision must be repointed is d40000000004, not e0ee00000000.
    assert!(
        shown.fix.contains("down_revision of d40000000004"),
        "the fix should say to repoint the down_revision of d40000000004: {shown:#?}"
    );
    assert!(ws.db_revisions(Manager).is_empty());
}

#[test]
fn deleted_script_directory_is_reported_with_its_path() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A1);
    let dir = ws.root().join(Manager.package_dir()).join("alembic");
    std::fs::remove_dir_all(&dir).unwrap();

    let shown = expect_failure(&ws, &["upgrade"], "script-location-missing");

    assert_eq!(
        alembic_line(&shown),
        format!(
            "FAILED: Path doesn't exist: '{}'.  Please use the 'init' command to create a new \
             scripts folder.",
            dir.display()
        )
    );
    assert!(
        shown.message.contains(&dir.display().to_string()),
        "{shown:#?}"
    );
    assert!(
        shown.fix.contains("check script_location in alembic.ini"),
        "{shown:#?}"
    );
    assert_eq!(ws.db_revisions(Manager), vec![A1.to_string()]);
}

#[test]
fn branch_without_the_component_package_is_reported_as_missing_scripts() {
    // An older branch has no account manager at all, but the gitignored alembic-accountmgr.ini
    // stayed behind: the scripts are missing from the checkout, the Python environment is fine.
    let ws = Workspace::new()
        .component(Manager, &three_step_chain())
        .component(Accountmgr, &base36_chain("acct", 2));
    std::fs::remove_dir_all(ws.root().join("src/ai/backend/account_manager")).unwrap();

    let shown = expect_failure(
        &ws,
        &["upgrade", "--component", "accountmgr"],
        "script-location-missing",
    );

    assert_eq!(
        alembic_line(&shown),
        "ModuleNotFoundError: No module named 'ai.backend.account_manager'"
    );
    assert!(shown.fix.contains("git pull"), "{shown:#?}");
}

#[test]
fn ini_without_script_location_points_at_the_template() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    let ini = ws.read_file("alembic.ini");
    ws.write_file(
        "alembic.ini",
        &ini.replace("script_location = ", "# script_location = "),
    );

    let shown = expect_failure(&ws, &["upgrade"], "script-location-unset");

    assert_eq!(
        alembic_line(&shown),
        "FAILED: No 'script_location' key found in configuration."
    );
    assert_eq!(shown.message, "alembic.ini has no script_location");
    assert_eq!(
        shown.fix,
        "recreate it from the template: cp configs/manager/halfstack.alembic.ini alembic.ini"
    );
}

#[test]
fn ini_without_logging_sections_points_at_the_template() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    let ini = ws.read_file("alembic.ini");
    let cut = ini
        .find("# Logging configuration")
        .expect("logging part of the ini");
    ws.write_file("alembic.ini", &ini[..cut]);

    let shown = expect_failure(&ws, &["upgrade"], "logging-config-missing");

    assert_exception_line(&shown, "KeyError");
    assert_eq!(alembic_line(&shown), "KeyError: 'formatters'");
    assert_eq!(shown.message, "alembic.ini has no logging sections");
    assert!(
        shown
            .fix
            .contains("cp configs/manager/halfstack.alembic.ini alembic.ini"),
        "{shown:#?}"
    );
    assert!(ws.db_revisions(Manager).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_target_suggests_looking_up_the_history() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A1);

    let shown = expect_failure(&ws, &["upgrade", "ffffffffffff"], "unknown-target");

    assert_eq!(
        alembic_line(&shown),
        "FAILED: Can't locate revision identified by 'ffffffffffff'"
    );
    assert_eq!(shown.message, "manager has no revision 'ffffffffffff'");
    assert!(
        shown.fix.contains("db-migrate history --component manager"),
        "{shown:#?}"
    );
    assert_eq!(shown.database, still_at(A1));
    assert_eq!(ws.db_revisions(Manager), vec![A1.to_string()]);
}

#[test]
fn ambiguous_prefix_is_an_unknown_target_that_needs_a_longer_prefix() {
    // a10000000001, a10000000002, a10000000003 all start with a1000.
    let ws = Workspace::new().component(Manager, &three_step_chain());

    let shown = expect_failure(&ws, &["upgrade", "a1000"], "unknown-target");

    assert_eq!(
        alembic_line(&shown),
        "FAILED: Can't locate revision identified by 'a1000'"
    );
    assert!(
        shown
            .cause
            .contains("a prefix that matches several revisions"),
        "{shown:#?}"
    );
    assert!(
        shown.fix.contains("db-migrate history --component manager")
            && shown.fix.contains("a longer prefix makes it unique"),
        "{shown:#?}"
    );
    assert_eq!(shown.database, still_at("base (no revision)"));
    assert!(ws.db_revisions(Manager).is_empty());
}

#[test]
fn relative_downgrade_past_base_is_an_overshoot() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A3);

    let shown = expect_failure(&ws, &["downgrade", "-10", "--yes"], "relative-overshoot");

    assert_eq!(
        alembic_line(&shown),
        "FAILED: Relative revision -10 didn't produce 10 migrations"
    );
    assert_eq!(
        shown.message,
        "target -10 goes past the end of the manager history"
    );
    assert!(
        shown.fix.contains("db-migrate status --component manager"),
        "{shown:#?}"
    );
    assert_eq!(shown.database, still_at(A3));
    assert_eq!(ws.db_revisions(Manager), vec![A3.to_string()]);
    for r in [A1, A2, A3] {
        assert!(ws.has_table(Manager, &format!("t_{r}")));
    }
}

#[test]
fn downgrade_to_a_descendant_is_the_wrong_direction() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A1);
    // Alembic 1.13.3 itself, for the record.
    let raw = ws.alembic(Manager, &["downgrade", A3]);
    assert_eq!(raw.status.code(), Some(255), "{}", output_text(&raw));
    assert_eq!(
        stdout_of(&raw),
        format!("FAILED: Destination {A3} is not a valid downgrade target from current head(s)\n")
    );

    let shown = expect_failure(&ws, &["downgrade", A3, "--yes"], "wrong-direction");

    assert_eq!(
        alembic_line(&shown),
        format!("FAILED: Destination {A3} is not a valid downgrade target from current head(s)")
    );
    assert_eq!(
        shown.message,
        format!("{A3} is not a valid downgrade target from where the manager database is")
    );
    assert!(shown.fix.contains("downgrade to an ancestor"), "{shown:#?}");
    assert_eq!(shown.database, still_at(A1));
    assert_eq!(ws.db_revisions(Manager), vec![A1.to_string()]);
}

/// Ranges (`A:B`) are what makes Alembic say "Requested range … does not refer to
/// ancestor/descendant revisions"; db-migrate rejects them as targets (exit 2, nothing run) and
/// runs `history` without a range, so the `bad-range` row cannot be reached through the CLI.
#[test]
fn bad_range_row_is_unreachable_because_ranges_are_not_targets() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A1);
    let raw = ws.alembic(Manager, &["history", "-r", &format!("{A3}:{A1}")]);
    assert!(
        stdout_of(&raw).contains(&format!(
            "FAILED: Requested range {A3}:{A1} does not refer to ancestor/descendant revisions \
             along the same branch"
        )),
        "{}",
        output_text(&raw)
    );
    for args in [
        vec!["upgrade", "a10000000003:a10000000001"],
        vec!["downgrade", "a10000000003:a10000000001", "--yes"],
        vec![
            "migrate",
            "--direction",
            "upgrade",
            "--target",
            "a10000000003:a10000000001",
        ],
    ] {
        let run = db_migrate(&ws, &args);
        assert_eq!(run.code, Some(2), "{args:?}\n{}", run.transcript());
        assert!(!run.stderr.contains("bad-range"), "{}", run.transcript());
    }
    assert_eq!(ws.db_revisions(Manager), vec![A1.to_string()]);
}

// ---------------------------------------------------------------------------------------------
// The database's side
// ---------------------------------------------------------------------------------------------

#[test]
fn database_at_a_revision_the_scripts_lack_says_git_pull() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A1);
    // Somebody migrated this database from a branch we have not pulled.
    ws.sql(
        Manager,
        "UPDATE alembic_version SET version_num = '3f2a1c9d0b7e'",
    );

    let shown = expect_failure(&ws, &["upgrade"], "unknown-db-revision");

    assert_eq!(
        alembic_line(&shown),
        "FAILED: Can't locate revision identified by '3f2a1c9d0b7e'"
    );
    assert_eq!(
        shown.message,
        "the manager database is at 3f2a1c9d0b7e, which the manager scripts don't have"
    );
    assert!(shown.fix.starts_with("git pull"), "{shown:#?}");
    assert!(
        shown.fix.contains("git log --all -S 3f2a1c9d0b7e"),
        "{shown:#?}"
    );
    assert_eq!(shown.database, still_at("3f2a1c9d0b7e"));
    assert_eq!(ws.db_revisions(Manager), vec!["3f2a1c9d0b7e".to_string()]);
}

#[test]
fn foreign_key_violation_rolls_the_whole_run_back_and_says_so() {
    let ws = Workspace::new().component(
        Manager,
        &[
            rev("f00000000001", None, "create parent and child").upgrade_body(
                "op.create_table(\"parent\", sa.Column(\"id\", sa.Integer(), primary_key=True))\n\
                 op.create_table(\"child\", sa.Column(\"id\", sa.Integer(), primary_key=True), \
                 sa.Column(\"parent_id\", sa.Integer()))",
            ),
            rev("f00000000002", Some("f00000000001"), "add audit table"),
            rev("f00000000003", Some("f00000000002"), "link child to parent").upgrade_body(
                "op.create_foreign_key(\"fk_child_parent\", \"child\", \"parent\", \
                 [\"parent_id\"], [\"id\"])",
            ),
        ],
    );
    ws.db_at(Manager, "f00000000001");
    // Production data: one child whose parent was deleted long ago.
    ws.sql(Manager, "INSERT INTO parent (id) VALUES (1)");
    ws.sql(
        Manager,
        "INSERT INTO child (id, parent_id) VALUES (1, 1), (2, 99)",
    );

    let shown = expect_failure(&ws, &["upgrade"], "foreign-key-violation");

    assert_eq!(
        alembic_line(&shown),
        "asyncpg.exceptions.ForeignKeyViolationError: insert or update on table \"child\" \
         violates foreign key constraint \"fk_child_parent\""
    );
    assert_eq!(
        shown.message,
        format!(
            "migration f00000000002 -> f00000000003 (\"link child to parent\", {}/f00000000003_link_child_to_parent.py) failed: existing data \
             violates foreign key fk_child_parent",
            versions_rel(Manager)
        )
    );
    assert!(
        shown.cause.contains("rolled the whole run back"),
        "{shown:#?}"
    );
    assert_eq!(shown.database, still_at("f00000000001"));
    // And it is true: alembic_version is unchanged, and neither the audit table of the step that
    // succeeded nor the constraint exists.
    assert_eq!(ws.db_revisions(Manager), vec!["f00000000001".to_string()]);
    assert!(!ws.has_table(Manager, "t_f00000000002"));
    assert_eq!(
        ws.sql(
            Manager,
            "SELECT count(*) FROM pg_constraint WHERE conname = 'fk_child_parent'"
        ),
        "0"
    );

    // The fix sends the user to -v for PostgreSQL's DETAIL line: it is there.
    let verbose = db_migrate(&ws, &["-v", "upgrade"]);
    assert_eq!(verbose.code, Some(1), "{}", verbose.transcript());
    assert!(
        verbose
            .stderr
            .contains("DETAIL:  Key (parent_id)=(99) is not present in table \"parent\"."),
        "{}",
        verbose.transcript()
    );
    assert!(
        verbose.stderr.contains(TRACEBACK),
        "{}",
        verbose.transcript()
    );
}

#[test]
fn schema_ahead_of_alembic_version_suggests_comparing_and_stamping() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A1);
    // The next migration's table was created by hand.
    ws.sql(Manager, &format!("CREATE TABLE t_{A2} (id integer)"));

    let shown = expect_failure(&ws, &["upgrade"], "schema-ahead");

    assert_eq!(
        alembic_line(&shown),
        format!("asyncpg.exceptions.DuplicateTableError: relation \"t_{A2}\" already exists")
    );
    assert_eq!(
        shown.message,
        format!(
            "migration {A1} -> {A2} (\"create sessions\", {}/{A2}_create_sessions.py) failed: relation \"t_{A2}\" already exists",
            versions_rel(Manager)
        )
    );
    assert!(
        shown
            .fix
            .contains("./py -m alembic -c alembic.ini stamp <rev>"),
        "{shown:#?}"
    );
    assert_eq!(shown.database, still_at(A1));
    assert_eq!(ws.db_revisions(Manager), vec![A1.to_string()]);
    assert!(!ws.has_table(Manager, &format!("t_{A3}")));
}

#[test]
fn overlapping_alembic_version_rows_say_which_row_to_delete() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.db_at(Manager, A2);
    // A manual insert left the ancestor's row behind.
    ws.sql(
        Manager,
        &format!("INSERT INTO alembic_version (version_num) VALUES ('{A1}')"),
    );

    let shown = expect_failure(&ws, &["upgrade"], "overlapping-versions");

    assert_eq!(
        alembic_line(&shown),
        format!("FAILED: Requested revision {A2} overlaps with other requested revisions {A1}")
    );
    assert!(
        shown.message.contains(A1) && shown.message.contains(A2),
        "{shown:#?}"
    );
    assert!(
        shown
            .fix
            .contains("SELECT version_num FROM alembic_version"),
        "{shown:#?}"
    );
    // The database line shows both rows: the overlap is what is wrong (Alembic's own `current`
    // shows only the newer one).
    assert_eq!(shown.database, still_at(&format!("{A1}, {A2}")));
    assert_eq!(
        ws.db_revisions(Manager),
        vec![A1.to_string(), A2.to_string()]
    );
}

// ---------------------------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------------------------

#[test]
fn connection_refused_names_host_port_and_docker_ps() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    let port = dead_port();
    ws.set_db_port(Manager, port);

    let shown = expect_failure(&ws, &["upgrade"], "connection-refused");

    let host_port = format!("127.0.0.1:{port}");
    assert_eq!(
        shown.message,
        format!("cannot connect to PostgreSQL at {host_port} (connection refused)")
    );
    assert!(
        shown.fix.contains("docker ps | grep postgres"),
        "{shown:#?}"
    );
    assert_no_secret(&format!("{shown:?}"), &ws);
    let mut problems = Vec::new();
    let expected_line =
        format!("ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', {port})");
    if alembic_line(&shown) != expected_line {
        problems.push(format!(
            "the `alembic:` line should be Python's exception line {expected_line:?}, not {:?}",
            alembic_line(&shown)
        ));
    }
    if !shown.fix.contains(&host_port) {
        problems.push(format!(
            "the fix should show {host_port} from alembic.ini: {:?}",
            shown.fix
        ));
    }

    // The halfstack's configs say `localhost`, which asyncpg tries over IPv6 and IPv4.
    ws.set_db_host(Manager, "localhost");
    let shown = expect_failure(&ws, &["status"], "connection-refused");
    assert!(
        shown.message.contains(&format!("localhost:{port}")),
        "{shown:#?}"
    );
    if alembic_line(&shown).starts_with("raise ") {
        problems.push(format!(
            "with host localhost, the `alembic:` line is quoted source code: {:?}",
            alembic_line(&shown)
        ));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
#[ignore = "waits out asyncpg's fixed 60 s connect timeout; run with --ignored"]
fn silent_server_times_out_after_asyncpgs_connect_timeout() {
    // Something accepts TCP connections on the configured port but never speaks PostgreSQL:
    // asyncpg gives up after its fixed 60 s connect timeout (no URL setting shortens it).
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for conn in listener.incoming() {
            open.push(conn);
        }
    });
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.set_db_port(Manager, port);

    // Text and JSON concurrently: each waits the full minute.
    let spawn = |args: &[&str]| {
        ws.std_cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn db-migrate")
    };
    let text = spawn(&["current"]);
    let json = spawn(&["--format", "json", "current"]);
    let text = Run::from_output(text.wait_with_output().unwrap());
    let json = Run::from_output(json.wait_with_output().unwrap());
    let shown = check_failure_pair(&text, &json, "connection-timeout");

    assert_eq!(
        shown.message,
        format!("connecting to PostgreSQL at 127.0.0.1:{port} timed out")
    );
    assert!(
        shown.fix.contains("docker ps | grep postgres"),
        "{shown:#?}"
    );
    assert_exception_line(&shown, "TimeoutError");
}

#[test]
fn wrong_password_is_an_authentication_failure() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.set_db_password(Manager, "pw-not-the-right-one-4711");

    let shown = expect_failure(&ws, &["upgrade"], "auth-failed");

    assert_eq!(
        alembic_line(&shown),
        "asyncpg.exceptions.InvalidPasswordError: password authentication failed for user \
         \"postgres\""
    );
    assert_eq!(
        shown.message,
        format!(
            "PostgreSQL at 127.0.0.1:{} rejected the password for user postgres",
            postgres().port
        )
    );
    assert!(
        shown.fix.contains("sqlalchemy.url in alembic.ini")
            && shown.fix.contains("configs/manager/halfstack.alembic.ini"),
        "{shown:#?}"
    );
    assert_no_secret(&format!("{shown:?}"), &ws);
}

#[test]
fn missing_database_says_how_to_create_it() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.set_db_name(Manager, "no_such_backend_db");

    let shown = expect_failure(&ws, &["upgrade"], "database-missing");

    assert_eq!(
        alembic_line(&shown),
        "asyncpg.exceptions.InvalidCatalogNameError: database \"no_such_backend_db\" does not exist"
    );
    assert_eq!(
        shown.message,
        format!(
            "database no_such_backend_db does not exist on 127.0.0.1:{}",
            postgres().port
        )
    );
    assert!(
        shown.fix.contains("CREATE DATABASE no_such_backend_db"),
        "{shown:#?}"
    );
}

#[test]
fn unresolvable_host_is_a_bad_host() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    ws.set_db_host(Manager, "no-such-host.invalid");

    let shown = expect_failure(&ws, &["upgrade"], "bad-host");

    assert_exception_line(&shown, "socket.gaierror");
    assert!(
        shown
            .message
            .contains(&format!("no-such-host.invalid:{}", postgres().port)),
        "{shown:#?}"
    );
    assert!(
        shown.fix.contains("fix the host in alembic.ini"),
        "{shown:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The launcher and its Python environment
// ---------------------------------------------------------------------------------------------

#[test]
fn py_without_exported_virtualenv_says_pants_export() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    // Backend.AI's ./py before `pants export` ran.
    ws.write_file(
        "py",
        "#!/usr/bin/env bash\n\
         echo 'The exported virtualenv does not exist.' >&2\n\
         echo \"Please run 'pants export' first and try again.\" >&2\n\
         exit 1\n",
    );

    let shown = expect_failure(&ws, &["upgrade"], "py-virtualenv-missing");

    assert_eq!(
        alembic_line(&shown),
        "The exported virtualenv does not exist."
    );
    assert!(
        shown
            .fix
            .starts_with("pants export --resolve=python-default"),
        "{shown:#?}"
    );
}

#[test]
fn python_without_alembic_is_alembic_missing() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    remove_py(&ws);
    let envs = tempfile::tempdir().unwrap();
    let python = bare_env(&envs.path().join("bare"));
    let python = python.to_str().unwrap();

    let shown = expect_failure(&ws, &["--python", python, "upgrade"], "alembic-missing");

    assert_eq!(
        alembic_line(&shown),
        format!("{python}: No module named alembic")
    );
    assert!(shown.fix.contains("--python"), "{shown:#?}");
}

#[test]
fn missing_python_module_is_named() {
    // env.py imports something the environment lacks.
    let ws = Workspace::new().component(Manager, &three_step_chain());
    let env_py = format!("{}/alembic/env.py", Manager.package_dir());
    let original = ws.read_file(&env_py);
    ws.write_file(
        &env_py,
        &format!("import ai.backend.common.no_such_module\n{original}"),
    );

    let shown = expect_failure(&ws, &["upgrade"], "module-missing");

    assert_eq!(
        alembic_line(&shown),
        "ModuleNotFoundError: No module named 'ai.backend.common'"
    );
    assert_eq!(shown.message, "Python module ai.backend.common is missing");
    assert!(
        shown.fix.contains("install ai.backend.common"),
        "{shown:#?}"
    );

    // Without ./py, a bare venv python has no src/ on its path: the scripts' package is missing.
    ws.write_file(&env_py, &original);
    remove_py(&ws);
    let python = venv_python();
    let shown = expect_failure(
        &ws,
        &["--python", python.to_str().unwrap(), "upgrade"],
        "module-missing",
    );
    assert_eq!(
        alembic_line(&shown),
        "ModuleNotFoundError: No module named 'ai'"
    );
    assert!(shown.cause.contains("PYTHONPATH lacks src/"), "{shown:#?}");
}

#[test]
fn python_without_greenlet_is_greenlet_missing() {
    let ws = Workspace::new().component(Manager, &three_step_chain());
    remove_py(&ws);
    let envs = tempfile::tempdir().unwrap();
    // alembic, SQLAlchemy, asyncpg, … from the harness venv; greenlet left out.
    let python = env_without(
        &envs.path().join("no-greenlet"),
        "greenlet",
        &ws.root().join("src"),
    );
    let python = python.to_str().unwrap();
    // The environment is otherwise complete: Alembic runs and reads the scripts.
    let heads = db_migrate(&ws, &["--python", python, "heads"]);
    assert_eq!(heads.code, Some(0), "{}", heads.transcript());

    let shown = expect_failure(&ws, &["--python", python, "upgrade"], "greenlet-missing");

    assert!(shown.fix.contains("pip install greenlet"), "{shown:#?}");
    assert!(ws.db_revisions(Manager).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Anything else
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_failure_shows_the_exception_line_and_v_shows_the_traceback() {
    let ws = Workspace::new().component(
        Manager,
        &[
            rev(A1, None, "create accounts"),
            rev(A2, Some(A1), "backfill quotas")
                .upgrade_body("raise RuntimeError(\"quota backfill failed for 42 rows\")"),
        ],
    );
    ws.db_at(Manager, A1);

    let shown = expect_failure(&ws, &["upgrade"], "alembic-failed");

    assert_eq!(
        alembic_line(&shown),
        "RuntimeError: quota backfill failed for 42 rows"
    );
    assert_eq!(
        shown.message,
        format!(
            "alembic upgrade failed for manager in migration {A1} -> {A2} (\"backfill quotas\", {}/{A2}_backfill_quotas.py) (exit 1)",
            versions_rel(Manager)
        )
    );
    assert!(shown.fix.contains("-v"), "{shown:#?}");
    assert_eq!(shown.database, still_at(A1));

    let verbose = db_migrate(&ws, &["-v", "upgrade"]);
    assert_eq!(verbose.code, Some(1), "{}", verbose.transcript());
    assert!(
        verbose.stderr.contains(TRACEBACK),
        "{}",
        verbose.transcript()
    );
    assert!(
        verbose
            .stderr
            .contains("raise RuntimeError(\"quota backfill failed for 42 rows\")"),
        "{}",
        verbose.transcript()
    );
    // The summary still closes the output.
    assert_eq!(text_failure(&verbose), shown);
    assert_eq!(ws.db_revisions(Manager), vec![A1.to_string()]);
}
