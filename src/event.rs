//! What happens while a command runs, as typed events (nextest's `TestEvent`s). Code at any
//! layer says what happened (a step started, the launcher spoke, a migration is still running,
//! a note) with [`emit`]; the output layer installs the one sink that decides whether and how it
//! is shown ([`crate::render::events::Reporter`]: the format, `-v`, `-q`, a terminal, the
//! progress bar). This module only carries them: it depends on no output code, so the domain can
//! depend on it and nothing it emits can reach the terminal by another path. The one thing it
//! borrows is `verify`'s report types ([`crate::report::verify`], plain data that depends on
//! nothing but [`Failure`]): a proved revision is shown as it finishes.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::failure::Failure;
use crate::report::verify::{
    ComponentReport, DriftReport, RevisionReport, ScratchReport, Slow, Timed,
};

/// Something that happened while a command ran.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Alembic announced a step of the plan (`Running upgrade a -> b, message`); `done` steps
    /// finished before it.
    StepStarted { step: Step<'a>, done: usize },
    /// The migration ended (whatever the outcome): the progress bar goes.
    StepsFinished,
    /// A migration off a terminal said nothing for a while: which revision runs, for how long.
    Heartbeat {
        component: &'a str,
        /// The step running (as [`Step::describe`] says it) and how long it has been running;
        /// `None` before Alembic announced one.
        running: Option<(&'a str, Duration)>,
        /// The call, named for a person: `alembic upgrade head`.
        call: &'a str,
        elapsed: Duration,
    },
    /// A line the launcher wrote on stderr before Alembic started (`./py` building its
    /// virtualenv, pants bootstrapping).
    LauncherLine {
        component: &'a str,
        launcher: &'a str,
        line: &'a str,
    },
    /// A line of Alembic's output, relayed under `-v` with its origin: `[manager current] …`.
    Relayed {
        component: &'a str,
        command: &'a str,
        line: &'a str,
    },
    /// `--interactive`: what the migration writes on stdout (its question, `input()`'s prompt),
    /// `complete` when it ended with a newline.
    MigrationSays { text: &'a str, complete: bool },
    /// A note or warning on the side.
    Note(Note<'a>),
    /// Another db-migrate holds the migration lock: waiting up to `timeout_secs`.
    WaitingForLock {
        component: &'a str,
        timeout_secs: u64,
    },
    /// `--wait`: the database does not accept connections yet; waiting up to `limit_secs`.
    WaitingForDatabase { component: &'a str, limit_secs: u64 },
    /// What the migrating commands tell a person: plan, steps, notes (`detail`, which `-q`
    /// drops) or the final state (`detail: false`). On stdout in text, on stderr in JSON.
    Said { text: &'a str, detail: bool },
    /// `--sql`: the plan, beside the SQL on stdout.
    PlanBesideSql(&'a str),
    /// A component failed and the command goes on with the next: said now in text (the JSON
    /// document carries it).
    ComponentFailed(&'a Failure),
    /// `heads`/`history`: a component failed; said now in text only.
    GraphFailed(&'a Failure),
    /// A failure said on the side while another one (or the result) is reported: in every format.
    FailureAside(&'a Failure),
    /// Ctrl-C or SIGTERM while no Alembic child ran: db-migrate exits 130 after this.
    Interrupted(&'a Failure),
    /// `verify`'s proof, as it goes.
    Verify(Verify<'a>),
}

/// One step of a migration, as Alembic announced it.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub direction: &'a str,
    pub from: &'a [String],
    pub to: &'a [String],
    pub message: &'a str,
}

impl Step<'_> {
    /// `upgrade a -> b  message`, as heartbeats name the running step.
    pub fn describe(&self) -> String {
        format!(
            "{} {} -> {}  {}",
            self.direction,
            ids(self.from),
            ids(self.to),
            self.message
        )
    }
}

/// Revision ids as a step names them: `a,b`, or `(base)` for none.
pub fn ids(ids: &[String]) -> String {
    if ids.is_empty() {
        "(base)".to_owned()
    } else {
        ids.join(",")
    }
}

/// A note or warning: what happened, with the facts to say it.
#[derive(Debug, Clone, Copy)]
pub enum Note<'a> {
    /// `./py` exists without its execute bit and `--python` names another launcher.
    PyNotExecutable { instead: &'a str },
    /// The native engine cannot read this component: Alembic answers instead (always said: it
    /// costs seconds).
    AlembicEngine { component: &'a str, why: &'a str },
    /// `-v`: the native engine failed and Alembic is asked again.
    NativeRetry {
        component: &'a str,
        message: &'a str,
    },
    /// `-v`: the persistent Alembic worker ended between calls and starts afresh.
    WorkerRestarted { component: &'a str },
    /// env.py's modules keep an engine or connection at module level (`state` names them), so
    /// the component's Alembic calls run one process each (always said: it costs seconds).
    OneProcessPerCall { component: &'a str, state: &'a str },
    /// `-v`: the URL is not one db-migrate connects to natively, so there is no migration lock.
    NoLockNotNative { component: &'a str },
    /// `-v`: the lock could not be taken because the database did not answer.
    NoLockUnreachable { component: &'a str, error: &'a str },
    /// A scratch database could not be dropped: the command to drop it by hand.
    ScratchNotDropped {
        name: &'a str,
        error: &'a str,
        /// `psql`'s connection arguments for the server's `postgres` database.
        psql_args: &'a str,
    },
}

/// What `verify` has done so far for a component, in the order it happens: the header, the
/// plan, the scratch database, each step and revision proved, the drift, the end.
#[derive(Debug, Clone, Copy)]
pub enum Verify<'a> {
    /// A component's proof begins.
    Started { component: &'a str, config: &'a str },
    /// `revisions` revisions are to be proved, new relative to `base` (when there is one).
    Planned {
        revisions: usize,
        base: Option<&'a str>,
    },
    /// How long one Alembic call takes before it migrates anything; `shared`: the steps after it
    /// run in the same (persistent) process, so they do not pay it again.
    AlembicStartup { seconds: f64, shared: bool },
    /// The scratch database exists; `why_dump` says why it was dumped and restored rather
    /// than made from a template.
    ScratchMade {
        scratch: &'a ScratchReport,
        why_dump: Option<&'a str>,
    },
    /// A step that brought the scratch database to where the proof starts.
    Prepared(&'a Timed),
    /// After the revisions, the step that took the scratch database on to head.
    WentToHead(&'a Timed),
    /// One revision's proof, finished (passed or not).
    Revision(&'a RevisionReport),
    /// A revision failed and left nothing to continue from: these are not proved.
    NotProved(&'a [&'a str]),
    /// The models compared with the migrated schema (or why they were not).
    Drift(&'a DriftReport),
    /// The drift was measured on a fresh copy `name`, since the proof stopped at `stopped_at`.
    DriftOnFreshCopy {
        name: &'a str,
        stopped_at: &'a str,
        dropped: bool,
    },
    /// The slowest steps of the revisions proved.
    Slowest(&'a [Slow]),
    /// `--keep`: the scratch database stays, and how to connect.
    ScratchKept { name: &'a str, connect: &'a str },
    /// The scratch database is gone.
    ScratchDropped { name: &'a str },
    /// A component is done: its report, problems counted.
    Finished(&'a ComponentReport),
}

/// `-v`, as the layers below the commands know it: set once at start-up.
static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Whether a migration off a terminal should say every so often that it still runs.
pub fn wants_heartbeats() -> bool {
    !std::io::stderr().is_terminal()
}

/// Where events go: `(event, -v)`. Installed once by the output layer at start-up.
pub type Sink = fn(Event<'_>, bool);

static SINK: OnceLock<Sink> = OnceLock::new();

/// Route every event to `sink` from now on (the first call wins).
pub fn install(sink: Sink) {
    let _ = SINK.set(sink);
}

/// Say that `event` happened, with the process's `-v`. Before a sink is installed (unit tests
/// of the domain) nothing is shown.
pub fn emit(event: Event<'_>) {
    emit_verbose(verbose(), event);
}

/// Say that `event` happened, with the caller's `-v`.
pub fn emit_verbose(verbose: bool, event: Event<'_>) {
    if let Some(sink) = SINK.get() {
        sink(event, verbose);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_named_with_base_for_no_revision() {
        let to = ["b".to_owned()];
        let step = Step {
            direction: "upgrade",
            from: &[],
            to: &to,
            message: "add users",
        };
        assert_eq!(step.describe(), "upgrade (base) -> b  add users");
    }
}
