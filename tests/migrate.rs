//! `upgrade`, `downgrade` and `migrate` against the real Alembic 1.13.3 and a real PostgreSQL.
//!
//! Every scenario builds a Backend.AI-shaped workspace, puts the database somewhere with the real
//! Alembic, runs the real `db-migrate` binary and then looks at the database itself
//! (`alembic_version` rows and the `t_<id>` tables every default revision creates), at the exit code
//! and at what was printed. Where the landing point is subtle (merges, branches), the expected
//! revisions are also checked against what `alembic` itself does from the same starting point.
//!
//! Besides the landing point, every run is held to its own plan: the revisions listed under
//! `plan     apply N revisions` / `revert N revisions` must be exactly the revisions whose
//! `upgrade`/`downgrade` step lines follow, in that order.

mod harness;

use std::collections::BTreeSet;

use harness::*;
use serde_json::Value;
use Component::{Accountmgr, Appproxy, Manager};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// One finished `db-migrate` run.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `db-migrate <args…>` in the workspace root (stdin is not a terminal).
fn db_migrate(ws: &Workspace, args: &[&str]) -> Run {
    let out = ws
        .cmd()
        .env_remove("DB_MIGRATE_LOG")
        .args(args)
        .output()
        .expect("run db-migrate");
    Run {
        code: out.status.code(),
        stdout: stdout_of(&out),
        stderr: stderr_of(&out),
    }
}

impl Run {
    /// Both streams, labelled, for assertion messages.
    fn dump(&self) -> String {
        format!(
            "exit: {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn assert_exit(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}\n{}",
            self.dump()
        );
        self
    }
}

/// The step lines db-migrate printed (`upgrade   A -> B  message`), without the indent.
fn step_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("  upgrade ") || l.starts_with("  downgrade "))
        .map(|l| l.trim_start().to_string())
        .collect()
}

/// `upgrade   FROM -> TO  MESSAGE`, as db-migrate prints a step (direction padded to 9).
fn up(from: &str, to: &str, message: &str) -> String {
    format!("upgrade   {from} -> {to}  {message}")
}

/// `downgrade FROM -> TO  MESSAGE`.
fn down(from: &str, to: &str, message: &str) -> String {
    format!("downgrade {from} -> {to}  {message}")
}

/// The revision each step line applied (upgrade: its target) or reverted (downgrade: its source).
fn touched(text: &str) -> Vec<String> {
    step_lines(text)
        .iter()
        .map(|line| {
            let (direction, rest) = line.split_once(' ').expect("step line has a direction");
            let (from, after) = rest
                .trim_start()
                .split_once(" -> ")
                .unwrap_or_else(|| panic!("step line without ` -> `: {line}"));
            let to = after.split("  ").next().unwrap_or_default();
            match direction {
                "upgrade" => to.to_string(),
                "downgrade" => from.to_string(),
                other => panic!("unexpected step direction {other:?} in {line:?}"),
            }
        })
        .collect()
}

/// The revision ids listed under `  plan     apply|revert N revisions`, in order; `None` when the
/// plan says Alembic resolves the target.
fn plan_ids(text: &str) -> Option<Vec<String>> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("  plan     "));
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("no `plan` line in:\n{text}"));
    if header.contains("(Alembic resolves this target)") {
        return None;
    }
    let count: usize = header
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable plan line {header:?}"));
    let listed: Vec<String> = lines
        .take_while(|l| l.starts_with("           ") && !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(
        listed.len(),
        count,
        "plan line {header:?} disagrees with its own list:\n{text}"
    );
    Some(listed)
}

/// The plan printed before the run names exactly the revisions the run then applied/reverted.
fn assert_plan_was_followed(text: &str) {
    assert_eq!(
        plan_ids(text),
        Some(touched(text)),
        "the printed plan (left) is not what Alembic then ran (right):\n{text}"
    );
}

/// Where `line` first occurs in `text` as a whole line.
fn line_pos(text: &str, line: &str) -> usize {
    let mut offset = 0;
    for l in text.split_inclusive('\n') {
        if l.trim_end_matches('\n') == line {
            return offset;
        }
        offset += l.len();
    }
    panic!("line {line:?} not found in:\n{text}");
}

/// Assert that the given lines occur in this order (each as a whole line).
fn assert_in_order(text: &str, lines: &[&str]) {
    let positions: Vec<usize> = lines
        .iter()
        .map(|l| {
            // Step lines are stored without their indent; find them with it.
            if l.starts_with("upgrade ") || l.starts_with("downgrade ") {
                line_pos(text, &format!("  {l}"))
            } else {
                line_pos(text, l)
            }
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "expected these lines in this order: {lines:#?}\nin:\n{text}"
    );
}

/// The database's `alembic_version` rows are exactly `at` (any order), and of `all` revisions
/// precisely those in `applied` have their `t_<id>` table.
fn assert_db(ws: &Workspace, c: Component, at: &[&str], applied: &[&str], all: &[String]) {
    let mut want: Vec<String> = at.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(
        ws.db_revisions(c),
        want,
        "{} alembic_version rows",
        c.name()
    );
    for id in all {
        let should = applied.contains(&id.as_str());
        assert_eq!(
            ws.has_table(c, &format!("t_{id}")),
            should,
            "{}: table t_{id} should {}exist (database at {:?})",
            c.name(),
            if should { "" } else { "not " },
            want
        );
    }
}

/// A linear chain whose first `k` revisions are applied: at `ids[k-1]` (or no revision for 0).
fn assert_chain_at(ws: &Workspace, c: Component, ids: &[String], k: usize) {
    let at: Vec<&str> = if k == 0 {
        vec![]
    } else {
        vec![ids[k - 1].as_str()]
    };
    let applied: Vec<&str> = ids[..k].iter().map(String::as_str).collect();
    assert_db(ws, c, &at, &applied, ids);
}

/// Put the database exactly at `revisions` with the real Alembic (from base).
fn put_db_at(ws: &Workspace, c: Component, revisions: &[&str]) {
    if !ws.db_revisions(c).is_empty() {
        ws.alembic_ok(c, &["downgrade", "base"]);
    }
    for r in revisions {
        ws.alembic_ok(c, &["upgrade", r]);
    }
}

/// Where the real Alembic puts the database for `alembic <verb> <target>` starting at `start`.
/// Leaves the database there.
fn alembic_lands(
    ws: &Workspace,
    c: Component,
    start: &[&str],
    verb: &str,
    target: &str,
) -> Vec<String> {
    put_db_at(ws, c, start);
    ws.alembic_ok(c, &[verb, target]);
    ws.db_revisions(c)
}

/// The shortest prefix (at least 4 characters, like people type) of `id` shared by no other id.
fn unique_prefix(id: &str, all: &[String]) -> String {
    (4..id.len())
        .map(|n| &id[..n])
        .find(|p| all.iter().filter(|o| o.starts_with(p)).count() == 1)
        .expect("ids differ somewhere")
        .to_string()
}

// Diamond: a -> b, a -> c, d merges b and c, e follows d.
const A: &str = "aaaa00000001";
const B: &str = "bbbb00000002";
const C: &str = "cccc00000003";
const D: &str = "dddd00000004";
const E: &str = "eeee00000005";

fn diamond() -> Vec<Rev> {
    vec![
        rev(A, None, "root a"),
        rev(B, Some(A), "side b"),
        rev(C, Some(A), "side c"),
        merge(D, &[B, C], "merge d"),
        rev(E, Some(D), "after e"),
    ]
}

fn diamond_ids() -> Vec<String> {
    [A, B, C, D, E].iter().map(|s| s.to_string()).collect()
}

// Two heads: a -> m1 -> m2 (main line) and a -> f1 -> f2 (feature branch labelled `lbl`).
const ROOT: &str = "aaaa00000001";
const M1: &str = "bbbb00000002";
const M2: &str = "bbbb00000003";
const F1: &str = "cccc00000002";
const F2: &str = "cccc00000003";

fn two_heads() -> Vec<Rev> {
    vec![
        rev(ROOT, None, "root"),
        rev(M1, Some(ROOT), "main 1"),
        rev(M2, Some(M1), "main 2"),
        rev(F1, Some(ROOT), "feature 1").branch_labels(&["lbl"]),
        rev(F2, Some(F1), "feature 2"),
    ]
}

fn two_heads_ids() -> Vec<String> {
    [ROOT, M1, M2, F1, F2]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// upgrade
// ---------------------------------------------------------------------------------------------

/// A fresh manager database and three migrations: `db-migrate upgrade` (target defaults to head)
/// prints the plan, then one line per step as Alembic runs it, then the final state.
#[test]
fn upgrade_fresh_database_to_head_streams_every_step_between_plan_and_final_state() {
    let chain = linear_chain("m", 3);
    let m = ids(&chain);
    let ws = Workspace::new().component(Manager, &chain);

    let run = db_migrate(&ws, &["upgrade"]);
    run.assert_exit(0);

    assert_chain_at(&ws, Manager, &m, 3);
    let out = &run.stdout;
    assert_eq!(
        step_lines(out),
        [
            up("(base)", &m[0], "m step 1"),
            up(&m[0], &m[1], "m step 2"),
            up(&m[1], &m[2], "m step 3"),
        ],
        "{}",
        run.dump()
    );
    assert_plan_was_followed(out);
    let step1 = up("(base)", &m[0], "m step 1");
    let step3 = up(&m[1], &m[2], "m step 3");
    assert_in_order(
        out,
        &[
            "manager (alembic.ini): upgrade to head",
            "  from     base (no revision)",
            "  plan     apply 3 revisions",
            &format!("           {}  m step 1", m[0]),
            &format!("           {}  m step 3", m[2]),
            &step1,
            &step3,
            "manager (alembic.ini): up-to-date",
            &format!("  current  {}", m[2]),
            "  next     nothing to do",
            "  restart  the manager (`./backend.ai mgr start-server`) to pick up the new schema",
        ],
    );
    assert!(run.stderr.is_empty(), "{}", run.dump());
}

/// The database is already at the head: `upgrade` exits 0, says there is nothing to run, and does
/// not even start `alembic upgrade` (visible with -v, which relays every Alembic call it makes).
#[test]
fn upgrade_at_head_runs_nothing_and_leaves_the_database_alone() {
    let chain = base36_chain("athead", 2);
    let m = ids(&chain);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, "head");

    let run = db_migrate(&ws, &["-v", "upgrade"]);
    run.assert_exit(0);

    assert_chain_at(&ws, Manager, &m, 2);
    assert!(
        run.stdout.contains("  already there: nothing to run\n"),
        "{}",
        run.dump()
    );
    assert_in_order(
        &run.stdout,
        &[
            "manager (alembic.ini): upgrade to head",
            &format!("  from     {}", m[1]),
            "  plan     apply 0 revisions",
            "  already there: nothing to run",
            "manager (alembic.ini): up-to-date",
        ],
    );
    assert!(step_lines(&run.stdout).is_empty(), "{}", run.dump());
    assert!(!run.stdout.contains("restart"), "{}", run.dump());
    // -v relays every Alembic call db-migrate makes: it looked (natively), but never ran an upgrade.
    assert!(!run.stderr.contains("[manager upgrade]"), "{}", run.dump());
    assert!(!run.stderr.contains("Running upgrade"), "{}", run.dump());
}

/// Every target form on a linear chain whose ids are not hex (`7h4m7ygnaao1`-style), upgrade and
/// downgrade alternating on one database: relative steps, REV±N, full ids, unique prefixes, head
/// and base (`heads` and `BRANCH@…` need a branched graph: see the two-heads scenarios). After
/// each run the database is exactly where Alembic's grammar puts it, and the printed plan is what
/// ran.
#[test]
fn every_target_form_on_a_non_hex_linear_chain_lands_where_alembic_puts_it() {
    let chain = base36_chain("forms", 5);
    let r = ids(&chain);
    assert!(
        r.iter().all(|id| id.bytes().any(|b| b > b'f')),
        "ids should not be hex: {r:?}"
    );
    let ws = Workspace::new().component(Manager, &chain);
    let prefix = |i: usize| unique_prefix(&r[i], &r);

    // (arguments, revisions applied afterwards)
    let cases: Vec<(Vec<String>, usize)> = vec![
        (vec!["upgrade".into(), "+2".into()], 2),
        (vec!["upgrade".into(), format!("{}+1", r[1])], 3), // REV+N
        (vec!["upgrade".into(), prefix(3)], 4),             // unique prefix
        (vec!["downgrade".into(), "-3".into(), "--yes".into()], 1),
        (vec!["upgrade".into(), format!("{}-1", r[4])], 4), // REV-N
        (vec!["upgrade".into(), r[4].clone()], 5),          // full id
        (
            vec!["downgrade".into(), format!("{}-2", r[4]), "--yes".into()], // REV-N
            3,
        ),
        (vec!["downgrade".into(), prefix(1), "--yes".into()], 2), // unique prefix
        (vec!["upgrade".into(), "head".into()], 5),
        (
            vec!["downgrade".into(), format!("{}+2", r[0]), "--yes".into()], // REV+N
            3,
        ),
        (vec!["downgrade".into(), r[0].clone(), "--yes".into()], 1), // full id
        (vec!["downgrade".into(), "base".into(), "--yes".into()], 0),
    ];
    for (args, k) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = db_migrate(&ws, &args);
        assert_eq!(run.code, Some(0), "db-migrate {args:?}\n{}", run.dump());
        assert_chain_at(&ws, Manager, &r, k);
        assert!(
            run.stdout.contains(&format!(
                "manager (alembic.ini): {} to {}\n",
                args[0], args[1]
            )),
            "db-migrate {args:?}\n{}",
            run.dump()
        );
        assert_plan_was_followed(&run.stdout);
        let state = match k {
            0 => "no-revision",
            5 => "up-to-date",
            _ => "behind",
        };
        assert!(
            run.stdout
                .contains(&format!("manager (alembic.ini): {state}\n")),
            "db-migrate {args:?} should end {state}\n{}",
            run.dump()
        );
    }
}

/// The scripts have two heads (a main line and a feature branch labelled `lbl`). `upgrade heads`
/// applies both branches; `upgrade lbl@head` applies only the labelled branch (and its root).
#[test]
fn upgrade_heads_applies_both_branches_and_branch_at_head_only_its_own() {
    let all = two_heads_ids();
    let ws = Workspace::new().component(Manager, &two_heads());

    let heads = db_migrate(&ws, &["upgrade", "heads"]);
    heads.assert_exit(0);
    assert_db(&ws, Manager, &[M2, F2], &[ROOT, M1, M2, F1, F2], &all);
    assert_plan_was_followed(&heads.stdout);
    assert_eq!(touched(&heads.stdout).len(), 5, "{}", heads.dump());
    assert_in_order(
        &heads.stdout,
        &[
            &up("(base)", ROOT, "root"),
            &up(ROOT, M1, "main 1"),
            &up(M1, M2, "main 2"),
        ],
    );
    assert_in_order(
        &heads.stdout,
        &[&up(ROOT, F1, "feature 1"), &up(F1, F2, "feature 2")],
    );

    put_db_at(&ws, Manager, &[]);
    let branch = db_migrate(&ws, &["upgrade", "lbl@head"]);
    branch.assert_exit(0);
    assert_db(&ws, Manager, &[F2], &[ROOT, F1, F2], &all);
    assert_eq!(
        step_lines(&branch.stdout),
        [
            up("(base)", ROOT, "root"),
            up(ROOT, F1, "feature 1"),
            up(F1, F2, "feature 2"),
        ],
        "{}",
        branch.dump()
    );
    assert_plan_was_followed(&branch.stdout);
    // The same as Alembic's own `upgrade lbl@head`.
    assert_eq!(
        alembic_lands(&ws, Manager, &[], "upgrade", "lbl@head"),
        vec![F2.to_string()]
    );
}

/// The database is on the main line (at m1); `upgrade lbl@+1` moves the `lbl` branch one step,
/// which Alembic does by applying f1 next to m1. The plan printed first must say so, not
/// "apply 0 revisions".
#[test]
fn upgrade_branch_plus_one_plan_names_the_revision_alembic_applies() {
    let all = two_heads_ids();
    let ws = Workspace::new().component(Manager, &two_heads());
    let expected = alembic_lands(&ws, Manager, &[M1], "upgrade", "lbl@+1");
    assert_eq!(expected, [M1, F1]);
    put_db_at(&ws, Manager, &[M1]);

    let run = db_migrate(&ws, &["upgrade", "lbl@+1"]);
    run.assert_exit(0);
    assert_db(&ws, Manager, &[M1, F1], &[ROOT, M1, F1], &all);
    assert_eq!(
        step_lines(&run.stdout),
        [up(ROOT, F1, "feature 1")],
        "{}",
        run.dump()
    );
    assert_plan_was_followed(&run.stdout);
}

/// A diamond (a -> b, a -> c, d merges b and c, then e) on a fresh database: `upgrade` runs a,
/// both sides, then the merge (one step from both parents), then e — as Alembic does.
#[test]
fn upgrade_diamond_applies_both_sides_then_the_merge() {
    let all = diamond_ids();
    let ws = Workspace::new().component(Manager, &diamond());

    let run = db_migrate(&ws, &["upgrade"]);
    run.assert_exit(0);
    assert_db(&ws, Manager, &[E], &[A, B, C, D, E], &all);
    assert_eq!(
        ws.alembic_ok(Manager, &["current"]).trim(),
        format!("{E} (head)")
    );
    assert_plan_was_followed(&run.stdout);
    let steps = step_lines(&run.stdout);
    assert_eq!(steps.len(), 5, "{}", run.dump());
    assert_eq!(steps[0], up("(base)", A, "root a"));
    let sides: BTreeSet<&str> = steps[1..3].iter().map(String::as_str).collect();
    assert_eq!(
        sides,
        BTreeSet::from([up(A, B, "side b").as_str(), up(A, C, "side c").as_str()]),
        "{}",
        run.dump()
    );
    assert_eq!(steps[3], up(&format!("{B},{C}"), D, "merge d"));
    assert_eq!(steps[4], up(D, E, "after e"));
    assert!(
        run.stdout.contains("manager (alembic.ini): up-to-date\n"),
        "{}",
        run.dump()
    );
}

/// Three components at different places (manager behind, accountmgr fresh, appproxy at head):
/// `upgrade --all` finishes each one (plan, steps, final state) before starting the next.
#[test]
fn upgrade_all_brings_every_component_to_head_one_after_another() {
    let mgr = linear_chain("m", 3);
    let acct = base36_chain("acct", 2);
    let ap = linear_chain("ap", 2);
    let (m, a, p) = (ids(&mgr), ids(&acct), ids(&ap));
    let ws = Workspace::new()
        .component(Manager, &mgr)
        .component(Accountmgr, &acct)
        .component(Appproxy, &ap);
    ws.db_at(Manager, &m[0]);
    ws.db_at(Appproxy, "head");

    let run = db_migrate(&ws, &["upgrade", "--all"]);
    run.assert_exit(0);

    assert_chain_at(&ws, Manager, &m, 3);
    assert_chain_at(&ws, Accountmgr, &a, 2);
    assert_chain_at(&ws, Appproxy, &p, 2);
    let out = &run.stdout;
    assert_in_order(
        out,
        &[
            "manager (alembic.ini): upgrade to head",
            &up(&m[0], &m[1], "m step 2"),
            &up(&m[1], &m[2], "m step 3"),
            "manager (alembic.ini): up-to-date",
            "accountmgr (alembic-accountmgr.ini): upgrade to head",
            &up("(base)", &a[0], "acct step 1"),
            &up(&a[0], &a[1], "acct step 2"),
            "accountmgr (alembic-accountmgr.ini): up-to-date",
            "appproxy (alembic-appproxy.ini): upgrade to head",
            "  already there: nothing to run",
            "appproxy (alembic-appproxy.ini): up-to-date",
        ],
    );
    assert_eq!(step_lines(out).len(), 4, "{}", run.dump());
}

/// `--format json upgrade --all`: stdout is one JSON document in which every component is
/// up-to-date and lists the steps Alembic ran (none for the one already at head); the human
/// progress goes to stderr.
#[test]
fn upgrade_all_json_reports_up_to_date_components_with_applied_steps() {
    let mgr = base36_chain("jm", 2);
    let ap = linear_chain("ap", 2);
    let acct = linear_chain("acct", 1);
    let (m, p, a) = (ids(&mgr), ids(&ap), ids(&acct));
    let ws = Workspace::new()
        .component(Manager, &mgr)
        .component(Accountmgr, &acct)
        .component(Appproxy, &ap);
    ws.db_at(Appproxy, &p[0]);
    ws.db_at(Accountmgr, "head");

    let run = db_migrate(&ws, &["--format", "json", "upgrade", "--all"]);
    run.assert_exit(0);
    assert_chain_at(&ws, Manager, &m, 2);
    assert_chain_at(&ws, Accountmgr, &a, 1);
    assert_chain_at(&ws, Appproxy, &p, 2);

    let doc: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.dump()));
    assert!(doc.get("error").is_none(), "{}", run.dump());
    let comps = doc["components"].as_array().expect("components array");
    let names: Vec<&str> = comps
        .iter()
        .map(|c| c["component"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["manager", "accountmgr", "appproxy"]);
    for c in comps {
        assert_eq!(c["state"], "up-to-date", "{c}");
        assert_eq!(c["current"], c["heads"], "{c}");
        assert_eq!(c["pending"], serde_json::json!([]), "{c}");
    }
    let step = |from: &[&str], to: &str, message: &str| serde_json::json!({"direction": "upgrade", "from": from, "to": [to], "message": message});
    assert_eq!(comps[0]["config"], "alembic.ini");
    assert_eq!(comps[0]["current"], serde_json::json!([m[1]]));
    assert_eq!(
        comps[0]["applied"],
        serde_json::json!([
            step(&[], &m[0], "jm step 1"),
            step(&[&m[0]], &m[1], "jm step 2")
        ])
    );
    // Already at head: nothing applied.
    assert!(
        comps[1]["applied"].as_array().is_none_or(Vec::is_empty),
        "{}",
        comps[1]
    );
    assert_eq!(comps[2]["config"], "alembic-appproxy.ini");
    assert_eq!(
        comps[2]["applied"],
        serde_json::json!([step(&[&p[0]], &p[1], "ap step 2")])
    );
    // The human-readable progress is on stderr, stdout stays pure JSON.
    assert!(
        run.stderr
            .contains(&format!("  {}", up(&m[0], &m[1], "jm step 2"))),
        "{}",
        run.dump()
    );
}

// ---------------------------------------------------------------------------------------------
// downgrade
// ---------------------------------------------------------------------------------------------

/// At the head of three migrations, with stdin not a terminal: `downgrade` (default -1) shows its
/// plan and refuses with exit 2 — even if "y" is piped in — leaving the database untouched and
/// saying to rerun with --yes. With --yes (or -y) it reverts exactly one revision per run.
#[test]
fn downgrade_defaults_to_minus_one_and_needs_yes_without_a_terminal() {
    let chain = linear_chain("m", 3);
    let m = ids(&chain);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, "head");

    let refused = db_migrate(&ws, &["downgrade"]);
    refused.assert_exit(2);
    assert_chain_at(&ws, Manager, &m, 3);
    assert!(
        refused.stderr.contains("stdin is not a terminal")
            && refused.stderr.contains("nothing was changed")
            && refused
                .stderr
                .contains("db-migrate downgrade --component manager -1 --yes"),
        "{}",
        refused.dump()
    );
    assert_eq!(plan_ids(&refused.stdout), Some(vec![m[2].clone()]));
    assert!(step_lines(&refused.stdout).is_empty(), "{}", refused.dump());

    // A piped answer is not a terminal either.
    let piped = ws
        .cmd()
        .arg("downgrade")
        .write_stdin("y\n")
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(2), "{}", output_text(&piped));
    assert!(
        stderr_of(&piped).contains("--yes"),
        "{}",
        output_text(&piped)
    );
    assert_chain_at(&ws, Manager, &m, 3);

    let yes = db_migrate(&ws, &["downgrade", "--yes"]);
    yes.assert_exit(0);
    assert_chain_at(&ws, Manager, &m, 2);
    assert_eq!(
        step_lines(&yes.stdout),
        [down(&m[2], &m[1], "m step 3")],
        "{}",
        yes.dump()
    );
    assert_plan_was_followed(&yes.stdout);
    assert_in_order(
        &yes.stdout,
        &[
            "manager (alembic.ini): downgrade to -1",
            &down(&m[2], &m[1], "m step 3"),
            "manager (alembic.ini): behind",
            &format!("  current  {}", m[1]),
        ],
    );

    let short = db_migrate(&ws, &["downgrade", "-y"]);
    short.assert_exit(0);
    assert_chain_at(&ws, Manager, &m, 1);
    assert_eq!(step_lines(&short.stdout), [down(&m[1], &m[0], "m step 2")]);
}

/// From the diamond's tip (e), `downgrade a` reverts e, the merge d, and both sides b and c,
/// landing at a — the same place `alembic downgrade a` lands.
#[test]
fn downgrade_through_a_merge_point_lands_where_alembic_does() {
    let all = diamond_ids();
    let ws = Workspace::new().component(Manager, &diamond());
    let expected = alembic_lands(&ws, Manager, &[E], "downgrade", A);
    assert_eq!(expected, [A]);
    put_db_at(&ws, Manager, &[E]);

    let run = db_migrate(&ws, &["downgrade", A, "--yes"]);
    run.assert_exit(0);
    assert_eq!(ws.db_revisions(Manager), expected);
    assert_db(&ws, Manager, &[A], &[A], &all);
    assert_plan_was_followed(&run.stdout);
    let reverted = touched(&run.stdout);
    assert_eq!(reverted[..2], [E, D], "{}", run.dump());
    assert_eq!(
        reverted[2..].iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([&B.to_string(), &C.to_string()]),
        "{}",
        run.dump()
    );
    assert!(
        run.stdout.contains("manager (alembic.ini): behind\n"),
        "{}",
        run.dump()
    );
}

/// Reverting the merge revision d goes back to *both* its parents. Alembic logs
/// `Running downgrade d -> b, c, merge d`; db-migrate's step line and JSON `applied` entry must
/// name both parents as the destination and keep the message `merge d`.
#[test]
fn downgrade_of_a_merge_revision_reports_both_parents() {
    let ws = Workspace::new().component(Manager, &diamond());
    ws.db_at(Manager, D);

    let run = db_migrate(&ws, &["--format", "json", "downgrade", A, "--yes"]);
    run.assert_exit(0);
    assert_db(&ws, Manager, &[A], &[A], &diamond_ids());

    // Human progress is on stderr in JSON mode.
    let merge_step = down(D, &format!("{B},{C}"), "merge d");
    assert!(
        step_lines(&run.stderr).contains(&merge_step),
        "expected the step line {merge_step:?}\n{}",
        run.dump()
    );
    let doc: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.dump()));
    let applied = doc["components"][0]["applied"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let merge_entry = applied
        .iter()
        .find(|s| s["from"] == serde_json::json!([D]))
        .unwrap_or_else(|| panic!("no applied step from {D}:\n{}", run.dump()));
    let mut to: Vec<String> = merge_entry["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    to.sort();
    assert_eq!(to, [B, C], "{merge_entry}");
    assert_eq!(merge_entry["message"], "merge d", "{merge_entry}");
}

/// From the diamond's tip (e), `downgrade b`: Alembic reverts e and the merge d and stops with the
/// database at b *and* c (c is not an ancestor of b, but Alembic does not revert it). The plan
/// db-migrate prints before asking must list what will be reverted — e and d — not c.
#[test]
fn downgrade_to_one_side_of_a_merge_plans_only_what_alembic_reverts() {
    let all = diamond_ids();
    let ws = Workspace::new().component(Manager, &diamond());
    let expected = alembic_lands(&ws, Manager, &[E], "downgrade", B);
    assert_eq!(expected, [B, C]);
    put_db_at(&ws, Manager, &[E]);

    let run = db_migrate(&ws, &["downgrade", B, "--yes"]);
    run.assert_exit(0);
    assert_eq!(ws.db_revisions(Manager), expected);
    assert_db(&ws, Manager, &[B, C], &[A, B, C], &all);
    assert_eq!(touched(&run.stdout), [E, D], "{}", run.dump());
    assert_plan_was_followed(&run.stdout);
}

/// The database is at both heads (m2 and f2). `downgrade lbl@-1` steps only the `lbl` branch back
/// (f2 -> f1), as Alembic does; the main line stays. The plan must say so: revert f2 only.
#[test]
fn downgrade_branch_minus_one_reverts_and_plans_only_that_branch() {
    let all = two_heads_ids();
    let ws = Workspace::new().component(Manager, &two_heads());
    let expected = alembic_lands(&ws, Manager, &[M2, F2], "downgrade", "lbl@-1");
    assert_eq!(expected, [M2, F1]);
    put_db_at(&ws, Manager, &[M2, F2]);

    let run = db_migrate(&ws, &["downgrade", "lbl@-1", "--yes"]);
    run.assert_exit(0);
    assert_db(&ws, Manager, &[M2, F1], &[ROOT, M1, M2, F1], &all);
    assert_eq!(
        step_lines(&run.stdout),
        [down(F2, F1, "feature 2")],
        "{}",
        run.dump()
    );
    assert_plan_was_followed(&run.stdout);
}

/// `downgrade --all` is refused before anything runs (exit 2, no plan, every database as it
/// was), with or without --yes, and through `migrate --direction downgrade --all` as well.
#[test]
fn downgrade_all_is_rejected_and_changes_nothing() {
    let mgr = linear_chain("m", 2);
    let ap = linear_chain("ap", 2);
    let (m, p) = (ids(&mgr), ids(&ap));
    let ws = Workspace::new()
        .component(Manager, &mgr)
        .component(Appproxy, &ap);
    ws.db_at(Manager, "head");
    ws.db_at(Appproxy, "head");

    for args in [
        &["downgrade", "--all", "--yes"][..],
        &["downgrade", "--all"],
        &["downgrade", "--all", "base", "--yes"],
        &[
            "migrate",
            "--direction",
            "downgrade",
            "--target",
            "-1",
            "--all",
            "--yes",
        ],
    ] {
        let run = db_migrate(&ws, args);
        assert_eq!(run.code, Some(2), "db-migrate {args:?}\n{}", run.dump());
        assert!(
            run.stderr.contains("downgrade --all is not supported"),
            "db-migrate {args:?}\n{}",
            run.dump()
        );
        assert!(
            !run.stdout.contains("plan"),
            "db-migrate {args:?}\n{}",
            run.dump()
        );
        assert_chain_at(&ws, Manager, &m, 2);
        assert_chain_at(&ws, Appproxy, &p, 2);
    }
}

// ---------------------------------------------------------------------------------------------
// migrate
// ---------------------------------------------------------------------------------------------

/// The option form: `migrate --direction upgrade --target T`, then the seed form
/// `migrate --direction downgrade --target -1 --yes` (a negative value after --target must parse),
/// which also needs --yes without a terminal.
#[test]
fn migrate_with_direction_and_target_options() {
    let chain = base36_chain("mig", 3);
    let r = ids(&chain);
    let ws = Workspace::new().component(Manager, &chain);

    let up2 = db_migrate(
        &ws,
        &["migrate", "--direction", "upgrade", "--target", &r[1]],
    );
    up2.assert_exit(0);
    assert_chain_at(&ws, Manager, &r, 2);
    assert!(
        up2.stdout
            .contains(&format!("manager (alembic.ini): upgrade to {}\n", r[1])),
        "{}",
        up2.dump()
    );
    assert_plan_was_followed(&up2.stdout);

    let refused = db_migrate(
        &ws,
        &["migrate", "--direction", "downgrade", "--target", "-1"],
    );
    refused.assert_exit(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.dump());
    assert_chain_at(&ws, Manager, &r, 2);

    let down1 = db_migrate(
        &ws,
        &[
            "migrate",
            "--direction",
            "downgrade",
            "--target",
            "-1",
            "--yes",
        ],
    );
    down1.assert_exit(0);
    assert_chain_at(&ws, Manager, &r, 1);
    assert_eq!(
        step_lines(&down1.stdout),
        [down(&r[1], &r[0], "mig step 2")],
        "{}",
        down1.dump()
    );
    assert!(
        down1
            .stdout
            .contains("manager (alembic.ini): downgrade to -1\n"),
        "{}",
        down1.dump()
    );

    // Direction upgrade with the default target: head.
    let head = db_migrate(&ws, &["migrate", "--direction", "upgrade"]);
    head.assert_exit(0);
    assert_chain_at(&ws, Manager, &r, 3);
    assert_plan_was_followed(&head.stdout);
    assert!(
        head.stdout.contains("manager (alembic.ini): up-to-date\n"),
        "{}",
        head.dump()
    );
}

// ---------------------------------------------------------------------------------------------
// appproxy
// ---------------------------------------------------------------------------------------------

/// App-proxy connects as its own role (`appproxy`) to its own database. Upgrading and downgrading
/// it with --component appproxy works like the manager's, touches only its database, and the
/// tables it creates belong to `appproxy`.
#[test]
fn appproxy_upgrades_and_downgrades_as_its_own_role() {
    let mgr = linear_chain("m", 2);
    let ap = base36_chain("proxy", 3);
    let (m, p) = (ids(&mgr), ids(&ap));
    let ws = Workspace::new()
        .component(Manager, &mgr)
        .component(Appproxy, &ap);
    assert_eq!(ws.db_user(Appproxy), "appproxy");

    let upgrade = db_migrate(&ws, &["upgrade", "--component", "appproxy"]);
    upgrade.assert_exit(0);
    assert_chain_at(&ws, Appproxy, &p, 3);
    assert_chain_at(&ws, Manager, &m, 0);
    assert_eq!(
        ws.sql(
            Appproxy,
            &format!(
                "SELECT tableowner FROM pg_tables WHERE tablename = 't_{}'",
                p[2]
            )
        ),
        "appproxy"
    );
    assert_eq!(
        step_lines(&upgrade.stdout),
        [
            up("(base)", &p[0], "proxy step 1"),
            up(&p[0], &p[1], "proxy step 2"),
            up(&p[1], &p[2], "proxy step 3"),
        ],
        "{}",
        upgrade.dump()
    );
    assert_plan_was_followed(&upgrade.stdout);
    assert_in_order(
        &upgrade.stdout,
        &[
            "appproxy (alembic-appproxy.ini): upgrade to head",
            "appproxy (alembic-appproxy.ini): up-to-date",
            "  restart  the app-proxy coordinator to pick up the new schema",
        ],
    );

    let refused = db_migrate(&ws, &["downgrade", "--component", "appproxy", "-2"]);
    refused.assert_exit(2);
    assert!(
        refused
            .stderr
            .contains("db-migrate downgrade --component appproxy -2 --yes"),
        "{}",
        refused.dump()
    );
    assert_chain_at(&ws, Appproxy, &p, 3);

    let downgrade = db_migrate(
        &ws,
        &["downgrade", "--component", "appproxy", "-2", "--yes"],
    );
    downgrade.assert_exit(0);
    assert_chain_at(&ws, Appproxy, &p, 1);
    assert_eq!(
        step_lines(&downgrade.stdout),
        [
            down(&p[2], &p[1], "proxy step 3"),
            down(&p[1], &p[0], "proxy step 2"),
        ],
        "{}",
        downgrade.dump()
    );
    assert_plan_was_followed(&downgrade.stdout);
    assert!(
        downgrade
            .stdout
            .contains("appproxy (alembic-appproxy.ini): behind\n"),
        "{}",
        downgrade.dump()
    );

    let to_base = db_migrate(
        &ws,
        &["downgrade", "--component", "appproxy", "base", "--yes"],
    );
    to_base.assert_exit(0);
    assert_chain_at(&ws, Appproxy, &p, 0);
    assert_eq!(
        step_lines(&to_base.stdout),
        [down(&p[0], "(base)", "proxy step 1")]
    );
    // The manager was never touched.
    assert_chain_at(&ws, Manager, &m, 0);
}
