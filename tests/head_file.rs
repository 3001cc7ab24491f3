//! The opt-in head file (`[tool.db-migrate] head-file = true`), with the real binary in real git
//! repositories, real Alembic and PostgreSQL: `check`'s `head-file` rule, `fix-heads` rewriting
//! `head.txt` with a repoint, alone when the heads are already one, and after git reports a
//! conflict in it when two branches each added a migration on the same parent.

mod harness;

use harness::*;
use serde_json::Value;
use Component::Manager;

const A: &str = "a1a1a1a1a1a1";
const B: &str = "b2b2b2b2b2b2";
const F: &str = "f3f3f3f3f3f3"; // the developer's feature migration
const M: &str = "c4c4c4c4c4c4"; // main's migration, merged meanwhile

/// A migration in Backend.AI's template (docstring ids, `# Part of:` after down_revision)
/// creating table `t_<id>`.
fn migration(id: &str, down: Option<&str>, message: &str, part_of: &str) -> Rev {
    let down_py = down.map_or("None".to_owned(), |d| format!("\"{d}\""));
    rev(id, down, message).raw(&format!(
        "\"\"\"{message}\n\nRevision ID: {id}\nRevises: {revises}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\nfrom typing import Sequence, Union\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision: str = \"{id}\"\ndown_revision: Union[str, None] = {down_py}\n# Part of: {part_of}\nbranch_labels: Union[str, Sequence[str], None] = None\ndepends_on: Union[str, Sequence[str], None] = None\n\n\ndef upgrade() -> None:\n    op.create_table(\"t_{id}\", sa.Column(\"id\", sa.Integer(), primary_key=True))\n\n\ndef downgrade() -> None:\n    op.drop_table(\"t_{id}\")\n",
        revises = down.unwrap_or("")
    ))
}

/// A → B, released; no git.
fn two_revisions() -> Workspace {
    Workspace::new().component(
        Manager,
        &[
            migration(A, None, "create users", "26.8.0"),
            migration(B, Some(A), "add email", "26.8.0"),
        ],
    )
}

fn head_file_findings(doc: &Value) -> Vec<Value> {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap().clone())
        .filter(|f| f["rule"] == "head-file")
        .collect()
}

/// `check --format json`, its exit code and its head-file findings.
fn check_json(ws: &Workspace) -> (Option<i32>, Vec<Value>, String) {
    let r = db_migrate(ws, &["check", "--no-lint", "--format", "json"]);
    let found = head_file_findings(&r.json());
    (r.code, found, r.shown)
}

#[test]
fn check_s_head_file_rule_is_off_by_default_and_names_expected_and_found_when_on() {
    let ws = two_revisions();
    let file = head_txt(Manager);

    // Off: quiet even with no file.
    let (code, found, shown) = check_json(&ws);
    assert_eq!((code, found.len()), (Some(0), 0), "{shown}");

    // On, no file: an error whose fix writes it.
    enable_head_file(&ws);
    let (code, found, shown) = check_json(&ws);
    assert_eq!((code, found.len()), (Some(1), 1), "{shown}");
    assert_eq!(found[0]["severity"], "error", "{shown}");
    assert_eq!(found[0]["file"], file.as_str(), "{shown}");
    let m = found[0]["message"].as_str().unwrap();
    assert!(
        m.contains(&format!("{file} should hold its head {B}"))
            && m.contains("`db-migrate fix-heads --component manager` writes it"),
        "{m}"
    );

    // On, the right id: quiet.
    write_head_txt(&ws, Manager, &format!("{B}\n"));
    let (code, found, shown) = check_json(&ws);
    assert_eq!((code, found.len()), (Some(0), 0), "{shown}");

    // On, an old id: both ids named.
    write_head_txt(&ws, Manager, &format!("{A}\n"));
    let (code, found, shown) = check_json(&ws);
    assert_eq!((code, found.len()), (Some(1), 1), "{shown}");
    assert_eq!(found[0]["line"], 1, "{shown}");
    let m = found[0]["message"].as_str().unwrap();
    assert!(
        m.contains(&format!("{file} names {A}, but the head of manager is {B}"))
            && m.contains(&format!(
                "`db-migrate fix-heads --component manager` rewrites it to {B}"
            )),
        "{m}"
    );

    // On, git's conflict markers: an error, with git add next.
    let conflicted = format!("<<<<<<< HEAD\n{B}\n=======\n{A}\n>>>>>>> main\n");
    write_head_txt(&ws, Manager, &conflicted);
    let (code, found, shown) = check_json(&ws);
    assert_eq!((code, found.len()), (Some(1), 1), "{shown}");
    let m = found[0]["message"].as_str().unwrap();
    assert!(
        m.contains("holds git's conflict markers") && m.contains(&format!("git add {file}")),
        "{m}"
    );

    // The same failing case as text and as a GitHub annotation on head.txt, line 1.
    let text = db_migrate(&ws, &["check", "--no-lint"]);
    assert_eq!(text.code, Some(1), "{}", text.shown);
    assert!(
        text.stdout.contains(&format!("  {file}\n")) && text.stdout.contains("error   head-file"),
        "{}",
        text.shown
    );
    let gh = db_migrate(&ws, &["check", "--no-lint", "--format", "github"]);
    assert_eq!(gh.code, Some(1), "{}", gh.shown);
    assert!(
        gh.stdout.contains(&format!(
            "::error file={file},line=1,title=db-migrate head-file::"
        )),
        "{}",
        gh.shown
    );

    // A value that is not a boolean is a configuration failure, not "off".
    ws.write_file("pyproject.toml", "[tool.db-migrate]\nhead-file = \"yes\"\n");
    let bad = db_migrate(&ws, &["check", "--no-lint", "--format", "json"]);
    assert_eq!(bad.code, Some(1), "{}", bad.shown);
    assert_eq!(bad.json()["error"]["kind"], "check-config", "{}", bad.shown);
}

/// main: A → B, head.txt = B, committed. `feature` (checked out): F on B. main meanwhile: M on
/// B. `feature_updates_head_file`: the developer also set head.txt to F (as `db-migrate new`
/// does), so merging main conflicts there; otherwise head.txt was left alone and the merge is
/// clean (head.txt = M). The database is at B. Returns the workspace and whether the merge
/// succeeded.
fn branches(feature_updates_head_file: bool) -> (Workspace, bool, String) {
    let ws = two_revisions();
    let root = ws.root().to_path_buf();
    ws.write_file(".gitignore", "__pycache__/\n");
    enable_head_file(&ws);
    write_head_txt(&ws, Manager, &format!("{B}\n"));
    git(&root, &["init", "-q", "-b", "main"]);
    commit_all(&root, "base");
    git(&root, &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(
        Manager,
        &[migration(
            F,
            Some(B),
            "add keypairs",
            "NEXT_RELEASE_VERSION",
        )],
    );
    if feature_updates_head_file {
        write_head_txt(&ws, Manager, &format!("{F}\n"));
    }
    commit_all(&root, "my migration");
    git(&root, &["checkout", "-q", "main"]);
    ws.add_revisions(Manager, &[migration(M, Some(B), "add sessions", "26.9.0")]);
    write_head_txt(&ws, Manager, &format!("{M}\n"));
    commit_all(&root, "main's migration");
    git(&root, &["checkout", "-q", "feature"]);
    ws.db_at(Manager, B);
    let (merged, said) = git_may_fail(&root, &["merge", "--no-edit", "main"]);
    (ws, merged, said)
}

#[test]
fn fix_heads_repoints_and_rewrites_head_txt_to_the_new_head_showing_its_diff() {
    let (ws, merged, said) = branches(false);
    assert!(merged, "head.txt changed on main only: {said}");
    assert_eq!(read_head_txt(&ws, Manager), format!("{M}\n"));
    let file = head_txt(Manager);

    let dry = db_migrate(&ws, &["fix-heads", "--dry-run", "--format", "json"]);
    assert_eq!(dry.code, Some(0), "{}", dry.shown);
    let doc = dry.json();
    let h = &component_json(&doc, Manager)["head_file"];
    assert_eq!(h["file"], file.as_str(), "{doc:#}");
    assert_eq!(
        (&h["head"], &h["before"]),
        (&F.into(), &M.into()),
        "{doc:#}"
    );
    assert_eq!(h["written"], false, "{doc:#}");
    assert_eq!(read_head_txt(&ws, Manager), format!("{M}\n"), "dry run");

    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    // The shown plan has head.txt's diff next to the migration's.
    for expected in [
        format!("  rewrite  {file}: {M} -> {F}\n"),
        format!("--- {file}\n+++ {file}\n"),
        format!("-{M}\n+{F}\n"),
        format!("  rewrote  {file}\n"),
    ] {
        assert!(
            r.stdout.contains(&expected),
            "missing {expected:?}:\n{}",
            r.shown
        );
    }
    assert!(
        !r.stdout.contains("git add"),
        "no conflict to resolve: {}",
        r.shown
    );
    assert_eq!(read_head_txt(&ws, Manager), format!("{F}\n"));
    let heads = ws.alembic_ok(Manager, &["heads"]);
    assert_eq!(heads.trim(), format!("{F} (head)"));

    let check = db_migrate(&ws, &["check", "--no-lint"]);
    assert_eq!(check.code, Some(0), "{}", check.shown);
}

#[test]
fn a_git_conflict_in_head_txt_is_resolved_by_fix_heads_then_git_add() {
    let (ws, merged, said) = branches(true);
    assert!(!merged, "both branches changed head.txt: {said}");
    let file = head_txt(Manager);
    assert!(
        said.contains(&format!("CONFLICT (content): Merge conflict in {file}")),
        "{said}"
    );
    assert!(read_head_txt(&ws, Manager).starts_with("<<<<<<<"));

    // check says what is wrong: two heads (fix-heads); head-file leaves it to single-head.
    let before = db_migrate(&ws, &["check", "--no-lint", "--format", "json"]);
    assert_eq!(before.code, Some(1), "{}", before.shown);
    let doc = before.json();
    let rules: Vec<&str> = doc["components"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"single-head") && !rules.contains(&"head-file"),
        "{doc:#}"
    );

    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    // Policy: the developer's own unmerged migration moves onto main's.
    assert!(
        r.stdout.contains(&format!(
            "  repoint  {F} ({}/alembic/versions/{F}_add_keypairs.py): down_revision {B} -> {M}\n",
            Manager.package_dir()
        )),
        "{}",
        r.shown
    );
    assert!(
        r.stdout.contains(&format!(
            "  rewrite  {file}: git's conflict markers -> {F}\n"
        )) && r.stdout.contains("-<<<<<<< HEAD\n")
            && r.stdout.contains(&format!("  next     git add {file}")),
        "{}",
        r.shown
    );
    assert_eq!(
        read_head_txt(&ws, Manager),
        format!("{F}\n"),
        "no conflict markers left"
    );

    let after = db_migrate(&ws, &["check", "--no-lint"]);
    assert_eq!(after.code, Some(0), "{}", after.shown);
    // git add resolves it; the merge commits.
    git(ws.root(), &["add", "-A"]);
    git(ws.root(), &["commit", "-q", "--no-edit"]);
}

#[test]
fn with_one_head_and_a_stale_head_txt_fix_heads_rewrites_only_the_file() {
    let ws = two_revisions();
    ws.write_file(".gitignore", "__pycache__/\n");
    enable_head_file(&ws);
    write_head_txt(&ws, Manager, &format!("{A}\n"));
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "base");
    ws.db_at(Manager, B);
    let file = head_txt(Manager);

    let dry = db_migrate(&ws, &["fix-heads", "--dry-run"]);
    assert_eq!(dry.code, Some(0), "{}", dry.shown);
    assert!(
        dry.stdout
            .contains(&format!("  rewrite  {file}: {A} -> {B}\n"))
            && dry.stdout.contains("  dry run: nothing was changed"),
        "{}",
        dry.shown
    );
    assert_eq!(read_head_txt(&ws, Manager), format!("{A}\n"));

    // Without a terminal it asks for --yes, like every edit.
    let asked = db_migrate(&ws, &["fix-heads"]);
    assert_eq!(asked.code, Some(2), "{}", asked.shown);
    assert_eq!(read_head_txt(&ws, Manager), format!("{A}\n"));

    let r = db_migrate(&ws, &["fix-heads", "--yes", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let c = component_json(&doc, Manager);
    assert_eq!(c["head_file"]["written"], true, "{doc:#}");
    assert_eq!(c["head_file"]["before"], A, "{doc:#}");
    assert!(
        c.get("repoint").is_none() && c.get("merge").is_none(),
        "{doc:#}"
    );
    assert_eq!(read_head_txt(&ws, Manager), format!("{B}\n"));
    let changed = git(ws.root(), &["status", "--porcelain"]);
    assert_eq!(
        changed.trim_end(),
        format!(" M {file}"),
        "only head.txt changed"
    );

    // Current now: nothing to fix.
    let again = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(again.code, Some(0), "{}", again.shown);
    assert!(again.stdout.contains("nothing to fix"), "{}", again.shown);

    // The roll-out: no file yet, fix-heads --all writes one per component.
    std::fs::remove_file(ws.root().join(&file)).unwrap();
    let all = db_migrate(&ws, &["fix-heads", "--all", "--yes"]);
    assert_eq!(all.code, Some(0), "{}", all.shown);
    assert!(
        all.stdout
            .contains(&format!("  rewrite  {file}: missing -> {B}\n")),
        "{}",
        all.shown
    );
    assert_eq!(read_head_txt(&ws, Manager), format!("{B}\n"));

    // Conflict markers with one head already (the migrations were sorted out by hand): the
    // rewrite resolves the conflict, and git add comes next.
    write_head_txt(
        &ws,
        Manager,
        &format!("<<<<<<< HEAD\n{B}\n=======\n{A}\n>>>>>>> main\n"),
    );
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!(
            "manager (alembic.ini): one head ({B}); the head file holds git's conflict markers\n"
        )) && r.stdout.contains(&format!("  next     git add {file}")),
        "{}",
        r.shown
    );
    assert_eq!(read_head_txt(&ws, Manager), format!("{B}\n"));
}

#[test]
fn the_empty_merge_of_main_s_released_heads_is_what_head_txt_names_after() {
    // Outside git: `# Part of:` says both heads are released, so fix-heads writes the merge.
    let ws = Workspace::new().component(
        Manager,
        &[
            migration(A, None, "create users", "26.8.0"),
            migration(B, Some(A), "add email", "26.8.0"),
            migration(M, Some(A), "add sessions", "26.9.0"),
        ],
    );
    enable_head_file(&ws);
    write_head_txt(&ws, Manager, &format!("{B}\n"));
    ws.db_at(Manager, A);

    let r = db_migrate(&ws, &["fix-heads", "--yes", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let c = component_json(&doc, Manager);
    let merge = c["merge"]["revision"].as_str().unwrap();
    assert_eq!(c["head_file"]["head"], merge, "{doc:#}");
    assert_eq!(c["head_file"]["written"], true, "{doc:#}");
    assert!(
        r.stderr.contains(&format!(
            "  rewrite  {}: {B} -> {merge}\n",
            head_txt(Manager)
        )),
        "the plan shows it: {}",
        r.shown
    );
    assert_eq!(read_head_txt(&ws, Manager), format!("{merge}\n"));
    let check = db_migrate(&ws, &["check", "--no-lint"]);
    assert!(!check.stdout.contains("head-file"), "{}", check.shown);
}
