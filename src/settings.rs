//! Settings resolved once (ripgrep's LowArgs → HiArgs): the clap structs of [`crate::cli`]
//! become one [`Settings`] value, every default applied and every rule across flags checked
//! here, so commands never see clap types. A command line that cannot run is [`Rejected`], with
//! the format to say it in.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;

use crate::cli::{self, Cli, Command, GlobalArgs, RunArgs};
use crate::failure::Failure;
use crate::inspect::Engine;
use crate::plan::Direction;
use crate::render::Format;
use crate::target::Target;
use crate::workspace::Selection;

/// Everything a run needs to know from its command line and environment.
#[derive(Debug)]
pub struct Settings {
    pub format: Format,
    /// `-v`: Alembic's full (masked) output.
    pub verbose: bool,
    /// `-C DIR`: the workspace root, instead of looking upward.
    pub workdir: Option<PathBuf>,
    /// `--python CMD` / `DB_MIGRATE_PYTHON`.
    pub python: Option<String>,
    /// `--alembic-timeout`: how long a read-only Alembic call may take.
    pub alembic_timeout: Duration,
    /// `--wait`: how long to wait for each database to accept connections.
    pub wait: Option<Duration>,
    pub task: Task,
}

/// What to do, with that command's options resolved.
#[derive(Debug)]
pub enum Task {
    Status(StatusOptions),
    /// `upgrade`, `downgrade` and `migrate`.
    Migrate(MigrateOptions),
    Roundtrip(RoundtripOptions),
    FixHeads(FixHeadsOptions),
    Sync(SyncOptions),
    Hooks(HooksTask),
    Check(CheckOptions),
    Verify(VerifyOptions),
    New(NewOptions),
    /// `current`, `heads` and `history`.
    Report(ReportOptions),
    Completions(clap_complete::Shell),
    Man,
    /// `schema`: the JSON Schema of every `--format json` document.
    Schema,
    /// `skill`: the coding-agent skill.
    Skill,
    /// `check --explain RULE`.
    Explain(String),
}

/// How a command that runs Alembic runs it (`upgrade`, `downgrade`, `migrate`, `roundtrip`,
/// `fix-heads`).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Print the plan and exit without touching the database.
    pub dry_run: bool,
    /// Print only errors and the final state.
    pub quiet: bool,
    /// Print the SQL of the plan instead of running it.
    pub sql: bool,
    /// pg_dump the database first: `Some("")` for the default path.
    pub backup: Option<String>,
    /// Seconds to wait for another db-migrate's migration lock.
    pub lock_timeout: u64,
    /// With `--all`: try every component even after one failed.
    pub keep_going: bool,
    /// Give Alembic the terminal as stdin (checked: there is one, in the foreground).
    pub interactive: bool,
}

#[derive(Debug)]
pub struct StatusOptions {
    pub selection: Selection,
    pub engine: Engine,
    pub upstream: Option<String>,
    /// `--check`: exit 3 unless every component is up-to-date.
    pub check: bool,
}

#[derive(Debug)]
pub struct MigrateOptions {
    pub selection: Selection,
    pub run: RunOptions,
    pub direction: Direction,
    pub target: Target,
    /// `--yes`: do not ask before a downgrade (`upgrade` never asks).
    pub yes: bool,
}

#[derive(Debug)]
pub struct RoundtripOptions {
    pub selection: Selection,
    pub run: RunOptions,
    pub revision: Target,
    pub yes: bool,
}

/// `sync`.
#[derive(Debug)]
pub struct SyncOptions {
    pub selection: Selection,
    pub run: RunOptions,
    /// `--yes`: do not ask before walking back.
    pub yes: bool,
    /// Walk back only when that destroys no data (the `--auto` hook); else say so and stop.
    pub only_harmless: bool,
}

/// `hooks …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HooksTask {
    Install {
        auto: bool,
    },
    Uninstall,
    /// The hook itself: `post-merge`, or `post-checkout` of a branch.
    Run {
        auto: bool,
    },
}

#[derive(Debug)]
pub struct FixHeadsOptions {
    pub selection: Selection,
    pub run: RunOptions,
    pub upstream: Option<String>,
    pub yes: bool,
    pub allow_dirty: bool,
    /// Put the developer's branch first: repoint the other branch's first migration instead
    /// (only while none of that branch is in a release).
    pub mine_first: bool,
}

#[derive(Debug)]
pub struct CheckOptions {
    /// Default: every component whose config exists.
    pub selection: Selection,
    pub base: Option<String>,
    /// `--upstream REF`: the branch merging into must leave one head.
    pub upstream: Option<String>,
    pub strict: bool,
    /// Skip the SQL lint (the static rules only: what the pre-commit hook runs).
    pub no_lint: bool,
}

#[derive(Debug)]
pub struct VerifyOptions {
    pub selection: Selection,
    pub base: Option<String>,
    pub keep: bool,
    pub from_empty: bool,
    /// `--idempotent REV`: revisions to run twice besides the marked backports.
    pub idempotent: Vec<String>,
}

#[derive(Debug)]
pub struct NewOptions {
    /// One component or one `--config`.
    pub selection: Selection,
    /// Alembic's `-m`.
    pub message: String,
    pub autogenerate: bool,
}

/// Which of Alembic's reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Current,
    Heads,
    History,
}

#[derive(Debug)]
pub struct ReportOptions {
    pub kind: ReportKind,
    pub selection: Selection,
    pub engine: Engine,
    /// `heads --upstream`.
    pub upstream: Option<String>,
}

/// What resolution reads from the process besides the command line, read once so tests can
/// give their own.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    /// `GITHUB_ACTIONS=true`: `check` and `verify` default to annotations.
    pub github_actions: bool,
    /// stdin is a terminal.
    pub stdin_terminal: bool,
    /// db-migrate's process group owns the terminal on stdin.
    pub foreground: bool,
}

impl Env {
    pub fn current() -> Env {
        use std::io::IsTerminal;
        Env {
            github_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            stdin_terminal: std::io::stdin().is_terminal(),
            foreground: in_foreground(),
        }
    }
}

/// Why nothing runs.
// Built once per process, on the way out: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Rejected {
    /// clap answered: `--help`, `--version`, or a usage error for people.
    Clap(clap::Error),
    /// A usage error rendered as a failure in `format`; `worded` is clap's own text for people,
    /// when clap found the error.
    Usage {
        format: Format,
        failure: Failure,
        worded: Option<String>,
    },
}

impl Rejected {
    fn usage(format: Format, failure: Failure) -> Rejected {
        Rejected::Usage {
            format,
            failure,
            worded: None,
        }
    }
}

impl Settings {
    /// Parse `args` (the program name first) and resolve them.
    pub fn from_args(args: Vec<OsString>, env: &Env) -> Result<Settings, Rejected> {
        match Cli::try_parse_from(&args) {
            Ok(cli) => Settings::resolve(cli, env),
            Err(e) => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                Err(clap_rejected(e, &args))
            }
        }
    }

    /// Apply the defaults and the rules clap cannot check.
    pub fn resolve(cli: Cli, env: &Env) -> Result<Settings, Rejected> {
        let format = format_for(&cli.global, &cli.command, env);
        if format == Format::Github
            && !matches!(cli.command, Command::Check { .. } | Command::Verify { .. })
        {
            return Err(Rejected::usage(
                Format::Text,
                Failure::usage(
                    crate::failure::Kind::FormatGithub,
                    "--format github is for check and verify",
                    "use --format text or --format json with this command",
                ),
            ));
        }
        let task = task(cli.command);
        let run = match &task {
            Task::Migrate(MigrateOptions { run, .. })
            | Task::Roundtrip(RoundtripOptions { run, .. }) => Some(run),
            _ => None,
        };
        if let Some(failure) = run.and_then(|run| interactive_without_terminal(run, env)) {
            return Err(Rejected::usage(format, failure));
        }
        let GlobalArgs {
            workdir,
            python,
            format: _,
            verbose,
            wait,
            alembic_timeout,
        } = cli.global;
        Ok(Settings {
            format,
            verbose,
            workdir,
            python,
            alembic_timeout: Duration::from_secs(alembic_timeout),
            wait: wait.map(Duration::from_secs),
            task,
        })
    }
}

impl Task {
    /// `--config PATH`, which the workspace is discovered from when there is no alembic*.ini
    /// around.
    pub fn config(&self) -> Option<&Path> {
        let selection = match self {
            Task::Status(o) => &o.selection,
            Task::Migrate(o) => &o.selection,
            Task::Roundtrip(o) => &o.selection,
            Task::Sync(o) => &o.selection,
            Task::Hooks(_) => return None,
            Task::FixHeads(o) => &o.selection,
            Task::Check(o) => &o.selection,
            Task::Verify(o) => &o.selection,
            Task::New(o) => &o.selection,
            Task::Report(o) => &o.selection,
            Task::Completions(_) | Task::Man | Task::Schema | Task::Explain(_) => return None,
            Task::Skill => return None,
        };
        match selection {
            Selection::Config(path) => Some(path),
            Selection::Component(_) | Selection::All => None,
        }
    }
}

/// The format asked for; `check` and `verify` in GitHub Actions default to annotations.
fn format_for(global: &GlobalArgs, command: &Command, env: &Env) -> Format {
    match (global.format, command) {
        (Some(f), _) => f.into(),
        (None, Command::Check { .. } | Command::Verify { .. }) if env.github_actions => {
            Format::Github
        }
        (None, _) => Format::Text,
    }
}

impl From<RunArgs> for RunOptions {
    fn from(run: RunArgs) -> RunOptions {
        let RunArgs {
            dry_run,
            quiet,
            sql,
            backup,
            lock_timeout,
            keep_going,
            interactive,
        } = run;
        RunOptions {
            dry_run,
            quiet,
            sql,
            backup,
            lock_timeout,
            keep_going,
            interactive,
        }
    }
}

fn task(command: Command) -> Task {
    match command {
        Command::Status {
            components,
            engine,
            upstream,
            check,
        } => Task::Status(StatusOptions {
            selection: components.selection(),
            engine: engine.engine.into(),
            upstream: upstream.upstream,
            check,
        }),
        Command::Upgrade {
            components,
            run,
            target,
        } => Task::Migrate(MigrateOptions {
            selection: components.selection(),
            run: run.into(),
            direction: Direction::Upgrade,
            target,
            yes: false,
        }),
        Command::Downgrade {
            components,
            run,
            target,
            yes,
        } => Task::Migrate(MigrateOptions {
            selection: components.selection(),
            run: run.into(),
            direction: Direction::Downgrade,
            target,
            yes,
        }),
        Command::Migrate {
            components,
            run,
            direction,
            target,
            yes,
        } => Task::Migrate(MigrateOptions {
            selection: components.selection(),
            run: run.into(),
            direction: direction.into(),
            target,
            yes,
        }),
        Command::Roundtrip {
            components,
            run,
            revision,
            yes,
        } => Task::Roundtrip(RoundtripOptions {
            selection: components.selection(),
            run: run.into(),
            revision,
            yes,
        }),
        Command::Sync {
            components,
            run,
            yes,
        } => Task::Sync(SyncOptions {
            selection: components.selection(),
            run: run.into(),
            yes,
            only_harmless: false,
        }),
        Command::Hooks { action } => Task::Hooks(match action {
            cli::HooksAction::Install { auto } => HooksTask::Install { auto },
            cli::HooksAction::Uninstall => HooksTask::Uninstall,
            cli::HooksAction::Run { auto, .. } => HooksTask::Run { auto },
        }),
        Command::FixHeads {
            components,
            run,
            upstream,
            yes,
            allow_dirty,
            mine_first,
        } => Task::FixHeads(FixHeadsOptions {
            selection: components.selection(),
            run: run.into(),
            upstream: upstream.upstream,
            yes,
            allow_dirty,
            mine_first,
        }),
        Command::Check {
            explain: Some(rule),
            ..
        } => Task::Explain(rule),
        Command::Check {
            component,
            all: _,
            config,
            base,
            upstream,
            strict,
            no_lint,
            explain: None,
        } => {
            // Default: every component with a config.
            let selection = cli::ComponentArgs {
                component: component.unwrap_or(cli::ComponentArg::Manager),
                all: component.is_none() && config.is_none(),
                config,
            };
            Task::Check(CheckOptions {
                selection: selection.selection(),
                base,
                upstream,
                strict,
                no_lint,
            })
        }
        Command::Verify {
            components,
            base,
            keep,
            from_empty,
            idempotent,
        } => Task::Verify(VerifyOptions {
            selection: components.selection(),
            base,
            keep,
            from_empty,
            idempotent,
        }),
        Command::New {
            message,
            component,
            config,
            autogenerate,
        } => Task::New(NewOptions {
            selection: cli::ComponentArgs {
                component,
                all: false,
                config,
            }
            .selection(),
            message,
            autogenerate,
        }),
        Command::Completions { shell } => Task::Completions(shell),
        Command::Man => Task::Man,
        Command::Schema => Task::Schema,
        Command::Skill => Task::Skill,
        Command::Current { components, engine } => Task::Report(ReportOptions {
            kind: ReportKind::Current,
            selection: components.selection(),
            engine: engine.engine.into(),
            upstream: None,
        }),
        Command::Heads {
            components,
            engine,
            upstream,
        } => Task::Report(ReportOptions {
            kind: ReportKind::Heads,
            selection: components.selection(),
            engine: engine.engine.into(),
            upstream: upstream.upstream,
        }),
        Command::History { components, engine } => Task::Report(ReportOptions {
            kind: ReportKind::History,
            selection: components.selection(),
            engine: engine.engine.into(),
            upstream: None,
        }),
    }
}

/// `--interactive` hands the terminal to Alembic: without one on stdin, or with db-migrate in
/// the background (the child would be stopped reading it), it is a usage error.
fn interactive_without_terminal(run: &RunOptions, env: &Env) -> Option<Failure> {
    if !run.interactive {
        return None;
    }
    let cause = if !env.stdin_terminal {
        "--interactive gives Alembic db-migrate's stdin so a migration can ask a question, and stdin is not a terminal (a pipe, a file, or CI)"
    } else if !env.foreground {
        "--interactive gives Alembic the terminal, and db-migrate runs in the background, where reading the terminal stops it"
    } else {
        return None;
    };
    Some(Failure {
        cause: cause.to_owned(),
        ..Failure::usage(
            crate::failure::Kind::InteractiveNeedsTerminal,
            "--interactive needs a terminal on stdin; nothing was run",
            "run it from a terminal in the foreground, or drop --interactive: when a migration asks a question, the error names the environment variable that answers it",
        )
    })
}

/// Whether db-migrate's process group owns the terminal on stdin.
fn in_foreground() -> bool {
    // SAFETY: tcgetpgrp/getpgrp only read process state.
    unsafe { libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// A command line clap rejected (or `--help`/`--version`): a reader of `--format json` or
/// `--format github` still gets a failure in that format; everything else is clap's to print.
fn clap_rejected(e: clap::Error, args: &[String]) -> Rejected {
    if e.use_stderr() && wants_format(args, "github") {
        // A workflow shows why the step failed: clap's text on stderr, one ::error on stdout.
        let rendered = e.to_string();
        let failure = Failure::usage(
            crate::failure::Kind::Usage,
            first_line(&rendered)
                .trim_start_matches("error: ")
                .to_owned(),
            usage_fix(&rendered),
        );
        return Rejected::Usage {
            format: Format::Github,
            failure,
            worded: Some(rendered),
        };
    }
    if e.use_stderr() && wants_format(args, "json") {
        // CI reading JSON gets JSON for usage errors too.
        let message = e
            .kind()
            .as_str()
            .map_or_else(|| first_line(&e.to_string()), str::to_owned);
        let detail = first_line(&e.to_string());
        let failure = Failure::usage(
            crate::failure::Kind::Usage,
            detail.trim_start_matches("error: ").to_owned(),
            usage_fix(&e.to_string()),
        );
        let failure = Failure {
            cause: message,
            ..failure
        };
        return Rejected::usage(Format::Json, failure);
    }
    Rejected::Clap(e)
}

/// `--format FORMAT` / `--format=FORMAT` anywhere on a command line clap rejected.
fn wants_format(args: &[String], format: &str) -> bool {
    args.iter().any(|a| *a == format!("--format={format}"))
        || args
            .windows(2)
            .any(|w| w[0] == "--format" && w[1] == format)
}

/// The next step for a usage error clap rejected: its tips ("a similar subcommand exists:
/// 'status'") and possible values, which the text rendering shows too, then `--help`.
fn usage_fix(rendered: &str) -> String {
    let hints: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter_map(|l| {
            l.strip_prefix("tip: ").or_else(|| {
                l.strip_prefix('[')
                    .and_then(|l| l.strip_suffix(']'))
                    .filter(|l| l.starts_with("possible values: "))
            })
        })
        .collect();
    if hints.is_empty() {
        "db-migrate --help".to_owned()
    } else {
        format!("{}; db-migrate --help", hints.join("; "))
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::Component;

    const TERMINAL: Env = Env {
        github_actions: false,
        stdin_terminal: true,
        foreground: true,
    };

    fn resolve(args: &[&str], env: &Env) -> Result<Settings, Rejected> {
        let args = std::iter::once("db-migrate")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        Settings::from_args(args, env)
    }

    fn task(args: &[&str]) -> Task {
        resolve(args, &TERMINAL).expect("resolves").task
    }

    /// The format a rejection is said in and its headline.
    fn rejected(args: &[&str], env: &Env) -> (Format, String) {
        match resolve(args, env) {
            Ok(settings) => panic!("{args:?} resolved: {settings:?}"),
            Err(Rejected::Usage {
                format, failure, ..
            }) => (format, failure.message),
            Err(Rejected::Clap(e)) => panic!("{args:?}: clap's own error: {e}"),
        }
    }

    #[test]
    fn format_github_is_refused_outside_check_and_verify_and_said_as_text() {
        for args in [
            &["--format", "github", "status"][..],
            &["upgrade", "--format=github"],
            &["completions", "bash", "--format", "github"],
        ] {
            assert_eq!(
                rejected(args, &TERMINAL),
                (
                    Format::Text,
                    "--format github is for check and verify".to_owned()
                )
            );
        }
        for args in [
            &["check", "--format", "github"][..],
            &["verify", "--format=github"],
        ] {
            assert_eq!(resolve(args, &TERMINAL).unwrap().format, Format::Github);
        }
    }

    #[test]
    fn github_actions_defaults_check_and_verify_to_annotations_only() {
        let ci = Env {
            github_actions: true,
            ..TERMINAL
        };
        let format = |args: &[&str]| resolve(args, &ci).unwrap().format;
        assert_eq!(format(&["check"]), Format::Github);
        assert_eq!(format(&["verify"]), Format::Github);
        assert_eq!(format(&["status"]), Format::Text);
        assert_eq!(format(&["check", "--format", "json"]), Format::Json);
    }

    #[test]
    fn check_defaults_to_every_component_and_takes_one_when_named() {
        let selection = |args: &[&str]| match task(args) {
            Task::Check(o) => o.selection,
            other => panic!("{other:?}"),
        };
        assert_eq!(selection(&["check"]), Selection::All);
        assert_eq!(selection(&["check", "--all"]), Selection::All);
        assert_eq!(
            selection(&["check", "--component", "appproxy"]),
            Selection::Component(Component::Appproxy)
        );
        assert_eq!(
            selection(&["check", "--config", "x.ini"]),
            Selection::Config("x.ini".into())
        );
        assert!(
            matches!(task(&["check", "--explain", "single-head"]), Task::Explain(r) if r == "single-head")
        );
    }

    #[test]
    fn other_commands_default_to_the_manager() {
        match task(&["status"]) {
            Task::Status(o) => assert_eq!(o.selection, Selection::Component(Component::Manager)),
            other => panic!("{other:?}"),
        }
        match task(&["downgrade", "--all", "--yes"]) {
            Task::Migrate(o) => {
                assert_eq!(o.selection, Selection::All);
                assert_eq!(o.direction, Direction::Downgrade);
                assert!(o.yes);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_workspace_is_found_from_config_when_one_is_named() {
        let config = |args: &[&str]| task(args).config().map(Path::to_path_buf);
        assert_eq!(
            config(&["status", "--config", "a/x.ini"]),
            Some("a/x.ini".into())
        );
        assert_eq!(
            config(&["check", "--config", "x.ini"]),
            Some("x.ini".into())
        );
        assert_eq!(config(&["verify", "--all"]), None);
        assert_eq!(config(&["check"]), None);
        assert_eq!(config(&["man"]), None);
    }

    #[test]
    fn interactive_needs_a_terminal_in_the_foreground() {
        let piped = Env {
            stdin_terminal: false,
            ..TERMINAL
        };
        let background = Env {
            foreground: false,
            ..TERMINAL
        };
        for args in [
            &["upgrade", "--interactive"][..],
            &["--format", "json", "downgrade", "--interactive"],
            &["migrate", "--interactive"],
            &["roundtrip", "--interactive"],
        ] {
            for env in [&piped, &background] {
                let (_, message) = rejected(args, env);
                assert_eq!(
                    message,
                    "--interactive needs a terminal on stdin; nothing was run"
                );
            }
            assert!(resolve(args, &TERMINAL).is_ok(), "{args:?}");
        }
        assert_eq!(
            rejected(&["--format", "json", "upgrade", "--interactive"], &piped).0,
            Format::Json
        );
        assert!(resolve(&["upgrade"], &piped).is_ok());
    }

    #[test]
    fn usage_errors_are_failures_for_json_and_github_readers_only() {
        let (format, message) = rejected(&["--format", "json", "statsu"], &TERMINAL);
        assert_eq!(format, Format::Json);
        assert_eq!(message, "unrecognized subcommand 'statsu'");
        match resolve(&["--format=github", "status", "--bogus"], &TERMINAL) {
            Err(Rejected::Usage {
                format: Format::Github,
                worded: Some(text),
                ..
            }) => assert!(
                text.starts_with("error: unexpected argument '--bogus'"),
                "{text}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve(&["statsu"], &TERMINAL),
            Err(Rejected::Clap(_))
        ));
        assert!(matches!(
            resolve(&["--format", "json", "--help"], &TERMINAL),
            Err(Rejected::Clap(e)) if !e.use_stderr()
        ));
    }

    #[test]
    fn a_command_line_that_is_not_utf8_is_a_usage_error() {
        use std::os::unix::ffi::OsStringExt;
        let args = vec![
            OsString::from("db-migrate"),
            OsString::from("--format"),
            OsString::from("json"),
            OsString::from_vec(vec![0xff]),
        ];
        assert!(matches!(
            Settings::from_args(args, &TERMINAL),
            Err(Rejected::Usage {
                format: Format::Json,
                ..
            })
        ));
    }

    #[test]
    fn usage_fix_keeps_clap_tips_and_possible_values() {
        let rendered = "error: invalid value 'manger' for '--component <COMPONENT>'\n  [possible values: manager, accountmgr, appproxy]\n\n  tip: a similar value exists: 'manager'\n";
        assert_eq!(
            usage_fix(rendered),
            "possible values: manager, accountmgr, appproxy; a similar value exists: 'manager'; db-migrate --help"
        );
    }
}
