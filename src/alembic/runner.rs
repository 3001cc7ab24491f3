//! Spawning Alembic, one process per call (callers go through [`crate::alembic::call`], which
//! hands the call to a worker first when a pool scope serves it): `<launcher> -m alembic -c <ini> …` in the workspace root, stdin null, stdout
//! and stderr read line by line as they arrive, the child in its own process group with default
//! signal dispositions and a parent-death signal, and SIGINT/SIGTERM forwarded to it. A Python
//! script of db-migrate's own ([`python`], `<launcher> -c <script> …`) runs the same way.
//!
//! How long db-migrate waits depends on the kind of call ([`Call`]): a read-only call is killed
//! after `--alembic-timeout` (a hung `./py` must not keep `status` waiting forever); a migration is
//! never cut, but off a terminal it says every 30 s of silence which revision is running, so a CI
//! log shows it is alive.
//!
//! `--interactive` ([`Input::Terminal`]) is the exception to stdin null and the own process group:
//! a migration that asks a question (`input()`) reads the terminal, and a process outside the
//! terminal's foreground process group that reads it is stopped (SIGTTIN). So the child stays in
//! db-migrate's group, Ctrl-C reaches both from the terminal, and db-migrate does not send it a
//! second SIGINT; it notes the interrupt (the caller reports where the database is) and SIGKILLs
//! the child only at the third Ctrl-C: an asyncio env.py (Backend.AI's) takes the first as a
//! cancel of its main task, which a migration blocked in `input()` never notices, and raises
//! KeyboardInterrupt (Alembic rolls back) only at the second. What Alembic writes on stdout (the
//! question, and `input()`'s prompt, which ends without a newline) is shown on stderr as it
//! comes.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::alembic::parse;
use crate::event::{self, Event};
use crate::failure::{Failure, Kind};
use crate::workspace::{Config, Workspace};

/// What an Alembic call does, which decides how long db-migrate waits for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// `current`, `history`, `--sql`: changes nothing, so it is killed (with its process group)
    /// after [`Workspace::alembic_timeout`], and an interrupt ends it as `interrupted` (exit 130).
    ReadOnly,
    /// `upgrade`/`downgrade`: never cut by a limit (a real migration can take hours). With stderr
    /// not a terminal, a line on stderr after every [`heartbeat_interval`] of silence names the
    /// running revision and the elapsed time (also with `-q`: a CI job that prints nothing for
    /// minutes looks hung, and some CI systems kill it).
    Migration(Input),
}

/// Alembic's stdin during a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Null: a migration that asks a question gets EOF (and the failure names the question).
    Closed,
    /// `--interactive`: this terminal, the child in the terminal's foreground process group.
    Terminal,
}

/// How long a stdout text without a newline waits before it is shown as a prompt (interactive).
const PROMPT_AFTER: Duration = Duration::from_millis(200);

/// A read-only Alembic call (`current`, `history`, `upgrade --sql`), killed with a clear error
/// after `--alembic-timeout`; `on_line` sees every output line as it arrives.
pub async fn read_only(
    ws: &Workspace,
    config: &Config,
    args: &[&str],
    on_line: impl FnMut(Stream, &str),
) -> Result<Output, Failure> {
    run(
        ws,
        config,
        Call::ReadOnly,
        &Invocation::alembic(config, args),
        on_line,
    )
    .await
}

/// `<launcher> ARGS…` (a Python script, not `-m alembic -c <ini>`) as a read-only call: the same
/// process group, signal forwarding, `--alembic-timeout` kill and launcher-line handling as
/// [`read_only`]. The launcher's stderr counts as its own until a line that
/// [`parse::alembic_ran`] recognises, so a script writes such a line first (an Alembic-style log
/// line, `INFO  [db_migrate.<name>] …`), before its own stderr: otherwise that would be shown as
/// `manager: ./py: …`. Messages name a `-c` script's text `<script>`.
pub async fn python(
    ws: &Workspace,
    config: &Config,
    args: &[&str],
    on_line: impl FnMut(Stream, &str),
) -> Result<Output, Failure> {
    run(
        ws,
        config,
        Call::ReadOnly,
        &Invocation::python(ws, args),
        on_line,
    )
    .await
}

/// `upgrade`/`downgrade`: runs as long as it takes, with heartbeats off a terminal; `on_line`
/// sees every output line as it arrives. `input` is [`Input::Terminal`] for `--interactive`.
pub async fn migration(
    ws: &Workspace,
    config: &Config,
    input: Input,
    args: &[&str],
    on_line: impl FnMut(Stream, &str),
) -> Result<Output, Failure> {
    let invocation = Invocation::alembic(config, args);
    run(ws, config, Call::Migration(input), &invocation, on_line).await
}

/// What runs after the launcher, and how messages name it.
struct Invocation<'a> {
    /// Everything after the launcher: `-m alembic -c <ini> current`, `-c <script> <ini>`.
    argv: Vec<&'a str>,
    /// The call in the interrupt and heartbeat messages: `alembic current`.
    name: String,
    /// What the timeout message shows after the launcher, to rerun by hand:
    /// `-m alembic -c alembic.ini current`.
    command: String,
}

impl<'a> Invocation<'a> {
    /// `-m alembic -c <ini> ARGS…`.
    fn alembic(config: &'a Config, args: &[&'a str]) -> Invocation<'a> {
        let mut argv = vec!["-m", "alembic", "-c", config.ini_arg.as_str()];
        argv.extend_from_slice(args);
        let args = args.join(" ");
        Invocation {
            argv,
            name: format!("alembic {args}"),
            command: format!("-m alembic -c {} {args}", config.ini_arg),
        }
    }

    /// `ARGS…` as they are; the text after `-c` shows as `<script>`.
    fn python(ws: &Workspace, args: &[&'a str]) -> Invocation<'a> {
        let shown: Vec<&str> = args
            .iter()
            .enumerate()
            .map(|(i, arg)| {
                if i > 0 && args[i - 1] == "-c" {
                    "<script>"
                } else {
                    arg
                }
            })
            .collect();
        let shown = shown.join(" ");
        Invocation {
            argv: args.to_vec(),
            name: format!("{} {shown}", launcher_shown(ws)),
            command: shown,
        }
    }
}

/// Silence after which a migration off a terminal prints a heartbeat: 30 s.
/// `DB_MIGRATE_HEARTBEAT_SECS` changes it — a testing knob, not a documented setting.
pub(crate) fn heartbeat_interval() -> Duration {
    std::env::var("DB_MIGRATE_HEARTBEAT_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&secs| secs > 0)
        .map_or(Duration::from_secs(30), Duration::from_secs)
}

/// A line the launcher wrote on stderr before Alembic started (a `./py` building its virtualenv,
/// pants bootstrapping): shown as `manager: ./py: …`, so a slow first run is not silent. Each
/// distinct line once per db-migrate run.
pub(crate) fn show_launcher_line(launcher: &str, config: &Config, line: &str) {
    event::emit(Event::LauncherLine {
        component: &config.label,
        launcher,
        line,
    });
}

/// Alembic children running now. While one runs, SIGINT/SIGTERM are forwarded to it (and the
/// caller reports where the database is); otherwise db-migrate exits 130 at once.
pub static ACTIVE_CHILDREN: AtomicUsize = AtomicUsize::new(0);

pub(crate) struct ActiveGuard;

impl ActiveGuard {
    pub(crate) fn new() -> ActiveGuard {
        ACTIVE_CHILDREN.fetch_add(1, Ordering::SeqCst);
        ActiveGuard
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        ACTIVE_CHILDREN.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Default, Clone)]
pub struct Output {
    /// The exit code; `None` when the child was killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    /// db-migrate received SIGINT/SIGTERM while the child ran.
    pub interrupted: bool,
    /// The launcher that ran, as typed in the root (`./py`, or the `--python` command); `None`
    /// for an output db-migrate made up itself (a native read's error).
    pub launcher: Option<String>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.interrupted
    }
}

/// Run one launcher command (Alembic, or a script) and call `on_line` for every output line as
/// it arrives.
async fn run(
    ws: &Workspace,
    config: &Config,
    call: Call,
    invocation: &Invocation<'_>,
    mut on_line: impl FnMut(Stream, &str),
) -> Result<Output, Failure> {
    let interactive = call == Call::Migration(Input::Terminal);
    let mut cmd = command(ws, &invocation.argv, interactive);
    let _active = ActiveGuard::new();
    let mut child = cmd.spawn().map_err(|e| cannot_start(ws, &e))?;
    let pid = child.id().map(|p| p as i32);

    let (tx, mut rx) = mpsc::unbounded_channel::<(Stream, String, bool)>();
    let readers = [
        tokio::spawn(forward_lines(
            child.stdout.take().expect("piped stdout"),
            Stream::Stdout,
            tx.clone(),
            interactive.then_some(PROMPT_AFTER),
        )),
        tokio::spawn(forward_lines(
            child.stderr.take().expect("piped stderr"),
            Stream::Stderr,
            tx,
            None,
        )),
    ];
    // The child's group for signals: its own, or (interactive) only the child itself.
    let group = !interactive;

    let mut sigint = signal(SignalKind::interrupt()).ok();
    let mut sigterm = signal(SignalKind::terminate()).ok();
    let started = Instant::now();
    // Far enough to never fire; `select!` evaluates a disabled branch's future all the same.
    let never = started + Duration::from_secs(100 * 365 * 24 * 3600);
    let deadline = match call {
        Call::ReadOnly => Some(started + ws.alembic_timeout),
        Call::Migration(_) => None,
    };
    let heartbeat = match call {
        Call::Migration(_) if event::wants_heartbeats() => Some(heartbeat_interval()),
        _ => None,
    };
    let mut last_output = started;
    // The step Alembic announced last, and when.
    let mut running: Option<(String, Instant)> = None;
    let mut output = Output {
        launcher: Some(launcher_shown(ws)),
        ..Output::default()
    };
    let mut signals = 0u32;
    let mut streams_open = true;
    // Until a line shows Python running Alembic, stderr is the launcher's own.
    let mut launcher_speaking = true;
    let status = loop {
        let next_beat = heartbeat.map_or(never, |every| last_output + every);
        tokio::select! {
            line = rx.recv(), if streams_open => match line {
                Some((stream, line, complete)) => {
                    last_output = Instant::now();
                    if interactive && stream == Stream::Stdout {
                        show_to_user(&line, complete);
                    }
                    if launcher_speaking && stream == Stream::Stderr {
                        if parse::alembic_ran(&line) {
                            launcher_speaking = false;
                        } else if let Some(launcher) = &output.launcher {
                            show_launcher_line(launcher, config, &line);
                        }
                    }
                    if heartbeat.is_some() {
                        if let Some(step) = parse::step(&line, |_| false) {
                            running = Some((describe_step(&step), last_output));
                        }
                    }
                    on_line(stream, &line);
                    match stream {
                        Stream::Stdout => output.stdout.push(line),
                        Stream::Stderr => output.stderr.push(line),
                    }
                }
                None => streams_open = false,
            },
            _ = recv(&mut sigint) => {
                signals += 1;
                output.interrupted = true;
                // Interactive: the terminal's Ctrl-C reached the child already; only escalate,
                // and only after the child had its own second one (see the module docs).
                if group || signals >= 3 {
                    forward(pid, signals, libc::SIGINT, group);
                }
            }
            _ = recv(&mut sigterm) => { signals += 1; output.interrupted = true; forward(pid, signals, libc::SIGTERM, group) }
            status = child.wait(), if !streams_open => break status,
            () = tokio::time::sleep_until(deadline.unwrap_or(never)), if deadline.is_some() => {
                // Nothing to roll back: kill the whole group (a launcher's children too), reap.
                forward(pid, 2, libc::SIGKILL, group);
                let _ = child.wait().await;
                for reader in &readers {
                    reader.abort();
                }
                return Err(timed_out(ws, config, &invocation.command));
            }
            () = tokio::time::sleep_until(next_beat), if heartbeat.is_some() => {
                last_output = Instant::now();
                say_still_running(config, running.as_ref(), started, &invocation.name);
            }
        }
    };
    for reader in readers {
        let _ = reader.await;
    }
    let status = status.map_err(|e| {
        Failure::new(
            Kind::LauncherFailed,
            format!("waiting for Alembic failed: {e}"),
            "the child process could not be reaped",
            "retry",
        )
    })?;
    output.code = status.code();
    if call == Call::ReadOnly && output.interrupted {
        return Err(Failure::new(
            Kind::Interrupted,
            format!("{}: {} interrupted", config.label, invocation.name),
            "db-migrate received SIGINT/SIGTERM and stopped Alembic; this call only reads, so nothing was changed",
            "rerun the command when ready",
        ));
    }
    Ok(output)
}

/// `<launcher> ARGV…` in the root, as every Alembic child starts: stdout and stderr piped, stdin
/// null and its own process group (or, `interactive`, the terminal and db-migrate's group),
/// default signal dispositions, and SIGKILL when db-migrate dies. Also used by the worker.
pub(crate) fn command(ws: &Workspace, argv: &[&str], interactive: bool) -> Command {
    let mut cmd = Command::new(&ws.launcher[0]);
    cmd.args(&ws.launcher[1..])
        .args(argv)
        .current_dir(&ws.root)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if interactive {
        // The terminal's foreground group (db-migrate's own): only that group may read it.
        cmd.stdin(Stdio::inherit());
    } else {
        cmd.stdin(Stdio::null()).process_group(0);
    }
    // SAFETY: `reset_and_tie` makes only async-signal-safe libc calls.
    unsafe {
        cmd.pre_exec(|| crate::child::reset_and_tie());
    }
    cmd
}

/// The heartbeat: `manager: still running upgrade a -> b  msg (45s on this revision, 2m 05s
/// elapsed)`, or `… <name>, no revision started yet (…)`. Also the worker's.
pub(crate) fn say_still_running(
    config: &Config,
    running: Option<&(String, Instant)>,
    started: Instant,
    name: &str,
) {
    event::emit(Event::Heartbeat {
        component: &config.label,
        running: running.map(|(step, since)| (step.as_str(), since.elapsed())),
        call: name,
        elapsed: started.elapsed(),
    });
}

/// `upgrade a -> b  message`, as the step lines show it.
pub(crate) fn describe_step(step: &parse::Step) -> String {
    event::Step {
        direction: &step.direction,
        from: &step.from,
        to: &step.to,
        message: &step.message,
    }
    .describe()
}

/// The launcher as a person types it in the root: `./py`, or the `--python` command.
pub fn launcher_shown(ws: &Workspace) -> String {
    if is_own_py(ws) {
        "./py".to_owned()
    } else {
        ws.launcher.join(" ")
    }
}

/// The launcher is the root's `./py`.
fn is_own_py(ws: &Workspace) -> bool {
    ws.launcher.len() == 1 && std::path::Path::new(&ws.launcher[0]) == ws.root.join("py")
}

/// The launcher could not be executed at all. For the root's `./py` say why in its terms: a
/// Backend.AI developer expects ./py to run, so a lost execute bit or a `#!` naming a missing
/// interpreter is the launcher's fault, not a reason to look for another Python.
pub(crate) fn cannot_start(ws: &Workspace, e: &std::io::Error) -> Failure {
    let py = ws.root.join("py");
    let in_root = |cmd: &str| match crate::workspace::shell::cd_prefix(&ws.root) {
        Some(cd) => format!("{cd}{cmd}"),
        None => cmd.to_owned(),
    };
    if is_own_py(ws) && e.kind() == std::io::ErrorKind::PermissionDenied {
        return Failure::new(
            Kind::LauncherFailed,
            "./py is not executable, so db-migrate cannot run Alembic with it",
            format!("{} has lost its execute bit (a copy, an archive or a checkout with core.fileMode=false drops it)", py.display()),
            format!("{}   (then retry)", in_root("chmod +x py")),
        );
    }
    if is_own_py(ws) && e.kind() == std::io::ErrorKind::NotFound {
        let first_line = std::fs::read(&py)
            .ok()
            .and_then(|bytes| bytes.split(|&b| b == b'\n').next().map(<[u8]>::to_vec))
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default();
        if let Some(interpreter) = first_line
            .strip_prefix("#!")
            .and_then(|l| l.split_whitespace().next())
        {
            if first_line.ends_with('\r') {
                return Failure::new(
                    Kind::LauncherFailed,
                    "./py cannot start: it has Windows (CRLF) line endings",
                    "the system reads its #! line with a trailing carriage return, and no such interpreter exists",
                    format!("{}   (then retry)", in_root(r"sed -i 's/\r$//' py")),
                );
            }
            return Failure::new(
                Kind::LauncherFailed,
                format!("./py cannot start: its #! line names {interpreter}, which does not exist here"),
                "./py was written for a machine that has that interpreter",
                format!("install {interpreter}, or change the first line of ./py to an interpreter this machine has (e.g. #!/usr/bin/env bash)"),
            );
        }
    }
    Failure::new(
        Kind::LauncherFailed,
        format!("cannot start {}: {e}", ws.launcher.join(" ")),
        "the Python launcher could not be executed",
        "check ./py (or --python / DB_MIGRATE_PYTHON) points at a working Python with Alembic installed",
    )
}

/// A read-only call that outlived `--alembic-timeout`, named so it can be rerun by hand;
/// `command` is what follows the launcher.
pub(crate) fn timed_out(ws: &Workspace, config: &Config, command: &str) -> Failure {
    let launcher = launcher_shown(ws);
    let command = format!("{launcher} {command}");
    let secs = ws.alembic_timeout.as_secs();
    Failure::new(
        Kind::AlembicTimeout,
        format!("{}: `{command}` did not finish within {secs}s; db-migrate stopped it", config.label),
        format!("the launcher ({launcher}) or Alembic hangs: a launcher waiting for something (input, a lock, a network mount), env.py waiting for a database that never answers, or a very slow machine"),
        format!(
            "if it is only slow, rerun with --alembic-timeout {}; to see where it stops, run it by hand: cd {} && {command}",
            secs.saturating_mul(4),
            ws.root.display()
        ),
    )
}

pub(crate) async fn recv(sig: &mut Option<tokio::signal::unix::Signal>) {
    match sig {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// First signal: pass it on to the child's group (Alembic rolls back and exits). Second: SIGKILL.
/// `group` false: the child alone (it shares db-migrate's group under `--interactive`).
pub(crate) fn forward(pid: Option<i32>, count: u32, sig: libc::c_int, group: bool) {
    if let Some(pid) = pid {
        let sig = if count >= 2 { libc::SIGKILL } else { sig };
        let target = if group { -pid } else { pid };
        // SAFETY: plain kill(2) on the child's process group, or on the child.
        unsafe {
            libc::kill(target, sig);
        }
    }
}

/// `--interactive`: what Alembic writes on stdout is the migration talking to the user (its
/// question, `input()`'s prompt), shown on stderr as it comes (stdout may be JSON). With `-v`
/// the relay shows it already.
fn show_to_user(text: &str, complete: bool) {
    event::emit(Event::MigrationSays { text, complete });
}

/// Send each line of `pipe` (without its line ending, `true` for complete). With
/// `prompt_after`, text that waits that long without a newline is sent as it is (`false`): a
/// prompt waiting for an answer.
pub(crate) async fn forward_lines(
    pipe: impl AsyncRead + Unpin,
    stream: Stream,
    tx: mpsc::UnboundedSender<(Stream, String, bool)>,
    prompt_after: Option<Duration>,
) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    let send = |buf: &mut Vec<u8>, complete: bool| {
        let line = String::from_utf8_lossy(buf);
        let line = line.trim_end_matches(['\n', '\r']).to_owned();
        buf.clear();
        tx.send((stream, line, complete)).is_ok()
    };
    loop {
        // read_until keeps what it read in `buf` when the timeout cancels it.
        let read = match prompt_after {
            Some(idle) => {
                match tokio::time::timeout(idle, reader.read_until(b'\n', &mut buf)).await {
                    Ok(read) => read,
                    Err(_) if buf.is_empty() => continue,
                    Err(_) => {
                        if !send(&mut buf, false) {
                            break;
                        }
                        continue;
                    }
                }
            }
            None => reader.read_until(b'\n', &mut buf).await,
        };
        match read {
            Ok(0) | Err(_) => {
                if !buf.is_empty() {
                    send(&mut buf, true);
                }
                break;
            }
            // Without a newline at the end, the pipe closed after it: the last line.
            Ok(_) => {
                if !send(&mut buf, true) {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> Workspace {
        Workspace {
            root: "/repo".into(),
            launcher: vec!["/repo/py".into()],
            alembic_timeout: Duration::from_secs(120),
        }
    }

    #[test]
    fn an_alembic_call_runs_and_is_named_as_before() {
        let config = Config {
            label: "manager".into(),
            component: None,
            ini_arg: "alembic.ini".into(),
            url: None,
            ini: crate::workspace::ini::Ini::default(),
            root: "/repo".into(),
        };
        let call = Invocation::alembic(&config, &["upgrade", "head", "--sql"]);
        assert_eq!(
            call.argv,
            [
                "-m",
                "alembic",
                "-c",
                "alembic.ini",
                "upgrade",
                "head",
                "--sql"
            ]
        );
        assert_eq!(call.name, "alembic upgrade head --sql");
        assert_eq!(call.command, "-m alembic -c alembic.ini upgrade head --sql");
    }

    #[test]
    fn a_script_runs_as_given_and_is_named_without_its_text() {
        let script = "import sys\nprint(sys.argv)\n";
        let call = Invocation::python(&workspace(), &["-c", script, "alembic.ini"]);
        assert_eq!(call.argv, ["-c", script, "alembic.ini"]);
        assert_eq!(call.name, "./py -c <script> alembic.ini");
        assert_eq!(call.command, "-c <script> alembic.ini");
    }
}
