//! `roundtrip`: after authoring a migration, check that its downgrade undoes its upgrade, against
//! a real PostgreSQL, real Alembic and real pg_dump.

mod harness;

use harness::*;

/// Two revisions, the second creating a table with an index and an enum type (the classic thing
/// a hand-written downgrade forgets), with the downgrade given.
fn chain_with_downgrade(prefix: &str, downgrade: &str) -> Vec<Rev> {
    let mut chain = linear_chain(prefix, 2);
    let head = chain.pop().unwrap();
    let table = head.table();
    let first_table = chain[0].table();
    let head = head
        .upgrade_body(&format!(
            "op.create_table(\"{table}\", sa.Column(\"id\", sa.Integer(), primary_key=True), \
             sa.Column(\"mood\", sa.Enum(\"happy\", \"sad\", name=\"{table}_mood\")))\n\
             op.create_index(\"ix_{table}_mood\", \"{table}\", [\"mood\"])\n\
             op.add_column(\"{first_table}\", sa.Column(\"note\", sa.Text()))"
        ))
        .downgrade_body(
            &downgrade
                .replace("{table}", &table)
                .replace("{first}", &first_table),
        );
    chain.push(head);
    chain
}

const GOOD_DOWNGRADE: &str = "op.drop_column(\"{first}\", \"note\")\n\
     op.drop_index(\"ix_{table}_mood\", table_name=\"{table}\")\n\
     op.drop_table(\"{table}\")\n\
     op.execute(\"DROP TYPE {table}_mood\")";

#[test]
fn a_downgrade_that_undoes_its_upgrade_passes() {
    let chain = chain_with_downgrade("rg", GOOD_DOWNGRADE);
    let ws = Workspace::new().component(Component::Manager, &chain);
    let head = chain[1].id();

    // From a fresh database: upgrade to the head first, then the round trip.
    let r = db_migrate(&ws, &["roundtrip", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!("roundtrip of {head}")),
        "{}",
        r.shown
    );
    assert!(r.stdout.contains("first    upgrade to"), "{}", r.shown);
    assert!(
        r.stdout
            .contains(&format!("downgrade {head} -> {}", chain[0].id())),
        "{}",
        r.shown
    );
    assert!(
        r.stdout.contains(&format!(
            "ok       downgrade and upgrade again leave the schema of {head} unchanged"
        )),
        "{}",
        r.shown
    );
    assert_eq!(ws.db_revisions(Component::Manager), vec![head.to_string()]);
    assert!(ws.has_table(Component::Manager, &chain[1].table()));

    // Again, already at the head, in JSON: the steps Alembic ran and the verdict.
    let r = db_migrate(&ws, &["roundtrip", "--yes", "--format", "json", head]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let c = component_json(&doc, Component::Manager);
    assert_eq!(c["roundtrip"]["revision"], head);
    assert_eq!(c["roundtrip"]["identical"], true);
    assert!(
        c["roundtrip"]["schema_lines"].as_u64().unwrap() > 5,
        "{c:#}"
    );
    let directions: Vec<&str> = c["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, ["downgrade", "upgrade"], "{c:#}");
    assert_eq!(c["state"], "up-to-date");
}

#[test]
fn a_downgrade_that_drops_too_much_fails_with_the_schema_diff() {
    // The downgrade also drops a column the first revision created: re-upgrading works, but the
    // schema is not what it was.
    let downgrade = format!("{GOOD_DOWNGRADE}\nop.drop_column(\"{{first}}\", \"id\")");
    let chain = chain_with_downgrade("rd", &downgrade);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");

    let r = db_migrate(&ws, &["roundtrip", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let first = chain[0].table();
    assert!(
        r.stdout.contains(&format!("CREATE TABLE public.{first} (")),
        "the diff shows the table that changed:\n{}",
        r.shown
    );
    assert!(r.stdout.contains("-    id integer NOT NULL"), "{}", r.shown);
    assert!(
        r.stderr
            .contains("the schema after downgrade and upgrade again differs"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains("fix: make downgrade() reverse"),
        "{}",
        r.shown
    );
    // Consistent: at the head, as the last (successful) upgrade left it.
    assert!(
        r.stderr
            .contains(&format!("database: at {}", chain[1].id())),
        "{}",
        r.shown
    );
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[1].id().to_string()]
    );

    // The same in JSON, on a second database (this one has lost the column for good).
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");
    let r = db_migrate(&ws, &["roundtrip", "--yes", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let c = component_json(&doc, Component::Manager);
    assert_eq!(c["roundtrip"]["identical"], false);
    assert!(
        c["roundtrip"]["diff"]
            .as_str()
            .unwrap()
            .contains("-    id integer"),
        "{c:#}"
    );
    assert_eq!(doc["error"]["kind"], "roundtrip-mismatch");
}

#[test]
fn a_downgrade_that_leaves_something_behind_fails_at_the_second_upgrade() {
    // The enum type outlives drop_table, so the re-upgrade's CREATE TYPE fails.
    let forgetful = "op.drop_column(\"{first}\", \"note\")\n\
         op.drop_index(\"ix_{table}_mood\", table_name=\"{table}\")\n\
         op.drop_table(\"{table}\")";
    let chain = chain_with_downgrade("rl", forgetful);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");

    let r = db_migrate(&ws, &["roundtrip", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains("already exists"), "{}", r.shown);
    assert!(
        r.stderr.contains("cause: the downgrade of") && r.stderr.contains("left behind something"),
        "{}",
        r.shown
    );
    assert!(!r.shown.contains("Traceback"), "{}", r.shown);
    // The failed upgrade rolled back: the database is at the parent, and says so.
    let parent = chain[0].id().to_string();
    assert!(
        r.stderr.contains(&format!("database: still at {parent}")),
        "{}",
        r.shown
    );
    assert_eq!(ws.db_revisions(Component::Manager), vec![parent]);
    assert!(!ws.has_table(Component::Manager, &chain[1].table()));
}

#[test]
fn roundtrip_refuses_what_it_cannot_do_safely_and_changes_nothing() {
    let chain = chain_with_downgrade("rr", GOOD_DOWNGRADE);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");
    let at_head = vec![chain[1].id().to_string()];

    // No TTY and no --yes: it includes a downgrade, so it asks for --yes.
    let r = db_migrate(&ws, &["roundtrip"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(r.stderr.contains("needs confirmation"), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "db-migrate roundtrip --component manager {} --yes",
            chain[1].id()
        )),
        "{}",
        r.shown
    );

    // The first revision, with the second applied on top: one step down would revert both.
    let r = db_migrate(&ws, &["roundtrip", "--yes", chain[0].id()]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(r.stderr.contains("would also revert"), "{}", r.shown);
    assert!(r.stderr.contains(chain[1].id()), "{}", r.shown);

    // --dry-run shows the plan and what the downgrade destroys.
    let r = db_migrate(&ws, &["roundtrip", "--dry-run"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(r.stdout.contains("drops table"), "{}", r.shown);
    assert!(
        r.stdout.contains("dry run: nothing was changed"),
        "{}",
        r.shown
    );

    // No pg_dump: said before anything runs.
    let r = run(ws
        .cmd()
        .env("DB_MIGRATE_PG_DUMP", "/nonexistent/pg_dump")
        .args(["roundtrip", "--yes"]));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains("roundtrip needs pg_dump"), "{}", r.shown);
    assert!(
        r.stderr.contains("apt-get install postgresql-client"),
        "{}",
        r.shown
    );

    let r = db_migrate(&ws, &["roundtrip", "--all", "--yes"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(
        r.stderr.contains("roundtrip --all is not supported"),
        "{}",
        r.shown
    );

    assert_eq!(ws.db_revisions(Component::Manager), at_head);
    assert!(ws.has_table(Component::Manager, &chain[1].table()));
}

#[test]
fn roundtrip_of_a_diverged_tree_or_a_merge_needs_one_plain_revision() {
    let base = rev("aa0000000001", None, "base");
    let left = rev("bb0000000002", Some("aa0000000001"), "left");
    let right = rev("cc0000000003", Some("aa0000000001"), "right");
    let ws = Workspace::new().component(Component::Manager, &[base, left, right]);

    let r = db_migrate(&ws, &["roundtrip", "--yes"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(r.stderr.contains("several heads"), "{}", r.shown);
    assert!(
        r.stderr.contains("bb0000000002") && r.stderr.contains("cc0000000003"),
        "{}",
        r.shown
    );
    assert_eq!(ws.db_revisions(Component::Manager), Vec::<String>::new());

    ws.add_revisions(
        Component::Manager,
        &[merge(
            "dd0000000004",
            &["bb0000000002", "cc0000000003"],
            "merge",
        )],
    );
    let r = db_migrate(&ws, &["roundtrip", "--yes"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(r.stderr.contains("is a merge revision"), "{}", r.shown);

    // With one branch applied, its head round-trips and the other branch stays unapplied.
    ws.remove_revision(Component::Manager, "dd0000000004");
    ws.db_at(Component::Manager, "cc0000000003");
    let r = db_migrate(&ws, &["roundtrip", "--yes", "cc0000000003"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec!["cc0000000003".to_string()]
    );

    // With both branches applied, one step down from either reverts both: refused.
    ws.db_at(Component::Manager, "heads");
    let r = db_migrate(&ws, &["roundtrip", "--yes", "bb0000000002"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(
        r.stderr.contains("would also revert cc0000000003"),
        "{}",
        r.shown
    );
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec!["bb0000000002".to_string(), "cc0000000003".to_string()]
    );
}
