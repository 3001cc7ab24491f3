//! Spawning Alembic: `<launcher> -m alembic -c <ini> …` in the workspace root, stdin null, stdout
//! and stderr read line by line as they arrive, the child in its own process group with default
//! signal dispositions and a parent-death signal, and SIGINT/SIGTERM forwarded to it.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::error::Failure;
use crate::workspace::{Config, Workspace};

/// Alembic children running now. While one runs, SIGINT/SIGTERM are forwarded to it (and the
/// caller reports where the database is); otherwise db-migrate exits 130 at once.
pub static ACTIVE_CHILDREN: AtomicUsize = AtomicUsize::new(0);

struct ActiveGuard;

impl ActiveGuard {
    fn new() -> ActiveGuard {
        ACTIVE_CHILDREN.fetch_add(1, Ordering::SeqCst);
        ActiveGuard
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        ACTIVE_CHILDREN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Exit 130 on SIGINT/SIGTERM unless an Alembic child is running (then `run` forwards it).
pub async fn exit_on_signal_when_idle() {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    loop {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        if ACTIVE_CHILDREN.load(Ordering::SeqCst) == 0 {
            eprintln!("interrupted (no Alembic command was running at that moment: nothing was being applied)");
            std::process::exit(i32::from(crate::exit_code::INTERRUPTED));
        }
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
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.interrupted
    }
}

/// Run one Alembic command and call `on_line` for every output line as it arrives.
pub async fn run(
    ws: &Workspace,
    config: &Config,
    args: &[&str],
    mut on_line: impl FnMut(Stream, &str),
) -> Result<Output, Failure> {
    let mut cmd = Command::new(&ws.launcher[0]);
    cmd.args(&ws.launcher[1..])
        .args(["-m", "alembic", "-c", &config.ini_arg])
        .args(args)
        .current_dir(&ws.root)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [
                libc::SIGINT,
                libc::SIGTERM,
                libc::SIGQUIT,
                libc::SIGPIPE,
                libc::SIGHUP,
            ] {
                libc::signal(sig, libc::SIG_DFL);
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            #[cfg(target_os = "linux")]
            {
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                if libc::getppid() == 1 {
                    libc::_exit(1);
                }
            }
            Ok(())
        });
    }
    let _active = ActiveGuard::new();
    let mut child = cmd.spawn().map_err(|e| {
        Failure::new(
            "launcher-failed",
            format!("cannot start {}: {e}", ws.launcher.join(" ")),
            "the Python launcher could not be executed",
            "check ./py (or --python / DB_MIGRATE_PYTHON) points at a working Python with Alembic installed",
        )
    })?;
    let pid = child.id().map(|p| p as i32);

    let (tx, mut rx) = mpsc::unbounded_channel::<(Stream, String)>();
    let readers = [
        tokio::spawn(forward_lines(
            child.stdout.take().expect("piped stdout"),
            Stream::Stdout,
            tx.clone(),
        )),
        tokio::spawn(forward_lines(
            child.stderr.take().expect("piped stderr"),
            Stream::Stderr,
            tx,
        )),
    ];

    let mut sigint = signal(SignalKind::interrupt()).ok();
    let mut sigterm = signal(SignalKind::terminate()).ok();
    let mut output = Output::default();
    let mut signals = 0u32;
    let mut streams_open = true;
    let status = loop {
        tokio::select! {
            line = rx.recv(), if streams_open => match line {
                Some((stream, line)) => {
                    on_line(stream, &line);
                    match stream {
                        Stream::Stdout => output.stdout.push(line),
                        Stream::Stderr => output.stderr.push(line),
                    }
                }
                None => streams_open = false,
            },
            _ = recv(&mut sigint) => { signals += 1; output.interrupted = true; forward(pid, signals, libc::SIGINT) }
            _ = recv(&mut sigterm) => { signals += 1; output.interrupted = true; forward(pid, signals, libc::SIGTERM) }
            status = child.wait(), if !streams_open => break status,
        }
    };
    for reader in readers {
        let _ = reader.await;
    }
    let status = status.map_err(|e| {
        Failure::new(
            "launcher-failed",
            format!("waiting for Alembic failed: {e}"),
            "the child process could not be reaped",
            "retry",
        )
    })?;
    output.code = status.code();
    Ok(output)
}

async fn recv(sig: &mut Option<tokio::signal::unix::Signal>) {
    match sig {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// First signal: pass it on to the child's group (Alembic rolls back and exits). Second: SIGKILL.
fn forward(pid: Option<i32>, count: u32, sig: libc::c_int) {
    if let Some(pid) = pid {
        let sig = if count >= 2 { libc::SIGKILL } else { sig };
        // SAFETY: plain kill(2) on the child's process group.
        unsafe {
            libc::kill(-pid, sig);
        }
    }
}

async fn forward_lines(
    pipe: impl AsyncRead + Unpin,
    stream: Stream,
    tx: mpsc::UnboundedSender<(Stream, String)>,
) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                let line = line.trim_end_matches(['\n', '\r']).to_owned();
                if tx.send((stream, line)).is_err() {
                    break;
                }
            }
        }
    }
}
