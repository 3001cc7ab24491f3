//! `verify`: a branch's new migrations proved on a scratch database, in real git repositories,
//! with real Alembic and a real PostgreSQL: round trips, backports run twice, the scratch
//! database gone afterwards (also after Ctrl-C), and the developer's own database untouched.

mod harness;

use std::process::Command;
use std::time::{Duration, Instant};

use harness::*;
use Component::Manager;

const A: &str = "a1a1a1a1a1a1"; // main: create users
const B: &str = "b2b2b2b2b2b2"; // main: create groups
const F: &str = "f3f3f3f3f3f3"; // the branch's first migration
const G: &str = "e4e4e4e4e4e4"; // the branch's second migration

/// A revision file with `# Part of:` after `down_revision`, and these bodies.
fn revision(id: &str, down: &str, message: &str, part_of: &str, up: &str, down_body: &str) -> Rev {
    let (down_py, parent) = if down.is_empty() {
        ("None".to_owned(), None)
    } else {
        (format!("\"{down}\""), Some(down))
    };
    let body = |b: &str| b.lines().map(|l| format!("    {l}\n")).collect::<String>();
    rev(id, parent, message).raw(&format!(
        "\"\"\"{message}\n\nRevision ID: {id}\nRevises: {down}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\n\
         import sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\n\
         revision = \"{id}\"\ndown_revision = {down_py}\n# Part of: {part_of}\nbranch_labels = None\ndepends_on = None\n\n\n\
         def upgrade() -> None:\n{}\n\ndef downgrade() -> None:\n{}",
        body(up),
        body(down_body)
    ))
}

fn create(id: &str, down: &str, table: &str) -> Rev {
    revision(
        id,
        down,
        &format!("create {table}"),
        "26.8.0",
        &format!("op.create_table(\"{table}\", sa.Column(\"id\", sa.Integer(), primary_key=True), sa.Column(\"name\", sa.String(64)))"),
        &format!("op.drop_table(\"{table}\")"),
    )
}

/// A good branch migration: a column and an index on users, both undone.
fn add_note(id: &str, down: &str) -> Rev {
    revision(
        id,
        down,
        "add users.note",
        "NEXT_RELEASE_VERSION",
        "op.add_column(\"users\", sa.Column(\"note\", sa.Text()))\nop.create_index(\"ix_users_note\", \"users\", [\"note\"])",
        "op.drop_index(\"ix_users_note\", table_name=\"users\")\nop.drop_column(\"users\", \"note\")",
    )
}

/// `component` with `released` committed on main, in a new git repository.
fn on_main(component: Component, released: &[Rev]) -> Workspace {
    let ws = Workspace::new().component(component, released);
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "main");
    ws
}

/// ... and the feature branch (checked out) adding `feature` to it.
fn branch_of(component: Component, released: &[Rev], feature: &[Rev]) -> Workspace {
    let ws = on_main(component, released);
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(component, feature);
    commit_all(ws.root(), "my migrations");
    ws
}

/// main: A, B committed; the feature branch (checked out) adds `feature` on B.
fn branch(feature: &[Rev]) -> Workspace {
    branch_of(
        Manager,
        &[create(A, "", "users"), create(B, A, "groups")],
        feature,
    )
}

/// No scratch database is left, and the developer's database dumps as it did `before`.
fn assert_untouched(ws: &Workspace, before: &str) {
    let left = scratch_databases(ws);
    assert!(left.is_empty(), "scratch databases left: {left:?}");
    assert_eq!(dump(ws), before, "the developer's database changed");
}

/// The scratch ini (it holds the password) is gone.
fn assert_no_scratch_ini(ws: &Workspace) {
    let dir = ws.root().join(".db-migrate/verify");
    assert!(
        !dir.read_dir().unwrap().any(|_| true),
        "the scratch ini is removed"
    );
}

/// Children still working in the workspace's root that outlived db-migrate (an Alembic, an Alembic
/// worker, a pg_dump or pg_restore copying the database), after giving them a few seconds to go.
fn children_left_in(ws: &Workspace) -> Vec<String> {
    let root = ws.root().canonicalize().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut left = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let dir = entry.path();
            let in_root =
                std::fs::read_link(dir.join("cwd")).is_ok_and(|cwd| cwd.starts_with(&root));
            let zombie = std::fs::read_to_string(dir.join("stat")).map_or(true, |s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            });
            let cmd = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            let cmd: String = String::from_utf8_lossy(&cmd).chars().take(80).collect();
            let ours = ["python", "pg_dump", "pg_restore"]
                .iter()
                .any(|name| cmd.contains(name));
            if in_root && !zombie && ours {
                left.push(cmd);
            }
        }
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The scratch databases `verify` left of this workspace's database.
fn scratch_databases(ws: &Workspace) -> Vec<String> {
    let like = format!("{}\\_verify\\_%", ws.db_name(Manager));
    let rows = postgres().psql(
        "postgres",
        &format!("SELECT datname FROM pg_database WHERE datname LIKE '{like}' ORDER BY 1"),
    );
    rows.lines().map(str::to_owned).collect()
}

/// The whole database, schema and data, as pg_dump prints it (its random `\restrict` key aside).
fn dump(ws: &Workspace) -> String {
    let pg = postgres();
    let out = Command::new(find_pg_bin_dir().join("pg_dump"))
        .args(["-h", pg.host, "-p", &pg.port.to_string(), "-U", "postgres"])
        .args(["-d", &ws.db_name(Manager)])
        .env("PGPASSWORD", pg.password_of("postgres"))
        .output()
        .expect("pg_dump runs");
    assert!(out.status.success(), "{}", output_text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Another session on the workspace's database (a running manager), connected when this returns.
fn busy_session(ws: &Workspace) -> std::process::Child {
    let pg = postgres();
    let session = Command::new(find_pg_bin_dir().join("psql"))
        .args(["-h", pg.host, "-p", &pg.port.to_string(), "-U", "postgres"])
        .args(["-d", &ws.db_name(Manager), "-c", "SELECT pg_sleep(300)"])
        .env("PGPASSWORD", pg.password_of("postgres"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql runs");
    let count = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}'",
        ws.db_name(Manager)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while pg.psql("postgres", &count) == "0" {
        assert!(Instant::now() < deadline, "the session never connected");
        std::thread::sleep(Duration::from_millis(50));
    }
    session
}

fn revision_json<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["components"][0]["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .find(|r| r["revision"] == id)
        .unwrap_or_else(|| panic!("{id} not in {doc:#}"))
}

#[test]
fn a_clean_branch_is_proved_on_a_scratch_copy_and_the_database_is_untouched() {
    let ws = branch(&[
        add_note(F, B),
        revision(
            G,
            F,
            "backfill users.note",
            "26.4.8 (backport), 26.8.0 (main)",
            // The duplicate a backport leaves on main: idempotent, its downgrade left to the
            // migration it duplicates (the team's README: `pass`).
            "op.execute(\"ALTER TABLE users ADD COLUMN IF NOT EXISTS origin text\")",
            "pass",
        ),
    ]);
    ws.with_models(Manager, &models(&["sa.Column(\"origin\", sa.Text())"]));
    // The developer has applied the first of their migrations, and has a row.
    ws.db_at(Manager, F);
    ws.sql(
        Manager,
        "INSERT INTO users (id, name, note) VALUES (1, 'alice', 'hi')",
    );
    let before = dump(&ws);

    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let c = &doc["components"][0];
    assert_eq!(c["base"].as_str().map(str::len), Some(40), "{c:#}");
    assert_eq!(c["scratch"]["made"], "template", "{c:#}");
    assert!(
        c["alembic_startup_seconds"].as_f64().unwrap() > 0.0,
        "{c:#}"
    );
    assert_eq!(c["scratch"]["dropped"], true);
    // The copy was at F: walked back to B first, then each new revision proved in order.
    assert_eq!(c["prepare"][0]["step"], "downgrade", "{c:#}");
    assert_eq!(c["prepare"][0]["target"], B);
    let f = revision_json(&doc, F);
    assert_eq!(f["roundtrip"], "ok", "{f:#}");
    assert!(f.get("idempotent").is_none(), "{f:#}");
    let steps: Vec<&str> = f["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["upgrade", "downgrade", "upgrade again"]);
    assert!(f["steps"][0]["seconds"].as_f64().unwrap() > 0.0);
    let g = revision_json(&doc, G);
    assert_eq!(g["roundtrip"], "skipped", "{g:#}");
    assert!(
        g["why"].as_str().unwrap().contains("downgrade() is pass"),
        "{g:#}"
    );
    assert_eq!(g["idempotent_because"], "backport");
    assert_eq!(g["idempotent"], "ok", "{g:#}");
    assert_eq!(c["problems"], 0);
    assert_eq!(c["slowest"].as_array().unwrap().len(), 3);
    // The models match what the migrations build.
    assert_eq!(c["drift"]["state"], "clean", "{c:#}");
    assert!(c["drift"].get("why").is_none(), "{c:#}");
    assert_eq!(c["drift"]["differences"], serde_json::json!([]));

    assert_untouched(&ws, &before);
    assert_eq!(ws.db_revisions(Manager), [F]);
    assert_no_scratch_ini(&ws);

    // Text: what was proved, step by step, and no password anywhere.
    let r = db_migrate(&ws, &["verify"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(r.stdout.contains("2 revisions to prove"), "{}", r.shown);
    // One Alembic process serves the proof: its start is paid once, not by every step.
    assert!(
        r.stdout.contains("the steps below run in that process"),
        "{}",
        r.shown
    );
    assert!(
        r.stdout.contains(&format!("prepare   downgrade {B}")),
        "{}",
        r.shown
    );
    assert!(r.stdout.contains("roundtrip   ok"), "{}", r.shown);
    assert!(r.stdout.contains("idempotent  ok"), "{}", r.shown);
    assert!(
        r.stdout.contains("manager: verified (2 revisions"),
        "{}",
        r.shown
    );
    assert!(r.stdout.contains("slowest"), "{}", r.shown);
    assert!(
        r.stdout
            .contains("drift     none: the models match the migrated schema"),
        "{}",
        r.shown
    );
    assert_no_secret(&r.shown, &ws);
    assert_untouched(&ws, &before);
}

/// The models of users (with the branch's note column and index, plus `extra` columns) and
/// groups, as Backend.AI keeps them in `models/`.
fn models(extra: &[&str]) -> String {
    let extra: String = extra.iter().map(|c| format!("    {c},\n")).collect();
    format!(
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n\n\
         users = sa.Table(\n    \"users\",\n    metadata,\n    sa.Column(\"id\", sa.Integer, primary_key=True),\n    \
         sa.Column(\"name\", sa.String(64)),\n    sa.Column(\"note\", sa.Text()),\n{extra})\n\
         sa.Index(\"ix_users_note\", users.c.note)\n\n\
         groups = sa.Table(\n    \"groups\",\n    metadata,\n    sa.Column(\"id\", sa.Integer, primary_key=True),\n    \
         sa.Column(\"name\", sa.String(64)),\n)\n"
    )
}

#[test]
fn one_good_migration_one_bad_and_a_drifted_model_are_reported_exactly() {
    let ws = branch(&[
        add_note(F, B),
        // Its downgrade forgets the table; the upgrade's IF NOT EXISTS hides it on the way up.
        revision(
            G,
            F,
            "create sessions",
            "NEXT_RELEASE_VERSION",
            "op.execute(\"CREATE TABLE IF NOT EXISTS sessions (id integer PRIMARY KEY)\")",
            "pass",
        ),
    ]);
    // A model column no migration adds (and the sessions table the migration does add).
    let mut models = models(&["sa.Column(\"email\", sa.String(64))"]);
    models.push_str("\nsessions = sa.Table(\"sessions\", metadata, sa.Column(\"id\", sa.Integer, primary_key=True, autoincrement=False))\n");
    ws.with_models(Manager, &models);
    ws.db_at(Manager, B);
    let before = dump(&ws);

    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let c = &doc["components"][0];
    assert_eq!(revision_json(&doc, F)["roundtrip"], "ok", "{c:#}");
    let g = revision_json(&doc, G);
    assert_eq!(g["roundtrip"], "differs", "{g:#}");
    assert!(
        g["roundtrip_diff"]
            .as_str()
            .unwrap()
            .contains("+CREATE TABLE public.sessions ("),
        "{g:#}"
    );
    assert_eq!(c["drift"]["state"], "differs", "{c:#}");
    let lines: Vec<String> = c["drift"]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["sign"].as_str().unwrap(),
                d["text"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(lines, ["+ column users.email VARCHAR(64)"], "{c:#}");
    assert_eq!(c["problems"], 2);
    // Each problem carries its fix: the downgrade to mend, the migration to add.
    assert!(
        g["fix"].as_str().unwrap().starts_with(&format!(
            "make downgrade() of {G} undo exactly what its upgrade() does"
        )),
        "{g:#}"
    );
    let fix = c["drift"]["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("the models have column users.email VARCHAR(64) and no migration makes it: with your database at head, ./py -m alembic -c alembic.ini revision --autogenerate"),
        "{fix}"
    );
    assert!(!fix.contains("add it to the models"), "{fix}");
    assert_untouched(&ws, &before);

    // The same in text, and as GitHub annotations on the bad migration's file.
    let r = db_migrate(&ws, &["verify"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stdout
            .contains("      + column users.email VARCHAR(64)\n"),
        "{}",
        r.shown
    );
    assert!(r.stdout.contains("revision --autogenerate"), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!(
            "      fix: make downgrade() of {G} undo exactly what its upgrade() does"
        )),
        "{}",
        r.shown
    );
    assert!(
        r.stdout
            .contains(&format!("manager: 2 problems: {G}, drift")),
        "{}",
        r.shown
    );
    // In GitHub Actions, annotations are the default.
    let r = run(ws.cmd().args(["verify"]).env("GITHUB_ACTIONS", "true"));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let file = ws
        .versions_dir(Manager)
        .join(format!("{G}_create_sessions.py"))
        .strip_prefix(ws.root())
        .unwrap()
        .display()
        .to_string();
    let annotations: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(annotations.len(), 2, "{}", r.shown);
    assert!(
        annotations[0].starts_with(&format!("::error file={file},line=1,")),
        "{}",
        r.shown
    );
    assert!(
        annotations[1].contains("+ column users.email VARCHAR(64)"),
        "{}",
        r.shown
    );
    assert!(scratch_databases(&ws).is_empty());
}

#[test]
fn a_downgrade_that_leaves_a_column_fails_with_the_diff() {
    let ws = branch(&[
        revision(
        F,
        B,
        "add users.note",
        "NEXT_RELEASE_VERSION",
        "op.add_column(\"users\", sa.Column(\"note\", sa.Text()))\nop.create_index(\"ix_users_note\", \"users\", [\"note\"])",
        "op.drop_index(\"ix_users_note\", table_name=\"users\")",
        ),
        create(G, F, "sessions"),
    ]);
    ws.db_at(Manager, B);
    let before = dump(&ws);

    let r = db_migrate(&ws, &["verify"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stdout.contains("roundtrip   DIFFERS"), "{}", r.shown);
    assert!(
        r.stdout
            .contains(&format!("+++ the schema after {F}'s downgrade")),
        "{}",
        r.shown
    );
    assert!(
        r.stdout.contains("+    note text"),
        "the diff names the column:\n{}",
        r.shown
    );
    // Upgrading again then fails on the column that is still there.
    assert!(r.stdout.contains("upgrade again"), "{}", r.shown);
    assert!(r.stdout.contains("FAILED"), "{}", r.shown);
    // The proof stopped; the drift is still measured, on a fresh copy straight at head.
    assert!(
        r.stdout.contains(&format!(
            "drift     measured on a fresh copy ({}_verify_",
            ws.db_name(Manager)
        )) && r.stdout.contains(&format!(
            ") upgraded straight to head, since the proof stopped at {F}; dropped"
        )),
        "{}",
        r.shown
    );
    assert!(
        r.stdout.contains(&format!("manager: 1 problem: {F}")),
        "{}",
        r.shown
    );
    // Upgrading again failed, so the next revision has nothing to start from: said, not run.
    assert!(
        r.stdout
            .contains(&format!("not proved (nothing to continue from): {G}")),
        "{}",
        r.shown
    );
    assert_untouched(&ws, &before);

    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    assert_eq!(revision_json(&doc, F)["roundtrip"], "differs");
    let g = revision_json(&doc, G);
    assert_eq!(g["roundtrip"], "not-run", "{g:#}");
    assert!(g["why"].as_str().unwrap().contains("not proved"), "{g:#}");
    let drift = &doc["components"][0]["drift"];
    assert_eq!(drift["state"], "no-metadata", "{drift:#}");
    assert_eq!(drift["measured_on"], "fresh-copy", "{drift:#}");
    assert_eq!(doc["components"][0]["problems"], 1);
    assert!(scratch_databases(&ws).is_empty());
}

#[test]
fn a_backport_that_cannot_run_twice_fails() {
    let ws = branch(&[revision(
        F,
        B,
        "add users.note",
        "26.4.8 (backport), 26.8.0 (main)",
        "op.add_column(\"users\", sa.Column(\"note\", sa.Text()))",
        "op.drop_column(\"users\", \"note\")",
    )]);
    ws.db_at(Manager, B);

    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let f = revision_json(&doc, F);
    assert_eq!(f["roundtrip"], "ok", "{f:#}");
    assert_eq!(f["idempotent"], "failed", "{f:#}");
    assert!(
        f["error"]["alembic_line"]
            .as_str()
            .unwrap_or_default()
            .contains("already exists"),
        "{f:#}"
    );
    assert!(
        f["error"]["fix"].as_str().unwrap().contains("run twice"),
        "{f:#}"
    );
    assert_eq!(doc["components"][0]["problems"], 1);
    assert!(scratch_databases(&ws).is_empty());

    // --idempotent asks the same of a revision without the comment.
    let ws = branch(&[add_note(F, B)]);
    let r = db_migrate(&ws, &["verify", "--idempotent", F]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stdout.contains("(asked: run twice)"), "{}", r.shown);
    assert!(r.stdout.contains("idempotent  FAILED"), "{}", r.shown);

    // An old revision far back (by prefix): proved first, then the branch's from its parent.
    ws.db_at(Manager, B);
    let r = db_migrate(&ws, &["verify", "--idempotent", "a1a1", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let a = revision_json(&doc, A);
    assert_eq!(a["roundtrip"], "ok", "{a:#}");
    assert_eq!(a["idempotent"], "failed", "{a:#}");
    let f = revision_json(&doc, F);
    assert_eq!(f["roundtrip"], "ok", "{f:#}");
    assert_eq!(f["steps"][0]["step"], "upgrade to parent", "{f:#}");
    assert_eq!(f["steps"][0]["target"], B, "{f:#}");
    assert!(scratch_databases(&ws).is_empty());
}

#[test]
fn a_database_with_other_sessions_is_copied_with_pg_dump() {
    let ws = branch(&[add_note(F, B)]);
    ws.db_at(Manager, B);
    ws.sql(Manager, "INSERT INTO users (id, name) VALUES (1, 'alice')");
    // A running manager holds a connection: the database cannot be a template.
    let mut session = busy_session(&ws);
    let before = dump(&ws);
    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    let _ = session.kill();
    let _ = session.wait();
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    assert_eq!(
        doc["components"][0]["scratch"]["made"], "dump-restore",
        "{doc:#}"
    );
    assert_eq!(revision_json(&doc, F)["roundtrip"], "ok");
    assert_untouched(&ws, &before);
}

#[test]
fn keep_leaves_the_scratch_database_and_says_how_to_connect() {
    let ws = branch(&[add_note(F, B)]);
    ws.db_at(Manager, B);
    let r = db_migrate(&ws, &["verify", "--keep"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let kept = scratch_databases(&ws);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        r.stdout
            .contains(&format!("{} kept (--keep): psql -h", kept[0])),
        "{}",
        r.shown
    );
    assert_no_secret(&r.shown, &ws);
    // Without models in env.py, drift is said not to be checked (not a failure).
    assert!(
        r.stdout
            .contains("drift     not checked: env.py passes no target_metadata"),
        "{}",
        r.shown
    );
    // It holds the proof's end state: the branch applied.
    assert_eq!(
        postgres().psql(&kept[0], "SELECT version_num FROM alembic_version"),
        F
    );
    postgres().drop_database(&kept[0]);
}

#[test]
fn from_empty_builds_the_scratch_database_from_the_migrations() {
    let ws = branch(&[add_note(F, B)]);
    // The developer's database is at a revision this checkout does not have: a copy is useless.
    ws.sql(
        Manager,
        "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); INSERT INTO alembic_version VALUES ('0ther0ther00')",
    );
    let r = db_migrate(&ws, &["verify"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr
            .contains("fix: start from an empty database instead: db-migrate verify --component manager --from-empty"),
        "{}",
        r.shown
    );
    assert!(scratch_databases(&ws).is_empty());

    // It does not even need the developer's database to exist.
    postgres().drop_database(&ws.db_name(Manager));
    let r = db_migrate(&ws, &["verify"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains("does not exist"), "{}", r.shown);
    assert!(
        r.stderr
            .contains("db-migrate verify --component manager --from-empty"),
        "{}",
        r.shown
    );
    let r = db_migrate(&ws, &["verify", "--from-empty", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let c = &doc["components"][0];
    assert_eq!(c["scratch"]["made"], "empty");
    assert_eq!(c["prepare"][0]["step"], "upgrade", "{c:#}");
    assert_eq!(c["prepare"][0]["target"], B);
    assert_eq!(revision_json(&doc, F)["roundtrip"], "ok");
    assert!(scratch_databases(&ws).is_empty());
}

#[test]
fn the_scratch_database_is_dropped_after_ctrl_c() {
    let ws = branch(&[revision(
        F,
        B,
        "slow migration",
        "NEXT_RELEASE_VERSION",
        "op.execute(\"SELECT pg_sleep(30)\")",
        "pass",
    )]);
    ws.db_at(Manager, B);
    let before = dump(&ws);
    let child = ws
        .std_cmd()
        .args(["verify"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("db-migrate runs");
    // Wait until the slow migration runs on the scratch database, then Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let busy = postgres().psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()",
        );
        if busy != "0" {
            break;
        }
        assert!(Instant::now() < deadline, "the migration never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!scratch_databases(&ws).is_empty());
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("db-migrate exits");
    let shown = output_text(&out);
    assert_eq!(out.status.code(), Some(130), "{shown}");
    assert!(shown.contains("dropped"), "{shown}");
    assert_eq!(children_left_in(&ws), Vec::<String>::new(), "{shown}");
    assert_untouched(&ws, &before);
}

#[test]
fn the_scratch_database_is_dropped_after_ctrl_c_while_no_alembic_runs() {
    let ws = branch(&[add_note(F, B)]);
    ws.db_at(Manager, B);
    // A session keeps the database from being a template, and a slow pg_dump keeps the copy
    // going: Ctrl-C arrives while db-migrate itself works, with the scratch database created.
    let mut session = busy_session(&ws);
    let wrapper = slow_pg_dump(ws.root(), 20);
    let child = ws
        .std_cmd()
        .args(["verify"])
        .env("DB_MIGRATE_PG_DUMP", &wrapper)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("db-migrate runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while scratch_databases(&ws).is_empty() {
        assert!(Instant::now() < deadline, "no scratch database appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("db-migrate exits");
    let _ = session.kill();
    let _ = session.wait();
    let shown = output_text(&out);
    assert_eq!(out.status.code(), Some(130), "{shown}");
    assert!(scratch_databases(&ws).is_empty(), "{shown}");
    assert_no_scratch_ini(&ws);
    assert_eq!(children_left_in(&ws), Vec::<String>::new(), "{shown}");
}

#[test]
fn with_no_new_revisions_only_the_drift_is_checked() {
    let ws = on_main(Manager, &[create(A, "", "users"), create(B, A, "groups")]);
    ws.db_at(Manager, B);
    ws.with_models(
        Manager,
        "import sqlalchemy as sa\nmetadata = sa.MetaData()\nsa.Table(\"users\", metadata, sa.Column(\"id\", sa.Integer, primary_key=True), sa.Column(\"name\", sa.String(64)))\n",
    );
    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let c = &r.json()["components"][0];
    // The copy was not walked down and up: it was at head already.
    assert_eq!(c["prepare"], serde_json::json!([]), "{c:#}");
    assert_eq!(c["revisions"], serde_json::json!([]), "{c:#}");
    assert_eq!(c["drift"]["state"], "differs", "{c:#}");
    assert_eq!(
        c["drift"]["differences"][0]["text"], "table groups",
        "{c:#}"
    );
    assert_eq!(c["drift"]["differences"][0]["sign"], "-", "{c:#}");
    assert!(scratch_databases(&ws).is_empty());

    // -v relays every line of every Alembic call and of the comparison: never the password.
    let r = db_migrate(&ws, &["-v", "verify"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains("[manager current (probe)]"),
        "{}",
        r.shown
    );
    assert!(r.stderr.contains("[manager check]"), "{}", r.shown);
    assert_no_secret(&r.shown, &ws);
}

#[test]
fn verify_refuses_what_it_cannot_prove_safely() {
    // An env.py that ignores the ini's URL would run every step on the real database.
    let ws = branch(&[add_note(F, B)]);
    ws.db_at(Manager, B);
    let env = ws.root().join(Manager.package_dir()).join("alembic/env.py");
    let text = std::fs::read_to_string(&env).unwrap();
    let url = postgres().url("postgres", &ws.db_name(Manager));
    std::fs::write(
        &env,
        text.replace(
            "config = context.config\n",
            &format!(
                "config = context.config\nconfig.set_main_option(\"sqlalchemy.url\", \"{url}\")\n"
            ),
        ),
    )
    .unwrap();
    let before = dump(&ws);
    let r = db_migrate(&ws, &["verify"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr
            .contains("does not connect to the database its ini names"),
        "{}",
        r.shown
    );
    assert_no_secret(&r.shown, &ws);
    assert_untouched(&ws, &before);
    assert_component_error_counted(&ws, &["verify"], "verify-env-ignores-url");
    assert_untouched(&ws, &before);

    // A role that may not create databases (appproxy's): said, with the grant to ask for.
    let ws = branch_of(
        Component::Appproxy,
        &[create(A, "", "users")],
        &[create(B, A, "groups")],
    );
    let r = db_migrate(&ws, &["verify", "--component", "appproxy"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr
            .contains("error: cannot create the scratch database"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr
            .contains("the role appproxy may not create databases"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains(&format!(
            "psql -h {} -p {} -U postgres -d postgres -c 'ALTER ROLE \"appproxy\" CREATEDB'",
            postgres().host,
            postgres().port
        )),
        "{}",
        r.shown
    );
    assert_no_secret(&r.shown, &ws);
    assert_no_scratch_ini(&ws);
    let r = db_migrate(
        &ws,
        &["verify", "--component", "appproxy", "--format", "json"],
    );
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    assert!(doc["components"][0]["error"].is_object(), "{doc:#}");
    assert_eq!(doc["problems"], 1, "{doc:#}");

    // Outside git, with no --base: nothing tells which revisions are new.
    let ws = Workspace::new().component(Manager, &[create(A, "", "users")]);
    let r = db_migrate(&ws, &["verify"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(r.stderr.contains("--base"), "{}", r.shown);
    // In JSON the usage error keeps its exit code and still counts as a problem.
    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    let doc = r.json();
    assert_eq!(
        doc["components"][0]["error"]["kind"], "verify-no-base",
        "{doc:#}"
    );
    assert_eq!(doc["problems"], 1, "{doc:#}");
}

/// A branch migration whose upgrade runs `up` (one statement per line) and whose downgrade
/// does nothing: what fails, fails on the way up.
fn failing(id: &str, down: &str, message: &str, up: &str) -> Rev {
    revision(id, down, message, "NEXT_RELEASE_VERSION", up, "pass")
}

/// It reads a table that nothing creates.
fn reads_missing_table(id: &str, down: &str) -> Rev {
    failing(
        id,
        down,
        "read a missing table",
        "op.execute(\"SELECT * FROM no_such_table\")",
    )
}

/// The repository-relative path of `id`'s file, as annotations name it.
fn file_named(ws: &Workspace, id: &str, message: &str) -> String {
    ws.versions_dir(Manager)
        .join(format!("{id}_{}.py", slug(message)))
        .strip_prefix(ws.root())
        .unwrap()
        .display()
        .to_string()
}

/// Every `::error` annotation in `stdout`.
fn annotations(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect()
}

/// The three formats of one failing run: exit 1 each time, `rev` named as failed (with
/// `needle` in its error), problems counted, an annotation on its file. Returns the JSON.
fn assert_fails_in_every_format(
    ws: &Workspace,
    args: &[&str],
    rev: &str,
    file: &str,
    needle: &str,
) -> serde_json::Value {
    let text = db_migrate(ws, args);
    assert_eq!(text.code, Some(1), "{}", text.shown);
    assert!(!text.stdout.contains("manager: verified"), "{}", text.shown);
    assert!(
        text.stdout.contains("manager: 1 problem") && text.stdout.contains(rev),
        "{}",
        text.shown
    );
    assert!(text.stdout.contains("roundtrip   FAILED"), "{}", text.shown);
    assert!(text.shown.contains(needle), "{}", text.shown);

    let json = db_migrate(ws, &[args, &["--format", "json"]].concat());
    assert_eq!(json.code, Some(1), "{}", json.shown);
    let doc = json.json();
    let r = revision_json(&doc, rev);
    assert_eq!(r["roundtrip"], "failed", "{r:#}");
    assert!(r["error"]["message"].is_string(), "{r:#}");
    assert!(r.to_string().contains(needle), "{r:#}");
    assert!(
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["ok"] == false),
        "{r:#}"
    );
    let c = component_json(&doc, Manager);
    assert!(c["problems"].as_u64().unwrap() >= 1, "{c:#}");
    assert!(doc["problems"].as_u64().unwrap() >= 1, "{doc:#}");

    let github = run(ws.cmd().args(args).env("GITHUB_ACTIONS", "true"));
    assert_eq!(github.code, Some(1), "{}", github.shown);
    let errors = annotations(&github.stdout);
    assert!(
        errors
            .iter()
            .any(|a| a.starts_with(&format!("::error file={file},line=1,")) && a.contains(rev)),
        "{}",
        github.shown
    );
    assert!(scratch_databases(ws).is_empty() || args.contains(&"--keep"));
    doc
}

#[test]
fn a_new_revision_whose_upgrade_fails_fails_verify_in_every_format() {
    let ws = branch(&[reads_missing_table(F, B)]);
    ws.db_at(Manager, B);
    let before = dump(&ws);
    let file = file_named(&ws, F, "read a missing table");
    let doc = assert_fails_in_every_format(&ws, &["verify"], F, &file, "no_such_table");
    // What failed, in PostgreSQL's words and the revision's: the table it reads is not there.
    let f = revision_json(&doc, F);
    assert_eq!(f["error"]["kind"], "undefined-object", "{f:#}");
    assert!(
        f["error"]["message"].as_str().unwrap().contains(&format!(
            "-> {F} (\"read a missing table\", {file}) uses relation \"no_such_table\", which does not exist at that point of the chain"
        )),
        "{f:#}"
    );
    assert!(
        f["error"]["fix"]
            .as_str()
            .unwrap()
            .contains("create \"no_such_table\" first"),
        "{f:#}"
    );
    // Nothing after the failed upgrade ran: no downgrade, and the drift was not measured there.
    assert_eq!(f["steps"].as_array().unwrap().len(), 1, "{f:#}");
    assert_eq!(f["steps"][0]["step"], "upgrade", "{f:#}");
    // A fresh copy upgraded straight to head fails the same way: the drift says so.
    let drift = &doc["components"][0]["drift"];
    assert_eq!(drift["state"], "skipped", "{drift:#}");
    assert!(
        drift["why"]
            .as_str()
            .unwrap()
            .starts_with("upgrading a fresh copy straight to head failed too: "),
        "{drift:#}"
    );
    assert_untouched(&ws, &before);
}

#[test]
fn the_second_of_two_new_revisions_failing_fails_verify() {
    let ws = branch(&[add_note(F, B), reads_missing_table(G, F)]);
    ws.db_at(Manager, B);
    let file = file_named(&ws, G, "read a missing table");
    let doc = assert_fails_in_every_format(&ws, &["verify"], G, &file, "no_such_table");
    assert_eq!(revision_json(&doc, F)["roundtrip"], "ok");
    assert_eq!(doc["components"][0]["problems"], 1, "{doc:#}");
}

#[test]
fn a_failing_upgrade_fails_verify_with_keep() {
    let ws = branch(&[reads_missing_table(F, B)]);
    ws.db_at(Manager, B);
    let file = file_named(&ws, F, "read a missing table");
    assert_fails_in_every_format(&ws, &["verify", "--keep"], F, &file, "no_such_table");
    // Each of the three runs kept its copy, at the parent (the failed upgrade rolled back).
    let kept = scratch_databases(&ws);
    assert_eq!(kept.len(), 3, "{kept:?}");
    for db in kept {
        assert_eq!(
            postgres().psql(&db, "SELECT version_num FROM alembic_version"),
            B
        );
        postgres().drop_database(&db);
    }
}

#[test]
fn an_upgrade_that_exits_early_or_asks_a_question_fails_verify() {
    // os._exit(0): Alembic "succeeds" without committing; the database is not where the plan leads.
    let ws = branch(&[failing(F, B, "exit early", "import os\nos._exit(0)")]);
    ws.db_at(Manager, B);
    let file = file_named(&ws, F, "exit early");
    assert_fails_in_every_format(&ws, &["verify"], F, &file, "not where the plan leads");

    // input() with stdin closed.
    let ws = branch(&[failing(
        F,
        B,
        "ask a question",
        "input(\"Convert user ids? (a/b): \")",
    )]);
    ws.db_at(Manager, B);
    let file = file_named(&ws, F, "ask a question");
    let doc = assert_fails_in_every_format(&ws, &["verify"], F, &file, "Convert user ids?");
    let f = revision_json(&doc, F);
    assert_eq!(f["error"]["kind"], "migration-asks-input", "{f:#}");
    assert!(
        f["error"]["fix"]
            .as_str()
            .unwrap()
            .contains("VAR=ANSWER db-migrate verify --component manager"),
        "{f:#}"
    );

    // One that reads its answer from the environment when set: the fix names the variable.
    let ws = branch(&[failing(
        F,
        B,
        "ask a question",
        "import os\nif os.environ.get(\"CONVERT_CHOICE\") is None:\n    input(\"Convert user ids? (a/b): \")",
    )]);
    ws.db_at(Manager, B);
    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    assert_eq!(
        revision_json(&doc, F)["error"]["fix"],
        "CONVERT_CHOICE=ANSWER db-migrate verify --component manager   (ANSWER: your reply to the question)",
        "{doc:#}"
    );
    let r = run(ws
        .cmd()
        .args(["verify", "--format", "json"])
        .env("CONVERT_CHOICE", "a"));
    assert_eq!(r.code, Some(0), "{}", r.shown);
}

#[test]
fn a_failing_upgrade_on_a_dump_restore_copy_fails_verify() {
    let ws = branch(&[reads_missing_table(F, B)]);
    ws.db_at(Manager, B);
    let mut session = busy_session(&ws);
    let file = file_named(&ws, F, "read a missing table");
    let doc = assert_fails_in_every_format(&ws, &["verify"], F, &file, "no_such_table");
    let _ = session.kill();
    let _ = session.wait();
    assert_eq!(
        doc["components"][0]["scratch"]["made"], "dump-restore",
        "{doc:#}"
    );
}

#[test]
fn under_all_the_failing_component_is_not_verified_and_the_other_is() {
    let ws = Workspace::new()
        .component(Manager, &[create(A, "", "users"), create(B, A, "groups")])
        .component(
            Component::Accountmgr,
            &[create("ac0000000001", "", "accounts")],
        );
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "main");
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(Manager, &[reads_missing_table(F, B)]);
    ws.add_revisions(
        Component::Accountmgr,
        &[create("ac0000000002", "ac0000000001", "tokens")],
    );
    commit_all(ws.root(), "my migrations");
    ws.db_at(Manager, B);
    ws.db_at(Component::Accountmgr, "ac0000000001");

    let r = db_migrate(&ws, &["verify", "--all"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!("manager: 1 problem: {F}")),
        "{}",
        r.shown
    );
    assert!(!r.stdout.contains("manager: verified"), "{}", r.shown);
    assert!(
        r.stdout.contains("accountmgr: verified (1 revision"),
        "{}",
        r.shown
    );

    let r = db_migrate(&ws, &["verify", "--all", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    assert_eq!(component_json(&doc, Manager)["problems"], 1, "{doc:#}");
    assert_eq!(
        component_json(&doc, Component::Accountmgr)["problems"],
        0,
        "{doc:#}"
    );
    assert_eq!(doc["problems"], 1, "{doc:#}");

    let r = run(ws
        .cmd()
        .args(["verify", "--all"])
        .env("GITHUB_ACTIONS", "true"));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let file = file_named(&ws, F, "read a missing table");
    assert_eq!(
        annotations(&r.stdout),
        [format!(
            "::error file={file},line=1,title=db-migrate verify::{F} its upgrade step failed on the scratch database: {}",
            revision_json(&doc, F)["error"]["message"].as_str().unwrap()
        )],
        "{}",
        r.shown
    );
}

/// verify could not prove `ws`'s manager at all: exit 1 with the component's error of `kind`,
/// counted as a problem in JSON (component and total), and an annotation in GitHub format.
fn assert_component_error_counted(ws: &Workspace, args: &[&str], kind: &str) {
    assert_component_error_counted_with(ws, args, &[], kind);
}

/// The same, with `env` set for db-migrate.
fn assert_component_error_counted_with(
    ws: &Workspace,
    args: &[&str],
    env: &[(&str, &std::path::Path)],
    kind: &str,
) {
    let with_env = |extra: &[&str]| {
        let mut cmd = ws.cmd();
        cmd.args(args).args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    };
    let r = run(&mut with_env(&["--format", "json"]));
    assert_no_secret(&r.shown, ws);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let c = component_json(&doc, Manager);
    assert_eq!(c["error"]["kind"], kind, "{doc:#}");
    assert!(c["problems"].as_u64().unwrap() >= 1, "{doc:#}");
    assert!(doc["problems"].as_u64().unwrap() >= 1, "{doc:#}");

    let r = run(with_env(&[]).env("GITHUB_ACTIONS", "true"));
    assert_no_secret(&r.shown, ws);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let errors = annotations(&r.stdout);
    assert!(
        errors
            .iter()
            .any(|a| a.starts_with("::error title=db-migrate verify::manager: ")),
        "{}",
        r.shown
    );
    assert!(r.stdout.contains("manager: not verified"), "{}", r.shown);
    assert!(scratch_databases(ws).is_empty());
}

#[test]
fn environment_failures_count_as_problems_in_json_and_annotate() {
    // The server does not answer.
    let ws = branch(&[add_note(F, B)]);
    ws.db_at(Manager, B);
    ws.set_db_port(Manager, dead_port());
    assert_component_error_counted(&ws, &["verify"], "connection-refused");

    // The database does not exist.
    let ws = branch(&[add_note(F, B)]);
    postgres().drop_database(&ws.db_name(Manager));
    assert_component_error_counted(&ws, &["verify"], "verify-no-database");

    // No pg_dump to snapshot the schema with.
    let ws = branch(&[add_note(F, B)]);
    ws.db_at(Manager, B);
    let missing = ws.root().join("no-such-pg_dump");
    assert_component_error_counted_with(
        &ws,
        &["verify"],
        &[("DB_MIGRATE_PG_DUMP", &missing)],
        "pg-dump-missing",
    );

    // Two heads: diverged, refused before anything is created.
    let ws = branch(&[add_note(F, B), create(G, A, "sessions")]);
    ws.db_at(Manager, B);
    assert_component_error_counted(&ws, &["verify"], "multiple-heads");

    // The copy has the branch's revision applied, and its downgrade (to where the proof
    // starts) fails.
    let ws = branch(&[revision(
        F,
        B,
        "add users.note",
        "NEXT_RELEASE_VERSION",
        "op.add_column(\"users\", sa.Column(\"note\", sa.Text()))",
        "op.execute(\"SELECT * FROM no_such_table\")",
    )]);
    ws.db_at(Manager, F);
    assert_component_error_counted(&ws, &["verify"], "undefined-object");
}

#[test]
fn drift_says_which_side_to_fix() {
    // A migration adds users.note; the models (users without note, and an email the
    // migrations never add) lag behind on one side and run ahead on the other.
    let ws = branch(&[add_note(F, B)]);
    ws.with_models(
        Manager,
        "import sqlalchemy as sa\nmetadata = sa.MetaData()\n\
         sa.Table(\"users\", metadata, sa.Column(\"id\", sa.Integer, primary_key=True), sa.Column(\"name\", sa.String(64)))\n\
         sa.Table(\"groups\", metadata, sa.Column(\"id\", sa.Integer, primary_key=True), sa.Column(\"name\", sa.String(64)), sa.Column(\"email\", sa.String(64)))\n",
    );
    ws.db_at(Manager, B);

    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let drift = &doc["components"][0]["drift"];
    assert_eq!(drift["state"], "differs", "{drift:#}");
    let fix = drift["fix"].as_str().unwrap();
    // Only in the database: fixed in the models, naming the table and column.
    assert!(
        fix.starts_with("the migrations make index ix_users_note, column users.note and the models lack them: add them to the models"),
        "{fix}"
    );
    // Only in the models: a new migration.
    assert!(
        fix.contains("the models have column groups.email VARCHAR(64) and no migration makes it: with your database at head, ./py -m alembic -c alembic.ini revision --autogenerate"),
        "{fix}"
    );
    assert!(
        fix.ends_with("then rerun db-migrate verify --component manager"),
        "{fix}"
    );

    let r = db_migrate(&ws, &["verify"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!("      fix: {fix}")),
        "{}",
        r.shown
    );

    let r = run(ws.cmd().args(["verify"]).env("GITHUB_ACTIONS", "true"));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let errors = annotations(&r.stdout);
    assert!(
        errors.iter().any(|a| a.contains("- column users.note (only in the database: add it to the models)")),
        "{}",
        r.shown
    );
    assert!(
        errors.iter().any(|a| a
            .contains("+ column groups.email VARCHAR(64) (only in the models: add a migration")),
        "{}",
        r.shown
    );
}

#[test]
fn a_drift_comparison_that_fails_says_its_fix_and_annotates() {
    // env.py hands Alembic something that is not a MetaData: the migrations run (they never
    // look at it), the comparison cannot.
    let ws = branch(&[add_note(F, B)]);
    ws.with_models(Manager, "metadata = \"not a MetaData\"\n");
    ws.db_at(Manager, B);

    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let c = &doc["components"][0];
    assert_eq!(revision_json(&doc, F)["roundtrip"], "ok", "{c:#}");
    assert_eq!(c["drift"]["state"], "failed", "{c:#}");
    assert!(
        c["drift"]["fix"].as_str().is_some_and(|f| !f.is_empty()),
        "{c:#}"
    );
    // It names what Alembic said, and a command that shows the rest.
    let why = c["drift"]["why"].as_str().unwrap();
    assert!(why.contains("alembic: "), "{why}");
    assert!(
        c["drift"]["fix"]
            .as_str()
            .unwrap()
            .contains("db-migrate -v verify --component manager"),
        "{c:#}"
    );
    assert_eq!(c["problems"], 1, "{c:#}");
    assert_eq!(doc["problems"], 1, "{doc:#}");

    let r = db_migrate(&ws, &["verify"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stdout.contains("  drift     FAILED: "), "{}", r.shown);
    let fix = c["drift"]["fix"].as_str().unwrap();
    assert!(
        r.stdout.contains(&format!("      fix: {fix}\n")),
        "{}",
        r.shown
    );

    let r = run(ws.cmd().args(["verify"]).env("GITHUB_ACTIONS", "true"));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let errors = annotations(&r.stdout);
    assert_eq!(errors.len(), 1, "{}", r.shown);
    assert!(
        errors[0].starts_with(
            "::error title=db-migrate verify drift::manager: the drift comparison failed: "
        ),
        "{}",
        r.shown
    );
}

#[test]
fn after_a_failed_proof_the_drift_is_measured_on_a_fresh_copy_at_head() {
    // F's downgrade forgets its column: upgrading again fails and the proof stops at F. The
    // models have an email column no migration adds: one run shows both problems.
    let ws = branch(&[
        revision(
            F,
            B,
            "add users.note",
            "NEXT_RELEASE_VERSION",
            "op.add_column(\"users\", sa.Column(\"note\", sa.Text()))\nop.create_index(\"ix_users_note\", \"users\", [\"note\"])",
            "op.drop_index(\"ix_users_note\", table_name=\"users\")",
        ),
        create(G, F, "sessions"),
    ]);
    let mut models = models(&["sa.Column(\"email\", sa.String(64))"]);
    models.push_str("\nsessions = sa.Table(\"sessions\", metadata, sa.Column(\"id\", sa.Integer, primary_key=True), sa.Column(\"name\", sa.String(64)))\n");
    ws.with_models(Manager, &models);
    ws.db_at(Manager, B);
    let before = dump(&ws);

    let r = db_migrate(&ws, &["verify", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let c = &doc["components"][0];
    assert_eq!(revision_json(&doc, F)["roundtrip"], "differs", "{c:#}");
    assert_eq!(revision_json(&doc, G)["roundtrip"], "not-run", "{c:#}");
    let drift = &c["drift"];
    assert_eq!(drift["measured_on"], "fresh-copy", "{drift:#}");
    let fresh = drift["fresh_copy"].as_str().unwrap();
    assert!(
        fresh.starts_with(&format!("{}_verify_", ws.db_name(Manager)))
            && fresh != c["scratch"]["database"].as_str().unwrap(),
        "{c:#}"
    );
    assert_eq!(drift["state"], "differs", "{drift:#}");
    assert_eq!(
        drift["differences"][0]["text"], "column users.email VARCHAR(64)",
        "{drift:#}"
    );
    assert_eq!(c["problems"], 2, "{c:#}");
    assert_eq!(doc["problems"], 2, "{doc:#}");
    assert_untouched(&ws, &before);

    let r = run(ws.cmd().args(["verify"]).env("GITHUB_ACTIONS", "true"));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stdout
            .contains(&format!("manager: 2 problems: {F}, drift")),
        "{}",
        r.shown
    );
    let errors = annotations(&r.stdout);
    assert!(
        errors
            .iter()
            .any(|a| a.contains("+ column users.email VARCHAR(64)")),
        "{}",
        r.shown
    );
    assert_untouched(&ws, &before);
}

#[test]
fn the_fresh_copy_for_the_drift_is_dropped_after_ctrl_c() {
    // F's round trip fails (its downgrade forgets the column), so the drift is measured on a
    // fresh copy; upgrading that one straight to head runs G, which is slow: Ctrl-C there.
    let ws = branch(&[
        revision(
            F,
            B,
            "add users.note",
            "NEXT_RELEASE_VERSION",
            "op.add_column(\"users\", sa.Column(\"note\", sa.Text()))",
            "pass",
        ),
        revision(
            G,
            F,
            "slow migration",
            "NEXT_RELEASE_VERSION",
            "op.execute(\"SELECT pg_sleep(31)\")",
            "pass",
        ),
    ]);
    ws.db_at(Manager, B);
    let before = dump(&ws);
    let child = ws
        .std_cmd()
        .args(["verify"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("db-migrate runs");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let busy = postgres().psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(31)%' AND pid <> pg_backend_pid()",
        );
        if busy != "0" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow migration never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("db-migrate exits");
    let shown = output_text(&out);
    assert_eq!(out.status.code(), Some(130), "{shown}");
    assert!(shown.contains("roundtrip   DIFFERS"), "{shown}");
    assert_untouched(&ws, &before);
    assert_no_scratch_ini(&ws);
}

#[test]
fn a_new_merge_revision_whose_upgrade_fails_fails_verify() {
    // The branch joins its own two migrations with a merge that does more than join.
    const M: &str = "d5d5d5d5d5d5";
    let ws = branch(&[
        add_note(F, B),
        create(G, B, "sessions"),
        merge(M, &[F, G], "merge and backfill")
            .upgrade_body("op.execute(\"SELECT * FROM no_such_table\")")
            .downgrade_body("pass"),
    ]);
    ws.db_at(Manager, B);
    let file = file_named(&ws, M, "merge and backfill");
    let doc = assert_fails_in_every_format(&ws, &["verify"], M, &file, "no_such_table");
    // Each line is proved on its own: the sibling proved first (G, in apply order) is taken
    // down to the shared parent before F, so F's round trip compares F alone.
    let f = revision_json(&doc, F);
    assert_eq!(f["steps"][0]["step"], "downgrade to parent", "{f:#}");
    assert_eq!(f["steps"][0]["target"], B, "{f:#}");
    assert_eq!(f["roundtrip"], "ok", "{f:#}");
    assert_eq!(revision_json(&doc, G)["roundtrip"], "ok", "{doc:#}");
    assert_eq!(doc["components"][0]["problems"], 1, "{doc:#}");
}
