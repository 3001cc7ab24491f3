//! `sync` after a branch switch, in real git repositories with real Alembic and PostgreSQL: the
//! revisions the database is at that this checkout lacks are found in git (the branch, or the
//! reflog once the branch is deleted), walked back with their own files, then main's head
//! applied, with the work tree left as it was.

mod harness;

use harness::*;
use Component::Manager;

const A: &str = "a1a1a1a1a1a1"; // main's base
const F1: &str = "f1f1f1f1f1f1"; // the feature's first migration
const F2: &str = "f2f2f2f2f2f2"; // the feature's second, where the database is
const M: &str = "c4c4c4c4c4c4"; // main moved on meanwhile

/// main: A. feature: F1 → F2 on A, the database upgraded to F2. Back on main, which gained M on A.
fn switched() -> Workspace {
    switched_with(rev(F2, Some(F1), "add keypair index"))
}

/// [`switched`] with the feature's second migration `f2`.
fn switched_with(f2: Rev) -> Workspace {
    let ws = Workspace::new().component(Manager, &[rev(A, None, "create users")]);
    let root = ws.root().to_path_buf();
    ws.write_file(".gitignore", "__pycache__/\n");
    git(&root, &["init", "-q", "-b", "main"]);
    commit_all(&root, "base");
    git(&root, &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(Manager, &[rev(F1, Some(A), "add keypairs"), f2]);
    commit_all(&root, "my migrations");
    ws.db_at(Manager, F2);
    git(&root, &["checkout", "-q", "main"]);
    ws.add_revisions(Manager, &[rev(M, Some(A), "add sessions")]);
    commit_all(&root, "main's migration");
    ws
}

fn porcelain(ws: &Workspace) -> String {
    git(ws.root(), &["status", "--porcelain", "--ignored=no"])
}

fn tables(ws: &Workspace) -> [bool; 3] {
    [F1, F2, M].map(|id| ws.has_table(Manager, &format!("t_{id}")))
}

#[test]
fn a_revision_in_no_commit_is_refused_with_nothing_changed() {
    let ws = switched();
    // Written and applied, never committed, then deleted: no commit holds it.
    const X: &str = "e9e9e9e9e9e9";
    ws.add_revisions(Manager, &[rev(X, Some(M), "scratch work")]);
    ws.alembic_ok(Manager, &["stamp", "--purge", A]);
    ws.db_at(Manager, X);
    ws.remove_revision(Manager, X);
    let status = porcelain(&ws);
    let r = db_migrate(&ws, &["sync", "--component", "manager", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains(X), "{}", r.shown);
    assert!(
        r.stderr.contains("revision-not-in-git") || r.stderr.contains("no branch"),
        "{}",
        r.shown
    );
    assert!(r.stderr.contains("stamp --purge"), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), [X]);
    assert_eq!(porcelain(&ws), status);
}

#[test]
fn without_a_terminal_the_walk_back_needs_yes() {
    let ws = switched();
    let r = db_migrate(&ws, &["sync", "--component", "manager"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(r.stderr.contains("--yes"), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), [F2]);
}

#[test]
fn status_names_the_branch_and_points_at_sync() {
    let ws = switched();
    let r = db_migrate(&ws, &["status", "--component", "manager"]);
    assert!(r.stdout.contains("branch feature"), "{}", r.shown);
    assert!(r.stdout.contains("db-migrate sync"), "{}", r.shown);
    let r = db_migrate(
        &ws,
        &["--format", "json", "status", "--component", "manager"],
    );
    let c = component_json(&r.json(), Manager).clone();
    assert!(
        c["next"].as_str().unwrap().contains("db-migrate sync"),
        "{c:#}"
    );
    assert_eq!(c["found_in_git"][0]["revision"], F2, "{c:#}");
    assert_eq!(c["found_in_git"][0]["branch"], "feature", "{c:#}");
}

#[test]
fn upgrade_in_the_unknown_revision_state_points_at_sync_before_running_alembic() {
    let ws = switched();
    let r = db_migrate(&ws, &["upgrade", "--component", "manager"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains("db-migrate sync"), "{}", r.shown);
    assert!(r.stderr.contains("branch feature"), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), [F2]);
}

#[test]
fn the_dry_run_plans_the_walk_back_and_mains_revision_and_changes_nothing() {
    let ws = switched();
    let status = porcelain(&ws);
    let r = db_migrate(&ws, &["sync", "--component", "manager", "--dry-run"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    for expected in [
        &format!("missing  {F2}"),
        &format!("missing  {F1}"),
        "from branch feature",
        "revert 2 revisions",
        "apply 1 revision",
        M,
        &format!("t_{F2}"),
        "dry run: nothing was changed",
    ] {
        assert!(r.stdout.contains(expected), "{expected}: {}", r.shown);
    }
    assert_eq!(ws.db_revisions(Manager), [F2]);
    assert_eq!(tables(&ws), [true, true, false]);
    assert_eq!(porcelain(&ws), status);
}

#[test]
fn sync_lands_at_mains_head_with_the_features_tables_gone_and_the_work_tree_untouched() {
    let ws = switched();
    let status = porcelain(&ws);
    let r = db_migrate(&ws, &["sync", "--component", "manager", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), [M]);
    assert_eq!(tables(&ws), [false, false, true]);
    assert_eq!(porcelain(&ws), status);
    assert!(r.stdout.contains("up-to-date"), "{}", r.shown);
    // Nothing left to do the second time.
    let r = db_migrate(&ws, &["sync", "--component", "manager", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(r.stdout.contains("nothing to run"), "{}", r.shown);
}

#[test]
fn after_the_branch_is_deleted_the_reflog_still_has_the_files_json() {
    let ws = switched();
    git(ws.root(), &["branch", "-q", "-D", "feature"]);
    let status = porcelain(&ws);
    let r = db_migrate(
        &ws,
        &[
            "--format",
            "json",
            "sync",
            "--component",
            "manager",
            "--yes",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let c = component_json(&doc, Manager);
    assert_eq!(c["state"], "up-to-date", "{c:#}");
    assert_eq!(strings(&c["current"]), [M]);
    let found = c["found_in_git"].as_array().unwrap();
    assert_eq!(found.len(), 2, "{c:#}");
    assert_eq!(found[0]["revision"], F2);
    assert!(found[0].get("branch").is_none(), "{c:#}");
    assert_eq!(c["applied"].as_array().unwrap().len(), 3, "{c:#}");
    assert_eq!(c["applied"][0]["direction"], "downgrade");
    assert_eq!(c["applied"][2]["direction"], "upgrade");
    assert_eq!(tables(&ws), [false, false, true]);
    assert_eq!(porcelain(&ws), status);
}

#[test]
fn back_on_the_feature_branch_the_reverse() {
    let ws = switched();
    let r = db_migrate(&ws, &["sync", "--component", "manager", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    git(ws.root(), &["checkout", "-q", "feature"]);
    let status = porcelain(&ws);
    let r = db_migrate(&ws, &["status", "--component", "manager"]);
    assert!(r.stdout.contains("branch main"), "{}", r.shown);
    let r = db_migrate(&ws, &["sync", "--component", "manager", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), [F2]);
    assert_eq!(tables(&ws), [true, true, false]);
    assert_eq!(porcelain(&ws), status);
}

/// `git ARGS` in the workspace: succeeded, and what it printed (hooks print through git's stderr).
fn git_said(ws: &Workspace, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(ws.root())
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("git runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "git {args:?}: {said}");
    said
}

#[test]
fn the_hook_after_a_checkout_names_the_state_and_the_command_and_chains_the_existing_hook() {
    let ws = switched();
    let hooks = ws.root().join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let old = format!(
        "#!/bin/sh\necho \"old hook ran $3\" > '{}'\n",
        ws.root().join(".git/old-hook.log").display()
    );
    let post_checkout = hooks.join("post-checkout");
    std::fs::write(&post_checkout, &old).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&post_checkout, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let r = db_migrate(&ws, &["hooks", "install"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(r.stdout.contains("chained"), "{}", r.shown);

    // The database is at the feature's F2: on the feature branch it matches, nothing is said.
    let said = git_said(&ws, &["checkout", "-q", "feature"]);
    assert!(!said.contains("db-migrate:"), "{said}");
    let said = git_said(&ws, &["checkout", "-q", "main"]);
    assert!(
        said.contains("db-migrate: manager is unknown-revision: db-migrate sync"),
        "{said}"
    );
    assert!(said.contains("branch feature"), "{said}");
    let log = std::fs::read_to_string(ws.root().join(".git/old-hook.log")).unwrap();
    assert_eq!(log, "old hook ran 1\n");
    assert_eq!(ws.db_revisions(Manager), [F2], "the hook only warns");

    let r = db_migrate(&ws, &["hooks", "uninstall"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(std::fs::read_to_string(&post_checkout).unwrap(), old);
    assert!(!hooks.join("post-merge").exists());
}

#[test]
fn the_auto_hook_syncs_when_nothing_would_be_destroyed_and_only_warns_otherwise() {
    let ws = switched();
    let r = db_migrate(&ws, &["hooks", "install", "--auto"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    // Back and forth: the feature's downgrades drop tables, so the hook only warns.
    git_said(&ws, &["checkout", "-q", "feature"]);
    let said = git_said(&ws, &["checkout", "-q", "main"]);
    assert!(
        said.contains("not synced: the walk back destroys data"),
        "{said}"
    );
    assert_eq!(ws.db_revisions(Manager), [F2]);
}

#[test]
fn the_auto_hook_syncs_a_walk_back_that_destroys_nothing() {
    const H: &str = "b5b5b5b5b5b5"; // a feature migration whose downgrade drops nothing
    let ws = Workspace::new().component(Manager, &[rev(A, None, "create users")]);
    let root = ws.root().to_path_buf();
    ws.write_file(".gitignore", "__pycache__/\n");
    git(&root, &["init", "-q", "-b", "main"]);
    commit_all(&root, "base");
    ws.add_revisions(Manager, &[rev(M, Some(A), "add sessions")]);
    commit_all(&root, "main's migration");
    git(&root, &["checkout", "-q", "-b", "feature", "HEAD~1"]);
    ws.add_revisions(
        Manager,
        &[rev(H, Some(A), "comment only")
            .upgrade_body("op.execute(\"COMMENT ON TABLE t_a1a1a1a1a1a1 IS 'x'\")")
            .downgrade_body("pass")],
    );
    commit_all(&root, "harmless migration");
    ws.db_at(Manager, H);
    let r = db_migrate(&ws, &["hooks", "install", "--auto"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let status = porcelain(&ws);
    let said = git_said(&ws, &["checkout", "-q", "main"]);
    assert!(said.contains("syncing"), "{said}");
    assert_eq!(ws.db_revisions(Manager), [M], "{said}");
    assert_eq!(porcelain(&ws), status);
}

#[test]
fn ctrl_c_during_the_walk_back_leaves_a_consistent_revision_and_no_files_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("downgrade-started");
    let ws = switched_with(rev(F2, Some(F1), "add keypair index").downgrade_body(&format!(
        "import pathlib, time\npathlib.Path(r\"{}\").write_text(\"started\")\ntime.sleep(5)\nop.drop_table(\"t_{F2}\")",
        marker.display()
    )));
    let private_tmp = tmp.path().join("tmp");
    std::fs::create_dir(&private_tmp).unwrap();
    let status = porcelain(&ws);
    let child = ws
        .std_cmd()
        .args(["sync", "--component", "manager", "--yes"])
        .env("TMPDIR", &private_tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed().as_secs() < 60,
            "the downgrade never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert!(text.contains("interrupted"), "{text}");
    // PostgreSQL rolled back the unfinished step: still at F2, its table still there.
    assert_eq!(ws.db_revisions(Manager), [F2], "{text}");
    assert_eq!(tables(&ws), [true, true, false]);
    assert_eq!(porcelain(&ws), status);
    let left: Vec<_> = std::fs::read_dir(&private_tmp).unwrap().collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    // And the next sync finishes the job.
    let r = db_migrate(&ws, &["sync", "--component", "manager", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), [M]);
}

#[test]
fn all_syncs_every_component() {
    use Component::Appproxy;
    let ws = Workspace::new()
        .component(Manager, &[rev(A, None, "create users")])
        .component(Appproxy, &[rev(A, None, "create circuits")]);
    let root = ws.root().to_path_buf();
    ws.write_file(".gitignore", "__pycache__/\n");
    git(&root, &["init", "-q", "-b", "main"]);
    commit_all(&root, "base");
    git(&root, &["checkout", "-q", "-b", "feature"]);
    for c in [Manager, Appproxy] {
        ws.add_revisions(c, &[rev(F1, Some(A), "feature work")]);
    }
    commit_all(&root, "my migrations");
    ws.db_at(Manager, F1);
    ws.db_at(Appproxy, F1);
    git(&root, &["checkout", "-q", "main"]);
    ws.add_revisions(Manager, &[rev(M, Some(A), "add sessions")]);
    commit_all(&root, "main's migration");
    let status = porcelain(&ws);
    let r = db_migrate(&ws, &["--format", "json", "sync", "--all", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    assert_eq!(
        component_json(&doc, Manager)["found_in_git"][0]["revision"],
        F1
    );
    assert_eq!(component_json(&doc, Appproxy)["state"], "up-to-date");
    assert_eq!(ws.db_revisions(Manager), [M]);
    assert_eq!(ws.db_revisions(Appproxy), [A]);
    assert_eq!(porcelain(&ws), status);
}

#[test]
fn backup_dumps_the_database_before_the_walk_back() {
    let ws = switched();
    let status = porcelain(&ws);
    let r = db_migrate(
        &ws,
        &["sync", "--component", "manager", "--yes", "--backup"],
    );
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let line = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("backup "))
        .unwrap_or_else(|| panic!("{}", r.shown));
    let path = std::path::PathBuf::from(line.trim_start().trim_start_matches("backup").trim());
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    // Named after where the database was before anything changed.
    assert!(name.starts_with(&format!("manager-{F2}-")), "{name}");
    assert!(path.is_file(), "{}", path.display());
    assert_eq!(ws.db_revisions(Manager), [M]);
    // The dump lives in the ignored .db-migrate/: the work tree still looks the same to git.
    assert_eq!(porcelain(&ws), status);
}
