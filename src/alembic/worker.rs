//! The Alembic worker: one Python process per component that serves many Alembic calls, so the
//! launcher's start and env.py's imports (seconds on Backend.AI's tree) are paid once, not once
//! per step (issue 21).
//!
//! It runs `worker.py` (embedded) as `<launcher> -c <script>` in the root, spawned like every
//! Alembic child ([`runner::command`]: own process group, default signal dispositions, SIGKILL
//! when db-migrate dies) but with stdin a pipe of requests. [`Worker::request`] sends one call
//! (`upgrade`, `downgrade`, `stamp`, `current`, `upgrade A:B --sql`) for the component's ini and
//! returns the same [`Output`] the runner returns for `<launcher> -m alembic …` (the lines Alembic
//! wrote, its exit code, `interrupted`), so remediation, `{step}` and progress read it unchanged.
//!
//! As with the runner: read-only calls (`current`, `--sql`) are cut by `--alembic-timeout`;
//! upgrades and downgrades are not, and off a terminal say which revision runs after every
//! heartbeat interval of silence; SIGINT/SIGTERM during a call go to the worker's process group
//! (the second one SIGKILLs it). A worker that ends without answering (a migration's `os._exit`,
//! a crash) fails that call, never passes for success, and the next call starts a new worker
//! (said with `-v`); so does a call after a timeout or an interrupt. Dropping the [`Worker`] kills
//! its process group; closing its stdin (EOF) also ends it.
//!
//! What one process cannot make identical to one process per call is listed in worker.py's
//! docstring; each answer names module-level engines ([`Worker::module_state`]) so a caller can
//! fall back to one process per step.

// Used through the pool (alembic/pool.rs); `request`, `pid` and the default answer to a call
// during which the worker ends serve its unit tests below.
#![cfg_attr(not(test), allow(dead_code))]

use std::process::Stdio;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::alembic::parse;
use crate::alembic::runner::{self, ActiveGuard, Output, Stream};
use crate::event::{self, Event, Note};
use crate::failure::{Failure, Kind};
use crate::remediation::{self, Context};
use crate::workspace::{Config, Workspace};
use crate::{inspect, mask};

/// The worker, run by the launcher's Python (see its docstring for the protocol).
const SCRIPT: &str = include_str!("worker.py");

const READY: &str = "@@db-migrate-worker-ready ";
const LINE: &str = "@@db-migrate-worker-line ";
const DONE: &str = "@@db-migrate-worker-done ";
const SYNC: &str = "@@db-migrate-worker-sync ";

/// One Alembic call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Upgrade(String),
    Downgrade(String),
    Stamp(String),
    Current,
    /// `upgrade <range> --sql`: offline SQL of `A:B`.
    Sql(String),
    /// `revision -m MESSAGE [--head HEAD] [--autogenerate]`: writes a revision file (`new`).
    Revision {
        message: String,
        head: Option<String>,
        autogenerate: bool,
    },
    /// One of db-migrate's own scripts (the drift comparison) with its arguments, run as
    /// `<launcher> -c <script> ARGS…` would run it ([`runner::python`]); read-only.
    Python(String, Vec<String>),
}

impl Op {
    /// The arguments after the launcher for the same call: `-m alembic -c <ini> upgrade A:B
    /// --sql`, `-c <script> alembic.ini` (as the runner's messages show a script).
    pub fn args<'a>(&'a self, ini: &'a str) -> Vec<&'a str> {
        let alembic = |args: &[&'a str]| [&["-m", "alembic", "-c", ini][..], args].concat();
        match self {
            Op::Upgrade(t) => alembic(&["upgrade", t]),
            Op::Downgrade(t) => alembic(&["downgrade", t]),
            Op::Stamp(t) => alembic(&["stamp", t]),
            Op::Current => alembic(&["current"]),
            Op::Sql(range) => alembic(&["upgrade", range, "--sql"]),
            Op::Python(_, args) => [&["-c", "<script>"][..], &as_strs(args)].concat(),
            Op::Revision {
                message,
                head,
                autogenerate,
            } => {
                let mut args = vec!["revision", "-m", message.as_str()];
                if let Some(head) = head {
                    args.extend(["--head", head.as_str()]);
                }
                if *autogenerate {
                    args.push("--autogenerate");
                }
                alembic(&args)
            }
        }
    }

    /// The call in messages: `alembic upgrade head`, `python -c <script> alembic.ini`.
    pub fn name(&self, ini: &str) -> String {
        let args = self.args(ini);
        match self {
            Op::Python(..) => format!("python {}", args.join(" ")),
            _ => format!("alembic {}", args[4..].join(" ")),
        }
    }

    /// `upgrade`, `current`, `python`: the tag of the `-v` relay (`[manager upgrade] …`).
    fn verb(&self) -> &'static str {
        match self {
            Op::Upgrade(_) | Op::Sql(_) => "upgrade",
            Op::Downgrade(_) => "downgrade",
            Op::Stamp(_) => "stamp",
            Op::Current => "current",
            Op::Revision { .. } => "revision",
            Op::Python(..) => "python",
        }
    }

    /// Changes nothing, so `--alembic-timeout` applies.
    pub fn read_only(&self) -> bool {
        matches!(self, Op::Current | Op::Sql(_) | Op::Python(..))
    }

    /// The request line (without its newline).
    fn request(&self, id: u64, ini: &str) -> String {
        let (op, target) = match self {
            Op::Upgrade(t) => ("upgrade", Some(t)),
            Op::Downgrade(t) => ("downgrade", Some(t)),
            Op::Stamp(t) => ("stamp", Some(t)),
            Op::Current => ("current", None),
            Op::Sql(range) => ("sql", Some(range)),
            Op::Python(script, args) => {
                return serde_json::json!({"id": id, "op": "python", "script": script, "args": args})
                    .to_string()
            }
            Op::Revision {
                message,
                head,
                autogenerate,
            } => {
                return serde_json::json!({
                    "id": id, "op": "revision", "ini": ini, "message": message, "head": head,
                    "autogenerate": autogenerate,
                })
                .to_string()
            }
        };
        let mut request = serde_json::json!({"id": id, "op": op, "ini": ini});
        if let Some(target) = target {
            request["target"] = serde_json::json!(target);
        }
        request.to_string()
    }
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The worker's `done` answer (the lines came before it, one by one).
#[derive(Debug, Deserialize)]
struct Done {
    exit: i32,
    #[serde(default)]
    interrupted: bool,
    #[serde(default)]
    state: Vec<String>,
}

/// `{"id": …, "stream": …, "line": …}`: one line Alembic wrote during a request.
#[derive(Debug, Deserialize)]
struct LineEvent {
    stream: String,
    line: String,
}

/// A running worker process.
struct Process {
    child: Child,
    pid: i32,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<(Stream, String, bool)>,
}

impl Drop for Process {
    fn drop(&mut self) {
        // The whole group: a launcher's children too. kill_on_drop covers the child alone.
        if self.pid > 0 {
            runner::forward(Some(self.pid), 2, libc::SIGKILL, true);
        }
    }
}

/// One component's Alembic worker.
pub struct Worker {
    ws: Workspace,
    config: Config,
    verbose: bool,
    process: Option<Process>,
    next_id: u64,
    /// Module-level engines the last answer named (see worker.py).
    state: Vec<String>,
    /// A worker that ends mid-call answers it as the runner answers a process that exits (its
    /// exit status and lines), instead of failing it ([`Worker::like_the_runner`]).
    ended_as_exit: bool,
}

impl Worker {
    /// Start the worker for `config`'s component and wait until it is ready (Python started,
    /// Alembic imported). A launcher that fails is explained as a failed `alembic current`
    /// would be: the same launcher, the same environment.
    pub async fn start(ws: &Workspace, config: &Config, verbose: bool) -> Result<Worker, Failure> {
        let mut worker = Worker {
            ws: ws.clone(),
            config: config.clone(),
            verbose,
            process: None,
            next_id: 1,
            state: Vec::new(),
            ended_as_exit: false,
        };
        worker.process = Some(worker.spawn().await?);
        Ok(worker)
    }

    /// Answer a call during which the worker ended as the runner answers a process that exits
    /// (the exit status and the lines so far) rather than as a failure, so that a caller holding
    /// Alembic's exit to its plan (`os._exit(0)` in a migration: "success" without a commit) sees
    /// what it sees with one process per call. The next call starts a new worker either way.
    pub fn like_the_runner(mut self) -> Worker {
        self.ended_as_exit = true;
        self
    }

    /// The worker's process id, while it runs.
    pub fn pid(&self) -> Option<i32> {
        self.process.as_ref().map(|p| p.pid)
    }

    /// Module globals holding an engine or connection, as the last answer named them: non-empty
    /// means a later call could reuse an earlier call's database, so use one process per step.
    pub fn module_state(&self) -> &[String] {
        &self.state
    }

    /// Run `op` against the component's ini; every line is relayed with `-v`
    /// (`[manager upgrade] …`).
    pub async fn request(&mut self, op: &Op) -> Result<Output, Failure> {
        let relay = inspect::relay(self.verbose, &self.config.label, op.verb());
        self.request_with(op, relay).await
    }

    /// [`Worker::request`] with `on_line` seeing every line as it arrives.
    pub async fn request_with(
        &mut self,
        op: &Op,
        on_line: impl FnMut(Stream, &str),
    ) -> Result<Output, Failure> {
        let config = self.config.clone();
        self.serve(&config, op, on_line).await
    }

    /// Run `op` for `config`: the same component (its label in messages) with possibly another
    /// ini, such as verify's copy pointed at a scratch database. `on_line` sees every line as it
    /// arrives.
    pub async fn serve(
        &mut self,
        config: &Config,
        op: &Op,
        mut on_line: impl FnMut(Stream, &str),
    ) -> Result<Output, Failure> {
        // Ended between calls (killed from outside, or its launcher went away): start afresh.
        if let Some(process) = self.process.as_mut() {
            if !matches!(process.child.try_wait(), Ok(None)) {
                self.process = None;
            }
        }
        if self.process.is_none() {
            event::emit_verbose(
                self.verbose,
                Event::Note(Note::WorkerRestarted {
                    component: &config.label,
                }),
            );
            self.process = Some(self.spawn().await?);
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut output = Output {
            launcher: Some(runner::launcher_shown(&self.ws)),
            ..Output::default()
        };
        let _active = ActiveGuard::new();
        let process = self.process.as_mut().expect("started above");
        let line = op.request(id, &config.ini_arg) + "\n";
        let written = process.stdin.write_all(line.as_bytes()).await;
        let sync = format!("{SYNC}{id}");
        let mut sigint = signal(SignalKind::interrupt()).ok();
        let mut sigterm = signal(SignalKind::terminate()).ok();
        let started = Instant::now();
        let never = started + std::time::Duration::from_secs(100 * 365 * 24 * 3600);
        let deadline = op.read_only().then(|| started + self.ws.alembic_timeout);
        // As the runner: a migration off a terminal says which revision runs after every
        // heartbeat interval of silence.
        let heartbeat =
            (!op.read_only() && event::wants_heartbeats()).then(runner::heartbeat_interval);
        let mut last_output = started;
        let mut running: Option<(String, Instant)> = None;
        let name = op.name(&config.ini_arg);
        let mut signals = 0u32;
        let mut open = written.is_ok();
        let mut done: Option<Done> = None;
        let mut synced = false;
        loop {
            if done.is_some() && synced {
                break;
            }
            let next_beat = heartbeat.map_or(never, |every| last_output + every);
            tokio::select! {
                next = process.lines.recv(), if open => match next {
                    Some((Stream::Stdout, line, _)) => {
                        if let Some(json) = line.strip_prefix(LINE) {
                            if let Ok(event) = serde_json::from_str::<LineEvent>(json) {
                                let stream = if event.stream == "stdout" { Stream::Stdout } else { Stream::Stderr };
                                last_output = Instant::now();
                                if heartbeat.is_some() {
                                    if let Some(step) = parse::step(&event.line, |_| false) {
                                        running = Some((runner::describe_step(&step), last_output));
                                    }
                                }
                                on_line(stream, &event.line);
                                match stream {
                                    Stream::Stdout => output.stdout.push(event.line),
                                    Stream::Stderr => output.stderr.push(event.line),
                                }
                            }
                        } else if let Some(json) = line.strip_prefix(DONE) {
                            done = Some(serde_json::from_str(json).unwrap_or_else(|e| {
                                // Never a success: say why among the call's lines.
                                output.stderr.push(format!("db-migrate: unreadable answer from the Alembic worker ({e})"));
                                Done { exit: 1, interrupted: false, state: Vec::new() }
                            }));
                        } else {
                            // Not the worker's: shown as Alembic's stdout.
                            on_line(Stream::Stdout, &line);
                            output.stdout.push(line);
                        }
                    }
                    Some((Stream::Stderr, line, _)) => {
                        if line == sync {
                            synced = true;
                        } else {
                            // Written straight to fd 2 (a subprocess, a C extension).
                            on_line(Stream::Stderr, &line);
                            output.stderr.push(line);
                        }
                    }
                    None => open = false,
                },
                _ = runner::recv(&mut sigint) => {
                    signals += 1;
                    output.interrupted = true;
                    runner::forward(Some(process.pid), signals, libc::SIGINT, true);
                }
                _ = runner::recv(&mut sigterm) => {
                    signals += 1;
                    output.interrupted = true;
                    runner::forward(Some(process.pid), signals, libc::SIGTERM, true);
                }
                status = process.child.wait(), if !open => {
                    // Ended without answering: never a success, whatever its exit status.
                    let status = status.ok();
                    self.process = None;
                    if output.interrupted {
                        output.code = status.and_then(|s| s.code());
                        return self.after_interrupt(config, op, output);
                    }
                    if self.ended_as_exit {
                        output.code = status.and_then(|s| s.code());
                        return Ok(output);
                    }
                    return Err(self.died(config, op, status, &output));
                }
                () = tokio::time::sleep_until(next_beat), if heartbeat.is_some() => {
                    last_output = Instant::now();
                    runner::say_still_running(config, running.as_ref(), started, &name);
                }
                () = tokio::time::sleep_until(deadline.unwrap_or(never)), if deadline.is_some() => {
                    // Read-only: nothing to roll back. Kill the group (Process's drop), reap.
                    if let Some(mut process) = self.process.take() {
                        runner::forward(Some(process.pid), 2, libc::SIGKILL, true);
                        let _ = process.child.wait().await;
                    }
                    let command = op.args(&config.ini_arg).join(" ");
                    return Err(runner::timed_out(&self.ws, config, &command));
                }
            }
        }
        let done = done.expect("the loop ends with an answer");
        output.code = Some(done.exit);
        self.state = done.state;
        if done.interrupted || output.interrupted {
            // The worker exits after an interrupted call; start afresh next time.
            output.interrupted = true;
            self.process = None;
            return self.after_interrupt(config, op, output);
        }
        Ok(output)
    }

    /// As the runner: an interrupted read-only call is an `interrupted` failure (exit 130); an
    /// interrupted migration is returned with `interrupted` set, for the caller to say where the
    /// database is.
    fn after_interrupt(&self, config: &Config, op: &Op, output: Output) -> Result<Output, Failure> {
        if !op.read_only() {
            return Ok(output);
        }
        // The runner names a script by its launcher: `./py -c <script> alembic.ini`.
        let name = match op {
            Op::Python(..) => format!(
                "{} {}",
                runner::launcher_shown(&self.ws),
                op.args(&config.ini_arg).join(" ")
            ),
            _ => op.name(&config.ini_arg),
        };
        Err(Failure::new(
            Kind::Interrupted,
            format!("{}: {name} interrupted", config.label),
            "db-migrate received SIGINT/SIGTERM and stopped Alembic; this call only reads, so nothing was changed",
            "rerun the command when ready",
        ))
    }

    /// The worker ended during `op` without answering.
    fn died(
        &self,
        config: &Config,
        op: &Op,
        status: Option<std::process::ExitStatus>,
        output: &Output,
    ) -> Failure {
        use std::os::unix::process::ExitStatusExt as _;
        let how = match status {
            Some(s) if s.code().is_some() => format!("exit status {}", s.code().unwrap_or(0)),
            Some(s) => format!("killed by signal {}", s.signal().unwrap_or(0)),
            None => "status unknown".to_owned(),
        };
        let last = output
            .stderr
            .iter()
            .chain(output.stdout.iter())
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| mask::mask(l).into_owned());
        let ini = &config.ini_arg;
        let status_cmd = format!("db-migrate status {}", remediation::select_flag(config));
        let fix = match op {
            Op::Python(..) => format!(
                "see where the database is with `{status_cmd}`; rerun with -v to see everything the script printed"
            ),
            _ => format!(
                "see where the database is with `{status_cmd}`, then run the step by hand to see everything it prints: cd {} && {} {}",
                self.ws.root.display(),
                runner::launcher_shown(&self.ws),
                op.args(ini).join(" ")
            ),
        };
        Failure::new(
            Kind::AlembicFailed,
            format!(
                "{}: Python ended during `{}` without finishing it ({how})",
                config.label,
                op.name(ini)
            ),
            "env.py or a migration ended the process (os._exit, a crash in a C extension, the out-of-memory killer); a migration may have stopped half-way",
            fix,
        )
        .with_alembic_line(last)
    }

    /// Start the process and wait for its ready line (within `--alembic-timeout`).
    async fn spawn(&self) -> Result<Process, Failure> {
        let ws = &self.ws;
        let config = &self.config;
        let mut cmd = runner::command(ws, &["-c", SCRIPT], false);
        cmd.stdin(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| runner::cannot_start(ws, &e))?;
        let pid = child.id().map_or(0, |p| p as i32);
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(runner::forward_lines(
            child.stdout.take().expect("piped stdout"),
            Stream::Stdout,
            tx.clone(),
            None,
        ));
        tokio::spawn(runner::forward_lines(
            child.stderr.take().expect("piped stderr"),
            Stream::Stderr,
            tx,
            None,
        ));
        let stdin = child.stdin.take().expect("piped stdin");
        let mut process = Process {
            child,
            pid,
            stdin,
            lines,
        };
        let launcher = runner::launcher_shown(ws);
        let mut output = Output {
            launcher: Some(launcher.clone()),
            ..Output::default()
        };
        let mut launcher_speaking = true;
        let deadline = Instant::now() + ws.alembic_timeout;
        let mut sigint = signal(SignalKind::interrupt()).ok();
        let mut sigterm = signal(SignalKind::terminate()).ok();
        let _active = ActiveGuard::new();
        loop {
            tokio::select! {
                next = process.lines.recv() => match next {
                    Some((Stream::Stdout, line, _)) if line.starts_with(READY) => return Ok(process),
                    Some((stream, line, _)) => {
                        if launcher_speaking && stream == Stream::Stderr {
                            if parse::alembic_ran(&line) {
                                launcher_speaking = false;
                            } else {
                                runner::show_launcher_line(&launcher, config, &line);
                            }
                        }
                        event::emit_verbose(self.verbose, Event::Relayed {
                            component: &config.label,
                            command: "worker",
                            line: &line,
                        });
                        match stream {
                            Stream::Stdout => output.stdout.push(line),
                            Stream::Stderr => output.stderr.push(line),
                        }
                    }
                    None => {
                        let status = process.child.wait().await.ok();
                        output.code = status.and_then(|s| s.code());
                        return Err(remediation::diagnose("current", &output, &Context::of(config)));
                    }
                },
                _ = runner::recv(&mut sigint) => {
                    output.interrupted = true;
                    return Err(remediation::diagnose("current", &output, &Context::of(config)));
                }
                _ = runner::recv(&mut sigterm) => {
                    output.interrupted = true;
                    return Err(remediation::diagnose("current", &output, &Context::of(config)));
                }
                () = tokio::time::sleep_until(deadline) => {
                    return Err(runner::timed_out(ws, config, "-c <worker script>"));
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Against the real Alembic of the tests' virtualenv (`target/test-venv-*`, built by the
    //! integration tests' harness) and a SQLite database, so no PostgreSQL is needed here; the
    //! PostgreSQL side of the protocol is tests/worker_script.rs.

    use super::*;
    use std::path::Path;
    use std::time::Duration;

    /// The harness's virtualenv Python, if it was built.
    const INI: &str = "[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///ROOT/db.sqlite\n\n\
        [loggers]\nkeys = root,sqlalchemy,alembic\n\n[handlers]\nkeys = console\n\n[formatters]\nkeys = generic\n\n\
        [logger_root]\nlevel = WARN\nhandlers = console\nqualname =\n\n\
        [logger_sqlalchemy]\nlevel = WARN\nhandlers =\nqualname = sqlalchemy.engine\n\n\
        [logger_alembic]\nlevel = INFO\nhandlers =\nqualname = alembic\n\n\
        [handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nlevel = NOTSET\nformatter = generic\n\n\
        [formatter_generic]\nformat = %(levelname)-5.5s [%(name)s] %(message)s\n";

    const ENV_PY: &str = "from logging.config import fileConfig\n\
        from alembic import context\n\
        from sqlalchemy import engine_from_config, pool\n\
        config = context.config\n\
        fileConfig(config.config_file_name)\n\
        if context.is_offline_mode():\n\
        \x20   context.configure(url=config.get_main_option('sqlalchemy.url'), literal_binds=True)\n\
        \x20   with context.begin_transaction():\n\
        \x20       context.run_migrations()\n\
        else:\n\
        \x20   engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix='sqlalchemy.', poolclass=pool.NullPool)\n\
        \x20   with engine.connect() as connection:\n\
        \x20       context.configure(connection=connection)\n\
        \x20       with context.begin_transaction():\n\
        \x20           context.run_migrations()\n";

    /// A revision file: `id` on `down`, `body` its upgrade.
    fn revision(id: &str, down: Option<&str>, body: &str) -> String {
        let down = down.map_or("None".to_owned(), |d| format!("'{d}'"));
        format!(
            "\"\"\"step {id}\n\nRevision ID: {id}\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
             revision = '{id}'\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\n\
             def upgrade():\n    {body}\n\n\ndef downgrade():\n    pass\n"
        )
    }

    /// A workspace with `./py`, alembic.ini on SQLite, and revisions `aaaa` (creates a table)
    /// and `bbbb` (`b_body`).
    pub(crate) fn scratch(
        python: &Path,
        b_body: &str,
        timeout: Duration,
    ) -> (tempfile::TempDir, Workspace, Config) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical root");
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "py",
            &format!(
                "#!/usr/bin/env bash\nexec \"{}\" \"$@\"\n",
                python.display()
            ),
        );
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(root.join("py"), std::fs::Permissions::from_mode(0o755)).unwrap();
        write(
            "alembic.ini",
            &INI.replace("ROOT", &root.display().to_string()),
        );
        write("migrations/env.py", ENV_PY);
        write(
            "migrations/versions/aaaa_step.py",
            &revision(
                "aaaa",
                None,
                "op.create_table('t_a', sa.Column('id', sa.Integer(), primary_key=True))",
            ),
        );
        write(
            "migrations/versions/bbbb_step.py",
            &revision("bbbb", Some("aaaa"), b_body),
        );
        let ws = Workspace {
            root: root.clone(),
            launcher: vec![root.join("py").display().to_string()],
            alembic_timeout: timeout,
        };
        let config = Config {
            label: "manager".into(),
            component: None,
            ini_arg: "alembic.ini".into(),
            url: None,
            ini: crate::workspace::ini::Ini::default(),
            root,
        };
        (dir, ws, config)
    }

    /// The process is gone: no /proc entry, or a zombie waiting to be reaped.
    fn gone(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        }
    }

    async fn eventually_gone(pid: i32) -> bool {
        for _ in 0..200 {
            if gone(pid) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    }

    /// The interrupt test signals this whole test process; the worker tests take turns so no
    /// other worker is mid-call when it does.
    pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test]
    async fn a_revision_is_written_by_the_worker_as_alembic_writes_it() {
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();
        let (_dir, ws, config) = scratch(&python, "pass", Duration::from_secs(60));
        std::fs::write(
            ws.root.join("migrations/script.py.mako"),
            "\"\"\"${message}\n\nRevision ID: ${up_revision}\nRevises: ${down_revision | comma,n}\n\"\"\"\n\
             # worker-template\nrevision = ${repr(up_revision)}\ndown_revision = ${repr(down_revision)}\n",
        )
        .unwrap();
        let mut worker = Worker::start(&ws, &config, false)
            .await
            .expect("the worker starts");
        let op = Op::Revision {
            message: "add foo".into(),
            head: Some("bbbb".into()),
            autogenerate: false,
        };
        assert_eq!(
            op.name(&config.ini_arg),
            "alembic revision -m add foo --head bbbb"
        );
        let out = worker.request(&op).await.expect("answered");
        assert!(out.success(), "{out:?}");
        let written: Vec<_> = std::fs::read_dir(ws.root.join("migrations/versions"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("_add_foo.py"))
            .collect();
        assert_eq!(written.len(), 1, "{out:?}");
        let text = std::fs::read_to_string(&written[0]).unwrap();
        assert!(text.contains("# worker-template\n"), "{text}");
        assert!(text.contains("down_revision = 'bbbb'\n"), "{text}");
        assert!(
            out.stdout
                .iter()
                .any(|l| l.starts_with("Generating ") && l.ends_with("done")),
            "{out:?}"
        );
    }

    #[tokio::test]
    async fn each_answer_is_the_output_the_runner_gives_for_the_same_call() {
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();
        let (_dir, ws, config) = scratch(
            &python,
            "op.create_table('t_b', sa.Column('id', sa.Integer(), primary_key=True))",
            Duration::from_secs(60),
        );
        let mut worker = Worker::start(&ws, &config, false)
            .await
            .expect("the worker starts");
        let pid = worker.pid().expect("running");

        let up = worker
            .request(&Op::Upgrade("aaaa".into()))
            .await
            .expect("answered");
        assert!(up.success(), "{up:?}");
        assert_eq!(up.launcher.as_deref(), Some("./py"));
        assert_eq!(
            up.stderr
                .iter()
                .filter_map(|l| parse::step(l, |_| false))
                .map(|s| s.to.join(","))
                .collect::<Vec<_>>(),
            ["aaaa"],
            "{up:?}"
        );

        for op in [Op::Current, Op::Sql("aaaa:bbbb".into())] {
            let served = worker.request(&op).await.expect("answered");
            let ran = runner::read_only(&ws, &config, &op.args("alembic.ini")[4..], |_, _| {})
                .await
                .expect("ran");
            assert_eq!(
                (served.code, &served.stdout, &served.stderr),
                (ran.code, &ran.stdout, &ran.stderr),
                "{op:?}"
            );
        }
        let current = worker.request(&Op::Current).await.unwrap();
        assert_eq!(current.stdout, ["aaaa"]);

        // A CommandError: FAILED on stdout and 255, as from the command line.
        let unknown = worker
            .request(&Op::Upgrade("zzzz".into()))
            .await
            .expect("answered");
        assert_eq!(unknown.code, Some(255));
        assert_eq!(
            unknown.stdout,
            ["FAILED: Can't locate revision identified by 'zzzz'"]
        );
        let down = worker.request(&Op::Downgrade("base".into())).await.unwrap();
        assert!(down.success(), "{down:?}");
        assert!(worker
            .request(&Op::Current)
            .await
            .unwrap()
            .stdout
            .is_empty());
        let stamp = worker.request(&Op::Stamp("head".into())).await.unwrap();
        assert!(stamp.success(), "{stamp:?}");
        assert_eq!(
            worker.request(&Op::Current).await.unwrap().stdout,
            ["bbbb (head)"]
        );
        assert_eq!(worker.pid(), Some(pid), "one process served them all");
        assert!(
            worker.module_state().is_empty(),
            "{:?}",
            worker.module_state()
        );

        drop(worker);
        assert!(eventually_gone(pid).await, "the worker outlived its Worker");
    }

    #[tokio::test]
    async fn a_failing_migration_fails_the_call_and_the_worker_serves_the_next() {
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();
        let (_dir, ws, config) = scratch(
            &python,
            "raise RuntimeError('broken step')",
            Duration::from_secs(60),
        );
        let mut worker = Worker::start(&ws, &config, false).await.unwrap();
        let pid = worker.pid();

        let failed = worker
            .request(&Op::Upgrade("head".into()))
            .await
            .expect("answered");
        assert_eq!(failed.code, Some(1));
        assert!(!failed.success());
        assert_eq!(
            failed.stderr.last().map(String::as_str),
            Some("RuntimeError: broken step")
        );

        let current = worker.request(&Op::Current).await.expect("answered");
        assert!(current.success(), "{current:?}");
        assert_eq!(worker.pid(), pid);

        // Killed between calls: the next call starts a new worker instead of failing.
        let old = pid.unwrap();
        // SAFETY: kill(2) on the worker this test started.
        unsafe {
            libc::kill(old, libc::SIGKILL);
        }
        assert!(eventually_gone(old).await);
        let again = worker
            .request(&Op::Current)
            .await
            .expect("a new worker answers");
        assert!(again.success(), "{again:?}");
        assert_ne!(worker.pid(), pid);
    }

    #[tokio::test]
    async fn a_worker_that_ends_mid_call_fails_it_and_the_next_call_starts_a_new_one() {
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();
        let (_dir, ws, config) =
            scratch(&python, "import os; os._exit(0)", Duration::from_secs(60));
        let mut worker = Worker::start(&ws, &config, false).await.unwrap();
        let first = worker.pid().unwrap();

        let failure = worker
            .request(&Op::Upgrade("head".into()))
            .await
            .expect_err("os._exit(0) is no success");
        assert_eq!(failure.kind, Kind::AlembicFailed);
        assert!(
            failure.message.contains("exit status 0"),
            "{}",
            failure.message
        );
        assert!(
            failure.message.contains("alembic upgrade head"),
            "{}",
            failure.message
        );
        let line = failure.alembic_line.unwrap_or_default();
        assert!(line.contains("Running upgrade aaaa -> bbbb"), "{line}");
        assert!(
            failure
                .fix
                .contains("-m alembic -c alembic.ini upgrade head"),
            "{}",
            failure.fix
        );
        assert_eq!(worker.pid(), None);
        assert!(eventually_gone(first).await);

        let current = worker
            .request(&Op::Current)
            .await
            .expect("a new worker answers");
        assert_eq!(
            current.stdout,
            ["aaaa"],
            "aaaa was committed before bbbb ended the process"
        );
        assert_ne!(worker.pid(), Some(first));
    }

    #[tokio::test]
    async fn a_hung_read_only_call_is_cut_by_the_timeout_and_its_process_killed() {
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();
        let (_dir, ws, config) = scratch(
            &python,
            "import time; time.sleep(600)",
            Duration::from_secs(3),
        );
        let mut worker = Worker::start(&ws, &config, false).await.unwrap();
        let pid = worker.pid().unwrap();

        let started = std::time::Instant::now();
        let failure = worker
            .request(&Op::Sql("aaaa:bbbb".into()))
            .await
            .expect_err("cut");
        assert_eq!(failure.kind, Kind::AlembicTimeout);
        assert!(
            failure.fix.contains("--alembic-timeout 12"),
            "{}",
            failure.fix
        );
        assert!(started.elapsed() < Duration::from_secs(30));
        assert!(eventually_gone(pid).await);
        assert_eq!(worker.pid(), None);
    }

    #[tokio::test]
    async fn ctrl_c_mid_migration_reaches_the_worker_and_the_call_reports_it() {
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();
        let (_dir, ws, config) = scratch(
            &python,
            "import time; time.sleep(600)",
            Duration::from_secs(60),
        );
        let mut worker = Worker::start(&ws, &config, false).await.unwrap();
        let pid = worker.pid().unwrap();

        let started = std::time::Instant::now();
        // Ctrl-C once bbbb is running, as a terminal would send it to db-migrate.
        let output = worker
            .request_with(&Op::Upgrade("head".into()), |_, line| {
                if line.contains("Running upgrade aaaa -> bbbb") {
                    // SAFETY: kill(2) on this process; the request listens for SIGINT.
                    unsafe {
                        libc::kill(libc::getpid(), libc::SIGINT);
                    }
                }
            })
            .await
            .expect("an interrupted migration is returned for the caller to report");
        assert!(output.interrupted, "{output:?}");
        assert!(!output.success());
        assert_eq!(output.code, Some(130), "{output:?}");
        assert_eq!(
            output.stderr.last().map(String::as_str),
            Some("KeyboardInterrupt"),
            "{output:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(30));
        assert!(
            eventually_gone(pid).await,
            "the worker exits after an interrupt"
        );
        assert_eq!(worker.pid(), None);

        // Read-only: an interrupt is the `interrupted` failure, exit 130, as the runner's.
        let mut worker = Worker::start(&ws, &config, false).await.unwrap();
        let failure = worker
            .request_with(&Op::Sql("aaaa:bbbb".into()), |_, line| {
                if line.contains("-- Running upgrade aaaa -> bbbb") {
                    // SAFETY: as above.
                    unsafe {
                        libc::kill(libc::getpid(), libc::SIGINT);
                    }
                }
            })
            .await
            .expect_err("interrupted");
        assert_eq!(
            (failure.kind, failure.kind.code()),
            (Kind::Interrupted, 130)
        );
    }

    #[tokio::test]
    async fn a_script_of_db_migrates_own_answers_as_the_runner_runs_it() {
        const SCRIPT_TEXT: &str = "import sys\n\
            sys.stderr.write('INFO  [db_migrate.test] started\\n')\n\
            print('args', sys.argv[1:], __name__)\n\
            sys.exit(3)\n";
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();
        let (_dir, ws, config) = scratch(&python, "pass", Duration::from_secs(60));
        let mut worker = Worker::start(&ws, &config, false).await.unwrap();
        let op = Op::Python(SCRIPT_TEXT.into(), vec!["alembic.ini".into()]);

        let served = worker.request(&op).await.expect("answered");
        let ran = runner::python(&ws, &config, &["-c", SCRIPT_TEXT, "alembic.ini"], |_, _| {})
            .await
            .expect("ran");
        assert_eq!(served.code, Some(3));
        assert_eq!(served.stdout, ["args ['alembic.ini'] __main__"]);
        assert_eq!(
            (served.code, &served.stdout, &served.stderr),
            (ran.code, &ran.stdout, &ran.stderr)
        );
    }

    #[test]
    fn each_op_is_named_as_the_command_that_reruns_it() {
        let ini = "alembic.ini";
        assert_eq!(
            Op::Sql("a:b".into()).args(ini),
            [
                "-m",
                "alembic",
                "-c",
                "alembic.ini",
                "upgrade",
                "a:b",
                "--sql"
            ]
        );
        assert_eq!(Op::Sql("a:b".into()).name(ini), "alembic upgrade a:b --sql");
        assert_eq!(Op::Current.name(ini), "alembic current");
        let drift = Op::Python("print(1)".into(), vec![ini.into()]);
        assert_eq!(drift.name(ini), "python -c <script> alembic.ini");
        assert!(drift.read_only() && Op::Current.read_only());
        assert!(!Op::Upgrade("head".into()).read_only());
        assert!(!Op::Stamp("head".into()).read_only());
        let request: serde_json::Value =
            serde_json::from_str(&Op::Downgrade("-1".into()).request(7, ini)).unwrap();
        assert_eq!(
            request,
            serde_json::json!({"id": 7, "op": "downgrade", "ini": "alembic.ini", "target": "-1"})
        );
    }

    #[tokio::test]
    async fn a_launcher_without_alembic_is_explained_as_for_python_m_alembic() {
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();
        let (_dir, ws, config) = scratch(&python, "pass", Duration::from_secs(60));
        // The same ./py, but its Python sees no site-packages.
        std::fs::write(
            ws.root.join("py"),
            format!(
                "#!/usr/bin/env bash\nexec \"{}\" -S \"$@\"\n",
                python.display()
            ),
        )
        .unwrap();
        let failure = match Worker::start(&ws, &config, false).await {
            Ok(_) => panic!("a Python without Alembic cannot serve"),
            Err(failure) => failure,
        };
        assert_eq!(failure.kind, Kind::AlembicMissing, "{failure:?}");
        let ran = runner::read_only(&ws, &config, &["current"], |_, _| {})
            .await
            .expect("ran");
        let by_runner = remediation::diagnose("current", &ran, &Context::of(&config));
        assert_eq!(failure.kind, by_runner.kind);
        assert_eq!(failure.fix, by_runner.fix);
    }

    #[tokio::test]
    async fn dropping_the_worker_kills_a_launchers_python_too() {
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();
        let (_dir, ws, config) = scratch(&python, "pass", Duration::from_secs(60));
        // A launcher that runs Python as its child instead of exec'ing it.
        std::fs::write(
            ws.root.join("py"),
            format!(
                "#!/usr/bin/env bash\n\"{}\" \"$@\"\nexit $?\n",
                python.display()
            ),
        )
        .unwrap();
        let mut worker = Worker::start(&ws, &config, false).await.unwrap();
        assert!(worker.request(&Op::Current).await.unwrap().success());
        let launcher = worker.pid().unwrap();
        let children =
            std::fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children"))
                .expect("the launcher's children");
        let python_pid: i32 = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the launcher runs Python as a child: {children:?}"));

        drop(worker);
        assert!(
            eventually_gone(launcher).await,
            "the launcher outlived the Worker"
        );
        assert!(
            eventually_gone(python_pid).await,
            "its Python outlived the Worker"
        );
    }
}
