//! `db-migrate current | heads | history`: Alembic's reports, parsed, as text and JSON.
//!
//! Everything runs the real binary against the real Alembic and a throwaway PostgreSQL cluster.

mod harness;

use std::collections::BTreeSet;

use harness::*;
use serde_json::{json, Value};
use Component::{Accountmgr, Appproxy, Manager};

// ---------------------------------------------------------------------------------------------
// Helpers (local to this file).

// The manager's history: two branches from A (B, and C labelled `x`), merged by D, then E.
const A: &str = "3f2a1c9d0b7e";
const B: &str = "81c264528f20";
const C: &str = "7h4m7ygnaao1";
const D: &str = "0d553d59f369";
const E: &str = "e35332f8d23d";

fn manager_history() -> Vec<Rev> {
    vec![
        rev(A, None, "create users"),
        rev(B, Some(A), "add email"),
        rev(C, Some(A), "add sessions").branch_labels(&["x"]),
        merge(D, &[B, C], "merge email and sessions"),
        rev(E, Some(D), "add index on sessions.status"),
    ]
}

// The account manager's scripts have diverged: two revisions on top of R.
const R: &str = "acc000000001";
const H1: &str = "acc0000000h1";
const H2: &str = "acc0000000h2";

fn diverged_history() -> Vec<Rev> {
    vec![
        rev(R, None, "create accounts"),
        rev(H1, Some(R), "add keypairs"),
        rev(H2, Some(R), "add quotas"),
    ]
}

// ---------------------------------------------------------------------------------------------
// current

#[test]
fn current_shows_the_database_revisions_text_and_json() {
    // Situation: the manager is at B (behind), the account manager's scripts diverged and its
    // database holds both heads (two alembic_version rows), the app proxy's database is fresh.
    let ws = Workspace::new()
        .component(Manager, &manager_history())
        .component(Accountmgr, &diverged_history())
        .component(Appproxy, &linear_chain("ap", 2));
    ws.db_at(Manager, B);
    ws.db_at(Accountmgr, "heads");
    assert_eq!(
        ws.db_revisions(Accountmgr),
        [H1, H2],
        "precondition: two rows"
    );

    let text = db_migrate(&ws, &["current", "--all"]);
    assert_eq!(text.code, Some(0), "{}", text.shown);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "one line per component:\n{}", text.shown);
    assert_eq!(lines[0], format!("manager: {B} (behind)"));
    let acct = lines[1]
        .strip_prefix("accountmgr: ")
        .and_then(|l| l.strip_suffix(" (diverged)"))
        .unwrap_or_else(|| panic!("accountmgr line: {}", lines[1]));
    let both: BTreeSet<&str> = acct.split(", ").collect();
    assert_eq!(
        both,
        BTreeSet::from([H1, H2]),
        "both rows shown: {}",
        lines[1]
    );
    assert_eq!(lines[2], "appproxy: (none) (no-revision)");

    let doc = db_migrate(&ws, &["current", "--all", "--format", "json"]).json();
    let m = component_json(&doc, Manager);
    assert_eq!(strings(&m["current"]), [B], "{m:#}");
    assert_eq!(m["state"], "behind");
    let a = component_json(&doc, Accountmgr);
    let a_current: BTreeSet<String> = strings(&a["current"]).into_iter().collect();
    assert_eq!(
        a_current,
        BTreeSet::from([H1.to_owned(), H2.to_owned()]),
        "{a:#}"
    );
    assert_eq!(a["state"], "diverged");
    let p = component_json(&doc, Appproxy);
    assert_eq!(p["current"], json!([]), "{p:#}");
    assert_eq!(p["state"], "no-revision");

    // The manager's database now holds a revision its scripts don't have.
    ws.sql(
        Manager,
        "UPDATE alembic_version SET version_num='ffffffffffff'",
    );
    let bogus = db_migrate(&ws, &["current"]);
    assert_eq!(bogus.code, Some(0), "{}", bogus.shown);
    assert_eq!(bogus.stdout, "manager: ffffffffffff (unknown-revision)\n");
    let doc = db_migrate(&ws, &["current", "--format", "json"]).json();
    assert_eq!(
        strings(&component_json(&doc, Manager)["current"]),
        ["ffffffffffff"]
    );
}

// ---------------------------------------------------------------------------------------------
// heads

#[test]
fn heads_lists_both_heads_of_diverged_scripts_text_and_json() {
    // Situation: the account manager's scripts have two heads; the manager's one (a merge
    // descendant carrying the branch label `x`).
    let ws = Workspace::new()
        .component(Manager, &manager_history())
        .component(Accountmgr, &diverged_history());
    let d = diverged_history();

    let text = db_migrate(&ws, &["heads", "--component", "accountmgr"]);
    assert_eq!(text.code, Some(0), "{}", text.shown);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(
        lines[0], "accountmgr (alembic-accountmgr.ini):",
        "{}",
        text.stdout
    );
    // The head lines; the branches explained follow them (tests/fix_heads.rs).
    let mut listed: Vec<String> = lines[1..]
        .iter()
        .filter(|l| l.contains(" (head)  "))
        .map(|l| l.to_string())
        .collect();
    listed.sort();
    assert!(text.stdout.contains("\n  fork     "), "{}", text.stdout);
    assert_eq!(
        listed,
        [
            format!(
                "  {H1} (head)  add keypairs  ({})",
                file_of(&ws, Accountmgr, &d[1])
            ),
            format!(
                "  {H2} (head)  add quotas  ({})",
                file_of(&ws, Accountmgr, &d[2])
            ),
        ],
        "{}",
        text.stdout
    );

    let doc = db_migrate(
        &ws,
        &["heads", "--component", "accountmgr", "--format", "json"],
    )
    .json();
    let a = component_json(&doc, Accountmgr);
    assert_eq!(a["config"], "alembic-accountmgr.ini");
    let heads: BTreeSet<String> = strings(&a["heads"]).into_iter().collect();
    assert_eq!(
        heads,
        BTreeSet::from([H1.to_owned(), H2.to_owned()]),
        "{a:#}"
    );
    let mut revisions = a["revisions"].as_array().expect("revisions").clone();
    revisions.sort_by_key(|r| r["id"].as_str().unwrap().to_owned());
    assert_eq!(
        Value::Array(revisions),
        json!([
            {"id": H1, "parents": [R], "depends_on": [], "branch_labels": [],
             "path": file_of(&ws, Accountmgr, &d[1]), "message": "add keypairs"},
            {"id": H2, "parents": [R], "depends_on": [], "branch_labels": [],
             "path": file_of(&ws, Accountmgr, &d[2]), "message": "add quotas"},
        ])
    );

    // The manager has a single head; with --all both components are listed, in order.
    let all = db_migrate(&ws, &["heads", "--all"]);
    assert_eq!(all.code, Some(0), "{}", all.shown);
    let m = manager_history();
    assert!(
        all.stdout.starts_with(&format!(
            "manager (alembic.ini):\n  {E} (head) [x]  add index on sessions.status  ({})\naccountmgr (alembic-accountmgr.ini):\n",
            file_of(&ws, Manager, &m[4])
        )),
        "{}",
        all.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// history

#[test]
fn history_lists_every_revision_newest_first_with_parents_merges_and_labels() {
    // Situation: the manager's history has a branch (C labelled `x`), a merge point D and E on
    // top. History reads the scripts only.
    let ws = Workspace::new().component(Manager, &manager_history());
    let m = manager_history();

    let text = db_migrate(&ws, &["history"]);
    assert_eq!(text.code, Some(0), "{}", text.shown);
    assert_eq!(
        text.stdout,
        format!(
            "manager (alembic.ini):\n\
             \x20 {D} -> {E} (head) [x], add index on sessions.status\n\
             \x20 {B}, {C} -> {D} (mergepoint) [x], merge email and sessions\n\
             \x20 {A} -> {B}, add email\n\
             \x20 {A} -> {C} [x], add sessions\n\
             \x20 <base> -> {A}, create users\n"
        )
    );
    // Newest first means: the same order as Alembic's own `history`.
    let alembic_order: Vec<String> = ws
        .alembic_ok(Manager, &["history"])
        .lines()
        .map(|l| {
            let to = l.split_once(" -> ").expect("arrow").1;
            to.split([' ', ',']).next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(alembic_order, [E, D, B, C, A]);

    let doc = db_migrate(&ws, &["history", "--format", "json"]).json();
    let path = |i: usize| file_of(&ws, Manager, &m[i]);
    assert_eq!(
        doc,
        json!({"components": [{
            "component": "manager",
            "config": "alembic.ini",
            "engine": "native",
            "heads": [E],
            "revisions": [
                // Alembic reports a branch label on every revision of the branch (as `(x)`).
                {"id": E, "parents": [D], "depends_on": [], "branch_labels": ["x"],
                 "path": path(4), "message": "add index on sessions.status"},
                {"id": D, "parents": [B, C], "depends_on": [], "branch_labels": ["x"],
                 "path": path(3), "message": "merge email and sessions"},
                {"id": B, "parents": [A], "depends_on": [], "branch_labels": [],
                 "path": path(1), "message": "add email"},
                {"id": C, "parents": [A], "depends_on": [], "branch_labels": ["x"],
                 "path": path(2), "message": "add sessions"},
                {"id": A, "parents": [], "depends_on": [], "branch_labels": [],
                 "path": path(0), "message": "create users"},
            ],
        }]})
    );
}

#[test]
fn history_and_heads_need_no_database() {
    // Situation: PostgreSQL is unreachable (nothing listens on the configured port).
    let ws = Workspace::new().component(Manager, &manager_history());
    ws.set_db_port(Manager, dead_port());

    let current = db_migrate(&ws, &["current"]);
    assert_eq!(
        current.code,
        Some(1),
        "control: the database is unreachable\n{}",
        current.shown
    );
    assert!(
        current.stderr.contains("connection refused"),
        "{}",
        current.shown
    );

    let history = db_migrate(&ws, &["history"]);
    assert_eq!(history.code, Some(0), "{}", history.shown);
    assert_eq!(history.stdout.lines().count(), 6, "{}", history.shown);
    assert_eq!(history.stderr, "", "{}", history.shown);

    let heads = db_migrate(&ws, &["heads", "--format", "json"]);
    assert_eq!(heads.code, Some(0), "{}", heads.shown);
    assert_eq!(
        strings(&component_json(&heads.json(), Manager)["heads"]),
        [E]
    );
}
