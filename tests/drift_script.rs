//! The drift script's contract (`src/verify/drift.py`), against the real Alembic and a real
//! PostgreSQL: run exactly as db-migrate runs it, `./py -c <script> <ini>` in the workspace root
//! with stdin null, on a database migrated to head. `verify` parses what this checks: one
//! `@@db-migrate-drift {json}` line per difference, then `@@db-migrate-drift-done {"count": N}`;
//! `@@db-migrate-drift-no-metadata` without models; Alembic's `FAILED:` and exit 255 otherwise.

mod harness;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use harness::*;
use serde_json::{json, Value};
use Component::Manager;

/// The script as the binary embeds it.
fn script() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/verify/drift.py");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `./py -c <script> <ini>` in the root, as `alembic::runner::python` starts it.
fn run_script(ws: &Workspace, component: Component) -> Output {
    let out = Command::new(ws.root().join("py"))
        .current_dir(ws.root())
        .args(["-c", &script(), component.ini()])
        .stdin(Stdio::null())
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env_remove("VIRTUAL_ENV")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .expect("run ./py");
    assert_no_secret(&output_text(&out), ws);
    out
}

/// The JSON of every difference line, in order.
fn differences(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("@@db-migrate-drift "))
        .map(|json| serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}")))
        .collect()
}

/// The `done` marker's object, if printed.
fn done(stdout: &str) -> Option<Value> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("@@db-migrate-drift-done "))
        .map(|json| serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}")))
}

/// The one difference with this op, table and name.
fn find<'a>(diffs: &'a [Value], op: &str, table: &str, name: Option<&str>) -> &'a Value {
    let found: Vec<&Value> = diffs
        .iter()
        .filter(|d| d["op"] == op && d["table"] == table && d["name"] == json!(name))
        .collect();
    match found.as_slice() {
        [one] => one,
        _ => panic!("expected one {op} {table} {name:?} in {diffs:#?}"),
    }
}

/// users (id, name VARCHAR(32), legacy INTEGER) and sessions (id, status VARCHAR(32)).
fn schema_revisions() -> Vec<Rev> {
    let users = rev_id("drift-users");
    let sessions = rev_id("drift-sessions");
    vec![
        rev(&users, None, "create users").upgrade_body(
            "op.create_table(\"users\", sa.Column(\"id\", sa.Integer(), primary_key=True), \
             sa.Column(\"name\", sa.String(32), nullable=False), \
             sa.Column(\"legacy\", sa.Integer()))",
        ),
        rev(&sessions, Some(&users), "create sessions").upgrade_body(
            "op.create_table(\"sessions\", sa.Column(\"id\", sa.Integer(), primary_key=True), \
             sa.Column(\"status\", sa.String(32)))",
        ),
    ]
}

/// Models that match [`schema_revisions`] exactly.
const MATCHING_MODELS: &str = r#"import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("legacy", sa.Integer()),
)
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("status", sa.String(32)),
)
"#;

/// Against [`schema_revisions`]: users gains email and loses legacy, sessions.status grows to
/// VARCHAR(64) and gets an index, and a groups table appears.
const DRIFTED_MODELS: &str = r#"import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("email", sa.String(64)),
)
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("status", sa.String(64)),
    sa.Index("ix_sessions_status", "status"),
)
groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("name", sa.String(64)),
)
"#;

#[test]
fn drifted_models_name_each_difference_as_json() {
    let ws = Workspace::new().component(Manager, &schema_revisions());
    ws.db_at(Manager, "head");
    ws.with_models(Manager, DRIFTED_MODELS);

    let out = run_script(&ws, Manager);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));

    let diffs = differences(&stdout);
    assert_eq!(diffs.len(), 5, "{diffs:#?}");
    assert_eq!(done(&stdout), Some(json!({"count": 5})), "{stdout}");

    let email = find(&diffs, "add_column", "users", Some("email"));
    assert_eq!(email["schema"], Value::Null);
    assert_eq!(email["detail"]["type"], "VARCHAR(64)");
    assert_eq!(email["detail"]["nullable"], true);

    let legacy = find(&diffs, "remove_column", "users", Some("legacy"));
    assert_eq!(legacy["detail"]["type"], "INTEGER");

    let groups = find(&diffs, "add_table", "groups", None);
    assert_eq!(groups["detail"]["columns"], json!(["id", "name"]));

    let index = find(&diffs, "add_index", "sessions", Some("ix_sessions_status"));
    assert_eq!(index["detail"]["columns"], json!(["status"]));
    assert_eq!(index["detail"]["unique"], false);

    // Alembic gives an alter_column's changes as a list inside as_diffs(); each is a line here.
    let status = find(&diffs, "modify_type", "sessions", Some("status"));
    assert_eq!(
        status["detail"],
        json!({"from": "VARCHAR(32)", "to": "VARCHAR(64)"})
    );

    // db-migrate's launcher-line handling ends at the first line Python prints: it is in
    // Alembic's log format, ahead of everything else the script writes on stderr.
    let stderr = stderr_of(&out);
    assert!(stderr.starts_with("INFO  [db_migrate.drift] "), "{stderr}");
    // The script prints no Python reprs of its own, only the markers.
    for line in stdout.lines() {
        assert!(line.starts_with("@@db-migrate-drift"), "{line}");
    }
}

#[test]
fn matching_models_give_the_done_marker_and_no_difference() {
    let ws = Workspace::new().component(Manager, &schema_revisions());
    ws.db_at(Manager, "head");
    ws.with_models(Manager, MATCHING_MODELS);

    let out = run_script(&ws, Manager);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert_eq!(differences(&stdout), Vec::<Value>::new(), "{stdout}");
    assert_eq!(done(&stdout), Some(json!({"count": 0})), "{stdout}");
    // What `alembic check` says of the same workspace.
    let check = ws.alembic(Manager, &["check"]);
    assert!(
        stdout_of(&check).contains("No new upgrade operations detected."),
        "{}",
        output_text(&check)
    );
}

#[test]
fn env_py_without_metadata_gives_the_no_metadata_marker() {
    let ws = Workspace::new().component(Manager, &schema_revisions());
    ws.db_at(Manager, "head");

    let out = run_script(&ws, Manager);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert_eq!(
        stdout.trim_end(),
        "@@db-migrate-drift-no-metadata",
        "{stdout}"
    );
}

#[test]
fn a_database_behind_fails_as_alembic_check_does() {
    let revs = schema_revisions();
    let ws = Workspace::new().component(Manager, &revs);
    ws.db_at(Manager, revs[0].id());
    ws.with_models(Manager, MATCHING_MODELS);

    let out = run_script(&ws, Manager);
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(255), "{}", output_text(&out));
    assert_eq!(
        stdout.trim_end(),
        "FAILED: Target database is not up to date.",
        "{}",
        output_text(&out)
    );
    assert!(done(&stdout).is_none());
    let alembic = ws.alembic(Manager, &["check"]);
    assert_eq!(alembic.status.code(), Some(255));
    assert_eq!(stdout_of(&alembic), stdout);
}

#[test]
fn models_that_fail_to_import_leave_a_traceback_and_no_done_marker() {
    let ws = Workspace::new().component(Manager, &schema_revisions());
    ws.db_at(Manager, "head");
    ws.with_models(
        Manager,
        "import sqlalchemy as sa\n\nraise RuntimeError('models are broken')\n",
    );

    let out = run_script(&ws, Manager);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(done(&stdout_of(&out)).is_none(), "{}", output_text(&out));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("Traceback (most recent call last)"),
        "{stderr}"
    );
    assert!(
        stderr
            .trim_end()
            .ends_with("RuntimeError: models are broken"),
        "{stderr}"
    );
}
