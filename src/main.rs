//! db-migrate: parse the command line, run, exit with a documented code.

// Failures are returned once per run and carry the whole explanation; boxing them buys nothing.
#![allow(clippy::result_large_err)]

/// Write to stdout through [`stdout::write`]: a reader that went away (`| head`) is a quiet stop,
/// any other write error is recorded and turns a success into exit 1 at the end. Never panics and
/// never returns an error, so a migration is not stopped half-way because its output broke.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::stdout::write(format_args!($($t)*), false)
    };
}

/// `out!` with a newline.
macro_rules! outln {
    () => {
        $crate::stdout::write(format_args!(""), true)
    };
    ($($t:tt)*) => {
        $crate::stdout::write(format_args!($($t)*), true)
    };
}

mod alembic;
mod check;
mod cleanup;
mod cli;
mod commands;
mod component;
mod docs;
mod error;
mod exit_code;
mod git;
mod graph;
mod heads;
mod inspect;
mod interrupt;
mod mask;
mod plan;
mod postgres;
mod remediation;
mod render;
mod report;
mod revisions;
mod sqlite;
mod state;
mod stdout;
mod target;
mod verify;
mod workspace;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::commands::report::Kind;
use crate::commands::App;
use crate::error::Failure;
use crate::plan::Direction;
use crate::workspace::Workspace;

fn main() -> ExitCode {
    // The file readers are short-lived threads; one malloc arena keeps their freed memory
    // reusable instead of stranding it per thread (peak RSS 20 → 17 MB at 10,000 revisions).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() && wants_format(std::env::args(), "github") => {
            // A workflow shows why the step failed: clap's text on stderr, one ::error on stdout.
            let rendered = e.to_string();
            eprint!("{rendered}");
            let failure = Failure::usage(
                "usage",
                first_line(&rendered)
                    .trim_start_matches("error: ")
                    .to_owned(),
                usage_fix(&rendered),
            );
            outln!("{}", render::github::failure(&failure));
            return ExitCode::from(stdout::finish(exit_code::USAGE));
        }
        Err(e) if e.use_stderr() && wants_json(std::env::args()) => {
            // CI reading JSON gets JSON for usage errors too.
            let message = e
                .kind()
                .as_str()
                .map_or_else(|| first_line(&e.to_string()), str::to_owned);
            let detail = first_line(&e.to_string());
            let failure = Failure::usage(
                "usage",
                detail.trim_start_matches("error: ").to_owned(),
                usage_fix(&e.to_string()),
            );
            let failure = Failure {
                cause: message,
                ..failure
            };
            outln!("{}", render::json::failure(&failure));
            return ExitCode::from(stdout::finish(exit_code::USAGE));
        }
        Err(e) => {
            // --help and --version go to stdout; usage errors to stderr.
            if let Err(io) = e.print() {
                if !e.use_stderr() {
                    stdout::record(&io);
                }
            }
            return ExitCode::from(stdout::finish(if e.use_stderr() {
                exit_code::USAGE
            } else {
                exit_code::OK
            }));
        }
    };
    let format = cli.global.format_for(&cli.command);
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("DB_MIGRATE_LOG"))
        .with_writer(std::io::stderr)
        .init();
    // One thread: children are spawned from the main thread, which lives as long as the process,
    // so the parent-death signal fires only when db-migrate itself dies.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let failure = Failure::new(
                "runtime",
                format!("cannot start the async runtime: {e}"),
                "the system refused db-migrate a resource it needs at start (threads, file descriptors or an epoll instance)",
                "check ulimit -n and ulimit -u, then rerun",
            );
            return ExitCode::from(stdout::finish(report(format, &failure)));
        }
    };
    let json = format == cli::Format::Json;
    alembic::runner::set_verbose(cli.global.verbose);
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            tokio::spawn(interrupt::exit_on_signal_when_idle(json));
            run(cli).await
        })
    }))
    .unwrap_or_else(|panic| panicked(format, panic.as_ref()));
    ExitCode::from(stdout::finish(code))
}

/// A bug that unwound to `main`: the panic hook has printed the message on stderr; a JSON reader
/// still gets one document (unless one was already written), and the exit code stays one of the
/// documented ones.
fn panicked(format: cli::Format, panic: &(dyn std::any::Any + Send)) -> u8 {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    let failure = Failure::new(
        "internal-error",
        format!("db-migrate failed unexpectedly: {}", mask::mask(&what)),
        "a bug in db-migrate (the message above on stderr says where)",
        "rerun with RUST_BACKTRACE=1 DB_MIGRATE_LOG=debug and report the output as a bug",
    );
    if format == cli::Format::Json && !stdout::written() {
        outln!("{}", render::json::failure(&failure));
    }
    exit_code::FAILED
}

async fn run(cli: Cli) -> u8 {
    let format = cli.global.format_for(&cli.command);
    if format == cli::Format::Github
        && !matches!(cli.command, Command::Check { .. } | Command::Verify { .. })
    {
        return report(
            cli::Format::Text,
            &Failure::usage(
                "format-github",
                "--format github is for check and verify",
                "use --format text or --format json with this command",
            ),
        );
    }
    match &cli.command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "db-migrate", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            return exit_code::OK;
        }
        Command::Schema => {
            out!("{}", report::schema());
            return exit_code::OK;
        }
        Command::Man => {
            let mut page = Vec::new();
            return match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => {
                    out!("{}", String::from_utf8_lossy(&page));
                    exit_code::OK
                }
                Err(e) => {
                    eprintln!("error: cannot render the man page: {e}");
                    exit_code::FAILED
                }
            };
        }
        _ => {}
    }
    if let Command::Check {
        explain: Some(rule),
        ..
    } = &cli.command
    {
        return match commands::check::explain(rule) {
            Ok(code) => code,
            Err(failure) => report(format, &failure),
        };
    }
    let verbose = cli.global.verbose;
    let config_flag = match &cli.command {
        Command::Status { components, .. }
        | Command::Upgrade { components, .. }
        | Command::Downgrade { components, .. }
        | Command::Migrate { components, .. }
        | Command::Roundtrip { components, .. }
        | Command::FixHeads { components, .. }
        | Command::Current { components, .. }
        | Command::Heads { components, .. }
        | Command::History { components, .. }
        | Command::Verify { components, .. } => components.config.clone(),
        Command::Check { config, .. } => config.clone(),
        Command::Completions { .. } | Command::Man | Command::Schema => None,
    };
    if let Some(failure) = interactive_without_terminal(&cli.command) {
        return report(format, &failure);
    }
    let ws = match Workspace::discover(
        cli.global.workdir.as_deref(),
        config_flag.as_deref(),
        cli.global.python.as_deref(),
    ) {
        Ok(ws) => Workspace {
            alembic_timeout: std::time::Duration::from_secs(cli.global.alembic_timeout),
            ..ws
        },
        Err(failure) => return report(format, &failure),
    };
    let app = App {
        ws,
        format,
        verbose,
        wait: cli.global.wait.map(std::time::Duration::from_secs),
    };
    let result = match &cli.command {
        Command::Status {
            components,
            engine,
            upstream,
            check,
        } => {
            commands::status::run(
                &app,
                components,
                engine.engine.into(),
                upstream.upstream.as_deref(),
                *check,
            )
            .await
        }
        Command::Upgrade {
            components,
            run,
            target,
        } => commands::migrate::run(&app, components, run, Direction::Upgrade, target, false).await,
        Command::Downgrade {
            components,
            run,
            target,
            yes,
        } => {
            commands::migrate::run(&app, components, run, Direction::Downgrade, target, *yes).await
        }
        Command::Migrate {
            components,
            run,
            direction,
            target,
            yes,
        } => commands::migrate::run(&app, components, run, (*direction).into(), target, *yes).await,
        Command::Roundtrip {
            components,
            run,
            revision,
            yes,
        } => commands::roundtrip::run(&app, components, run, revision, *yes).await,
        Command::FixHeads {
            components,
            run,
            upstream,
            yes,
            allow_dirty,
            mine_first,
        } => {
            let opts = commands::fix_heads::Options {
                upstream: upstream.upstream.as_deref(),
                yes: *yes,
                allow_dirty: *allow_dirty,
                mine_first: *mine_first,
            };
            commands::fix_heads::run(&app, components, run, &opts).await
        }
        Command::Check {
            component,
            all: _,
            config,
            base,
            strict,
            no_lint,
            explain: _,
        } => {
            // Default: every component with a config.
            let selection = cli::ComponentArgs {
                component: component.unwrap_or(cli::ComponentArg::Manager),
                all: component.is_none() && config.is_none(),
                config: config.clone(),
            };
            let opts = commands::check::Options {
                base: base.as_deref(),
                output: match format {
                    cli::Format::Text => commands::check::Output::Text,
                    cli::Format::Json => commands::check::Output::Json,
                    cli::Format::Github => commands::check::Output::Github,
                },
                strict: *strict,
                no_lint: *no_lint,
            };
            match app.ws.configs(&selection.selection()) {
                Ok(configs) => commands::check::run(&app, &configs, &opts).await,
                Err(failure) => Err(failure),
            }
        }
        Command::Verify {
            components,
            base,
            keep,
            from_empty,
            idempotent,
        } => {
            let opts = commands::verify::Options {
                base: base.as_deref(),
                keep: *keep,
                from_empty: *from_empty,
                idempotent,
            };
            match app.ws.configs(&components.selection()) {
                Ok(configs) => match app.wait_for_databases(&configs).await {
                    Ok(()) => commands::verify::run(&app, &configs, &opts).await,
                    Err(failure) => Err(failure),
                },
                Err(failure) => Err(failure),
            }
        }
        // Answered before a workspace is looked for.
        Command::Completions { .. } | Command::Man | Command::Schema => Ok(exit_code::OK),
        Command::Current { components, engine } => {
            commands::report::run(&app, components, Kind::Current, engine.engine.into(), None).await
        }
        Command::Heads {
            components,
            engine,
            upstream,
        } => {
            commands::report::run(
                &app,
                components,
                Kind::Heads,
                engine.engine.into(),
                upstream.upstream.as_deref(),
            )
            .await
        }
        Command::History { components, engine } => {
            commands::report::run(&app, components, Kind::History, engine.engine.into(), None).await
        }
    };
    match result {
        Ok(code) => code,
        Err(failure) => report(format, &failure),
    }
}

/// `--interactive` hands the terminal to Alembic: without one on stdin, or with db-migrate in
/// the background (the child would be stopped reading it), it is a usage error.
fn interactive_without_terminal(command: &Command) -> Option<Failure> {
    use std::io::IsTerminal;
    let run = match command {
        Command::Upgrade { run, .. }
        | Command::Downgrade { run, .. }
        | Command::Migrate { run, .. }
        | Command::Roundtrip { run, .. } => run,
        _ => return None,
    };
    if !run.interactive {
        return None;
    }
    let cause = if !std::io::stdin().is_terminal() {
        "--interactive gives Alembic db-migrate's stdin so a migration can ask a question, and stdin is not a terminal (a pipe, a file, or CI)"
    } else if !in_foreground() {
        "--interactive gives Alembic the terminal, and db-migrate runs in the background, where reading the terminal stops it"
    } else {
        return None;
    };
    Some(Failure {
        cause: cause.to_owned(),
        ..Failure::usage(
            "interactive-needs-terminal",
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

/// `--format json` / `--format=json` anywhere on a command line clap rejected.
fn wants_json(args: impl Iterator<Item = String>) -> bool {
    wants_format(args, "json")
}

/// `--format FORMAT` / `--format=FORMAT` anywhere on a command line clap rejected.
fn wants_format(args: impl Iterator<Item = String>, format: &str) -> bool {
    let args: Vec<String> = args.collect();
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

fn report(format: cli::Format, failure: &Failure) -> u8 {
    let app_format = format;
    match app_format {
        cli::Format::Json => outln!("{}", render::json::failure(failure)),
        cli::Format::Text => eprint!("{}", render::text::failure(failure)),
        cli::Format::Github => {
            eprint!("{}", render::text::failure(failure));
            outln!("{}", render::github::failure(failure));
        }
    }
    failure.exit
}
