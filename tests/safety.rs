//! Safe runs: --dry-run changes nothing, one db-migrate at a time per database (advisory lock),
//! --wait for a database that is not up yet, and Ctrl-C leaving a consistent database behind.

mod harness;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::*;

/// A chain whose every step takes `sleep` seconds inside the migration transaction.
fn slow_chain(prefix: &str, n: usize, sleep: f64) -> Vec<Rev> {
    linear_chain(prefix, n)
        .into_iter()
        .map(|r| {
            let table = r.table();
            r.upgrade_body(&format!(
                "op.execute(\"SELECT pg_sleep({sleep})\")\nop.create_table(\"{table}\", sa.Column(\"id\", sa.Integer(), primary_key=True))"
            ))
        })
        .collect()
}

fn spawn(ws: &Workspace, args: &[&str]) -> std::process::Child {
    let mut cmd = ws.std_cmd();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("db-migrate starts")
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let chain = linear_chain("dr", 3);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, chain[0].id());

    let out = ws.cmd().args(["upgrade", "--dry-run"]).output().unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("plan     apply 2 revisions"), "{text}");
    assert!(
        text.contains(chain[1].id()) && text.contains(chain[2].id()),
        "{text}"
    );
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[0].id().to_string()]
    );

    // A dry-run downgrade needs no confirmation: it only shows what would be reverted.
    ws.db_at(Component::Manager, chain[2].id());
    let out = ws
        .cmd()
        .args(["downgrade", "-2", "--dry-run"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("plan     revert 2 revisions"), "{text}");
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[2].id().to_string()]
    );
    assert!(ws.has_table(Component::Manager, &chain[2].table()));
}

#[test]
fn two_upgrades_of_a_fresh_database_take_turns_and_both_succeed() {
    // Situation: two CI jobs run `db-migrate upgrade` on the same fresh database at once. Bare
    // Alembic would fail one of them (both create alembic_version and the same tables).
    let chain = slow_chain("tw", 4, 0.3);
    let ws = Workspace::new().component(Component::Manager, &chain);

    let first = spawn(&ws, &["upgrade"]);
    std::thread::sleep(Duration::from_millis(150));
    let second = spawn(&ws, &["upgrade"]);
    let (a, b) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    let (ta, tb) = (output_text(&a), output_text(&b));
    assert_eq!(a.status.code(), Some(0), "first:\n{ta}\nsecond:\n{tb}");
    assert_eq!(b.status.code(), Some(0), "first:\n{ta}\nsecond:\n{tb}");
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[3].id().to_string()]
    );
    // One of them waited for the other and then found nothing to do.
    let both = format!("{ta}\n{tb}");
    assert!(
        both.contains("another db-migrate is migrating this database; waiting"),
        "{both}"
    );
    assert!(both.contains("already there: nothing to run"), "{both}");
}

#[test]
fn a_second_run_gives_up_after_the_lock_timeout_and_changes_nothing() {
    let chain = slow_chain("lt", 2, 3.0);
    let ws = Workspace::new().component(Component::Manager, &chain);

    let first = spawn(&ws, &["upgrade"]);
    std::thread::sleep(Duration::from_millis(1200));
    let started = Instant::now();
    let out = ws
        .cmd()
        .args(["upgrade", "--lock-timeout", "1"])
        .output()
        .unwrap();
    let waited = started.elapsed();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error: another db-migrate still holds the manager migration lock after 1s"),
        "{text}"
    );
    assert!(text.contains("fix: wait for it"), "{text}");
    assert!(waited < Duration::from_secs(5), "gave up after {waited:?}");
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", output_text(&first));
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[1].id().to_string()]
    );
}

#[test]
fn wait_gives_up_with_the_connection_row_when_the_database_never_comes() {
    let ws = Workspace::new().component(Component::Manager, &linear_chain("wt", 1));
    ws.set_db_port(Component::Manager, dead_port());

    let started = Instant::now();
    let out = ws.cmd().args(["--wait", "2", "status"]).output().unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "did not wait: {:?}",
        started.elapsed()
    );
    assert!(
        text.contains("waiting up to 2s for the database to accept connections"),
        "{text}"
    );
    assert!(
        text.contains("did not accept connections within 2s"),
        "{text}"
    );
    assert!(
        text.contains("is PostgreSQL listening on 127.0.0.1:"),
        "{text}"
    );
    assert_no_secret(&text, &ws);

    // A database that is up passes at once.
    let ws = Workspace::new().component(Component::Manager, &linear_chain("wu", 1));
    let out = ws.cmd().args(["--wait", "30", "status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
}

/// Tables of the chain that exist, as a prefix length of the chain.
fn tables_present(ws: &Workspace, chain: &[Rev]) -> Vec<bool> {
    chain
        .iter()
        .map(|r| ws.has_table(Component::Manager, &r.table()))
        .collect()
}

#[test]
fn interrupted_upgrades_leave_a_consistent_database_and_no_alembic_behind() {
    // Situation: Ctrl-C (SIGINT, as a terminal sends it) at various moments of a real upgrade.
    let chain = slow_chain("ir", 6, 0.15);
    let ws = Workspace::new().component(Component::Manager, &chain);
    let delays_ms = [120u64, 400, 800, 1100, 1500, 2100, 250, 950];
    let mut stopped_alembic = 0;
    for delay in delays_ms {
        // Start from base each time.
        let _ = ws.alembic(Component::Manager, &["downgrade", "base"]);
        let child = spawn(&ws, &["upgrade"]);
        let pid = child.id() as i32;
        std::thread::sleep(Duration::from_millis(delay));
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        let out = child.wait_with_output().unwrap();
        let text = output_text(&out);
        let code = out.status.code();
        assert!(
            code == Some(130) || code == Some(0),
            "delay {delay} ms: exit {code:?}\n{text}"
        );
        if code == Some(130) {
            if text.contains("database: the database is at") {
                stopped_alembic += 1;
                assert!(text.contains("upgrade of manager interrupted"), "{text}");
            }
            // Either Alembic was running (it was stopped, and db-migrate says where the database
            // is) or nothing was being applied at that moment.
            assert!(
                text.contains("database: the database is at")
                    || text.contains("no Alembic command was running"),
                "{text}"
            );
        }
        // Consistency: the version row names exactly the last revision whose table exists.
        let present = tables_present(&ws, &chain);
        let applied = present.iter().take_while(|p| **p).count();
        assert!(
            present[applied..].iter().all(|p| !p),
            "delay {delay}: tables {present:?}"
        );
        let expected: Vec<String> = if applied == 0 {
            vec![]
        } else {
            vec![chain[applied - 1].id().to_string()]
        };
        assert_eq!(
            ws.db_revisions(Component::Manager),
            expected,
            "delay {delay} ms\n{text}"
        );
        // No Alembic left running from this workspace.
        let leftover = Command::new("pgrep")
            .args(["-f", &ws.root().display().to_string()])
            .output()
            .unwrap();
        assert!(
            leftover.stdout.is_empty(),
            "delay {delay}: processes left: {}",
            String::from_utf8_lossy(&leftover.stdout)
        );
    }
    assert!(
        stopped_alembic >= 3,
        "only {stopped_alembic} of {} runs stopped a running Alembic",
        delays_ms.len()
    );
}

#[test]
fn a_downgrade_shows_what_it_destroys_and_who_is_connected() {
    // Situation: the newest migration's downgrade drops a table, drops a column in a batch and
    // deletes rows; a web UI is connected to the database.
    let downgrade = "op.drop_table(\"keypairs\")\n\
                     with op.batch_alter_table(\"users\") as batch_op:\n    batch_op.drop_column(\"email\")\n\
                     op.execute(\"DELETE FROM audit_log WHERE kind = 'keypair'\")";
    let chain = vec![
        rev("aa0000000001", None, "create users"),
        rev(
            "aa0000000002",
            Some("aa0000000001"),
            "add keypairs and email",
        )
        .upgrade_body(
            "op.create_table(\"keypairs\", sa.Column(\"id\", sa.Integer(), primary_key=True))",
        )
        .downgrade_body(downgrade),
    ];
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");
    let pg = postgres();
    let mut webui = Command::new("psql")
        .args([
            "-h",
            &pg.socket_dir.display().to_string(),
            "-p",
            &pg.port.to_string(),
            "-U",
            "postgres",
        ])
        .args([
            "-d",
            &ws.db_name(Component::Manager),
            "-c",
            "SELECT pg_sleep(20)",
        ])
        .env("PGAPPNAME", "webui")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));

    let out = ws.cmd().args(["downgrade", "--dry-run"]).output().unwrap();
    let _ = webui.kill();
    let _ = webui.wait();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let file = chain[1].file_name();
    // Line numbers come from the file the harness wrote.
    let src = ws.read_file(&format!(
        "{}/{file}",
        ws.versions_dir(Component::Manager)
            .strip_prefix(ws.root())
            .unwrap()
            .display()
    ));
    let line_of = |needle: &str| src.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for (needle, what) in [
        (
            "op.drop_table(\"keypairs\")",
            "drops table keypairs".to_string(),
        ),
        (
            "batch_op.drop_column",
            "drops column users.email".to_string(),
        ),
        (
            "DELETE FROM audit_log",
            "executes DELETE FROM audit_log WHERE kind = 'keypair'".to_string(),
        ),
    ] {
        let expected = format!("aa0000000002  {file}:{}  {what}", line_of(needle));
        assert!(text.contains(&expected), "missing `{expected}`:\n{text}");
    }
    assert!(
        text.contains("sessions 1 other connection: webui (stop them before downgrading)"),
        "{text}"
    );

    // JSON carries the same findings.
    let out = ws
        .cmd()
        .args(["--format", "json", "downgrade", "--dry-run"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ops = doc["components"][0]["destructive"].as_array().unwrap();
    assert_eq!(ops.len(), 3, "{doc:#}");
    assert_eq!(ops[0]["operation"], "drops table keypairs");
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec!["aa0000000002".to_string()]
    );
}

#[test]
fn backup_before_a_downgrade_is_a_private_restorable_dump() {
    let chain = linear_chain("bk", 2);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");

    let out = ws
        .cmd()
        .args(["downgrade", "-1", "--yes", "--backup"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_no_secret(&text, &ws);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("backup "))
        .unwrap_or_else(|| panic!("{text}"));
    let path = std::path::PathBuf::from(line.trim_start().trim_start_matches("backup").trim());
    assert!(
        path.starts_with(ws.root().join(".db-migrate/backups")),
        "{}",
        path.display()
    );
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("manager-{}-", chain[1].id())) && name.ends_with(".dump"),
        "{name}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        text.contains("restore  pg_restore --clean --if-exists"),
        "{text}"
    );
    // It is a real custom-format dump holding the table the downgrade dropped.
    let list = Command::new("pg_restore")
        .arg("--list")
        .arg(&path)
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", output_text(&list));
    assert!(String::from_utf8_lossy(&list.stdout).contains(&chain[1].table()));
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[0].id().to_string()]
    );
}

#[test]
fn ctrl_c_during_the_backup_leaves_no_pg_dump_no_partial_dump_and_the_database_as_it_was() {
    let chain = linear_chain("bi", 2);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");
    let head = vec![chain[1].id().to_string()];
    // A pg_dump that takes its time: Ctrl-C comes while it runs.
    let wrapper = slow_pg_dump(ws.root(), 30);
    let backups = ws.root().join(".db-migrate/backups");
    let child = ws
        .std_cmd()
        .args(["downgrade", "-1", "--yes", "--backup"])
        .env("DB_MIGRATE_PG_DUMP", &wrapper)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("db-migrate starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !backups.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        assert!(Instant::now() < deadline, "the backup never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("db-migrate exits");
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert_no_secret(&text, &ws);
    let left: Vec<_> = backups.read_dir().unwrap().flatten().collect();
    assert!(left.is_empty(), "a partial dump was left: {left:?}\n{text}");
    // The wrapper (and the pg_dump it would exec) died with db-migrate.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let running = Command::new("pgrep")
            .args(["-f", &wrapper.to_string_lossy()])
            .output()
            .unwrap();
        if !running.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pg_dump outlived db-migrate: {}",
            String::from_utf8_lossy(&running.stdout)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ws.db_revisions(Component::Manager), head, "{text}");
}

#[test]
fn a_backup_that_cannot_be_made_stops_the_downgrade() {
    let chain = linear_chain("bf", 2);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");
    let head = vec![chain[1].id().to_string()];

    // A path under a regular file cannot be created.
    ws.write_file("not-a-dir", "x");
    let out = ws
        .cmd()
        .args(["downgrade", "--yes", "--backup=not-a-dir/b.dump"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("error: cannot write the backup to"), "{text}");
    assert!(
        text.contains("database: unchanged: the migration did not start"),
        "{text}"
    );
    assert_eq!(ws.db_revisions(Component::Manager), head);

    // No pg_dump.
    let out = ws
        .cmd()
        .env("DB_MIGRATE_PG_DUMP", "/nonexistent/pg_dump")
        .args(["downgrade", "--yes", "--backup"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("--backup needs pg_dump")
            && text.contains("apt-get install postgresql-client"),
        "{text}"
    );
    assert_eq!(ws.db_revisions(Component::Manager), head);
    assert!(ws.has_table(Component::Manager, &chain[1].table()));
}

#[test]
fn sql_prints_the_offline_sql_of_the_plan_and_changes_nothing() {
    let chain = linear_chain("sq", 3);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, chain[0].id());

    // Upgrade: only the pending revisions, from where the database is.
    let out = ws.cmd().args(["upgrade", "--sql"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(
        stdout.contains(&format!("CREATE TABLE {}", chain[1].table())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("CREATE TABLE {}", chain[2].table())),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&format!("CREATE TABLE {}", chain[0].table())),
        "{stdout}"
    );
    assert!(
        !stdout.contains("plan "),
        "the plan goes to stderr: {stdout}"
    );
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[0].id().to_string()]
    );
    assert!(!ws.has_table(Component::Manager, &chain[1].table()));

    // Downgrade: db-migrate builds the from:to range Alembic's offline mode needs; no --yes
    // is needed because nothing runs.
    ws.db_at(Component::Manager, chain[2].id());
    let out = ws
        .cmd()
        .args(["downgrade", "-1", "--sql"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(
        stdout.contains(&format!("DROP TABLE {}", chain[2].table())),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&format!("DROP TABLE {}", chain[1].table())),
        "{stdout}"
    );
    assert!(ws.has_table(Component::Manager, &chain[2].table()));
    assert_no_secret(&output_text(&out), &ws);
}

#[test]
fn quiet_prints_only_the_final_state() {
    let chain = linear_chain("qq", 2);
    let ws = Workspace::new().component(Component::Manager, &chain);

    let out = ws.cmd().args(["upgrade", "-q"]).output().unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "manager (alembic.ini): up-to-date\n  current  {h}\n  head     {h}\n  pending  0\n  next     nothing to do\n",
            h = chain[1].id()
        )
    );
    assert!(out.stderr.is_empty(), "{text}");
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[1].id().to_string()]
    );

    // Errors still show.
    let out = ws
        .cmd()
        .args(["upgrade", "-q", "ffffffffffff"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("error: manager has no revision 'ffffffffffff'"),
        "{text}"
    );
}

#[test]
fn on_a_terminal_an_upgrade_shows_a_progress_bar_that_is_cleared_at_the_end() {
    let chain = slow_chain("pb", 3, 0.4);
    let ws = Workspace::new().component(Component::Manager, &chain);

    let (code, screen) = on_terminal(&ws, &["upgrade"], "");
    assert_eq!(code, Some(0), "{screen}");
    // The bar counted the plan's revisions, showing the running one, and was erased (ESC[2K)
    // before the final state was printed.
    assert!(screen.contains("0/3 revisions"), "{screen}");
    assert!(screen.contains("2/3 revisions"), "{screen}");
    let running_third = screen.split("2/3 revisions  ").skip(1).any(|rest| {
        let secs = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        secs.len() < rest.len() && secs.starts_with(&format!("s  {}", chain[2].id()))
    });
    assert!(
        running_third,
        "elapsed time and the running revision: {screen}"
    );
    let final_state = screen
        .find("manager (alembic.ini): up-to-date")
        .expect("final state");
    let last_erase = screen.rfind("\x1b[2K").expect("the bar is erased");
    assert!(last_erase < final_state, "{screen}");
    for r in &chain {
        assert!(
            screen.contains(&format!("-> {}", r.id())),
            "step line kept: {screen}"
        );
    }
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[2].id().to_string()]
    );

    // Without a terminal: the plain lines, no bar.
    ws.db_at(Component::Manager, chain[0].id());
    let r = db_migrate(&ws, &["downgrade", "base", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let r = db_migrate(&ws, &["upgrade"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(!r.shown.contains("revisions  "), "{}", r.shown);
    assert!(!r.shown.contains('\x1b'), "{}", r.shown);
    assert_eq!(r.stdout.matches("  upgrade   ").count(), 3, "{}", r.shown);
}

#[test]
fn on_a_terminal_a_downgrade_asks_first() {
    let chain = linear_chain("tq", 2);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");

    let (code, screen) = on_terminal(&ws, &["downgrade"], "n\n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("drops table"), "{screen}");
    assert!(screen.contains("Continue? [y/N]"), "{screen}");
    assert!(
        screen.contains("downgrade cancelled; nothing was changed"),
        "{screen}"
    );
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[1].id().to_string()]
    );

    let (code, screen) = on_terminal(&ws, &["downgrade"], "y\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains(&format!("downgrade {} -> {}", chain[1].id(), chain[0].id())),
        "{screen}"
    );
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[0].id().to_string()]
    );
}
