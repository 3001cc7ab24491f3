//! Fidelity on Backend.AI's real tree, around the launcher: a `./py` that fails before Alembic
//! starts, a slow first run of `./py`, a migration that asks a question on stdin, and the usage
//! errors a typo or a wrong `-C` produce.

mod harness;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use harness::*;
use serde_json::Value;
use Component::Manager;

/// The `error` object of a `--format json` run.
fn json_error(r: &Run) -> Value {
    r.json()["error"].clone()
}

/// `./py` that first runs `prelude` (shell), then execs the harness's Python like the original.
fn py_with_prelude(ws: &Workspace, prelude: &str) {
    let original = ws.read_file("py");
    let (shebang, rest) = original.split_once('\n').expect("./py has a #! line");
    ws.write_file("py", &format!("{shebang}\n{prelude}\n{rest}"));
}

// ---------------------------------------------------------------------------------------------
// A launcher that fails before Alembic starts
// ---------------------------------------------------------------------------------------------

#[test]
fn a_launcher_that_fails_on_its_own_is_named_with_its_exit_status_and_last_words() {
    let chain = linear_chain("lf", 2);
    let ws = Workspace::new().component(Manager, &chain);
    ws.write_file(
        "py",
        "#!/bin/sh\necho 'pants: resolving python-default' >&2\necho 'pants: export failed' >&2\nexit 3\n",
    );

    // The plan comes from the native engine; the launcher fails when the upgrade runs.
    let r = db_migrate(&ws, &["upgrade"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(
            "error: ./py failed before Alembic started (exit status 3), so alembic upgrade did not run for manager\n  alembic: pants: export failed\n"
        ),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains("cause: the launcher exited without any sign of Python running Alembic; before the line above it printed: pants: resolving python-default\n"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains(
            "fix: fix what ./py reports, then retry; to see it by itself: ./py -m alembic --version\n"
        ),
        "{}",
        r.shown
    );
    assert!(!r.stderr.contains("does not recognise"), "{}", r.shown);
    assert!(ws.db_revisions(Manager).is_empty());

    let j = db_migrate(&ws, &["--format", "json", "upgrade"]);
    assert_eq!(j.code, Some(1), "{}", j.shown);
    assert_eq!(j.json()["error"]["kind"], "launcher-failed", "{}", j.shown);

    // Reading with Alembic fails the same way, and a launcher that prints nothing is named too.
    ws.write_file("py", "#!/bin/sh\nexit 4\n");
    let r = db_migrate(&ws, &["status", "--engine", "alembic"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(
            "error: ./py failed before Alembic started (exit status 4), so alembic history did not run for manager\n"
        ),
        "{}",
        r.shown
    );
    assert!(r.stderr.contains("; it printed nothing\n"), "{}", r.shown);

    // From elsewhere (-C), the command to reproduce it starts with the cd it needs.
    let parent = ws.root().parent().unwrap();
    let name = ws.root().file_name().unwrap().to_str().unwrap();
    let r = run(ws.cmd().current_dir(parent).args(["-C", name, "upgrade"]));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "to see it by itself: cd {name} && ./py -m alembic --version\n"
        )),
        "{}",
        r.shown
    );
}

#[test]
fn the_demo_launcher_failing_to_bootstrap_its_venv_is_a_launcher_failure() {
    // The demo's real ./py, with no Python to build its virtualenv from.
    let chain = linear_chain("dv", 1);
    let ws = Workspace::new().component(Manager, &chain);
    let demo_py = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo/py");
    ws.write_file("py", &fs::read_to_string(demo_py).unwrap());

    let r = run(ws
        .cmd()
        .env("DEMO_PYTHON", "no-such-python3")
        .arg("upgrade"));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr
            .contains("error: ./py failed before Alembic started (exit status 127)"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains(
            "  alembic: demo: error: no-such-python3 not found on PATH: the demo needs Python 3.9+"
        ),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains("; the line above is all it printed\n"),
        "{}",
        r.shown
    );
    assert!(
        !r.stderr.contains("does not recognise") && !r.stderr.contains("has no Alembic"),
        "{}",
        r.shown
    );
}

#[test]
fn a_py_that_is_not_executable_is_reported_not_skipped() {
    let chain = linear_chain("nx", 2);
    let ws = Workspace::new().component(Manager, &chain);
    let py = ws.root().join("py");
    fs::set_permissions(&py, fs::Permissions::from_mode(0o644)).unwrap();

    // Reading natively needs no Python: status still works.
    let r = db_migrate(&ws, &["status"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);

    let r = db_migrate(&ws, &["upgrade"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr
            .contains("error: ./py is not executable, so db-migrate cannot run Alembic with it\n"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains("fix: chmod +x py   (then retry)\n"),
        "{}",
        r.shown
    );
    assert!(ws.db_revisions(Manager).is_empty());
    let j = db_migrate(&ws, &["--format", "json", "upgrade"]);
    assert_eq!(json_error(&j)["kind"], "launcher-failed", "{}", j.shown);

    // An explicit --python still wins, and says that ./py was passed over.
    let python = venv_python();
    let src = ws.root().join("src");
    let r = run(ws.cmd().env("PYTHONPATH", &src).args([
        "--python",
        python.to_str().unwrap(),
        "upgrade",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "note: ./py is not executable, so Alembic runs with {} instead (chmod +x py to use ./py)\n",
            python.display()
        )),
        "{}",
        r.shown
    );
    assert_eq!(ws.db_revisions(Manager), vec![chain[1].id().to_string()]);

    // A #! line with Windows line endings.
    ws.write_file("py", "#!/bin/sh\r\nexec true\r\n");
    fs::set_permissions(&py, fs::Permissions::from_mode(0o755)).unwrap();
    let r = db_migrate(&ws, &["downgrade", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr
            .contains("error: ./py cannot start: it has Windows (CRLF) line endings\n"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr
            .contains("fix: sed -i 's/\\r$//' py   (then retry)\n"),
        "{}",
        r.shown
    );
}

#[test]
fn py_whose_python_lacks_alembic_says_export_not_run_from_the_root() {
    let ws = Workspace::new().component(Manager, &linear_chain("na", 1));
    // Python without site-packages: no Alembic.
    ws.write_file("py", "#!/bin/sh\nexec python3 -S \"$@\"\n");

    let r = db_migrate(&ws, &["upgrade"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr
            .contains("error: ./py runs a Python without Alembic\n"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr
            .contains("fix: pants export --resolve=python-default   (then retry;"),
        "{}",
        r.shown
    );
    assert!(
        !r.stderr.contains("from the Backend.AI root"),
        "{}",
        r.shown
    );
}

// ---------------------------------------------------------------------------------------------
// Usage errors
// ---------------------------------------------------------------------------------------------

#[test]
fn json_usage_errors_keep_clap_s_did_you_mean() {
    let ws = Workspace::new();

    let r = db_migrate(&ws, &["--format", "json", "statsu"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    let e = json_error(&r);
    assert_eq!(e["kind"], "usage", "{e:#}");
    assert_eq!(
        e["fix"], "a similar subcommand exists: 'status'; db-migrate --help",
        "{e:#}"
    );

    let r = db_migrate(&ws, &["--format", "json", "status", "--component", "mangr"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert_eq!(
        json_error(&r)["fix"],
        "possible values: manager, accountmgr, appproxy; a similar value exists: 'manager'; db-migrate --help",
        "{}",
        r.shown
    );

    // Without a tip, --help is the next step as before.
    let r = db_migrate(&ws, &["--format", "json", "upgrade", "a", "b"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert_eq!(json_error(&r)["fix"], "db-migrate --help", "{}", r.shown);
}

#[test]
fn a_missing_workdir_says_the_directory_does_not_exist() {
    let ws = Workspace::new();
    let missing = ws.root().join("no-such-checkout");

    let r = db_migrate(&ws, &["-C", missing.to_str().unwrap(), "status"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert_eq!(
        r.stderr,
        format!(
            "error: -C {}: no such directory\ncause: -C names a directory that does not exist (a typo, or a checkout that was moved or removed)\nfix: pass the path of your Backend.AI checkout\n",
            missing.display()
        ),
        "{}",
        r.shown
    );

    // A file is not a checkout either.
    let r = db_migrate(&ws, &["--format", "json", "-C", "py", "status"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    let e = json_error(&r);
    assert_eq!(e["kind"], "workdir-missing", "{e:#}");
    assert!(
        e["cause"]
            .as_str()
            .unwrap()
            .starts_with("-C names a file, not a directory"),
        "{e:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// A slow first run of the launcher
// ---------------------------------------------------------------------------------------------

#[test]
fn a_slow_launcher_s_own_lines_are_shown_before_alembic_starts() {
    let chain = linear_chain("sl", 2);
    let ws = Workspace::new()
        .component(Manager, &chain)
        .component(Component::Appproxy, &linear_chain("sa", 1));
    // Like the demo's ./py on its first run: it builds a virtualenv, saying so on stderr.
    py_with_prelude(
        &ws,
        "echo 'demo: creating a virtualenv with Alembic (first run only)...' >&2\nsleep 0.3\necho 'demo: virtualenv ready' >&2",
    );

    // Four Alembic calls (current and history of two components): each line shown once, and
    // none of Alembic's own INFO lines.
    let r = db_migrate(&ws, &["status", "--all", "--engine", "alembic"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let launcher_lines: Vec<&str> = r
        .stderr
        .lines()
        .map(|l| {
            l.strip_prefix("manager: ./py: ")
                .or_else(|| l.strip_prefix("appproxy: ./py: "))
                .unwrap_or_else(|| panic!("not a launcher line: {l:?}\n{}", r.shown))
        })
        .collect();
    assert_eq!(
        launcher_lines,
        [
            "demo: creating a virtualenv with Alembic (first run only)...",
            "demo: virtualenv ready"
        ],
        "{}",
        r.shown
    );
    assert!(
        r.stdout.starts_with("manager (alembic.ini): no-revision\n"),
        "{}",
        r.shown
    );

    // An upgrade (planned natively) shows them as Alembic starts; its steps stay as they were.
    let r = db_migrate(&ws, &["upgrade"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(
        r.stderr,
        "manager: ./py: demo: creating a virtualenv with Alembic (first run only)...\nmanager: ./py: demo: virtualenv ready\n",
        "{}",
        r.shown
    );
    assert_eq!(ws.db_revisions(Manager), vec![chain[1].id().to_string()]);

    // JSON keeps stdout to the document; -v relays the lines once, as Alembic's output.
    let j = db_migrate(&ws, &["--format", "json", "status"]);
    assert_eq!(j.code, Some(0), "{}", j.shown);
    assert_eq!(
        j.json()["components"][0]["state"],
        "up-to-date",
        "{}",
        j.shown
    );
    let v = db_migrate(&ws, &["-v", "status", "--engine", "alembic"]);
    assert_eq!(v.code, Some(0), "{}", v.shown);
    assert!(!v.stderr.contains("manager: ./py: "), "{}", v.shown);
    assert!(
        v.stderr
            .contains("[manager current] demo: virtualenv ready\n"),
        "{}",
        v.shown
    );
}
