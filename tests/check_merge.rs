//! `check`'s merge-time heads check (`heads-after-merge`) in real git repositories: a bare
//! "origin", the developer's clone on a feature branch, and a teammate who merges pull requests
//! into origin's main. Would merging the branch into the upstream tip, as last fetched, leave two
//! heads? The static rules only (`--no-lint`): no Alembic run, no database query.

mod harness;

use harness::*;
use serde_json::Value;
use Component::Manager;

const A: &str = "a1a1a1a1a1a1";
const B: &str = "b2b2b2b2b2b2";
/// The developer's migration.
const C: &str = "c3c3c3c3c3c3";
/// The teammate's migrations, merged into main after the branch started.
const D: &str = "d4d4d4d4d4d4";
const E: &str = "e5e5e5e5e5e5";

/// A migration in Backend.AI's template (docstring ids, `# Part of:` after down_revision).
fn table(id: &str, name: &str, down: &str) -> Rev {
    rev(id, Some(down), &format!("create {name}")).raw(&format!(
        "\"\"\"create {name}\n\nRevision ID: {id}\nRevises: {down}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\nimport sqlalchemy as sa\nfrom alembic import op\n\nrevision = \"{id}\"\ndown_revision = \"{down}\"\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    op.create_table(\"{name}\", sa.Column(\"id\", sa.Integer(), primary_key=True))\n\n\ndef downgrade() -> None:\n    op.drop_table(\"{name}\")\n"
    ))
}

/// The first migration (no parent).
fn first() -> Rev {
    rev(A, None, "create users").raw(&format!(
        "\"\"\"create users\n\nRevision ID: {A}\nRevises: \nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\nimport sqlalchemy as sa\nfrom alembic import op\n\nrevision = \"{A}\"\ndown_revision = None\n# Part of: 26.8.0\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    op.create_table(\"users\", sa.Column(\"id\", sa.Integer(), primary_key=True))\n\n\ndef downgrade() -> None:\n    op.drop_table(\"users\")\n"
    ))
}

fn versions(name: &str) -> String {
    format!("{}/alembic/versions/{name}", Manager.package_dir())
}

fn file(r: &Rev) -> String {
    versions(&r.file_name())
}

/// `r` as a file for the teammate's pull request.
fn pr_file(r: &Rev) -> (String, String) {
    (file(r), r.render(RevStyle::Modern, 0))
}

/// main: A → B, pushed to origin; the developer's branch `feature` adds C on B and commits.
fn started() -> (Workspace, Origin) {
    let ws = Workspace::new().component(Manager, &[first(), table(B, "sessions", A)]);
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "released history");
    let origin = Origin::serve(ws.root());
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(Manager, &[table(C, "keypairs", B)]);
    commit_all(ws.root(), "add keypairs");
    (ws, origin)
}

/// The teammate merges D (on B) into origin's main; the developer fetches.
fn main_gained_d(ws: &Workspace, origin: &Origin) -> String {
    let merge = origin.merge_pr(
        "quotas",
        &[pr_file(&table(D, "quotas", B))],
        "Merge pull request #4242 from mate/quotas",
    );
    git(ws.root(), &["fetch", "-q", "origin"]);
    merge
}

fn check(ws: &Workspace, args: &[&str]) -> Run {
    let mut all = vec!["check", "--no-lint"];
    all.extend_from_slice(args);
    db_migrate(ws, &all)
}

/// (rule, file, line) of every finding.
fn findings(doc: &Value) -> Vec<(String, String, u64)> {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap().clone())
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn message_of<'a>(doc: &'a Value, rule: &str) -> &'a str {
    doc["components"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding: {doc:#}"))["message"]
        .as_str()
        .unwrap()
}

/// The line of `down_revision = …` in the workspace file `rel`.
fn down_revision_line(ws: &Workspace, rel: &str) -> u64 {
    ws.read_file(rel)
        .lines()
        .position(|l| l.starts_with("down_revision"))
        .expect("a down_revision line") as u64
        + 1
}

#[test]
fn main_gaining_a_migration_on_the_same_parent_fails_in_text_json_and_github() {
    let (ws, origin) = started();
    let merge = main_gained_d(&ws, &origin);
    let mine = file(&table(C, "keypairs", B));
    let line = down_revision_line(&ws, &mine);

    let r = check(&ws, &["--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    assert_eq!(
        findings(&doc),
        [("heads-after-merge".to_owned(), mine.clone(), line)],
        "{doc:#}"
    );
    let m = message_of(&doc, "heads-after-merge");
    for part in [
        "merging this branch into origin/main (origin/main as fetched less than a minute ago) would leave 2 heads",
        &format!("origin/main gained {D} ({}, merged 20", file(&table(D, "quotas", B))),
        &format!("in {} \"Merge pull request #4242 from mate/quotas\")", &merge[..12]),
        &format!("this branch's {C} follows {B}"),
        "git merge origin/main, then db-migrate fix-heads --component manager --upstream origin/main",
    ] {
        assert!(m.contains(part), "{part:?} not in {m}");
    }
    assert!(!m.contains("run git fetch"), "a fresh ref: {m}");
    let up = &doc["components"][0]["upstream"];
    assert_eq!(up["ref"], "origin/main", "{up:#}");
    assert_eq!(up["tip"], merge.as_str());
    assert_eq!(up["updated_from"], "fetch");
    assert!(up["age_seconds"].as_i64().unwrap() < 600, "{up:#}");
    assert_eq!(up["new_revisions"][0]["id"], D);
    assert_eq!(up["new_revisions"][0]["merged_in"], merge.as_str());
    let mut heads = strings(&up["heads_after_merge"]);
    heads.sort();
    assert_eq!(heads, [C, D]);

    let r = check(&ws, &["--format", "text"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!(
            ":{line}  error   heads-after-merge  merging this branch into origin/main"
        )),
        "{}",
        r.shown
    );

    let r = check(&ws, &["--format", "github"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!(
            "::error file={mine},line={line},title=db-migrate heads-after-merge::merging this branch into origin/main"
        )),
        "{}",
        r.shown
    );
}

#[test]
fn quiet_when_main_did_not_move_on_or_moved_on_without_touching_migrations() {
    let (ws, origin) = started();
    let r = check(&ws, &["--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    assert!(findings(&doc).is_empty(), "{doc:#}");
    let up = &doc["components"][0]["upstream"];
    assert_eq!(up["tip"], up["merge_base"], "{up:#}");
    assert!(strings(&up["new_revisions"]).is_empty());

    // main moved on with a README change only.
    origin.merge_pr(
        "docs",
        &[("README.md".to_owned(), "docs\n".to_owned())],
        "Merge pull request #1 from mate/docs",
    );
    git(ws.root(), &["fetch", "-q", "origin"]);
    let r = check(&ws, &["--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    assert!(findings(&doc).is_empty(), "{doc:#}");
    let up = &doc["components"][0]["upstream"];
    assert_ne!(up["tip"], up["merge_base"], "{up:#}");
}

#[test]
fn quiet_when_main_gained_a_migration_but_the_branch_adds_none() {
    let ws = Workspace::new().component(Manager, &[first(), table(B, "sessions", A)]);
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "released history");
    let origin = Origin::serve(ws.root());
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws.write_file("notes.txt", "no migration here\n");
    commit_all(ws.root(), "notes");
    main_gained_d(&ws, &origin);
    let r = check(&ws, &["--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    assert!(findings(&doc).is_empty(), "{doc:#}");
    assert_eq!(
        doc["components"][0]["upstream"]["new_revisions"][0]["id"], D,
        "{doc:#}"
    );
}

#[test]
fn the_two_steps_the_finding_names_git_merge_then_fix_heads_clear_it() {
    let (ws, origin) = started();
    main_gained_d(&ws, &origin);
    // The first of the two steps the finding names: the merge gives the work tree two heads,
    // which is single-head's to report (and the merge-time check's no longer).
    git(ws.root(), &["merge", "-q", "--no-edit", "origin/main"]);
    let r = check(&ws, &["--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let rules: Vec<String> = findings(&r.json()).into_iter().map(|f| f.0).collect();
    assert!(rules.contains(&"single-head".to_owned()), "{}", r.shown);
    assert!(
        !rules.contains(&"heads-after-merge".to_owned()),
        "{}",
        r.shown
    );
    // The second step, as the finding prints it: fix-heads repoints C (not on origin/main)
    // onto D (on it), with the database at main's old head.
    ws.db_at(Manager, B);
    let r = db_migrate(
        &ws,
        &[
            "fix-heads",
            "--component",
            "manager",
            "--upstream",
            "origin/main",
            "--yes",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let mine = file(&table(C, "keypairs", B));
    assert!(
        ws.read_file(&mine)
            .contains(&format!("down_revision = \"{D}\"")),
        "{}",
        r.shown
    );
    commit_all(ws.root(), "repoint keypairs onto quotas");
    let r = check(&ws, &["--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(findings(&r.json()).is_empty(), "{}", r.shown);
}

#[test]
fn on_the_pull_request_merge_commit_single_head_fires_and_the_merge_time_check_is_quiet() {
    let (ws, origin) = started();
    main_gained_d(&ws, &origin);
    // What actions/checkout does on `pull_request`: the merge of the PR into main's tip,
    // checked out detached; origin/HEAD is not set there, so the workflow names the upstream.
    git(ws.root(), &["checkout", "-q", "--detach", "origin/main"]);
    git(
        ws.root(),
        &[
            "merge",
            "-q",
            "--no-ff",
            "feature",
            "-m",
            "Merge feature into main",
        ],
    );
    git(ws.root(), &["remote", "set-head", "origin", "--delete"]);
    let r = check(&ws, &["--format", "json", "--upstream", "origin/main"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let rules: Vec<String> = findings(&doc).into_iter().map(|f| f.0).collect();
    assert!(rules.contains(&"single-head".to_owned()), "{doc:#}");
    assert!(!rules.contains(&"heads-after-merge".to_owned()), "{doc:#}");
    let up = &doc["components"][0]["upstream"];
    assert_eq!(up["tip"], up["merge_base"], "{up:#}");
    // --upstream set the base too: the merge-base, which is main's tip here.
    assert_eq!(doc["components"][0]["base"], up["tip"], "{doc:#}");
}

#[test]
fn check_never_fetches_and_says_how_old_the_ref_is() {
    let (ws, origin) = started();
    // The teammate merges D; the developer fetched it three days ago.
    origin.merge_pr(
        "quotas",
        &[pr_file(&table(D, "quotas", B))],
        "Merge pull request #4242 from mate/quotas",
    );
    fetch_long_ago(ws.root(), 3 * 86_400);
    // The teammate merges E on D after the developer's last fetch.
    origin.merge_pr(
        "agents",
        &[pr_file(&table(E, "agents", D))],
        "Merge pull request #4243 from mate/agents",
    );
    let local = git(ws.root(), &["rev-parse", "origin/main"])
        .trim()
        .to_owned();
    assert_ne!(local, origin.main());

    let r = check(&ws, &["--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let m = message_of(&doc, "heads-after-merge");
    // What the local ref says: D, not E, which was never fetched.
    assert!(m.contains(&format!("origin/main gained {D} (")), "{m}");
    assert!(!m.contains(E), "{m}");
    assert!(
        m.contains("origin/main as fetched 3 days ago; it is more than a day old: run git fetch and check again"),
        "{m}"
    );
    assert_eq!(doc["components"][0]["upstream"]["tip"], local.as_str());
    // Nothing was fetched.
    assert_eq!(
        git(ws.root(), &["rev-parse", "origin/main"]).trim(),
        local,
        "origin/main moved"
    );
    let fetched = std::fs::metadata(ws.root().join(".git/FETCH_HEAD"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(
        fetched.elapsed().unwrap().as_secs() > 2 * 86_400,
        "FETCH_HEAD was rewritten"
    );

    // Once fetched, E is main's head and the message names it.
    git(ws.root(), &["fetch", "-q", "origin"]);
    let r = check(&ws, &["--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let m = message_of(&doc, "heads-after-merge");
    assert!(m.contains(&format!("{E} (")), "{m}");
    assert!(m.contains("as fetched less than a minute ago"), "{m}");
}

#[test]
fn a_local_branch_as_upstream_and_an_unknown_one() {
    // No remote: main itself moved on with D after the branch started.
    let ws = Workspace::new().component(Manager, &[first(), table(B, "sessions", A)]);
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "released history");
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(Manager, &[table(C, "keypairs", B)]);
    commit_all(ws.root(), "add keypairs");
    git(ws.root(), &["checkout", "-q", "main"]);
    ws.add_revisions(Manager, &[table(D, "quotas", B)]);
    commit_all(ws.root(), "add quotas");
    git(ws.root(), &["checkout", "-q", "feature"]);

    let r = check(&ws, &["--format", "json", "--upstream", "main"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    let m = message_of(&doc, "heads-after-merge");
    assert!(
        m.contains("(main as last updated less than a minute ago)"),
        "{m}"
    );
    assert!(m.contains("in ") && m.contains("\"add quotas\")"), "{m}");
    assert!(
        m.contains("db-migrate fix-heads --component manager --upstream main"),
        "{m}"
    );
    assert_eq!(doc["components"][0]["upstream"]["updated_from"], "reflog");
    // The default upstream without a remote is main too.
    let r = check(&ws, &["--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);

    let r = check(&ws, &["--upstream", "origin/nope"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(r.stderr.contains("--upstream origin/nope"), "{}", r.shown);
}

#[test]
fn without_an_upstream_ref_the_rule_is_skipped_and_says_why() {
    // No remote and no main: only --base gives the other rules a base.
    let ws = Workspace::new().component(Manager, &[first(), table(B, "sessions", A)]);
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "trunk"]);
    commit_all(ws.root(), "released history");
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(Manager, &[table(C, "keypairs", B)]);
    commit_all(ws.root(), "add keypairs");
    let r = check(&ws, &["--format", "json", "--base", "trunk"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let skipped = doc["components"][0]["skipped"].as_array().unwrap();
    let why = skipped
        .iter()
        .find(|s| s["rule"] == "heads-after-merge")
        .unwrap_or_else(|| panic!("not skipped: {doc:#}"))["why"]
        .as_str()
        .unwrap();
    assert!(
        why.contains("no upstream ref") && why.contains("--upstream REF"),
        "{why}"
    );
    assert!(doc["components"][0].get("upstream").is_none(), "{doc:#}");
    // Named, it runs: trunk did not move on.
    let r = check(&ws, &["--format", "json", "--upstream", "trunk"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(r.json()["components"][0]["upstream"]["ref"], "trunk");
}
