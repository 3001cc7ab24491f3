//! Issue 9, "never report success that did not happen", for what db-migrate reads from the
//! config and the machine: a `sqlalchemy.url` is read exactly or refused with its ini line (never
//! a default port in place of a wrong one), `--wait` waits the whole time it was given, and
//! `--backup` dumps stay out of git and private.
//!
//! Everything runs the real binary against the real Alembic and a throwaway PostgreSQL cluster.

mod harness;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::*;
use Component::Manager;

/// The line of `sqlalchemy.url` in the harness's ini.
const URL_LINE: usize = 13;

/// Make `./py` leave a mark whenever it starts, so a test can tell that Alembic never ran.
fn mark_python_runs(ws: &Workspace) -> std::path::PathBuf {
    let marker = ws.root().join("python-ran");
    let py = ws.read_file("py");
    let (shebang, rest) = py.split_once('\n').unwrap();
    ws.write_file(
        "py",
        &format!("{shebang}\ntouch '{}'\n{rest}", marker.display()),
    );
    std::fs::set_permissions(ws.root().join("py"), std::fs::Permissions::from_mode(0o755)).unwrap();
    marker
}

/// The manager's current URL with its host and port replaced by `authority`.
fn url_with(ws: &Workspace, authority: &str) -> String {
    let url = ws.db_url(Manager);
    let at = url.rfind('@').expect("a URL with userinfo") + 1;
    let end = at + url[at..].find('/').expect("a URL with a database");
    format!("{}{authority}{}", &url[..at], &url[end..])
}

/// A refused config: exit 1, `error: PATH:LINE: sqlalchemy.url: PROBLEM`, the cause and a fix
/// that ends with the command to rerun; in JSON, kind `config-bad-url`.
fn assert_refused(r: &Run, place: &str, problem: &str, rerun: &str) {
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let all = format!("{}{}", r.stdout, r.stderr);
    if r.stdout.trim_start().starts_with('{') {
        let e = &r.json()["error"];
        assert_eq!(e["kind"], "config-bad-url", "{}", r.shown);
        assert_eq!(
            e["message"],
            format!("{place}: sqlalchemy.url: {problem}"),
            "{}",
            r.shown
        );
        assert!(e["fix"].as_str().unwrap().ends_with(rerun), "{}", r.shown);
    } else {
        assert!(
            all.contains(&format!("error: {place}: sqlalchemy.url: {problem}\n")),
            "expected error: {place}: sqlalchemy.url: {problem}\n{}",
            r.shown
        );
        assert!(
            all.contains("cause: db-migrate reads sqlalchemy.url exactly as written"),
            "{}",
            r.shown
        );
        assert!(
            all.lines()
                .any(|l| l.starts_with("fix: ") && l.ends_with(rerun)),
            "{}",
            r.shown
        );
    }
}

#[test]
fn a_port_out_of_range_is_refused_by_every_command_and_engine_before_anything_runs() {
    // Situation: a typo in the port. The native engine used to connect to 5432 instead and
    // report whatever database answered there.
    let chain = linear_chain("tp", 2);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, "head");
    ws.set_db_url(Manager, &url_with(&ws, "127.0.0.1:99999"));
    let marker = mark_python_runs(&ws);
    let place = format!("{}:{URL_LINE}", ws.ini_path(Manager).display());

    for args in [
        &["status"][..],
        &["status", "--check"],
        &["status", "--engine", "native"],
        &["status", "--engine", "alembic"],
        &["status", "--all", "--format", "json"],
        &["current", "--engine", "alembic"],
        &["heads"],
        &["upgrade"],
        &["downgrade", "-1", "--yes", "--backup"],
        &["--wait", "5", "status"],
    ] {
        let r = db_migrate(&ws, args);
        assert_refused(
            &r,
            &place,
            "the port 99999 is out of range (1-65535)",
            "db-migrate status --component manager",
        );
        assert!(r
            .shown
            .contains("write the server's port, a number from 1 to 65535"));
    }
    assert!(!marker.exists(), "Alembic was started");
    assert!(
        !ws.root().join(".db-migrate").exists(),
        "a backup was attempted"
    );
    assert_eq!(ws.db_revisions(Manager), vec![chain[1].id().to_string()]);

    // Not a number, and zero: the same, naming the part without quoting what may be a password.
    ws.set_db_url(Manager, &url_with(&ws, "127.0.0.1:54x2"));
    let r = db_migrate(&ws, &["status"]);
    assert_refused(
        &r,
        &place,
        "the port is not a number (is the host missing, or a ':' out of place?)",
        "db-migrate status --component manager",
    );
    ws.set_db_url(Manager, &url_with(&ws, "127.0.0.1:0"));
    let r = db_migrate(&ws, &["status", "--check"]);
    assert_refused(
        &r,
        &place,
        "the port 0 is out of range (1-65535)",
        "db-migrate status --component manager",
    );
    assert!(!marker.exists(), "Alembic was started");
}

#[test]
fn a_port_without_a_host_is_refused_and_a_socket_directory_is_read_exactly() {
    // Situation: `@:PORT/` — the native engine used to read localhost:PORT and call the
    // database up-to-date, while the drivers look for a Unix socket.
    let chain = linear_chain("th", 2);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, "head");
    let port = postgres().port;
    ws.set_db_url(Manager, &url_with(&ws, &format!(":{port}")));
    let place = format!("{}:{URL_LINE}", ws.ini_path(Manager).display());

    for args in [&["status", "--check"][..], &["status", "--format", "json"]] {
        let r = db_migrate(&ws, args);
        assert_refused(
            &r,
            &place,
            &format!("the URL gives the port {port} but no host"),
            "db-migrate status --component manager",
        );
        assert!(r.shown.contains("?host=/var/run/postgresql"), "{}", r.shown);
    }

    // With the socket directory as ?host=, both engines read the one server the URL names.
    let socket = postgres().socket_dir.display().to_string();
    ws.set_db_url(
        Manager,
        &format!("{}?host={socket}", url_with(&ws, &format!(":{port}"))),
    );
    for engine in ["native", "alembic"] {
        let r = db_migrate(&ws, &["status", "--check", "--engine", engine]);
        assert_eq!(r.code, Some(0), "{engine}: {}", r.shown);
        assert!(
            r.stdout.contains("manager (alembic.ini): up-to-date"),
            "{engine}: {}",
            r.shown
        );
    }
}

#[test]
fn url_options_are_read_as_the_drivers_read_them_or_refused() {
    let chain = linear_chain("tq", 2);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[0].id());
    let port = postgres().port;
    let place = format!("{}:{URL_LINE}", ws.ini_path(Manager).display());
    let base = ws.db_url(Manager);

    // ?port= wins over the URL's port in the drivers, and so it does natively.
    ws.set_db_url(
        Manager,
        &format!(
            "{}?port={port}",
            url_with(&ws, &format!("127.0.0.1:{}", dead_port()))
        ),
    );
    for engine in ["native", "alembic"] {
        let r = db_migrate(&ws, &["status", "--engine", engine, "--format", "json"]);
        assert_eq!(r.code, Some(0), "{engine}: {}", r.shown);
        assert_eq!(component_json(&r.json(), Manager)["state"], "behind");
    }

    for (query, problem) in [
        (
            "?port=abc",
            "the option port=abc is not a number".to_owned(),
        ),
        (
            "?sslmode=disable&port=99999",
            "the option port=99999 is out of range (1-65535)".to_owned(),
        ),
        (
            "?dbname=postgres",
            "the option dbname= changes the database the drivers connect to".to_owned(),
        ),
        (
            "?host=127.0.0.1&host=localhost",
            "the URL names more than one host (?host=…)".to_owned(),
        ),
        (
            "?connect_timeout=soon",
            "the option connect_timeout=soon is not a whole number of seconds".to_owned(),
        ),
    ] {
        ws.set_db_url(Manager, &format!("{base}{query}"));
        for args in [&["status"][..], &["upgrade", "--format", "json"]] {
            let r = db_migrate(&ws, args);
            assert_refused(
                &r,
                &place,
                &problem,
                "db-migrate status --component manager",
            );
        }
    }
    assert_eq!(ws.db_revisions(Manager), vec![chain[0].id().to_string()]);
}

#[test]
fn a_config_path_ini_is_refused_with_the_line_of_the_wrong_part() {
    // Situation: --config with the URL on a continuation line, after `%(here)s` and `%%`
    // interpolation on earlier lines and in the same value.
    let chain = linear_chain("tc", 1);
    let ws = Workspace::new().component(Manager, &chain);
    let harness_ini = ws.read_file(Manager.ini());
    let url_line = format!("sqlalchemy.url = {}\n", ws.db_url(Manager));
    assert!(harness_ini.contains(&url_line), "{harness_ini}");
    assert!(harness_ini.contains("%%(rev)s"), "{harness_ini}");
    let ini = |value: &str| {
        harness_ini.replace(
            &url_line,
            &format!("here_is = %(here)s\nsqlalchemy.url = {value}\n"),
        )
    };
    let config = ws.root().join("conf/trust.ini").display().to_string();
    let rerun = "db-migrate status --config conf/trust.ini";

    // The wrong part on a continuation line, after interpolations on that line.
    ws.write_file(
        "conf/trust.ini",
        &ini(&format!(
            "{}\n    ?application_name=at%%20%(here)s&port=70000",
            ws.db_url(Manager)
        )),
    );
    for args in [
        &["status", "--config", "conf/trust.ini"][..],
        &["upgrade", "--config", "conf/trust.ini", "--format", "json"],
    ] {
        let r = db_migrate(&ws, args);
        assert_refused(
            &r,
            &format!("{config}:{}", URL_LINE + 2),
            "the option port=70000 is out of range (1-65535)",
            rerun,
        );
    }

    // The URL on the line after the key: configparser keeps the line break and SQLAlchemy
    // cannot read it, so neither does db-migrate.
    ws.write_file(
        "conf/trust.ini",
        &ini(&format!("\n    {}", ws.db_url(Manager))),
    );
    let r = db_migrate(&ws, &["status", "--config", "conf/trust.ini"]);
    assert_refused(
        &r,
        &format!("{config}:{}", URL_LINE + 1),
        "the URL starts on the line after the key, which SQLAlchemy does not read",
        rerun,
    );
    assert!(ws.db_revisions(Manager).is_empty());

    // A valid URL in the same ini is read the same way by db-migrate and Alembic.
    ws.write_file(
        "conf/trust.ini",
        &ini(&format!("{}?ssl=disable", ws.db_url(Manager))),
    );
    for engine in ["native", "alembic"] {
        let r = db_migrate(
            &ws,
            &["status", "--config", "conf/trust.ini", "--engine", engine],
        );
        assert_eq!(r.code, Some(0), "{engine}: {}", r.shown);
        assert!(r.stdout.contains("no-revision"), "{engine}: {}", r.shown);
    }
}

#[test]
fn wait_waits_the_whole_time_it_was_given() {
    // Situation: CI starts PostgreSQL and runs `db-migrate --wait 3`; it used to give up after
    // 1.5 s while saying "within 3s".
    let ws = Workspace::new().component(Manager, &linear_chain("tw", 1));
    ws.set_db_port(Manager, dead_port());

    let started = Instant::now();
    let r = db_migrate(&ws, &["--wait", "3", "status"]);
    let took = started.elapsed();
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(took >= Duration::from_secs(3), "gave up after {took:?}");
    // A refused connection fails at once, so only the schedule itself can take longer.
    assert!(
        took < Duration::from_millis(4500),
        "overslept: {took:?}\n{}",
        r.shown
    );
    assert!(
        r.stderr
            .contains("manager: waiting up to 3s for the database to accept connections"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains("did not accept connections within 3s"),
        "{}",
        r.shown
    );
}

fn git(root: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", output_text(&out));
    stdout_of(&out)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The backup file `upgrade --backup` reported.
fn backup_path(r: &Run) -> std::path::PathBuf {
    let line = r
        .stdout
        .lines()
        .chain(r.stderr.lines())
        .find(|l| l.trim_start().starts_with("backup "))
        .unwrap_or_else(|| panic!("no backup line:\n{}", r.shown));
    line.trim_start().trim_start_matches("backup").trim().into()
}

#[test]
fn backups_stay_out_of_git_and_private() {
    // Situation: `db-migrate upgrade --backup` in a checkout, then `git add -A`.
    let chain = linear_chain("tg", 2);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[0].id());
    let root = ws.root();
    git(root, &["init", "-q"]);

    let r = db_migrate(&ws, &["upgrade", "--backup"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let dump = backup_path(&r);
    assert!(
        dump.starts_with(root.join(".db-migrate/backups")),
        "{}",
        dump.display()
    );
    assert!(dump.is_file());

    let status = git(root, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(!status.contains(".db-migrate"), "{status}");
    git(root, &["add", "-A"]);
    let staged = git(root, &["diff", "--cached", "--name-only"]);
    assert!(!staged.contains(".db-migrate"), "{staged}");
    assert!(staged.contains("alembic.ini"), "{staged}");

    assert_eq!(mode(&root.join(".db-migrate")), 0o700);
    assert_eq!(mode(&root.join(".db-migrate/backups")), 0o700);
    assert_eq!(mode(&dump), 0o600);
    let ignore = ws.read_file(".db-migrate/.gitignore");
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
}

#[test]
fn an_existing_backup_directory_is_made_private_and_its_gitignore_kept() {
    // Situation: backups made by an older db-migrate (directory 0755, no .gitignore of ours)
    // and a .gitignore the user wrote there.
    let chain = linear_chain("tk", 2);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[0].id());
    let root = ws.root();
    git(root, &["init", "-q"]);
    let own = "# mine\nbackups/\n";
    ws.write_file(".db-migrate/.gitignore", own);
    ws.write_file(".db-migrate/backups/old.dump", "old");
    for dir in [".db-migrate", ".db-migrate/backups"] {
        std::fs::set_permissions(root.join(dir), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    let r = db_migrate(&ws, &["upgrade", "--backup"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(ws.read_file(".db-migrate/.gitignore"), own);
    assert_eq!(mode(&root.join(".db-migrate")), 0o700);
    assert_eq!(mode(&root.join(".db-migrate/backups")), 0o700);
    assert_eq!(mode(&backup_path(&r)), 0o600);
    let status = git(root, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(!status.contains("backups"), "{status}");
}
