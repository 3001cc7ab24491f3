//! Never report success that did not happen: output that could not be written is an error (a
//! closed pipe excepted), a hung launcher does not keep a read-only command waiting forever, long
//! migrations show they are alive off a terminal, and `--format json` prints JSON on every exit,
//! interrupts included.

mod harness;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::*;

/// A write end of a pipe whose read end is already closed: every write gets EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two fresh descriptors that nothing else owns.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe(2)");
    // SAFETY: both descriptors were just created and are owned here.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

fn dev_full() -> Stdio {
    Stdio::from(
        File::options()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full"),
    )
}

/// Run to completion with the given stdout; (exit code, stderr).
fn run_with_stdout(ws: &Workspace, args: &[&str], stdout: Stdio) -> (Option<i32>, String) {
    let out = ws
        .std_cmd()
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("db-migrate runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn output_lost_to_a_full_disk_is_exit_1_with_one_line_on_stderr() {
    let chain = linear_chain("fu", 2);
    let ws = Workspace::new()
        .component(Component::Manager, &chain)
        .component(Component::Appproxy, &linear_chain("fa", 1));
    ws.db_at(Component::Manager, chain[0].id());

    for format in ["text", "json"] {
        let (code, stderr) =
            run_with_stdout(&ws, &["status", "--all", "--format", format], dev_full());
        assert_eq!(code, Some(1), "--format {format}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "--format {format}: {stderr}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains("stdout"),
            "{stderr}"
        );
        assert!(lines[0].contains("No space left on device"), "{stderr}");
    }

    // An upgrade whose output is lost still runs to the end, then says the output was lost.
    let (code, stderr) = run_with_stdout(&ws, &["upgrade"], dev_full());
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[1].id().to_string()]
    );

    // A worse code than 1 is kept: `status --check` still says "not up-to-date" (3).
    ws.alembic_ok(Component::Manager, &["downgrade", "-1"]);
    let (code, stderr) = run_with_stdout(&ws, &["status", "--check"], dev_full());
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

#[test]
fn a_closed_pipe_is_a_quiet_success() {
    let chain = linear_chain("cp", 3);
    let ws = Workspace::new()
        .component(Component::Manager, &chain)
        .component(Component::Appproxy, &linear_chain("ca", 1));

    let (code, stderr) = run_with_stdout(&ws, &["status", "--all"], closed_pipe());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "");

    // A migration does not stop half-way because its reader went away (`| head -1`).
    let (code, stderr) = run_with_stdout(&ws, &["upgrade"], closed_pipe());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec![chain[2].id().to_string()]
    );
}

/// `./py` that records its pid (the group leader) and then hangs with a child of its own.
fn hanging_launcher(ws: &Workspace) {
    ws.write_file(
        "py",
        "#!/bin/sh\necho $$ >> \"$(dirname \"$0\")/py.pids\"\nsleep 1000\n",
    );
}

/// Live (not zombie) processes in process group `pgid`, from /proc.
fn live_members(pgid: i32) -> Vec<i32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`; comm may contain spaces, so split after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        if fields.len() > 2 && fields[2].parse() == Ok(pgid) && fields[0] != "Z" {
            members.push(pid);
        }
    }
    members
}

/// The hanging launcher's process groups that still have live processes a moment after
/// db-migrate exited (killing them, so a failing test cleans up after itself).
fn leftover_groups(ws: &Workspace) -> Vec<i32> {
    let pids = std::fs::read_to_string(ws.root().join("py.pids")).unwrap_or_default();
    let groups: Vec<i32> = pids.lines().filter_map(|l| l.trim().parse().ok()).collect();
    // SIGKILLed processes need a moment to die; give them a second.
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let left: Vec<i32> = groups
            .iter()
            .copied()
            .filter(|&g| !live_members(g).is_empty())
            .collect();
        if left.is_empty() || Instant::now() > deadline {
            for &g in &left {
                // SAFETY: kill(2) on a group this test's launcher created.
                unsafe {
                    libc::kill(-g, libc::SIGKILL);
                }
            }
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait for `child` at most `limit`; kill it if it is still running then.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_all(pipe: Option<impl Read>) -> String {
    let mut text = String::new();
    if let Some(mut p) = pipe {
        let _ = p.read_to_string(&mut text);
    }
    text
}

#[test]
fn a_hanging_launcher_is_stopped_after_the_alembic_timeout() {
    let ws = Workspace::new().component(Component::Manager, &linear_chain("hl", 2));
    hanging_launcher(&ws);

    for args in [
        &["status", "--engine", "alembic", "--alembic-timeout", "2"][..],
        // --sql is read-only too (the plan comes from the native engine, the SQL from Alembic).
        &["--alembic-timeout", "2", "upgrade", "--sql"][..],
    ] {
        let started = Instant::now();
        let mut child = ws
            .std_cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("db-migrate starts");
        let status = wait_at_most(&mut child, Duration::from_secs(20));
        let text = format!(
            "{}{}",
            read_all(child.stdout.take()),
            read_all(child.stderr.take())
        );
        let left = leftover_groups(&ws);
        let status = status.unwrap_or_else(|| panic!("{args:?} still running after 20 s\n{text}"));
        assert_eq!(status.code(), Some(1), "{args:?}\n{text}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{args:?} took {:?}",
            started.elapsed()
        );
        assert!(text.contains("did not finish within 2s"), "{text}");
        // The command and the launcher are named, and the next step is given.
        assert!(text.contains("./py -m alembic -c alembic.ini"), "{text}");
        assert!(text.contains("cause: "), "{text}");
        assert!(text.contains("--alembic-timeout"), "{text}");
        assert!(left.is_empty(), "{args:?}: process groups left: {left:?}");
    }

    // JSON names the kind.
    let r = db_migrate(
        &ws,
        &[
            "status",
            "--engine",
            "alembic",
            "--alembic-timeout",
            "1",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert_eq!(r.json()["error"]["kind"], "alembic-timeout", "{}", r.shown);
    assert!(leftover_groups(&ws).is_empty());
}

#[test]
fn a_long_migration_prints_heartbeats_off_a_terminal_and_succeeds() {
    let chain = vec![
        rev("hb0000000001", None, "create accounts"),
        rev("hb0000000002", Some("hb0000000001"), "backfill slowly")
            .upgrade_body("import time\ntime.sleep(4)")
            .downgrade_body("pass"),
    ];
    let ws = Workspace::new().component(Component::Manager, &chain);

    for format in ["text", "json"] {
        let _ = ws.alembic(Component::Manager, &["downgrade", "base"]);
        let r = run(ws
            .cmd()
            .args(["upgrade", "--format", format])
            .env("DB_MIGRATE_HEARTBEAT_SECS", "1"));
        assert_eq!(r.code, Some(0), "{}", r.shown);
        let beats: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.contains("still running"))
            .collect();
        assert!(beats.iter().all(|l| l.contains("elapsed")), "{}", r.shown);
        // (A slow start may add one before the first step: "no revision started yet".)
        let naming = beats.iter().filter(|l| l.contains("hb0000000002")).count();
        assert!(naming >= 2, "--format {format}: {}", r.shown);
        assert!(!r.stdout.contains("still running"), "{}", r.shown);
        if format == "json" {
            // stdout stays one JSON document.
            assert_eq!(r.json()["components"][0]["state"], "up-to-date");
        }
        assert_eq!(
            ws.db_revisions(Component::Manager),
            vec!["hb0000000002".to_string()]
        );
    }

    // Without the testing knob, nothing is printed for a few seconds of silence.
    let _ = ws.alembic(Component::Manager, &["downgrade", "base"]);
    let r = db_migrate(&ws, &["upgrade"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(!r.shown.contains("still running"), "{}", r.shown);
}

/// Lines of `pipe`, sent as they arrive.
fn lines_of(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Wait until a line containing `needle` arrives; all lines seen so far on failure.
fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

fn sigint(child: &Child) {
    // SAFETY: kill(2) on a child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
}

#[test]
fn an_interrupt_while_waiting_for_the_lock_is_one_json_document() {
    let chain = vec![
        rev("lk0000000001", None, "create accounts").upgrade_body(
            "op.execute(\"SELECT pg_sleep(20)\")\nop.create_table(\"t_lk\", sa.Column(\"id\", sa.Integer(), primary_key=True))",
        ),
    ];
    let ws = Workspace::new().component(Component::Manager, &chain);

    // The first run takes the lock and plans (its plan line shows it holds the lock), then sleeps
    // inside the migration.
    let mut first = ws
        .std_cmd()
        .arg("upgrade")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("first db-migrate starts");
    let first_out = lines_of(first.stdout.take().unwrap());
    let mut seen = Vec::new();
    assert!(
        wait_for_line(&first_out, "plan", &mut seen),
        "first run never planned: {seen:?}"
    );

    let mut second = ws
        .std_cmd()
        .args(["upgrade", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("second db-migrate starts");
    let second_err = lines_of(second.stderr.take().unwrap());
    let mut seen_err = Vec::new();
    let waiting = wait_for_line(&second_err, "waiting", &mut seen_err);
    sigint(&second);
    let status = wait_at_most(&mut second, Duration::from_secs(20));
    let stdout = read_all(second.stdout.take());

    sigint(&first);
    let first_status = wait_at_most(&mut first, Duration::from_secs(30));

    assert!(waiting, "the second run never waited: {seen_err:?}");
    let status = status.expect("the second run ended after SIGINT");
    assert_eq!(
        status.code(),
        Some(130),
        "stdout: {stdout}\nstderr: {seen_err:?}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {stdout:?}"));
    assert_eq!(doc["error"]["kind"], "interrupted", "{doc:#}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no Alembic command was running")),
        "{doc:#}"
    );
    assert!(doc["error"]["fix"].as_str().is_some_and(|f| !f.is_empty()));

    assert_eq!(
        first_status.and_then(|s| s.code()),
        Some(130),
        "the first run was interrupted during its migration"
    );
    assert!(ws.db_revisions(Component::Manager).is_empty());
}
