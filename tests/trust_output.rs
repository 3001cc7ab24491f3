//! Never report success that did not happen: output that could not be written is an error (a
//! closed pipe excepted).

mod harness;

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

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
