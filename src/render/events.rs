//! What happens while a command runs, as typed events, and the one place that renders them on
//! stderr (nextest's `TestEvent`s and their displayer). Domain code says what happened — a step
//! started, the launcher spoke, a migration is still running, a note — and the [`Reporter`]
//! decides whether and how it is shown: the format, `-v`, `-q`, a terminal, the progress bar.
//! Every string is masked on the way out as the rest of the output is.
//!
//! Commands build a [`Reporter`] from what they know (`--format`, `-v`, `-q`); the Alembic
//! runner, the worker and the inspection, which are called from everywhere and know none of it,
//! use [`Reporter::process`], whose `-v` is set once at start-up ([`set_verbose`]). Threading a
//! reporter through every inspection and Alembic call would change the signature of most of the
//! crate, and what those layers emit shows the same in every format.
//!
//! This module depends on no domain type (it sees revision ids and messages as text), so the
//! domain can depend on it.

use std::io::{BufRead as _, IsTerminal, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::cli::Format;
use crate::error::Failure;
use crate::mask;
use crate::render::progress::Progress;
use crate::render::text;

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
    // Emitted by `App::wait_for_databases` once the settings work moves it.
    #[allow(dead_code)]
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

fn ids(ids: &[String]) -> String {
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

impl Note<'_> {
    /// Said only with `-v`.
    fn verbose_only(&self) -> bool {
        matches!(
            self,
            Note::NativeRetry { .. }
                | Note::WorkerRestarted { .. }
                | Note::NoLockNotNative { .. }
                | Note::NoLockUnreachable { .. }
        )
    }

    fn text(&self) -> String {
        match self {
            Note::PyNotExecutable { instead } => format!(
                "note: ./py is not executable, so Alembic runs with {instead} instead (chmod +x py to use ./py)"
            ),
            Note::AlembicEngine { component, why } => format!(
                "{component}: using the Alembic engine: {} (it takes seconds where the native engine takes milliseconds)",
                mask::mask(why)
            ),
            Note::NativeRetry { component, message } => format!(
                "{component}: the native engine failed ({}); asking Alembic",
                mask::mask(message)
            ),
            Note::WorkerRestarted { component } => {
                format!("[{component}] starting a new Alembic worker (the last one ended)")
            }
            Note::NoLockNotNative { component } => format!(
                "{component}: no migration lock (the URL is not one db-migrate connects to natively)"
            ),
            Note::NoLockUnreachable { component, error } => {
                format!("{component}: no migration lock ({})", mask::mask(error))
            }
            Note::ScratchNotDropped {
                name,
                error,
                psql_args,
            } => format!(
                "warning: the scratch database {name} could not be dropped ({error}); drop it by hand: psql {psql_args} -c 'DROP DATABASE \"{name}\" WITH (FORCE)'"
            ),
        }
    }
}

/// `-v` for the reporter of the layers that do not know the settings. Set once at start-up.
static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, Ordering::Relaxed);
}

/// Launcher lines already shown: concurrent calls (`current` and `history`, every component of
/// `--all`) start the same launcher, which may say the same thing each time.
static LAUNCHER_LINES_SHOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Renders [`Event`]s for one format: text and GitHub on stderr (with the progress bar on a
/// terminal), JSON keeping stdout for its one document.
pub struct Reporter {
    format: Format,
    verbose: bool,
    quiet: bool,
    progress: Option<Progress>,
}

impl Reporter {
    pub fn new(format: Format, verbose: bool) -> Reporter {
        Reporter {
            format,
            verbose,
            quiet: false,
            progress: None,
        }
    }

    /// The reporter of the layers below the commands (Alembic runner, worker, inspection):
    /// what they emit shows the same in every format.
    pub fn process() -> Reporter {
        Reporter::new(Format::Text, VERBOSE.load(Ordering::Relaxed))
    }

    /// `-q`: only errors and final states.
    pub fn quiet(mut self, quiet: bool) -> Reporter {
        self.quiet = quiet;
        self
    }

    /// `-v`, as the caller knows it.
    pub fn verbose(mut self, verbose: bool) -> Reporter {
        self.verbose = verbose;
        self
    }

    /// A migration of `total` steps (when known) begins: in text on a terminal, without `-q`,
    /// `-v` (which relays Alembic's own lines) or `--interactive` (the migration talks), a
    /// progress bar counts them.
    pub fn with_progress(mut self, total: Option<usize>, interactive: bool) -> Reporter {
        let bar = self.format == Format::Text && !self.quiet && !self.verbose && !interactive;
        self.progress = Some(Progress::new(total, bar));
        self
    }

    /// Whether a migration off a terminal should say every so often that it still runs.
    pub fn wants_heartbeats() -> bool {
        !std::io::stderr().is_terminal()
    }

    /// Ask a person: the question on stderr, the answer from stdin. `None` when stdin is not a
    /// terminal, so there is no one to ask.
    pub fn ask(&self, question: &str) -> Option<String> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        Some(answer)
    }

    pub fn emit(&self, event: Event<'_>) {
        match event {
            Event::StepStarted { step, done } => {
                let line = format!(
                    "  {:<9} {} -> {}  {}\n",
                    step.direction,
                    ids(step.from),
                    ids(step.to),
                    step.message
                );
                let running = format!("{} {}", ids(step.to), step.message);
                let say = |t: &str| self.say(t, true);
                match &self.progress {
                    Some(progress) => {
                        progress.started(&mask::mask(&line), done, &mask::mask(&running), say)
                    }
                    None => say(&line),
                }
            }
            Event::StepsFinished => {
                if let Some(progress) = &self.progress {
                    progress.finish();
                }
            }
            Event::Heartbeat {
                component,
                running,
                call,
                elapsed,
            } => {
                let total = human(elapsed);
                let doing = match running {
                    Some((step, on_revision)) => format!(
                        "{step} ({} on this revision, {total} elapsed)",
                        human(on_revision)
                    ),
                    None => format!("{call}, no revision started yet ({total} elapsed)"),
                };
                let _ = writeln!(
                    std::io::stderr(),
                    "{component}: still running {}",
                    mask::mask(&doing)
                );
            }
            Event::LauncherLine {
                component,
                launcher,
                line,
            } => self.launcher_line(component, launcher, line),
            Event::Relayed {
                component,
                command,
                line,
            } => {
                if self.verbose {
                    eprintln!("[{component} {command}] {}", mask::mask(line));
                }
            }
            Event::MigrationSays { text, complete } => {
                // With -v the relay shows it already.
                if self.verbose {
                    return;
                }
                let mut err = std::io::stderr();
                let _ = write!(
                    err,
                    "{}{}",
                    mask::mask(text),
                    if complete { "\n" } else { "" }
                );
                let _ = err.flush();
            }
            Event::Note(note) => {
                if !note.verbose_only() || self.verbose {
                    eprintln!("{}", note.text());
                }
            }
            Event::WaitingForLock {
                component,
                timeout_secs,
            } => {
                if !self.quiet {
                    eprintln!(
                        "{component}: another db-migrate is migrating this database; waiting up to {timeout_secs}s for it to finish…"
                    );
                }
            }
            Event::WaitingForDatabase {
                component,
                limit_secs,
            } => {
                if self.format == Format::Text {
                    eprintln!(
                        "{component}: waiting up to {limit_secs}s for the database to accept connections…"
                    );
                }
            }
            Event::Said { text, detail } => self.say(text, detail),
            Event::PlanBesideSql(text) => eprint!("{}", mask::mask(text)),
            Event::ComponentFailed(failure) => {
                if self.format != Format::Json {
                    eprint!("{}", text::failure(failure));
                }
            }
            Event::GraphFailed(failure) => {
                if self.format == Format::Text {
                    eprint!("{}", text::failure(failure));
                }
            }
            Event::FailureAside(failure) => eprint!("{}", text::failure(failure)),
            Event::Interrupted(failure) => {
                if self.format == Format::Json {
                    // A document already on its way out stays the only one.
                    if !crate::render::stdout::written() {
                        outln!("{}", crate::render::json::failure(failure));
                    }
                } else {
                    let _ = write!(std::io::stderr(), "{}", text::failure(failure));
                }
            }
        }
    }

    /// Human output: stdout in text, stderr in JSON (stdout stays one document); `detail` is
    /// dropped by `-q`.
    fn say(&self, text: &str, detail: bool) {
        if detail && self.quiet {
            return;
        }
        let text = mask::mask(text);
        match self.format {
            Format::Text | Format::Github => {
                out!("{text}");
                let _ = std::io::stdout().flush();
            }
            Format::Json => eprint!("{text}"),
        }
    }

    /// `manager: ./py: …`, each distinct line once per run, not under `-v` (the relay shows
    /// every line already).
    fn launcher_line(&self, component: &str, launcher: &str, line: &str) {
        let line = line.trim_end();
        if line.trim().is_empty() || self.verbose {
            return;
        }
        {
            let mut shown = LAUNCHER_LINES_SHOWN
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if shown.iter().any(|l| l == line) {
                return;
            }
            shown.push(line.to_owned());
        }
        // On a terminal, clear the line first: a progress bar may be drawn there.
        let clear = if std::io::stderr().is_terminal() {
            "\r\x1b[2K"
        } else {
            ""
        };
        let _ = writeln!(
            std::io::stderr(),
            "{clear}{component}: {launcher}: {}",
            mask::mask(line)
        );
    }
}

/// `45s`, `2m 05s`, `1h 02m 05s`.
fn human(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match (secs / 3600, secs / 60 % 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, s) => format!("{h}h {m:02}m {s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_reads_like_a_clock() {
        assert_eq!(human(Duration::from_secs(7)), "7s");
        assert_eq!(human(Duration::from_secs(125)), "2m 05s");
        assert_eq!(human(Duration::from_secs(3725)), "1h 02m 05s");
    }

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

    #[test]
    fn notes_for_verbose_only_are_the_debugging_ones() {
        assert!(!Note::AlembicEngine {
            component: "manager",
            why: "x"
        }
        .verbose_only());
        assert!(Note::WorkerRestarted {
            component: "manager"
        }
        .verbose_only());
    }
}
