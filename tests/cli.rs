//! The command line itself: usage errors (exit 2), workspace and config errors, `--help`, the
//! choice of Python launcher, and failures in JSON. Most of these run no Python at all.

mod harness;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use harness::*;
use serde_json::Value;
use Component::Manager;

// ---------------------------------------------------------------------------------------------
// Helpers (local to this file).

/// The binary in `dir` (no workspace needed), with the same clean environment as `ws.cmd()`.
fn bare_cmd(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin_path());
    cmd.current_dir(dir)
        .env_remove("DB_MIGRATE_PYTHON")
        .env_remove("PYTHONPATH")
        .env_remove("VIRTUAL_ENV")
        .env("NO_COLOR", "1");
    cmd
}

/// Replace `./py` with one that appends its arguments to `py-launches.log` at the root, then
/// runs the venv's Python like the harness's `./py`. Returns the log's path.
fn install_logging_py(ws: &Workspace) -> PathBuf {
    let log = ws.root().join("py-launches.log");
    ws.write_file(
        "py",
        &format!(
            "#!/usr/bin/env bash\n\
             printf '%s\\n' \"$*\" >> '{log}'\n\
             PYTHONPATH=\"{root}/src${{PYTHONPATH:+:$PYTHONPATH}}\" exec \"{python}\" \"$@\"\n",
            log = log.display(),
            root = ws.root().display(),
            python = venv_python().display(),
        ),
    );
    fs::set_permissions(ws.root().join("py"), fs::Permissions::from_mode(0o755)).unwrap();
    log
}

/// Without `./py`, the packages under src/ are importable only through PYTHONPATH (in a real
/// checkout they are installed into the venv); `./py` normally adds it.
fn src_path(ws: &Workspace) -> PathBuf {
    ws.root().join("src")
}

// ---------------------------------------------------------------------------------------------
// Usage errors: exit 2, before anything runs.

#[test]
fn unknown_component_is_a_usage_error_listing_the_valid_ones() {
    // Situation: a typo in --component, for every subcommand that takes one.
    let dir = tempfile::tempdir().unwrap();
    for sub in [
        "status",
        "upgrade",
        "downgrade",
        "migrate",
        "current",
        "heads",
        "history",
    ] {
        let r = run(bare_cmd(dir.path()).args([sub, "--component", "manger"]));
        assert_eq!(r.code, Some(2), "[{sub}]\n{}", r.shown);
        assert!(
            r.stderr.contains("'manger'") && r.stderr.contains("manager, accountmgr, appproxy"),
            "[{sub}] names the bad value and the valid ones:\n{}",
            r.shown
        );
        assert_eq!(r.stdout, "", "[{sub}]");
    }
}

#[test]
fn conflicting_component_selectors_are_usage_errors() {
    // Situation: --component, --all and --config each select configs; only one may be given.
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["status", "--all", "--component", "appproxy"],
        vec!["status", "--all", "--config", "alembic.ini"],
        vec![
            "upgrade",
            "--component",
            "manager",
            "--config",
            "alembic.ini",
        ],
    ] {
        let r = run(bare_cmd(dir.path()).args(&args));
        assert_eq!(r.code, Some(2), "{args:?}\n{}", r.shown);
        assert!(
            r.stderr.contains("cannot be used with"),
            "{args:?}\n{}",
            r.shown
        );
    }
}

#[test]
fn invalid_targets_are_rejected_before_anything_runs() {
    // Situation: the manager database is in the middle of its history (so both directions would
    // have work to do); targets that are not Alembic targets, some of them shell-shaped.
    let chain = linear_chain("m", 3);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[1].id());
    let launches = install_logging_py(&ws);

    let targets = [
        "head; rm -rf /",
        "a b",
        "$(id)",
        "+0",
        "",
        "../etc",
        "head`id`",
        "x@",
    ];
    for t in targets {
        for args in [
            vec!["upgrade", t],
            vec!["downgrade", t, "--yes"],
            vec!["migrate", "--target", t],
            vec![
                "migrate",
                "--direction",
                "downgrade",
                "--target",
                t,
                "--yes",
            ],
        ] {
            let r = db_migrate(&ws, &args);
            assert_eq!(r.code, Some(2), "{args:?}\n{}", r.shown);
            assert!(r.stderr.contains("invalid target"), "{args:?}\n{}", r.shown);
            assert_eq!(r.stdout, "", "{args:?}");
        }
    }

    // Nothing ran: no Python was started, and the database is where it was.
    assert!(
        !launches.exists(),
        "./py was started:\n{}",
        fs::read_to_string(&launches).unwrap_or_default()
    );
    assert_eq!(ws.db_revisions(Manager), [chain[1].id()]);
    assert!(ws.has_table(Manager, &chain[1].table()));
    assert!(!ws.has_table(Manager, &chain[2].table()));
}

#[test]
fn minus_one_is_a_downgrade_target_not_a_flag() {
    // Situation: the manager is at head; stdin is a pipe (no terminal), no --yes.
    let chain = linear_chain("m", 3);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, "head");

    for args in [
        vec!["downgrade", "-1"],
        vec!["downgrade", "--component", "manager", "-2"],
        vec!["migrate", "--direction", "downgrade", "--target", "-1"],
    ] {
        let r = db_migrate(&ws, &args);
        assert_eq!(r.code, Some(2), "{args:?}\n{}", r.shown);
        assert!(
            !r.stderr.contains("unexpected argument"),
            "{args:?}: -N must parse as a target:\n{}",
            r.shown
        );
        assert!(
            r.stderr.contains("needs confirmation") && r.stderr.contains("--yes"),
            "{args:?}: asks for --yes:\n{}",
            r.shown
        );
        assert!(
            r.stdout.contains(chain[2].id()),
            "{args:?}: shows the plan:\n{}",
            r.shown
        );
        assert_eq!(
            ws.db_revisions(Manager),
            [chain[2].id()],
            "{args:?}: nothing changed"
        );
    }
    assert!(ws.has_table(Manager, &chain[2].table()));

    // With --yes, -1 is one step down.
    let yes = db_migrate(&ws, &["downgrade", "-1", "--yes"]);
    assert_eq!(yes.code, Some(0), "{}", yes.shown);
    assert_eq!(ws.db_revisions(Manager), [chain[1].id()]);
    assert!(!ws.has_table(Manager, &chain[2].table()));
}

// ---------------------------------------------------------------------------------------------
// Workspace and config errors.

#[test]
fn no_workspace_names_alembic_ini_and_suggests_dash_c() {
    // Situation: run from an empty directory, far from any checkout.
    let dir = tempfile::tempdir().unwrap();

    let r = run(bare_cmd(dir.path()).arg("status"));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.starts_with("error: "), "{}", r.shown);
    assert!(
        r.stderr.contains("alembic.ini"),
        "names the file it looked for:\n{}",
        r.shown
    );
    assert!(r.stderr.contains("-C DIR"), "suggests -C:\n{}", r.shown);
    assert_eq!(r.stdout, "");

    let j = run(bare_cmd(dir.path()).args(["--format", "json", "upgrade"]));
    assert_eq!(j.code, Some(1), "{}", j.shown);
    let doc = j.json();
    assert_eq!(doc["error"]["kind"], "no-workspace", "{doc:#}");
    assert!(
        doc["error"]["fix"].as_str().unwrap().contains("-C DIR"),
        "{doc:#}"
    );
    assert_eq!(j.stderr, "", "JSON mode: the failure is on stdout only");

    // -C naming a directory that does not exist is a usage error.
    let missing = dir.path().join("no-such-checkout");
    let c = run(bare_cmd(dir.path()).args(["-C", missing.to_str().unwrap(), "status"]));
    assert_eq!(c.code, Some(2), "{}", c.shown);
    assert!(c.stderr.contains("no-such-checkout"), "{}", c.shown);
}

#[test]
fn missing_config_names_the_file_and_component_and_the_cp_fix() {
    // Situation: a checkout with only alembic.ini; the other inis were never copied from the
    // halfstack templates. Nothing here needs Python or a database.
    let ws = Workspace::new();
    ws.write_file("alembic.ini", "[alembic]\n");

    // Without a template: the file and the component are named, install-dev.sh is suggested.
    let r = db_migrate(&ws, &["status", "--component", "appproxy"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.starts_with("error: appproxy ") && r.stderr.contains("alembic-appproxy.ini"),
        "names the component and the file:\n{}",
        r.shown
    );
    assert!(r.stderr.contains("install-dev.sh"), "{}", r.shown);

    // With the halfstack templates in configs/: the exact cp command.
    ws.write_file(
        "configs/app-proxy-coordinator/halfstack.alembic.ini",
        "[alembic]\n",
    );
    ws.write_file(
        "configs/account-manager/halfstack.alembic.ini",
        "[alembic]\n",
    );
    for (args, cp) in [
        (
            vec!["status", "--component", "appproxy"],
            "cp configs/app-proxy-coordinator/halfstack.alembic.ini alembic-appproxy.ini",
        ),
        (
            vec!["upgrade", "--component", "appproxy"],
            "cp configs/app-proxy-coordinator/halfstack.alembic.ini alembic-appproxy.ini",
        ),
        (
            vec!["history", "--component", "accountmgr"],
            "cp configs/account-manager/halfstack.alembic.ini alembic-accountmgr.ini",
        ),
    ] {
        let r = db_migrate(&ws, &args);
        assert_eq!(r.code, Some(1), "{args:?}\n{}", r.shown);
        let fix = r
            .stderr
            .lines()
            .find(|l| l.starts_with("fix: "))
            .unwrap_or_else(|| panic!("{args:?}: no fix line\n{}", r.shown));
        assert!(fix.starts_with(&format!("fix: {cp}")), "{args:?}: {fix}");
    }

    let j = db_migrate(
        &ws,
        &["status", "--component", "appproxy", "--format", "json"],
    );
    assert_eq!(j.code, Some(1), "{}", j.shown);
    let doc = j.json();
    assert_eq!(doc["error"]["kind"], "config-missing", "{doc:#}");
    assert!(
        doc["error"]["fix"].as_str().unwrap().starts_with(
            "cp configs/app-proxy-coordinator/halfstack.alembic.ini alembic-appproxy.ini"
        ),
        "{doc:#}"
    );
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("alembic-appproxy.ini"));
}

// ---------------------------------------------------------------------------------------------
// --help

#[test]
fn help_shows_the_exit_code_table() {
    // Situation: a user (or a CI author) wants to know what the exit codes mean.
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--help", "-h"] {
        let r = run(bare_cmd(dir.path()).arg(flag));
        assert_eq!(r.code, Some(0), "{}", r.shown);
        let table = r
            .stdout
            .split_once("Exit codes:\n")
            .unwrap_or_else(|| panic!("[{flag}] no exit code table:\n{}", r.stdout))
            .1;
        let row = |code: &str| {
            table
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{code} ")))
                .unwrap_or_else(|| panic!("[{flag}] no row for {code}:\n{table}"))
                .to_owned()
        };
        assert!(row("0").contains("success"), "[{flag}] {}", row("0"));
        assert!(row("1").contains("failed"), "[{flag}] {}", row("1"));
        assert!(row("2").contains("usage"), "[{flag}] {}", row("2"));
        assert!(row("3").contains("--check"), "[{flag}] {}", row("3"));
    }
}

// ---------------------------------------------------------------------------------------------
// The Python launcher: ./py, else --python, else DB_MIGRATE_PYTHON.

// The launcher tests read status with `--engine alembic`: the native engine starts no Python.
#[test]
fn without_py_the_python_flag_is_used() {
    // Situation: a checkout without ./py (e.g. not a pants checkout).
    let ws = Workspace::new().component(Manager, &linear_chain("m", 2));
    fs::remove_file(ws.root().join("py")).unwrap();
    let python = venv_python();

    let r = run(ws.cmd().env("PYTHONPATH", src_path(&ws)).args([
        "--python",
        python.to_str().unwrap(),
        "status",
        "--engine",
        "alembic",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.starts_with("manager (alembic.ini): no-revision\n"),
        "{}",
        r.shown
    );

    // A ./py that is not executable is not a launcher either.
    ws.write_file("py", "#!/bin/sh\nexit 99\n");
    fs::set_permissions(ws.root().join("py"), fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(ws.cmd().env("PYTHONPATH", src_path(&ws)).args([
        "status",
        "--engine",
        "alembic",
        "--python",
        python.to_str().unwrap(),
    ]));
    assert_eq!(
        r.code,
        Some(0),
        "non-executable ./py must be skipped:\n{}",
        r.shown
    );

    // A launcher that does not exist: exit 1, and the fix names the ways to choose one.
    let r = run(ws.cmd().args([
        "--python",
        "/nonexistent/bin/python3",
        "status",
        "--engine",
        "alembic",
    ]));
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains("/nonexistent/bin/python3"), "{}", r.shown);
    assert!(
        r.stderr.contains("--python") && r.stderr.contains("DB_MIGRATE_PYTHON"),
        "{}",
        r.shown
    );
}

#[test]
fn without_py_db_migrate_python_is_used() {
    // Situation: no ./py; the launcher comes from the environment.
    let ws = Workspace::new().component(Manager, &linear_chain("m", 2));
    fs::remove_file(ws.root().join("py")).unwrap();
    let python = venv_python();

    let r = run(ws
        .cmd()
        .env("PYTHONPATH", src_path(&ws))
        .env("DB_MIGRATE_PYTHON", &python)
        .args(["status", "--engine", "alembic"]));
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.starts_with("manager (alembic.ini): no-revision\n"),
        "{}",
        r.shown
    );

    // --python beats DB_MIGRATE_PYTHON.
    let r = run(ws
        .cmd()
        .env("PYTHONPATH", src_path(&ws))
        .env("DB_MIGRATE_PYTHON", "/nonexistent/bin/python3")
        .args([
            "--python",
            python.to_str().unwrap(),
            "status",
            "--engine",
            "alembic",
        ]));
    assert_eq!(r.code, Some(0), "{}", r.shown);
}

#[test]
fn py_at_the_root_is_preferred_over_python_flag_and_env() {
    // Situation: the checkout has ./py (Backend.AI's launcher); --python and DB_MIGRATE_PYTHON
    // point at nothing and must be ignored.
    let ws = Workspace::new().component(Manager, &linear_chain("m", 2));
    let launches = install_logging_py(&ws);

    let r = run(ws
        .cmd()
        .env("DB_MIGRATE_PYTHON", "/nonexistent/env/python3")
        .args([
            "--python",
            "/nonexistent/flag/python3",
            "status",
            "--engine",
            "alembic",
        ]));
    assert_no_secret(&r.shown, &ws);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.starts_with("manager (alembic.ini): no-revision\n"),
        "{}",
        r.shown
    );
    let log = fs::read_to_string(&launches).expect("./py was not started");
    let mut lines: Vec<&str> = log.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "-m alembic -c alembic.ini current",
            "-m alembic -c alembic.ini history --verbose"
        ],
        "./py runs `-m alembic -c <ini> …`"
    );
}

/// `--python` names an existing interpreter even when its path holds a space (a value that is
/// not a file, such as `uv run python`, is split into a command line instead).
#[test]
fn python_flag_with_a_space_in_the_path() {
    // Situation: the venv lives in a directory with a space in its name.
    let ws = Workspace::new().component(Manager, &linear_chain("m", 2));
    fs::remove_file(ws.root().join("py")).unwrap();
    let dir = ws.root().join("my venv/bin");
    fs::create_dir_all(&dir).unwrap();
    let python = dir.join("python");
    fs::write(
        &python,
        format!("#!/bin/sh\nexec '{}' \"$@\"\n", venv_python().display()),
    )
    .unwrap();
    fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();
    // Precondition: that path is a working Python with Alembic.
    let direct = std::process::Command::new(&python)
        .args(["-c", "import alembic"])
        .output()
        .unwrap();
    assert!(direct.status.success(), "{}", output_text(&direct));

    let r = run(ws.cmd().env("PYTHONPATH", src_path(&ws)).args([
        "--python",
        python.to_str().unwrap(),
        "status",
        "--engine",
        "alembic",
    ]));
    assert_eq!(
        r.code,
        Some(0),
        "an existing interpreter path must be usable as --python even with a space in it:\n{}",
        r.shown
    );
    assert!(
        r.stdout.starts_with("manager (alembic.ini): no-revision\n"),
        "{}",
        r.shown
    );
}

// ---------------------------------------------------------------------------------------------
// Failures in JSON.

#[test]
fn failures_with_format_json_are_json_on_stdout() {
    // Situation: PostgreSQL is unreachable for the manager; one config is missing.
    let ws = Workspace::new().component(Manager, &linear_chain("m", 2));
    ws.set_db_port(Manager, dead_port());

    // status: the top-level "error" next to "components".
    let s = db_migrate(&ws, &["--format", "json", "status"]);
    assert_eq!(s.code, Some(1), "{}", s.shown);
    assert_eq!(s.stderr, "", "JSON mode: nothing on stderr\n{}", s.shown);
    let doc = s.json();
    assert_eq!(doc["components"][0]["component"], "manager", "{doc:#}");
    assert_eq!(
        doc["components"][0]["error"]["kind"], "connection-refused",
        "{doc:#}"
    );
    let err = &doc["error"];
    assert_eq!(err["kind"], "connection-refused", "{doc:#}");
    for key in ["message", "cause", "fix"] {
        assert!(
            err[key].as_str().is_some_and(|v| !v.is_empty()),
            "error.{key}: {doc:#}"
        );
    }
    assert!(
        err["fix"].as_str().unwrap().contains("alembic.ini"),
        "{doc:#}"
    );

    // upgrade: the same failure, as JSON.
    let u = db_migrate(&ws, &["upgrade", "--format", "json"]);
    assert_eq!(u.code, Some(1), "{}", u.shown);
    assert_eq!(
        u.json()["error"]["kind"],
        "connection-refused",
        "{}",
        u.shown
    );

    // A failure before any component runs: {"error": {...}} alone.
    let h = db_migrate(
        &ws,
        &["history", "--component", "appproxy", "--format", "json"],
    );
    assert_eq!(h.code, Some(1), "{}", h.shown);
    let doc = h.json();
    assert_eq!(doc["error"]["kind"], "config-missing", "{doc:#}");
    for key in ["message", "cause", "fix"] {
        assert!(doc["error"][key].is_string(), "error.{key}: {doc:#}");
    }
}

/// Usage errors caught by the argument parser (bad target, unknown component) are JSON on stdout
/// when `--format json` was given, so a CI step parsing stdout always gets JSON.
#[test]
fn usage_errors_with_format_json_are_json_on_stdout() {
    // Situation: a CI script always passes --format json and parses stdout.
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--format", "json", "upgrade", "head; rm -rf /"],
        vec!["--format", "json", "status", "--component", "manger"],
    ] {
        let r = run(bare_cmd(dir.path()).args(&args));
        assert_eq!(r.code, Some(2), "{args:?}\n{}", r.shown);
        let doc: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: expected a JSON error on stdout ({e}):\n{}",
                r.shown
            )
        });
        for key in ["kind", "message", "cause", "fix"] {
            assert!(
                doc["error"][key].is_string(),
                "{args:?}: error.{key}: {doc:#}"
            );
        }
    }
}

/// With `--format github`, a usage error the parser caught keeps clap's text on stderr and adds
/// one `::error` on stdout, so the workflow shows why the step failed; `--format github` on a
/// command other than check and verify is itself a usage error, said as text.
#[test]
fn usage_errors_with_format_github_annotate_and_format_github_is_for_check_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(bare_cmd(dir.path()).args(["--format=github", "check", "--bogus"]));
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(
        r.stderr
            .starts_with("error: unexpected argument '--bogus' found\n"),
        "{}",
        r.shown
    );
    assert!(r.stderr.contains("Usage: "), "{}", r.shown);
    assert_eq!(
        r.stdout,
        "::error title=db-migrate usage::unexpected argument '--bogus' found (fix: db-migrate --help)\n",
        "{}",
        r.shown
    );
    let r =
        run(bare_cmd(dir.path()).args(["check", "--component", "manger", "--format", "github"]));
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(
        r.stderr
            .contains("  tip: a similar value exists: 'manager'\n"),
        "{}",
        r.shown
    );
    assert_eq!(
        r.stdout,
        "::error title=db-migrate usage::invalid value 'manger' for '--component <COMPONENT>' (fix: possible values: manager, accountmgr, appproxy; a similar value exists: 'manager'; db-migrate --help)\n",
        "{}",
        r.shown
    );

    let r = run(bare_cmd(dir.path()).args(["status", "--format", "github"]));
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert_eq!(r.stdout, "", "{}", r.shown);
    assert_eq!(
        r.stderr,
        "error: --format github is for check and verify\ncause: invalid command line\nfix: use --format text or --format json with this command\n"
    );
}

/// An argument that is not UTF-8 is a usage error like any other (it used to panic, exit 101,
/// when the parser rejected the command line).
#[test]
fn a_command_line_that_is_not_utf8_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"\xff");
    let r = run(bare_cmd(dir.path()).arg(bad));
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(
        r.stderr.starts_with("error: unrecognized subcommand"),
        "{}",
        r.shown
    );
    let r = run(bare_cmd(dir.path()).args(["--format", "json"]).arg(bad));
    assert_eq!(r.code, Some(2), "{}", r.shown);
    let doc: Value = serde_json::from_str(&r.stdout).expect(&r.shown);
    assert_eq!(doc["error"]["kind"], "usage", "{doc:#}");
}

#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Anywhere: no workspace needed.
    let script = run(bare_cmd(dir.path()).args(["completions", "bash"]));
    assert_eq!(script.code, Some(0), "{}", script.shown);
    let file = dir.path().join("db-migrate.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p db-migrate",
            file.display()
        ))
        .output()
        .expect("bash runs");
    let shown = output_text(&loaded);
    assert!(loaded.status.success(), "{shown}");
    assert!(shown.contains("db-migrate"), "{shown}");
    // Component names complete: they are in the script as possible values.
    assert!(script.stdout.contains("accountmgr"), "{}", script.shown);

    let man = run(bare_cmd(dir.path()).arg("man"));
    assert_eq!(man.code, Some(0), "{}", man.shown);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH db-migrate"),
        "{}",
        man.shown
    );
    assert!(
        man.stdout.contains("fix\\-heads") || man.stdout.contains("fix-heads"),
        "{}",
        man.shown
    );
}
