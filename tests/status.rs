//! `db-migrate status`: the five states for every component, `pending` across merges, the JSON
//! schema, `--all`, `--check`, failures, and how the workspace and config are found.
//!
//! Everything runs the real binary against the real Alembic and a throwaway PostgreSQL cluster.

mod harness;

use std::collections::BTreeSet;

use harness::*;
use serde_json::{json, Value};
use Component::{Accountmgr, Appproxy, Manager};

// ---------------------------------------------------------------------------------------------
// Helpers (local to this file).

/// The status block of `component` in text output: its header line up to the next blank line.
fn block(stdout: &str, component: Component) -> String {
    let header = format!("{} ({}): ", component.name(), component.ini());
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(&header))
        .unwrap_or_else(|| panic!("no status block for {}:\n{stdout}", component.name()));
    let mut out = String::new();
    for l in &lines[start..] {
        if l.is_empty() {
            break;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn components_listed(doc: &Value) -> Vec<String> {
    doc["components"]
        .as_array()
        .expect("components array")
        .iter()
        .map(|c| c["component"].as_str().expect("component name").to_owned())
        .collect()
}

/// The text lines `pending  N` plus one line per pending revision, as db-migrate prints them.
fn pending_lines(pending: &[Rev]) -> String {
    let mut out = format!("  pending  {}\n", pending.len());
    for r in pending {
        out.push_str(&format!("           {}  {}\n", r.id(), r.message()));
    }
    out
}

/// Each component gets its own linear history of four revisions, with different id styles
/// (non-hex base36 ids for manager and accountmgr, prefixed ids for appproxy).
fn chain_of(c: Component) -> Vec<Rev> {
    match c {
        Manager => base36_chain("manager", 4),
        Accountmgr => base36_chain("accountmgr", 4),
        Appproxy => linear_chain("ap", 4),
    }
}

fn three_components() -> Workspace {
    Workspace::new()
        .component(Manager, &chain_of(Manager))
        .component(Accountmgr, &chain_of(Accountmgr))
        .component(Appproxy, &chain_of(Appproxy))
}

// ---------------------------------------------------------------------------------------------
// The five states, for every component.

#[test]
fn fresh_databases_are_no_revision_for_every_component() {
    // Situation: three components, scripts present, databases just created (no alembic_version).
    let ws = three_components();

    let text = db_migrate(&ws, &["status", "--all"]);
    assert_eq!(
        text.code,
        Some(0),
        "no-revision is a determined state:\n{}",
        text.shown
    );
    let json_run = db_migrate(&ws, &["status", "--all", "--format", "json", "--check"]);
    assert_eq!(
        json_run.code,
        Some(3),
        "--check must fail for no-revision:\n{}",
        json_run.shown
    );
    let doc = json_run.json();
    assert_eq!(
        components_listed(&doc),
        ["manager", "accountmgr", "appproxy"]
    );

    for c in Component::ALL {
        let revs = chain_of(c);
        let name = c.name();
        let got = block(&text.stdout, c);
        let (body, next) = got.split_at(got.find("  next     ").expect("next line"));
        let expected = format!(
            "{name} ({ini}): no-revision\n  current  (none: no alembic_version row)\n  head     {head}\n{pending}",
            ini = c.ini(),
            head = revs[3].id(),
            pending = pending_lines(&revs),
        );
        assert_eq!(body, expected, "[{name}] text block:\n{}", text.stdout);
        assert!(
            next.starts_with(&format!("  next     db-migrate upgrade --component {name}")),
            "[{name}] next step: {next}"
        );
        // Only the manager has `./backend.ai mgr schema oneshot` as the other way.
        assert_eq!(
            next.contains("./backend.ai mgr schema oneshot"),
            c == Manager,
            "[{name}] oneshot hint: {next}"
        );

        let j = component_json(&doc, c);
        assert_eq!(j["state"], "no-revision", "[{name}] {j:#}");
        assert_eq!(j["config"], c.ini(), "[{name}] {j:#}");
        assert_eq!(strings(&j["current"]), Vec::<String>::new(), "[{name}]");
        assert_eq!(strings(&j["heads"]), [revs[3].id()], "[{name}]");
        assert_eq!(strings(&j["pending"]), ids(&revs), "[{name}] apply order");
        assert!(
            j["next"]
                .as_str()
                .unwrap()
                .starts_with(&format!("db-migrate upgrade --component {name}")),
            "[{name}] {j:#}"
        );
    }
}

#[test]
fn behind_lists_pending_in_apply_order_for_every_component() {
    // Situation: every database is somewhere in the middle of its history (a different place for
    // each component, so a mix-up between components shows).
    let ws = three_components();
    let at = |c: Component| match c {
        Manager => 0,
        Accountmgr => 1,
        Appproxy => 2,
    };
    for c in Component::ALL {
        ws.db_at(c, chain_of(c)[at(c)].id());
    }

    let text = db_migrate(&ws, &["status", "--all"]);
    assert_eq!(
        text.code,
        Some(0),
        "behind is not an error without --check:\n{}",
        text.shown
    );
    let json_run = db_migrate(&ws, &["status", "--all", "--format", "json", "--check"]);
    assert_eq!(
        json_run.code,
        Some(3),
        "--check must fail when behind:\n{}",
        json_run.shown
    );
    let doc = json_run.json();

    for c in Component::ALL {
        let revs = chain_of(c);
        let name = c.name();
        let pending = &revs[at(c) + 1..];
        let expected = format!(
            "{name} ({ini}): behind\n  current  {current}\n  head     {head}\n{pending}  next     db-migrate upgrade --component {name}\n",
            ini = c.ini(),
            current = revs[at(c)].id(),
            head = revs[3].id(),
            pending = pending_lines(pending),
        );
        assert_eq!(block(&text.stdout, c), expected, "[{name}] text block");

        let j = component_json(&doc, c);
        assert_eq!(j["state"], "behind", "[{name}] {j:#}");
        assert_eq!(strings(&j["current"]), [revs[at(c)].id()], "[{name}]");
        assert_eq!(strings(&j["heads"]), [revs[3].id()], "[{name}]");
        assert_eq!(strings(&j["pending"]), ids(pending), "[{name}] apply order");
        let detailed: Vec<&str> = j["pending_revisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(detailed, ids(pending), "[{name}] pending_revisions");
        assert_eq!(
            j["next"],
            format!("db-migrate upgrade --component {name}"),
            "[{name}]"
        );
    }
}

#[test]
fn up_to_date_for_every_component() {
    // Situation: every database is at its single head.
    let ws = three_components();
    for c in Component::ALL {
        ws.db_at(c, "head");
    }

    let text = db_migrate(&ws, &["status", "--all", "--check"]);
    assert_eq!(
        text.code,
        Some(0),
        "--check passes when all are up-to-date:\n{}",
        text.shown
    );
    let json_run = db_migrate(&ws, &["status", "--all", "--format", "json"]);
    assert_eq!(json_run.code, Some(0), "{}", json_run.shown);
    let doc = json_run.json();

    for c in Component::ALL {
        let revs = chain_of(c);
        let name = c.name();
        let head = revs[3].id();
        let expected = format!(
            "{name} ({ini}): up-to-date\n  current  {head}\n  head     {head}\n  pending  0\n  next     nothing to do\n",
            ini = c.ini(),
        );
        assert_eq!(block(&text.stdout, c), expected, "[{name}] text block");

        let j = component_json(&doc, c);
        assert_eq!(j["state"], "up-to-date", "[{name}] {j:#}");
        assert_eq!(strings(&j["current"]), [head], "[{name}]");
        assert_eq!(strings(&j["heads"]), [head], "[{name}]");
        assert_eq!(strings(&j["pending"]), Vec::<String>::new(), "[{name}]");
        assert_eq!(j["pending_revisions"], json!([]), "[{name}]");
        assert_eq!(j["next"], "nothing to do", "[{name}]");
    }
}

#[test]
fn unknown_revision_for_every_component() {
    // Situation: each database holds a revision its scripts don't have (e.g. written by a newer
    // branch); a different bogus id per component.
    let ws = three_components();
    let bogus = |c: Component| match c {
        Manager => "ffffffffffff",
        Accountmgr => "deadbeef0042",
        Appproxy => "zz99zz99zz99",
    };
    for c in Component::ALL {
        // What Alembic would have left behind on the other branch: its version table (owned by
        // the component's role), one row.
        ws.sql(
            c,
            &format!(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY); \
                 ALTER TABLE alembic_version OWNER TO {}; \
                 INSERT INTO alembic_version VALUES ('{}')",
                c.db_user(),
                bogus(c)
            ),
        );
    }

    let text = db_migrate(&ws, &["status", "--all"]);
    assert_eq!(
        text.code,
        Some(0),
        "unknown-revision is a determined state:\n{}",
        text.shown
    );
    let json_run = db_migrate(&ws, &["status", "--all", "--format", "json", "--check"]);
    assert_eq!(
        json_run.code,
        Some(3),
        "unknown-revision is not up-to-date, so --check exits 3:\n{}",
        json_run.shown
    );
    let doc = json_run.json();

    for c in Component::ALL {
        let name = c.name();
        let expected = format!(
            "{name} ({ini}): unknown-revision\n  current  {bogus}\n  head     {head}\n  next     git pull (or check out the branch that has {bogus}), then db-migrate status --component {name}\n",
            ini = c.ini(),
            bogus = bogus(c),
            head = chain_of(c)[3].id(),
        );
        assert_eq!(block(&text.stdout, c), expected, "[{name}] text block");

        let j = component_json(&doc, c);
        assert_eq!(j["state"], "unknown-revision", "[{name}] {j:#}");
        assert_eq!(strings(&j["current"]), [bogus(c)], "[{name}]");
        assert_eq!(strings(&j["heads"]), [chain_of(c)[3].id()], "[{name}]");
        // Not known (the way back is sync's to find): absent, never an empty list.
        assert_eq!(j.get("pending"), None, "[{name}] {j:#}");
        assert_eq!(j.get("pending_revisions"), None, "[{name}] {j:#}");
        assert!(
            j["next"].as_str().unwrap().contains(bogus(c)),
            "[{name}] next names the bogus revision: {j:#}"
        );
    }
}

#[test]
fn diverged_names_both_heads_and_their_files_for_every_component() {
    // Situation: two migrations name the same down_revision (two branches each added one), in
    // every component. The databases are in different places: manager fresh, accountmgr at the
    // common root, appproxy already at one of the two heads (diverged still takes precedence).
    let revs_of = |c: Component| {
        let root = rev_id(&format!("{}-root", c.name()));
        let one = rev_id(&format!("{}-one", c.name()));
        let two = rev_id(&format!("{}-two", c.name()));
        vec![
            rev(&root, None, &format!("{} base", c.name())),
            rev(&one, Some(&root), &format!("{} feature one", c.name())),
            rev(&two, Some(&root), &format!("{} feature two", c.name())),
        ]
    };
    let ws = Workspace::new()
        .component(Manager, &revs_of(Manager))
        .component(Accountmgr, &revs_of(Accountmgr))
        .component(Appproxy, &revs_of(Appproxy));
    ws.db_at(Accountmgr, revs_of(Accountmgr)[0].id());
    ws.db_at(Appproxy, revs_of(Appproxy)[1].id());

    let text = db_migrate(&ws, &["status", "--all"]);
    assert_eq!(
        text.code,
        Some(0),
        "diverged is a determined state:\n{}",
        text.shown
    );
    let json_run = db_migrate(&ws, &["status", "--all", "--format", "json", "--check"]);
    assert_eq!(
        json_run.code,
        Some(3),
        "--check fails when diverged:\n{}",
        json_run.shown
    );
    let doc = json_run.json();

    for c in Component::ALL {
        let revs = revs_of(c);
        let name = c.name();
        let b = block(&text.stdout, c);
        assert!(
            b.starts_with(&format!("{name} ({}): diverged\n", c.ini())),
            "[{name}] {b}"
        );
        // Both heads, each with its message and its file.
        for head in &revs[1..] {
            let line = b
                .lines()
                .find(|l| l.trim_start().starts_with(head.id()))
                .unwrap_or_else(|| panic!("[{name}] head {} not listed:\n{b}", head.id()));
            assert!(
                line.contains(head.message()) && line.contains(&file_of(&ws, c, head)),
                "[{name}] head line should name the message and the file {}: {line}",
                file_of(&ws, c, head)
            );
        }
        let next = b
            .lines()
            .find(|l| l.starts_with("  next"))
            .expect("next line");
        // Released-ness cannot be told here (no git, no `# Part of:`): say how to tell it, and
        // what fix-heads then does in either case.
        assert!(
            next.contains(&format!(
                "db-migrate fix-heads --component {name} --upstream origin/main"
            )) && next.contains("# Part of: NEXT_RELEASE_VERSION")
                && next.contains("repointed")
                && next.contains("empty merge"),
            "[{name}] next step: {next}"
        );

        let j = component_json(&doc, c);
        assert_eq!(j["state"], "diverged", "[{name}] {j:#}");
        let heads: BTreeSet<String> = strings(&j["heads"]).into_iter().collect();
        let expected_heads: BTreeSet<String> = ids(&revs[1..]).into_iter().collect();
        assert_eq!(heads, expected_heads, "[{name}] both heads");
        // `pending` is what `upgrade heads` would run from where the database is.
        let pending: BTreeSet<String> = strings(&j["pending"]).into_iter().collect();
        let expected_pending: BTreeSet<String> = match c {
            Manager => ids(&revs),
            Accountmgr => ids(&revs[1..]),
            Appproxy => vec![revs[2].id().to_owned()],
        }
        .into_iter()
        .collect();
        assert_eq!(pending, expected_pending, "[{name}] pending");
        if c == Manager {
            assert_eq!(strings(&j["pending"])[0], revs[0].id(), "base first");
        }
    }
    assert_eq!(
        strings(&component_json(&doc, Appproxy)["current"]),
        [revs_of(Appproxy)[1].id()]
    );
}

// ---------------------------------------------------------------------------------------------
// `pending` across a branch that merges later.

#[test]
fn pending_includes_the_other_side_of_a_branch_that_merges_later() {
    // Situation: a → b and a → c1 → c2 are two branches that d merges, then e follows.
    // The database is at b. `history -r current:heads` would miss c1 and c2; `upgrade heads`
    // runs c1, c2, d, e — and that is what pending must say.
    let revs = [
        rev("a0000000000a", None, "create users"),
        rev("b0000000000b", Some("a0000000000a"), "add email"),
        rev("c0000000001c", Some("a0000000000a"), "add sessions"),
        rev("c0000000002c", Some("c0000000001c"), "add session index"),
        merge(
            "d0000000000d",
            &["b0000000000b", "c0000000002c"],
            "merge email and sessions",
        ),
        rev("e0000000000e", Some("d0000000000d"), "add audit log"),
    ];
    let ws = Workspace::new().component(Appproxy, &revs);
    ws.db_at(Appproxy, "b0000000000b");
    let expected = [
        "c0000000001c",
        "c0000000002c",
        "d0000000000d",
        "e0000000000e",
    ];

    let text = db_migrate(&ws, &["status", "--component", "appproxy"]);
    assert_eq!(text.code, Some(0), "{}", text.shown);
    let b = block(&text.stdout, Appproxy);
    assert!(b.contains(
        "  pending  4\n           c0000000001c  add sessions\n           c0000000002c  add session index\n           d0000000000d  merge email and sessions\n           e0000000000e  add audit log\n"
    ), "pending in apply order:\n{b}");

    let j = db_migrate(
        &ws,
        &["status", "--component", "appproxy", "--format", "json"],
    )
    .json();
    let pending = strings(&component_json(&j, Appproxy)["pending"]);
    assert_eq!(pending, expected);

    // Cross-check with the real thing: what `alembic upgrade heads` runs, in order, and the
    // tables it creates (each revision creates `t_<id>`).
    let tables = || -> BTreeSet<String> {
        revs.iter()
            .filter(|r| ws.has_table(Appproxy, &r.table()))
            .map(|r| r.id().to_owned())
            .collect()
    };
    let before = tables();
    let up = ws.alembic(Appproxy, &["upgrade", "heads"]);
    assert!(up.status.success(), "{}", output_text(&up));
    let ran: Vec<String> = stderr_of(&up)
        .lines()
        .filter_map(|l| l.split_once("Running upgrade "))
        .map(|(_, rest)| {
            let to = rest.split_once(" -> ").expect("arrow").1;
            to.split(',').next().unwrap().trim().to_owned()
        })
        .collect();
    assert_eq!(ran, pending, "db-migrate's pending == what Alembic ran");
    let created: BTreeSet<String> = tables().difference(&before).cloned().collect();
    assert_eq!(
        created,
        expected
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        "the tables upgrade heads created are exactly the pending revisions'"
    );
    let after = db_migrate(&ws, &["status", "--component", "appproxy", "--check"]);
    assert_eq!(
        after.code,
        Some(0),
        "up-to-date after upgrade heads:\n{}",
        after.shown
    );
}

#[test]
fn database_on_both_branches_is_behind_once_the_merge_arrives() {
    // Situation: the scripts had two heads and someone ran `upgrade heads`, so alembic_version
    // holds two rows. Then the merge revision is pulled.
    let revs = [
        rev("a0000000000a", None, "create routes"),
        rev("b0000000000b", Some("a0000000000a"), "add endpoints"),
        rev("c0000000000c", Some("a0000000000a"), "add circuits"),
    ];
    let ws = Workspace::new().component(Appproxy, &revs);
    ws.db_at(Appproxy, "heads");

    let before = db_migrate(
        &ws,
        &["status", "--component", "appproxy", "--format", "json"],
    );
    let j = component_json(&before.json(), Appproxy).clone();
    assert_eq!(j["state"], "diverged", "{j:#}");
    assert_eq!(
        j["pending"],
        json!([]),
        "both heads applied, nothing pending: {j:#}"
    );

    ws.add_revisions(
        Appproxy,
        &[merge(
            "d0000000000d",
            &["b0000000000b", "c0000000000c"],
            "merge endpoints and circuits",
        )],
    );
    let text = db_migrate(&ws, &["status", "--component", "appproxy"]);
    assert_eq!(text.code, Some(0), "{}", text.shown);
    let b = block(&text.stdout, Appproxy);
    let current = b
        .lines()
        .find_map(|l| l.strip_prefix("  current  "))
        .expect("current line");
    let current: BTreeSet<&str> = current.split(", ").collect();
    assert_eq!(
        current,
        BTreeSet::from(["b0000000000b", "c0000000000c"]),
        "{b}"
    );
    assert!(
        b.starts_with("appproxy (alembic-appproxy.ini): behind\n"),
        "{b}"
    );
    assert!(
        b.ends_with(
            "  head     d0000000000d\n  pending  1\n           d0000000000d  merge endpoints and circuits\n  next     db-migrate upgrade --component appproxy\n"
        ),
        "{b}"
    );
}

// ---------------------------------------------------------------------------------------------
// JSON schema.

#[test]
fn json_is_exactly_the_documented_schema() {
    // Situation: the manager one revision behind; the whole JSON document, value by value.
    let revs = [
        rev("1a2b3c4d5e6f", None, "create account"),
        rev("7h4m7ygnaao1", Some("1a2b3c4d5e6f"), "add email"),
    ];
    let ws = Workspace::new().component(Manager, &revs);
    ws.db_at(Manager, "1a2b3c4d5e6f");

    let r = db_migrate(&ws, &["status", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(r.stderr, "", "JSON mode keeps stderr quiet on success");
    assert_eq!(
        r.json(),
        json!({
            "components": [{
                "component": "manager",
                "config": "alembic.ini",
                "engine": "native",
                "state": "behind",
                "current": ["1a2b3c4d5e6f"],
                "heads": ["7h4m7ygnaao1"],
                "pending": ["7h4m7ygnaao1"],
                "pending_revisions": [{
                    "id": "7h4m7ygnaao1",
                    "parents": ["1a2b3c4d5e6f"],
                    "depends_on": [],
                    "branch_labels": [],
                    "path": file_of(&ws, Manager, &revs[1]),
                    "message": "add email",
                }],
                "next": "db-migrate upgrade --component manager",
            }]
        }),
        "no top-level \"error\" key when nothing failed"
    );
}

// ---------------------------------------------------------------------------------------------
// --all and --check.

#[test]
fn all_reports_only_components_whose_config_exists() {
    // Situation: a workspace that has only the app-proxy coordinator.
    let ws = Workspace::new().component(Appproxy, &chain_of(Appproxy));

    let text = db_migrate(&ws, &["status", "--all"]);
    assert_eq!(text.code, Some(0), "{}", text.shown);
    assert!(
        text.stdout
            .starts_with("appproxy (alembic-appproxy.ini): no-revision\n"),
        "{}",
        text.shown
    );
    for absent in [
        "manager",
        "accountmgr",
        "alembic.ini ",
        "alembic-accountmgr.ini",
    ] {
        assert!(
            !text.stdout.contains(absent),
            "{absent:?} reported:\n{}",
            text.shown
        );
    }
    assert_eq!(text.stderr, "", "missing configs are not errors with --all");

    let doc = db_migrate(&ws, &["status", "--all", "--format", "json"]).json();
    assert_eq!(components_listed(&doc), ["appproxy"]);
}

#[test]
fn check_exits_3_when_any_component_is_not_up_to_date() {
    // Situation: the manager is up to date, the account manager is behind.
    let ws = Workspace::new()
        .component(Manager, &chain_of(Manager))
        .component(Accountmgr, &chain_of(Accountmgr));
    ws.db_at(Manager, "head");
    ws.db_at(Accountmgr, chain_of(Accountmgr)[1].id());

    let all_check = db_migrate(&ws, &["status", "--all", "--check"]);
    assert_eq!(all_check.code, Some(3), "{}", all_check.shown);
    // --check changes the exit code only; both components are still reported.
    assert!(block(&all_check.stdout, Manager).contains("): up-to-date\n"));
    assert!(block(&all_check.stdout, Accountmgr).contains("): behind\n"));

    let manager = db_migrate(&ws, &["status", "--component", "manager", "--check"]);
    assert_eq!(manager.code, Some(0), "{}", manager.shown);
    let acct = db_migrate(&ws, &["status", "--component", "accountmgr", "--check"]);
    assert_eq!(acct.code, Some(3), "{}", acct.shown);
}

// ---------------------------------------------------------------------------------------------
// Failures.

#[test]
fn a_failing_component_exits_1_and_the_others_are_still_reported() {
    // Situation: the account manager's config points at a port where no PostgreSQL listens;
    // the manager is up to date and the app proxy behind.
    let ws = three_components();
    ws.db_at(Manager, "head");
    ws.db_at(Appproxy, chain_of(Appproxy)[2].id());
    ws.set_db_port(Accountmgr, dead_port());

    let text = db_migrate(&ws, &["status", "--all"]);
    assert_eq!(text.code, Some(1), "{}", text.shown);
    assert!(
        block(&text.stdout, Manager).contains("): up-to-date\n"),
        "{}",
        text.shown
    );
    assert!(
        block(&text.stdout, Appproxy).contains("): behind\n"),
        "{}",
        text.shown
    );
    assert!(!text.stdout.contains("accountmgr ("), "{}", text.shown);
    assert!(text.stderr.starts_with("error: "), "{}", text.shown);
    assert!(
        text.stderr.contains("connection refused")
            && text.stderr.contains("alembic-accountmgr.ini"),
        "the error says what failed and for which config:\n{}",
        text.shown
    );
    assert!(text.stderr.contains("\nfix: "), "{}", text.shown);

    // An operation failure wins over --check's 3.
    let json_run = db_migrate(&ws, &["status", "--all", "--format", "json", "--check"]);
    assert_eq!(json_run.code, Some(1), "{}", json_run.shown);
    let doc = json_run.json();
    assert_eq!(
        components_listed(&doc),
        ["manager", "accountmgr", "appproxy"]
    );
    assert_eq!(component_json(&doc, Manager)["state"], "up-to-date");
    assert_eq!(component_json(&doc, Appproxy)["state"], "behind");
    let failed = component_json(&doc, Accountmgr);
    assert!(
        failed.get("state").is_none(),
        "no state for a failed component: {failed:#}"
    );
    assert_eq!(failed["error"]["kind"], "connection-refused", "{failed:#}");
    assert_eq!(
        doc["error"]["kind"], "connection-refused",
        "top-level error: {doc:#}"
    );
    for key in ["message", "cause", "fix"] {
        assert!(
            doc["error"][key].as_str().is_some_and(|s| !s.is_empty()),
            "error.{key}: {doc:#}"
        );
    }

    let single = db_migrate(&ws, &["status", "--component", "accountmgr"]);
    assert_eq!(single.code, Some(1), "{}", single.shown);
    assert_eq!(single.stdout, "", "{}", single.shown);
}

// ---------------------------------------------------------------------------------------------
// Where db-migrate runs: -C, discovery, --config.

#[test]
fn dash_c_selects_the_workspace_from_another_directory() {
    // Situation: the user is somewhere else entirely and names the checkout with -C.
    let ws = Workspace::new().component(Manager, &chain_of(Manager));
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let root = ws.root().to_str().unwrap();

    let absolute = run(ws
        .cmd()
        .current_dir(elsewhere.path())
        .args(["-C", root, "status"]));
    assert_eq!(absolute.code, Some(0), "{}", absolute.shown);
    assert!(
        absolute
            .stdout
            .starts_with("manager (alembic.ini): no-revision\n"),
        "{}",
        absolute.shown
    );

    // A relative -C is taken from the current directory.
    let parent = ws.root().parent().expect("parent");
    let name = ws.root().file_name().unwrap().to_str().unwrap();
    let relative = run(ws.cmd().current_dir(parent).args(["status", "-C", name]));
    assert_eq!(relative.code, Some(0), "{}", relative.shown);
    // The suggested next command keeps -C, as seen from where the user is, so it works pasted.
    assert!(
        absolute
            .stdout
            .contains(&format!("db-migrate upgrade --component manager -C {root}")),
        "{}",
        absolute.shown
    );
    assert_eq!(
        relative.stdout,
        absolute
            .stdout
            .replace(&format!("-C {root}"), &format!("-C {name}"))
    );
    let pasted =
        run(ws
            .cmd()
            .current_dir(parent)
            .args(["status", "--component", "manager", "-C", name]));
    assert_eq!(pasted.code, Some(0), "{}", pasted.shown);
}

#[test]
fn discovery_from_a_subdirectory_finds_the_root() {
    // Situation: the user is in src/ (or deeper) of the checkout.
    let ws = Workspace::new().component(Accountmgr, &chain_of(Accountmgr));
    ws.db_at(Accountmgr, chain_of(Accountmgr)[2].id());

    for sub in ["src", Accountmgr.package_dir()] {
        let r = run(ws.cmd().current_dir(ws.root().join(sub)).args([
            "status",
            "--component",
            "accountmgr",
        ]));
        assert_eq!(r.code, Some(0), "from {sub}:\n{}", r.shown);
        assert!(
            r.stdout
                .starts_with("accountmgr (alembic-accountmgr.ini): behind\n"),
            "from {sub}:\n{}",
            r.shown
        );
        assert!(
            r.stdout.contains(chain_of(Accountmgr)[3].id()),
            "{}",
            r.shown
        );
    }
}

#[test]
fn config_flag_takes_any_alembic_ini() {
    // Situation: besides the root inis, a custom ini (a copy of the manager's) lives in conf/.
    let ws = Workspace::new()
        .component(Manager, &chain_of(Manager))
        .component(Appproxy, &chain_of(Appproxy));
    ws.db_at(Manager, chain_of(Manager)[1].id());
    ws.write_file("conf/custom.ini", &ws.read_file("alembic.ini"));

    // A root component ini is recognised as that component.
    let ap = db_migrate(
        &ws,
        &[
            "status",
            "--config",
            "alembic-appproxy.ini",
            "--format",
            "json",
        ],
    );
    assert_eq!(ap.code, Some(0), "{}", ap.shown);
    let doc = ap.json();
    assert_eq!(components_listed(&doc), ["appproxy"]);
    assert_eq!(component_json(&doc, Appproxy)["state"], "no-revision");

    // Any other ini is labelled by its file name and selected again with --config.
    let custom = db_migrate(&ws, &["status", "--config", "conf/custom.ini"]);
    assert_eq!(custom.code, Some(0), "{}", custom.shown);
    assert!(
        custom
            .stdout
            .starts_with("custom.ini (conf/custom.ini): behind\n"),
        "{}",
        custom.shown
    );
    assert!(
        custom
            .stdout
            .contains("  next     db-migrate upgrade --config conf/custom.ini\n"),
        "{}",
        custom.shown
    );

    // From outside any workspace, an absolute --config path still works.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let ini = ws.ini_path(Manager);
    let outside = run(ws.cmd().current_dir(elsewhere.path()).args([
        "status",
        "--config",
        ini.to_str().unwrap(),
    ]));
    assert_no_secret(&outside.shown, &ws);
    assert_eq!(outside.code, Some(0), "{}", outside.shown);
    assert!(outside.stdout.contains("): behind\n"), "{}", outside.shown);
}
