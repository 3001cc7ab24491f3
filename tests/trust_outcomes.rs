//! "Never report success that did not happen": every run is checked against what it promised.
//!
//! Each scenario builds a workspace with the real Alembic and a real PostgreSQL, breaks one thing
//! the way users and CI break it (an env.py that never migrates, a launcher that is not Alembic, a
//! corrupt alembic_version, a target the real run cannot follow, a failing component among
//! several, a prompt left open), runs the real binary and looks at the database afterwards.

mod harness;

use harness::*;
use serde_json::Value;
use Component::{Appproxy, Manager};

fn env_py_path(c: Component) -> String {
    format!("{}/alembic/env.py", c.package_dir())
}

fn error_kind(doc: &Value) -> String {
    doc["error"]["kind"].as_str().unwrap_or_default().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Outcomes are verified
// ---------------------------------------------------------------------------------------------

#[test]
fn an_env_py_that_never_runs_the_migrations_is_a_failure_not_a_success() {
    let chain = linear_chain("nr", 3);
    let ws = Workspace::new().component(Manager, &chain);
    let env = ws
        .read_file(&env_py_path(Manager))
        .replace("        context.run_migrations()\n", "        pass\n");
    ws.write_file(&env_py_path(Manager), &env);

    let r = db_migrate(&ws, &["upgrade"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "expected {}, found base (no revision)",
            chain[2].id()
        )),
        "{}",
        r.shown
    );
    assert!(r.stderr.contains("run_migrations()"), "{}", r.shown);
    assert!(
        r.stderr
            .contains("database: at base (no revision) (no-revision)"),
        "{}",
        r.shown
    );
    assert!(ws.db_revisions(Manager).is_empty());

    let doc = db_migrate(&ws, &["upgrade", "--format", "json"]).json();
    assert_eq!(error_kind(&doc), "outcome-mismatch", "{doc:#}");
    let manager = component_json(&doc, Manager);
    assert_eq!(strings(&manager["pending"]).len(), 3, "{doc:#}");
    assert_eq!(strings(&manager["heads"]), vec![chain[2].id().to_string()]);
}

#[test]
fn a_downgrade_that_reverted_nothing_is_a_failure() {
    let chain = linear_chain("nd", 2);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, "head");
    let env = ws
        .read_file(&env_py_path(Manager))
        .replace("        context.run_migrations()\n", "        pass\n");
    ws.write_file(&env_py_path(Manager), &env);

    let r = db_migrate(&ws, &["downgrade", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "expected {}, found {}",
            chain[0].id(),
            chain[1].id()
        )),
        "{}",
        r.shown
    );
    assert_eq!(ws.db_revisions(Manager), vec![chain[1].id().to_string()]);
}

#[test]
fn a_launcher_that_exits_0_without_running_alembic_is_a_failure() {
    let chain = linear_chain("lx", 2);
    for (what, script) in [
        ("exits at once", "#!/bin/sh\nexit 0\n"),
        (
            "prints garbage",
            "#!/bin/sh\necho 'Hello from a launcher that is not Alembic'\necho 'all good' >&2\nexit 0\n",
        ),
    ] {
        let ws = Workspace::new().component(Manager, &chain);
        ws.write_file("py", script);

        let r = db_migrate(&ws, &["upgrade"]);
        assert_eq!(r.code, Some(1), "{what}: {}", r.shown);
        assert!(
            r.stderr.contains("the launcher (./py) exited 0 without any output from Alembic"),
            "{what}: {}",
            r.shown
        );
        assert!(!r.stdout.contains("up-to-date"), "{what}: {}", r.shown);
        assert!(ws.db_revisions(Manager).is_empty(), "{what}");

        let doc = db_migrate(&ws, &["upgrade", "--format", "json"]).json();
        assert_eq!(error_kind(&doc), "outcome-mismatch", "{what}: {doc:#}");
    }
}

// ---------------------------------------------------------------------------------------------
// A corrupt alembic_version is not up-to-date
// ---------------------------------------------------------------------------------------------

#[test]
fn overlapping_alembic_version_rows_fail_status_check_and_say_how_to_stamp() {
    let chain = linear_chain("ov", 2);
    let (a1, a2) = (chain[0].id(), chain[1].id());
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, a2);
    ws.sql(
        Manager,
        &format!("INSERT INTO alembic_version (version_num) VALUES ('{a1}')"),
    );

    let r = db_migrate(&ws, &["status", "--check"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(!r.shown.contains("up-to-date"), "{}", r.shown);
    assert!(
        r.stderr
            .contains(&format!("overlapping revisions ({a2} and {a1})")),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains(&format!(
            "./py -m alembic -c alembic.ini stamp --purge {a2}"
        )),
        "{}",
        r.shown
    );

    let doc = db_migrate(&ws, &["status", "--format", "json"]).json();
    assert_eq!(error_kind(&doc), "overlapping-versions", "{doc:#}");
    let manager = component_json(&doc, Manager);
    assert_eq!(
        strings(&manager["current"]),
        vec![a1.to_string(), a2.to_string()],
        "what is known is kept: {doc:#}"
    );
    assert_eq!(ws.db_revisions(Manager).len(), 2, "status changes nothing");
}

// ---------------------------------------------------------------------------------------------
// Targets the real run cannot follow are refused first
// ---------------------------------------------------------------------------------------------

#[test]
fn keywords_as_branch_labels_and_steps_against_the_direction_are_usage_errors() {
    let chain = linear_chain("tg", 3);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[1].id());

    for args in [
        vec!["upgrade", "heads@-1"],
        vec!["downgrade", "heads@-1", "--dry-run"],
        vec!["upgrade", "-1"],
        vec!["downgrade", "+1", "--yes"],
        vec!["downgrade", "+1", "--dry-run"],
    ] {
        let r = db_migrate(&ws, &args);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.shown);
        assert!(r.stderr.starts_with("error: "), "{args:?}: {}", r.shown);
    }
    let r = db_migrate(&ws, &["upgrade", "-1"]);
    assert!(
        r.stderr
            .contains("db-migrate downgrade --component manager -1"),
        "{}",
        r.shown
    );
    assert_eq!(ws.db_revisions(Manager), vec![chain[1].id().to_string()]);
}

/// a ─┬─ b1 ─┬─ m ── c
///    └─ b2 ─┘
fn branch_and_merge() -> Vec<Rev> {
    vec![
        rev("aa00000000a1", None, "root"),
        rev("bb00000000b1", Some("aa00000000a1"), "left"),
        rev("bb00000000b2", Some("aa00000000a1"), "right"),
        merge("cc000000000m", &["bb00000000b1", "bb00000000b2"], "merge"),
        rev("dd00000000c1", Some("cc000000000m"), "after merge"),
    ]
}

#[test]
fn a_relative_step_across_a_branch_point_or_merge_is_refused_with_the_branches() {
    let ws = Workspace::new().component(Manager, &branch_and_merge());
    ws.db_at(Manager, "aa00000000a1");

    for args in [
        vec!["upgrade", "+1"],
        vec!["upgrade", "+1", "--dry-run"],
        vec!["upgrade", "+2", "--sql"],
    ] {
        let r = db_migrate(&ws, &args);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.shown);
        assert!(
            r.stderr.contains("bb00000000b1 | bb00000000b2") && r.stderr.contains("Ambiguous walk"),
            "{args:?}: {}",
            r.shown
        );
    }
    assert_eq!(ws.db_revisions(Manager), vec!["aa00000000a1".to_string()]);

    ws.db_at(Manager, "heads");
    let r = db_migrate(&ws, &["downgrade", "-2", "--yes"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(
        r.stderr
            .contains("cc000000000m, where the history splits (bb00000000b1 | bb00000000b2)"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr
            .contains("db-migrate downgrade --component manager bb00000000b1"),
        "{}",
        r.shown
    );
    assert_eq!(ws.db_revisions(Manager), vec!["dd00000000c1".to_string()]);

    // Alembic itself agrees that the walk is ambiguous.
    let out = ws.alembic(Manager, &["downgrade", "-2"]);
    assert!(
        output_text(&out).contains("Ambiguous walk"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn a_dry_run_fails_where_the_real_run_would() {
    let chain = linear_chain("dy", 3);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[1].id());

    let r = db_migrate(
        &ws,
        &["upgrade", "ffffffffffff", "--dry-run", "--format", "json"],
    );
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert_eq!(error_kind(&r.json()), "unknown-target");
    // The real run fails the same way, through Alembic.
    let real = db_migrate(&ws, &["upgrade", "ffffffffffff", "--format", "json"]);
    assert_eq!(error_kind(&real.json()), "unknown-target", "{}", real.shown);

    let r = db_migrate(&ws, &["downgrade", chain[2].id(), "--dry-run"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "{} is not a valid downgrade target",
            chain[2].id()
        )),
        "{}",
        r.shown
    );
    let r = db_migrate(&ws, &["downgrade", "-5", "--dry-run"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains("goes past the end"), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), vec![chain[1].id().to_string()]);
}

// ---------------------------------------------------------------------------------------------
// upgrade --all says what it did not attempt
// ---------------------------------------------------------------------------------------------

fn failing_manager_and_good_appproxy() -> (Workspace, Vec<Rev>, Vec<Rev>) {
    let mut manager = linear_chain("fm", 2);
    manager[1] = manager[1]
        .clone()
        .upgrade_body("raise RuntimeError('this migration is broken')");
    let appproxy = linear_chain("ga", 2);
    let ws = Workspace::new()
        .component(Manager, &manager)
        .component(Appproxy, &appproxy);
    (ws, manager, appproxy)
}

#[test]
fn upgrade_all_reports_the_components_after_a_failure_as_skipped() {
    let (ws, manager, _) = failing_manager_and_good_appproxy();

    let r = db_migrate(&ws, &["upgrade", "--all"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stdout.contains(
            "appproxy (alembic-appproxy.ini): skipped, not attempted: manager failed first (--keep-going tries every component)"
        ),
        "{}",
        r.shown
    );
    assert!(ws.db_revisions(Appproxy).is_empty());

    let doc = db_migrate(&ws, &["upgrade", "--all", "--format", "json"]).json();
    let appproxy = component_json(&doc, Appproxy);
    assert_eq!(appproxy["state"], "skipped", "{doc:#}");
    assert!(
        appproxy["skipped"]
            .as_str()
            .is_some_and(|s| s.contains("manager failed")),
        "{doc:#}"
    );
    // The failed component carries what is known (the run was rolled back whole: still no
    // revision, both pending), not arrays emptied for want of knowing.
    let failed = component_json(&doc, Manager);
    assert!(strings(&failed["current"]).is_empty(), "{doc:#}");
    assert_eq!(strings(&failed["pending"]), ids(&manager), "{doc:#}");
    assert_eq!(failed["state"], "no-revision", "{doc:#}");
    assert!(failed["error"]["kind"].is_string(), "{doc:#}");
}

#[test]
fn keep_going_tries_every_component_and_still_fails() {
    let (ws, _, appproxy) = failing_manager_and_good_appproxy();

    let r = db_migrate(&ws, &["upgrade", "--all", "--keep-going"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(!r.stdout.contains("skipped"), "{}", r.shown);
    assert_eq!(
        ws.db_revisions(Appproxy),
        vec![appproxy[1].id().to_string()]
    );
    assert!(ws.db_revisions(Manager).is_empty());

    let r = db_migrate(&ws, &["upgrade", "--keep-going"]);
    assert_eq!(r.code, Some(2), "--keep-going needs --all: {}", r.shown);
}

#[test]
fn a_failed_status_in_json_keeps_the_heads_it_could_read() {
    let chain = linear_chain("sj", 2);
    let ws = Workspace::new().component(Manager, &chain);
    ws.set_db_port(Manager, dead_port());

    let r = db_migrate(&ws, &["status", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let manager = component_json(&doc, Manager);
    assert_eq!(strings(&manager["heads"]), vec![chain[1].id().to_string()]);
    assert!(
        manager.get("current").is_none(),
        "unknown, so absent rather than []: {doc:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// A prompt does not hold the migration lock
// ---------------------------------------------------------------------------------------------

#[test]
fn an_open_confirmation_prompt_does_not_hold_the_migration_lock() {
    let chain = linear_chain("pl", 3);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, "head");

    let mut prompt = Terminal::start(&ws, &["downgrade"]);
    prompt.wait_for("Continue? [y/N]", 1);

    // While the question is open, another db-migrate migrates the same database at once.
    // A held lock would make it say it waits, then give up after --lock-timeout (exit 1).
    let other = db_migrate(&ws, &["downgrade", "-1", "--yes", "--lock-timeout", "30"]);
    assert_eq!(other.code, Some(0), "{}", other.shown);
    assert!(
        !other
            .shown
            .contains("another db-migrate is migrating this database"),
        "it waited for the lock: {}",
        other.shown
    );
    assert_eq!(ws.db_revisions(Manager), vec![chain[1].id().to_string()]);

    // The first one's plan is stale now: after "y" it plans again and asks again.
    prompt.answer("y\n");
    prompt.wait_for("Continue? [y/N]", 2);
    prompt.answer("n\n");
    let (code, screen) = prompt.finish();
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("the database changed while you were answering; here is the new plan"),
        "{screen}"
    );
    assert!(
        screen.contains("downgrade cancelled; nothing was changed"),
        "{screen}"
    );
    assert_eq!(ws.db_revisions(Manager), vec![chain[1].id().to_string()]);
}
