//! Fidelity on Backend.AI's real tree, around the launcher: a `./py` that fails before Alembic
//! starts, a slow first run of `./py`, a migration that asks a question on stdin, and the usage
//! errors a typo or a wrong `-C` produce.

mod harness;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

// ---------------------------------------------------------------------------------------------
// A migration that asks a question
// ---------------------------------------------------------------------------------------------

/// Like Backend.AI's f8a71c3bffa2 stringify_userid: the answer comes from the environment, or
/// else from input().
fn asking_chain() -> Vec<Rev> {
    vec![
        rev("ak0000000001", None, "create users"),
        rev("ak0000000002", Some("ak0000000001"), "stringify userid").upgrade_body(
            "import os\n\
             print(\"User ids become strings; existing rows can be converted.\")\n\
             choice = os.environ.get(\"DEMO_CHOICE\") or input(\"Convert user ids? [y/n] \")\n\
             if choice.strip() != \"y\":\n\
             \x20   raise SystemExit(\"not converted\")\n\
             op.create_table(\"t_converted\", sa.Column(\"id\", sa.Integer(), primary_key=True))",
        ),
    ]
}

/// The revision file as db-migrate shows it (relative to the root).
fn shown_file(r: &Rev) -> String {
    format!(
        "{}/alembic/versions/{}",
        Manager.package_dir(),
        r.file_name()
    )
}

#[test]
fn a_migration_that_asks_names_its_question_and_the_variable_that_answers_it() {
    let chain = asking_chain();
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[0].id());

    let r = db_migrate(&ws, &["upgrade"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let file = shown_file(&chain[1]);
    assert!(
        r.stderr.contains(&format!(
            "error: migration ak0000000001 -> ak0000000002 (\"stringify userid\", {file}) asks a question and got no answer: \"Convert user ids? [y/n]\"\n  alembic: EOFError: EOF when reading a line\n"
        )),
        "{}",
        r.shown
    );
    // The input() call is line 21 of the generated file (its body starts at line 18 or 19,
    // depending on the file style): name the file and a line in it.
    assert!(
        r.stderr
            .contains(&format!("cause: it calls input() ({file}:")),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains("), and db-migrate runs Alembic with stdin closed; it reads the answer from DEMO_CHOICE when that is set\n"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains(
            "fix: DEMO_CHOICE=ANSWER db-migrate upgrade --component manager head   (ANSWER: your reply to the question; or answer it yourself: db-migrate upgrade --interactive --component manager head)\n"
        ),
        "{}",
        r.shown
    );
    assert!(
        r.stderr
            .contains("database: still at ak0000000001 (nothing was changed)"),
        "{}",
        r.shown
    );
    assert!(!r.stderr.contains("does not recognise"), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), vec!["ak0000000001".to_owned()]);

    let j = db_migrate(&ws, &["--format", "json", "upgrade"]);
    assert_eq!(j.code, Some(1), "{}", j.shown);
    let e = json_error(&j);
    assert_eq!(e["kind"], "migration-asks-input", "{e:#}");
    assert_eq!(
        e["alembic_line"], "EOFError: EOF when reading a line",
        "{e:#}"
    );

    // The answer through the environment, as the fix says.
    let r = run(ws.cmd().env("DEMO_CHOICE", "y").arg("upgrade"));
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), vec!["ak0000000002".to_owned()]);
    assert!(ws.has_table(Manager, "t_converted"));
}

#[test]
fn a_question_without_an_environment_variable_is_answered_interactively() {
    let chain = vec![
        rev("aq0000000001", None, "create users"),
        rev("aq0000000002", Some("aq0000000001"), "ask")
            .upgrade_body("if input() != \"y\":\n    raise SystemExit(\"no\")"),
    ];
    let ws = Workspace::new().component(Manager, &chain);

    let r = db_migrate(&ws, &["upgrade"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "error: migration aq0000000001 -> aq0000000002 (\"ask\", {}) asks a question and got no answer: (input() without a prompt)\n",
            shown_file(&chain[1])
        )),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains(
            "fix: answer it on a terminal: db-migrate upgrade --interactive --component manager head\n"
        ),
        "{}",
        r.shown
    );
    assert!(ws.db_revisions(Manager).is_empty());
}

/// The harness's terminal command, without the variable the asking migration reads.
fn quiet_terminal(ws: &Workspace, args: &[&str]) -> Command {
    let mut cmd = terminal_command(ws, args);
    cmd.env_remove("DEMO_CHOICE");
    cmd
}

fn terminal(ws: &Workspace, args: &[&str]) -> std::process::Child {
    quiet_terminal(ws, args)
        .spawn()
        .expect("script(1) from util-linux runs (apt-get install bsdutils)")
}

/// `db-migrate <args>` on a pseudo-terminal, typing `input`; the exit code and the screen.
fn asked_on_terminal(ws: &Workspace, args: &[&str], input: &str) -> (Option<i32>, String) {
    on_terminal_with(quiet_terminal(ws, args), input)
}

#[test]
fn interactive_hands_the_terminal_to_the_migration() {
    let chain = asking_chain();
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[0].id());

    let (code, screen) = asked_on_terminal(&ws, &["upgrade", "--interactive"], "y\n");
    assert_eq!(code, Some(0), "{screen}");
    // The migration's own words and its prompt were on the terminal.
    assert!(
        screen.contains("User ids become strings; existing rows can be converted."),
        "{screen}"
    );
    assert!(screen.contains("Convert user ids? [y/n] "), "{screen}");
    assert!(
        screen.contains("manager (alembic.ini): up-to-date"),
        "{screen}"
    );
    assert_eq!(ws.db_revisions(Manager), vec!["ak0000000002".to_owned()]);
    assert!(ws.has_table(Manager, "t_converted"));
}

#[test]
fn ctrl_c_at_the_question_stops_the_migration_once_and_says_where_the_database_is() {
    let chain = asking_chain();
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[0].id());

    // -v: Alembic's own output shows how it stopped.
    let mut child = terminal(&ws, &["-v", "upgrade", "--interactive"]);
    let screen = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let screen = Arc::clone(&screen);
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                screen.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        })
    };
    let shown = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    let started = Instant::now();
    while !shown().contains("Convert user ids? [y/n] ") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no prompt: {}",
            shown()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ctrl-C on the terminal: SIGINT to the foreground process group, db-migrate and Alembic.
    // The asyncio env.py takes the first as a cancel its blocked migration does not notice; the
    // second raises KeyboardInterrupt. db-migrate sends nothing of its own (no third SIGINT, no
    // SIGKILL), so Alembic unwinds and rolls back by itself.
    let mut stdin = child.stdin.take().unwrap();
    let mut presses = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(presses < 2, "still running after two Ctrl-C: {}", shown());
        stdin.write_all(b"\x03").unwrap();
        presses += 1;
        let pressed = Instant::now();
        while pressed.elapsed() < Duration::from_secs(3) && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    reader.join().unwrap();
    let screen = shown();
    assert_eq!(status.code(), Some(130), "{screen}");
    // One SIGINT per press: had db-migrate passed the first on as well, one press would do.
    assert_eq!(presses, 2, "{screen}");
    assert!(screen.contains("KeyboardInterrupt"), "{screen}");
    assert!(
        screen.contains("error: upgrade of manager interrupted"),
        "{screen}"
    );
    assert!(
        screen.contains("database: the database is at ak0000000001"),
        "{screen}"
    );
    assert_eq!(ws.db_revisions(Manager), vec!["ak0000000001".to_owned()]);
    assert!(!ws.has_table(Manager, "t_converted"));
}

#[test]
fn interactive_without_a_terminal_is_a_usage_error() {
    let chain = asking_chain();
    let ws = Workspace::new().component(Manager, &chain);

    let r = db_migrate(&ws, &["upgrade", "--interactive"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(
        r.stderr.starts_with(
            "error: --interactive needs a terminal on stdin; nothing was run\ncause: --interactive gives Alembic db-migrate's stdin so a migration can ask a question, and stdin is not a terminal"
        ),
        "{}",
        r.shown
    );
    for args in [
        &["--format", "json", "downgrade", "--interactive", "--yes"][..],
        &["--format", "json", "migrate", "--interactive"][..],
    ] {
        let j = db_migrate(&ws, args);
        assert_eq!(j.code, Some(2), "{args:?}: {}", j.shown);
        assert_eq!(
            json_error(&j)["kind"],
            "interactive-needs-terminal",
            "{}",
            j.shown
        );
    }
    assert!(ws.db_revisions(Manager).is_empty());
}
