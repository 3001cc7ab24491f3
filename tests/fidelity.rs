//! Fidelity on Backend.AI's real tree: what a first-time user and a long-lived checkout see.

mod harness;

use harness::*;
use Component::Manager;

#[test]
fn a_fresh_manager_database_in_a_backend_ai_checkout_leads_with_schema_oneshot() {
    let chain = linear_chain("os", 2);
    let ws = Workspace::new().component(Manager, &chain);

    let plain = db_migrate(&ws, &["status"]);
    assert!(
        plain
            .stdout
            .contains("  next     db-migrate upgrade --component manager"),
        "without ./backend.ai, upgrade comes first: {}",
        plain.shown
    );

    ws.write_file(
        "backend.ai",
        "#!/bin/sh\nexec ./py -m ai.backend.cli \"$@\"\n",
    );
    let r = db_migrate(&ws, &["status"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout
            .contains("  next     ./backend.ai mgr schema oneshot   (creates the schema from the models and stamps head"),
        "{}",
        r.shown
    );
    assert!(
        r.stdout
            .contains("or db-migrate upgrade --component manager\n"),
        "upgrade stays the alternative: {}",
        r.shown
    );
}

#[test]
fn a_long_pending_list_is_capped_in_text_and_complete_in_json() {
    let chain = linear_chain("lp", 15);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[0].id());

    let r = db_migrate(&ws, &["status"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(r.stdout.contains("  pending  14\n"), "{}", r.shown);
    let listed: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("           "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|id| id.starts_with("lp"))
        .collect();
    assert_eq!(listed, ids(&chain[1..11]), "the first ten: {}", r.shown);
    assert!(
        r.stdout.contains(
            "           … 4 more (--format json, or db-migrate history --component manager, lists them all)\n"
        ),
        "{}",
        r.shown
    );

    let doc = db_migrate(&ws, &["status", "--format", "json"]).json();
    assert_eq!(
        strings(&component_json(&doc, Manager)["pending"]),
        ids(&chain[1..])
    );
}

#[test]
fn a_data_migration_under_sql_is_named_as_needing_the_database() {
    let chain = vec![
        rev("od0000000001", None, "create accounts"),
        rev("od0000000002", Some("od0000000001"), "backfill quotas").upgrade_body(
            "rows = op.get_bind().execute(sa.text(\"SELECT 1\")).fetchall()\nfor _ in rows:\n    pass",
        ),
    ];
    let ws = Workspace::new().component(Manager, &chain);

    let r = db_migrate(&ws, &["upgrade", "--sql"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "error: migration od0000000001 -> od0000000002 (\"backfill quotas\", {}/alembic/versions/od0000000002_backfill_quotas.py) cannot be rendered as SQL offline: it reads from the database",
            Manager.package_dir()
        )),
        "{}",
        r.shown
    );
    assert!(r.stderr.contains("without --sql"), "{}", r.shown);
    // Online, the same migration runs.
    let online = db_migrate(&ws, &["upgrade"]);
    assert_eq!(online.code, Some(0), "{}", online.shown);
}

#[test]
fn a_revision_id_in_two_files_is_reported_with_both_files_by_either_engine() {
    let dup = rev("d1d1d1d1d1d1", None, "again").file_name_override("zz_copy_of_accounts.py");
    let ws = Workspace::new().component(
        Manager,
        &[rev("d1d1d1d1d1d1", None, "create accounts"), dup],
    );
    for engine in ["auto", "native", "alembic"] {
        let r = db_migrate(&ws, &["status", "--engine", engine]);
        assert_eq!(r.code, Some(1), "{engine}: {}", r.shown);
        let versions = format!("{}/alembic/versions", Manager.package_dir());
        assert!(
            r.stderr.contains(&format!(
                "error: revision d1d1d1d1d1d1 of manager is defined in 2 files: {versions}/d1d1d1d1d1d1_create_accounts.py, {versions}/zz_copy_of_accounts.py"
            )),
            "{engine}: {}",
            r.shown
        );
    }
}

#[test]
fn a_numeric_revision_id_is_named_with_its_file_and_line() {
    let bad = rev("n1n1n1n1n1n1", None, "numeric id").raw(
        "\"\"\"numeric id\"\"\"\nrevision = 123\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n",
    );
    let ws = Workspace::new().component(Manager, &[bad]);
    let r = db_migrate(&ws, &["status"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "{}/alembic/versions/n1n1n1n1n1n1_numeric_id.py:2: revision must be a string",
            Manager.package_dir()
        )),
        "{}",
        r.shown
    );
    assert!(!r.shown.contains("computed"), "{}", r.shown);
}

#[test]
fn an_empty_versions_directory_says_no_scripts_were_found() {
    let ws = Workspace::new().component(Manager, &[]);
    for engine in ["auto", "alembic"] {
        let r = db_migrate(&ws, &["status", "--engine", engine]);
        assert_eq!(r.code, Some(1), "{engine}: {}", r.shown);
        assert!(
            r.stderr.contains(&format!(
                "error: no migration scripts were found for manager in {}/alembic/versions",
                Manager.package_dir()
            )),
            "{engine}: {}",
            r.shown
        );
        assert!(
            !r.shown.contains("db-migrate upgrade"),
            "no loop: {}",
            r.shown
        );
    }
}

/// Python's answer to `code` (run with the harness venv's interpreter).
fn python_says(python: &std::path::Path, code: &str) -> String {
    let out = std::process::Command::new(python)
        .args(["-c", code])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", output_text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn scripts_installed_into_site_packages_are_read_natively_and_located_once() {
    let chain = linear_chain("sp", 3);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[0].id());

    // Install the models package into a venv's site-packages, as a wheel would, and point ./py at
    // that venv (no PYTHONPATH=src any more). The harness venv's packages come in through a .pth.
    let venv = ws.root().join("venv");
    let made = std::process::Command::new(venv_python())
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", output_text(&made));
    let site = python_says(
        &venv.join("bin/python"),
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
    );
    let harness_site = python_says(
        &venv_python(),
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
    );
    std::fs::write(format!("{site}/harness.pth"), format!("{harness_site}\n")).unwrap();
    std::fs::rename(ws.root().join("src/ai"), format!("{site}/ai")).unwrap();
    ws.write_file(
        "py",
        &format!(
            "#!/usr/bin/env bash\necho call >> \"$(dirname \"$0\")/launcher-calls.log\"\nexec \"{}\" \"$@\"\n",
            venv.join("bin/python").display()
        ),
    );
    let calls = || {
        std::fs::read_to_string(ws.root().join("launcher-calls.log"))
            .unwrap_or_default()
            .lines()
            .count()
    };

    let r = db_migrate(&ws, &["status", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(r.json()["components"][0]["engine"], "native", "{}", r.shown);
    assert_eq!(
        strings(&r.json()["components"][0]["pending"]),
        ids(&chain[1..])
    );
    assert!(!r.stderr.contains("Alembic engine"), "{}", r.shown);
    assert_eq!(
        calls(),
        1,
        "the launcher was asked once where the package is"
    );
    assert!(ws.root().join(".db-migrate/import-bases.json").is_file());
    assert_eq!(
        ws.read_file(".db-migrate/.gitignore").lines().last(),
        Some("*")
    );

    // Later runs read the cached answer: no Python at all.
    let again = db_migrate(&ws, &["status"]);
    assert_eq!(again.code, Some(0), "{}", again.shown);
    assert_eq!(calls(), 1, "{}", again.shown);

    // Alembic, run through the same launcher, finds the package there too.
    let up = db_migrate(&ws, &["upgrade"]);
    assert_eq!(up.code, Some(0), "{}", up.shown);
    assert_eq!(ws.db_revisions(Manager), vec![chain[2].id().to_string()]);
}

#[test]
fn when_auto_falls_back_to_alembic_it_says_why_without_v() {
    let computed = "\"\"\"add email\"\"\"\nrevision = 'fb00000000b2'\ndown_revision = 'fb00' + '000000a1'\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n";
    let ws = Workspace::new().component(
        Manager,
        &[
            rev("fb00000000a1", None, "create users"),
            rev("fb00000000b2", Some("fb00000000a1"), "add email").raw(computed),
        ],
    );
    let r = db_migrate(&ws, &["status"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stderr.contains("manager: using the Alembic engine: ")
            && r.stderr
                .contains("down_revision is computed, not a literal")
            && r.stderr.contains("takes seconds"),
        "{}",
        r.shown
    );
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.shown);
}

#[test]
fn a_config_that_is_a_directory_or_binary_is_named_for_what_it_is() {
    let ws = Workspace::new().component(Manager, &linear_chain("cf", 1));
    let ini = ws.ini_path(Manager);

    std::fs::write(&ini, [0xff_u8, 0xfe, 0x00, 0x9c, 0x12, 0x80, 0x0a]).unwrap();
    let r = db_migrate(&ws, &["status"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains("alembic.ini is not a text file"),
        "{}",
        r.shown
    );
    assert!(!r.stderr.contains("permission"), "{}", r.shown);

    std::fs::remove_file(&ini).unwrap();
    std::fs::create_dir(&ini).unwrap();
    let r = db_migrate(&ws, &["status"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr
            .contains("alembic.ini is a directory, not an Alembic config file"),
        "{}",
        r.shown
    );
    assert!(!r.stderr.contains("does not exist"), "{}", r.shown);
}
