//! The one place that renders [`crate::event`]s on stderr (nextest's displayer): the
//! [`Reporter`] decides whether and how an event is shown (the format, `-v`, `-q`, a terminal,
//! the progress bar). Every string is masked on the way out as the rest of the output is.
//!
//! Commands build a [`Reporter`] from what they know (`--format`, `-v`, `-q`); the Alembic
//! runner, the worker and the inspection, which are called from everywhere and know none of it,
//! call [`crate::event::emit`], which [`install`] routes to [`Reporter::process`]. Threading a
//! reporter through every inspection and Alembic call would change the signature of most of the
//! crate, and what those layers emit shows the same in every format.

use std::io::{BufRead as _, IsTerminal, Write as _};
use std::sync::Mutex;
use std::time::Duration;

use crate::event::ids;
pub use crate::event::{Event, Note, Step};
use crate::mask;
use crate::render::progress::Progress;
use crate::render::text;
use crate::render::Format;

/// Said only with `-v`.
fn verbose_only(note: &Note<'_>) -> bool {
    matches!(
        note,
        Note::NativeRetry { .. }
            | Note::WorkerRestarted { .. }
            | Note::NoLockNotNative { .. }
            | Note::NoLockUnreachable { .. }
    )
}

/// A note, as people read it.
fn note_text(note: &Note<'_>) -> String {
    match note {
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
            Note::OneProcessPerCall { component, state } => format!(
                "{component}: env.py's modules keep a database connection between Alembic calls ({}), so each call runs in a new process (slower, same results)",
                mask::mask(state)
            ),
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

/// Launcher lines already shown ([`first_time`]).
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
        Reporter::new(Format::Text, crate::event::verbose())
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

    /// Show `event`, if this format, `-v` and `-q` show it.
    pub fn emit(&self, event: Event<'_>) {
        // What depends on the terminal, on earlier events or on stdout's state.
        match event {
            Event::StepsFinished => {
                if let Some(progress) = &self.progress {
                    progress.finish();
                }
                return;
            }
            Event::LauncherLine { line, .. } if !first_time(line.trim_end()) => return,
            Event::Interrupted(_)
                if self.format == Format::Json && crate::render::stdout::written() =>
            {
                // A document already on its way out stays the only one.
                return;
            }
            _ => {}
        }
        let Some((stream, text)) = self.render(&event) else {
            return;
        };
        match (event, &self.progress) {
            (Event::StepStarted { step, .. }, Some(progress)) => {
                // Above the bar when there is one; `text` is the plain line otherwise.
                let running = format!("{} {}", ids(step.to), step.message);
                if let Event::StepStarted { done, .. } = event {
                    progress.started(&text, done, &mask::mask(&running), |t| write(stream, t));
                }
            }
            (Event::LauncherLine { .. }, _) if std::io::stderr().is_terminal() => {
                // Clear the line first: a progress bar may be drawn there.
                write(stream, &format!("\r\x1b[2K{text}"));
            }
            _ => write(stream, &text),
        }
    }

    /// The text of `event` and where it goes, or `None` when this format, `-v` or `-q` shows
    /// nothing. With its line ending; what comes from outside (Alembic's lines, the launcher's,
    /// error texts, the plan) is masked.
    pub fn render(&self, event: &Event<'_>) -> Option<(Stream, String)> {
        let (stream, text) = match *event {
            Event::StepStarted { step, .. } => {
                if self.quiet {
                    return None;
                }
                let line = format!(
                    "  {:<9} {} -> {}  {}\n",
                    step.direction,
                    ids(step.from),
                    ids(step.to),
                    step.message
                );
                (self.human(), mask::mask(&line).into_owned())
            }
            Event::StepsFinished => return None,
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
                (
                    Stream::Stderr,
                    format!("{component}: still running {}\n", mask::mask(&doing)),
                )
            }
            Event::LauncherLine {
                component,
                launcher,
                line,
            } => {
                // Under -v the relay shows every line already.
                if line.trim().is_empty() || self.verbose {
                    return None;
                }
                (
                    Stream::Stderr,
                    format!("{component}: {launcher}: {}\n", mask::mask(line.trim_end())),
                )
            }
            Event::Relayed {
                component,
                command,
                line,
            } => {
                if !self.verbose {
                    return None;
                }
                (
                    Stream::Stderr,
                    format!("[{component} {command}] {}\n", mask::mask(line)),
                )
            }
            Event::MigrationSays { text, complete } => {
                // With -v the relay shows it already.
                if self.verbose {
                    return None;
                }
                let end = if complete { "\n" } else { "" };
                (Stream::Stderr, format!("{}{end}", mask::mask(text)))
            }
            Event::Note(note) => {
                if verbose_only(&note) && !self.verbose {
                    return None;
                }
                (Stream::Stderr, format!("{}\n", note_text(&note)))
            }
            Event::WaitingForLock {
                component,
                timeout_secs,
            } => {
                if self.quiet {
                    return None;
                }
                (
                    Stream::Stderr,
                    format!("{component}: another db-migrate is migrating this database; waiting up to {timeout_secs}s for it to finish…\n"),
                )
            }
            Event::WaitingForDatabase {
                component,
                limit_secs,
            } => {
                if self.format != Format::Text {
                    return None;
                }
                (
                    Stream::Stderr,
                    format!("{component}: waiting up to {limit_secs}s for the database to accept connections…\n"),
                )
            }
            Event::Said { text, detail } => {
                if detail && self.quiet {
                    return None;
                }
                (self.human(), mask::mask(text).into_owned())
            }
            Event::PlanBesideSql(text) => (Stream::Stderr, mask::mask(text).into_owned()),
            Event::ComponentFailed(failure) => {
                if self.format == Format::Json {
                    return None;
                }
                (Stream::Stderr, text::failure(failure))
            }
            Event::GraphFailed(failure) => {
                if self.format != Format::Text {
                    return None;
                }
                (Stream::Stderr, text::failure(failure))
            }
            Event::FailureAside(failure) => (Stream::Stderr, text::failure(failure)),
            Event::Verify(step) => {
                // JSON's stdout is the one document at the end.
                if self.format == Format::Json {
                    return None;
                }
                (Stream::Stdout, crate::render::verify::progress(&step)?)
            }
            Event::Interrupted(failure) => {
                if self.format == Format::Json {
                    (
                        Stream::Stdout,
                        format!("{}\n", crate::render::json::failure(failure)),
                    )
                } else {
                    (Stream::Stderr, text::failure(failure))
                }
            }
        };
        Some((stream, text))
    }

    /// Where human output goes: stdout in text, stderr in JSON (stdout stays one document).
    fn human(&self) -> Stream {
        match self.format {
            Format::Text | Format::Github => Stream::Stdout,
            Format::Json => Stream::Stderr,
        }
    }
}

/// Make the [`Reporter`] the sink of every [`crate::event::emit`]: what the layers below the
/// commands emit shows the same in every format.
pub fn install() {
    crate::event::install(|event, verbose| Reporter::process().verbose(verbose).emit(event));
}

/// Where a rendered event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Write and flush (a prompt or a step line must show now); a broken stderr does not panic.
fn write(stream: Stream, text: &str) {
    match stream {
        Stream::Stdout => {
            out!("{text}");
            let _ = std::io::stdout().flush();
        }
        Stream::Stderr => {
            let mut err = std::io::stderr();
            let _ = err.write_all(text.as_bytes());
            let _ = err.flush();
        }
    }
}

/// Each distinct launcher line once per run: concurrent calls (`current` and `history`, every
/// component of `--all`) start the same launcher, which may say the same thing each time.
fn first_time(line: &str) -> bool {
    if line.trim().is_empty() {
        return true;
    }
    let mut shown = LAUNCHER_LINES_SHOWN
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if shown.iter().any(|l| l == line) {
        return false;
    }
    shown.push(line.to_owned());
    true
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
    use crate::failure::Failure;

    /// One of every event a command emits, in the order a run might emit them.
    fn transcript(reporter: &Reporter) -> String {
        let from: Vec<String> = vec!["1f2e3d4c5b6a".into()];
        let to: Vec<String> = vec!["a1b2c3d4e5f6".into()];
        let step = Step {
            direction: "upgrade",
            from: &from,
            to: &to,
            message: "add the users table",
        };
        let failure = Failure::new(
            crate::failure::Kind::LauncherFailed,
            "cannot start ./py: No such file or directory",
            "the Python launcher could not be executed",
            "check ./py points at a working Python",
        );
        let events = [
            Event::Note(Note::PyNotExecutable {
                instead: "/usr/bin/python3",
            }),
            Event::LauncherLine {
                component: "manager",
                launcher: "./py",
                line: "Bootstrapping the virtualenv…  ",
            },
            Event::Note(Note::AlembicEngine {
                component: "manager",
                why: "env.py reads postgresql://u:secret@db/x",
            }),
            Event::Note(Note::NativeRetry {
                component: "manager",
                message: "connection refused",
            }),
            Event::WaitingForDatabase {
                component: "manager",
                limit_secs: 30,
            },
            Event::WaitingForLock {
                component: "manager",
                timeout_secs: 60,
            },
            Event::Note(Note::NoLockNotNative {
                component: "manager",
            }),
            Event::Note(Note::NoLockUnreachable {
                component: "manager",
                error: "timed out",
            }),
            Event::Said {
                text: "manager (alembic.ini): upgrade to head\n",
                detail: true,
            },
            Event::Relayed {
                component: "manager",
                command: "upgrade",
                line: "INFO  [alembic.runtime.migration] Running upgrade 1f2e3d4c5b6a -> a1b2c3d4e5f6, add the users table",
            },
            Event::StepStarted { step, done: 0 },
            Event::MigrationSays {
                text: "Drop the old column? ",
                complete: false,
            },
            Event::Heartbeat {
                component: "manager",
                running: Some((&step.describe(), Duration::from_secs(45))),
                call: "alembic upgrade head",
                elapsed: Duration::from_secs(125),
            },
            Event::Heartbeat {
                component: "manager",
                running: None,
                call: "alembic upgrade head",
                elapsed: Duration::from_secs(30),
            },
            Event::Note(Note::WorkerRestarted {
                component: "manager",
            }),
            Event::Note(Note::OneProcessPerCall {
                component: "manager",
                state: "ai.backend.manager.models.base.engine: AsyncEngine",
            }),
            Event::StepsFinished,
            Event::Said {
                text: "manager (alembic.ini): up to date\n",
                detail: false,
            },
            Event::PlanBesideSql("manager (alembic.ini): upgrade to head --sql\n"),
            Event::ComponentFailed(&failure),
            Event::GraphFailed(&failure),
            Event::FailureAside(&failure),
            Event::Note(Note::ScratchNotDropped {
                name: "db_migrate_verify_1",
                error: "server closed the connection",
                psql_args: "-h db -U postgres postgres",
            }),
            Event::Interrupted(&failure),
        ];
        let mut out = String::new();
        for event in &events {
            if let Some((stream, text)) = reporter.render(event) {
                let name = match stream {
                    Stream::Stdout => "stdout",
                    Stream::Stderr => "stderr",
                };
                for line in text.split_inclusive('\n') {
                    out.push_str(&format!("{name}| {line}"));
                }
                if !text.ends_with('\n') {
                    out.push_str("⏎ (no newline)\n");
                }
            }
        }
        out
    }

    fn with_password() {
        crate::mask::add_secret("secret");
    }

    #[test]
    fn text() {
        with_password();
        insta::assert_snapshot!(transcript(&Reporter::new(Format::Text, false)));
    }

    #[test]
    fn text_verbose() {
        with_password();
        insta::assert_snapshot!(transcript(&Reporter::new(Format::Text, true)));
    }

    #[test]
    fn text_quiet() {
        with_password();
        insta::assert_snapshot!(transcript(&Reporter::new(Format::Text, false).quiet(true)));
    }

    #[test]
    fn json() {
        with_password();
        insta::assert_snapshot!(transcript(&Reporter::new(Format::Json, false)));
    }

    #[test]
    fn github() {
        with_password();
        insta::assert_snapshot!(transcript(&Reporter::new(Format::Github, false)));
    }

    #[test]
    fn elapsed_time_reads_like_a_clock() {
        assert_eq!(human(Duration::from_secs(7)), "7s");
        assert_eq!(human(Duration::from_secs(125)), "2m 05s");
        assert_eq!(human(Duration::from_secs(3725)), "1h 02m 05s");
    }

    #[test]
    fn a_launcher_line_is_shown_once_per_run() {
        assert!(first_time("events test: building the venv"));
        assert!(!first_time("events test: building the venv"));
    }
}
