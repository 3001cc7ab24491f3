//! `upgrade`, `downgrade` and `migrate`: plan, confirm (downgrades), run Alembic with its steps
//! streamed live, then re-check and print the final state. On failure, say where the database is.

use std::io::{BufRead, IsTerminal, Write};

use crate::alembic::{self, parse};
use crate::cli::{ComponentArgs, Direction, Format, RunArgs};
use crate::db;
use crate::error::Failure;
use crate::exit_code;
use crate::inspect::{self, relay, Inspection};
use crate::mask;
use crate::remediation::{self, select_flag, Context};
use crate::render::json::{self, ComponentReport, Destructive, Report, Step};
use crate::render::progress::Progress;
use crate::render::text;
use crate::state::State;
use crate::target::Target;
use crate::workspace::Config;
use std::time::Duration;

use super::App;

pub async fn run(
    app: &App,
    args: &ComponentArgs,
    run: &RunArgs,
    direction: Direction,
    target: &Target,
    yes: bool,
) -> Result<u8, Failure> {
    if direction == Direction::Downgrade && args.all {
        return Err(Failure::usage(
            "downgrade-all",
            "downgrade --all is not supported",
            "downgrade one component at a time: db-migrate downgrade --component C TARGET",
        ));
    }
    let configs = app.ws.configs(args)?;
    app.wait_for_databases(&configs).await?;
    let mut reports = Vec::new();
    for (n, config) in configs.iter().enumerate() {
        if n > 0 {
            say(app, "\n");
        }
        match migrate_one(app, config, run, direction, target, yes).await {
            Ok(report) => reports.push(report),
            Err(failure) => {
                match app.format {
                    Format::Text => eprint!("{}", text::failure(&failure)),
                    Format::Json => {
                        reports.push(ComponentReport::failed(
                            &config.label,
                            &config.ini_arg,
                            &failure,
                        ));
                        outln!(
                            "{}",
                            json::to_string(&Report {
                                components: reports,
                                error: Some(failure.clone())
                            })
                        );
                    }
                }
                return Ok(failure.exit);
            }
        }
    }
    if app.format == Format::Json {
        outln!(
            "{}",
            json::to_string(&Report {
                components: reports,
                error: None
            })
        );
    }
    Ok(exit_code::OK)
}

/// Human output goes to stdout in text mode and to stderr in JSON mode (stdout stays JSON).
pub(super) fn say(app: &App, text: &str) {
    let text = mask::mask(text);
    match app.format {
        Format::Text => {
            out!("{text}");
            let _ = std::io::stdout().flush();
        }
        Format::Json => eprint!("{text}"),
    }
}

/// Plan, steps and notes: everything but errors and the final state, which `-q` keeps.
pub(super) fn detail(run: &RunArgs, app: &App, text: &str) {
    if !run.quiet {
        say(app, text);
    }
}

async fn migrate_one(
    app: &App,
    config: &Config,
    run: &RunArgs,
    direction: Direction,
    target: &Target,
    yes: bool,
) -> Result<ComponentReport, Failure> {
    // One at a time: held (on its own connection) from planning until the final re-check, so a
    // second db-migrate waits here and then plans against what the first one left.
    let _lock = if run.dry_run || run.sql {
        None
    } else {
        lock(app, config, run).await?
    };
    let before = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    let plan = plan(&before, direction, target);
    let verb = direction.verb();
    let mut header = format!(
        "{} ({}): {verb} to {target}\n",
        config.label, config.ini_arg
    );
    header.push_str(&describe_plan(&before, direction, plan.as_deref()));
    let destructive = match (direction, plan.as_deref()) {
        (Direction::Downgrade, Some(revs)) => destructive_ops(&before, revs),
        _ => Vec::new(),
    };
    header.push_str(&describe_destruction(&destructive));
    if direction == Direction::Downgrade {
        header.push_str(&describe_sessions(config).await);
    }
    if run.sql {
        eprint!("{}", mask::mask(&header));
    } else {
        detail(run, app, &header);
    }

    let destination_reached = before.state != State::UnknownRevision
        && plan.as_deref().is_some_and(|p| p.is_empty())
        && at_destination(&before, target);
    if destination_reached {
        detail(run, app, "  already there: nothing to run\n");
        say(app, &text::status(&before));
        return Ok(ComponentReport::from_inspection(&before));
    }
    if run.sql {
        return offline_sql(app, &before, direction, target).await;
    }
    if run.dry_run {
        detail(run, app, "  dry run: nothing was changed\n");
        let mut report = ComponentReport::from_inspection(&before);
        report.destructive = destructive;
        return Ok(report);
    }
    if direction == Direction::Downgrade {
        let rerun = format!("db-migrate downgrade {} {target}", select_flag(config));
        confirm(config, &rerun, yes)?;
    }
    backup_if_asked(app, run, &before)?;
    let (steps, after) = execute(app, run, &before, direction, target).await?;
    say(app, &text::status(&after));
    if direction == Direction::Upgrade && !steps.is_empty() {
        if let Some(component) = config.component {
            detail(
                run,
                app,
                &format!(
                    "  restart  {} to pick up the new schema\n",
                    component.services()
                ),
            );
        }
    }
    let mut report = ComponentReport::from_inspection(&after);
    report.applied = steps;
    report.destructive = destructive;
    Ok(report)
}

/// `--backup`: dump the database before anything changes; a failed dump stops the run.
pub(super) fn backup_if_asked(
    app: &App,
    run: &RunArgs,
    before: &Inspection,
) -> Result<(), Failure> {
    let config = &before.config;
    if let Some(requested) = &run.backup {
        let requested = Some(std::path::Path::new(requested)).filter(|p| !p.as_os_str().is_empty());
        let at = before.current.join("+");
        let backup = crate::backup::dump(config, &at, requested)?;
        detail(
            run,
            app,
            &format!(
                "  backup   {}\n  restore  {}\n",
                backup.path.display(),
                backup.restore
            ),
        );
    }

    Ok(())
}

/// Run `alembic <verb> <target>` for the inspected component, each step shown as it happens,
/// then re-read where the database is. An interrupt or a failure becomes a `Failure` that says
/// where the database was left.
pub(super) async fn execute(
    app: &App,
    run: &RunArgs,
    before: &Inspection,
    direction: Direction,
    target: &Target,
) -> Result<(Vec<Step>, Inspection), Failure> {
    let config = &before.config;
    let verb = direction.verb();
    let total = plan(before, direction, target).map(|p| p.len());
    let progress = Progress::new(
        total,
        app.format == Format::Text && !run.quiet && !app.verbose,
    );
    let mut steps: Vec<Step> = Vec::new();
    let mut on_line = relay(app.verbose, &config.label, verb);
    let output = alembic::migration(&app.ws, config, &[verb, target.as_str()], |stream, line| {
        on_line(stream, line);
        if let Some(step) = parse::step(line, |id| before.graph.contains(id)) {
            let show = |ids: &[String]| {
                if ids.is_empty() {
                    "(base)".to_owned()
                } else {
                    ids.join(",")
                }
            };
            let text = format!(
                "  {:<9} {} -> {}  {}\n",
                step.direction,
                show(&step.from),
                show(&step.to),
                step.message
            );
            let running = format!("{} {}", show(&step.to), step.message);
            progress.started(
                &mask::mask(&text),
                steps.len(),
                &mask::mask(&running),
                |t| detail(run, app, t),
            );
            steps.push(Step {
                direction: step.direction,
                from: step.from,
                to: step.to,
                message: step.message,
            });
        }
    })
    .await?;
    progress.finish();

    let after = inspect::refresh(&app.ws, before, app.verbose).await;
    if output.interrupted {
        let at = match &after {
            Ok(i) => format!("the database is at {}", describe_current(i)),
            Err(f) => format!("the database could not be checked: {}", f.message),
        };
        let mut failure = Failure::new(
            "interrupted",
            format!("{verb} of {} interrupted", config.label),
            "db-migrate received SIGINT/SIGTERM and stopped Alembic; PostgreSQL rolls back the unfinished transaction",
            format!("db-migrate status {}, then rerun the {verb} when ready", select_flag(config)),
        );
        failure.database = Some(at);
        failure.exit = exit_code::INTERRUPTED;
        return Err(failure);
    }
    if !output.success() {
        let mut failure = diagnose_run(before, verb, target, &output);
        failure.database = Some(match &after {
            Ok(i) if i.current == before.current => {
                format!("still at {} (nothing was changed)", describe_current(i))
            }
            Ok(i) => format!("now at {} ({})", describe_current(i), i.state.as_str()),
            Err(f) => format!("could not be checked: {}", f.message),
        });
        return Err(failure);
    }
    Ok((steps, after?))
}

/// `--sql`: Alembic's offline mode from where the database is to the planned destination
/// (`upgrade from:to --sql`; a downgrade always needs the range). Nothing is connected to.
async fn offline_sql(
    app: &App,
    before: &Inspection,
    direction: Direction,
    target: &Target,
) -> Result<ComponentReport, Failure> {
    let config = &before.config;
    let usage = |why: &str| {
        Failure::usage(
            "offline-range",
            format!("--sql cannot build the range for {}: {why}", config.label),
            "give an explicit revision as the target, or run without --sql",
        )
    };
    if app.format == Format::Json {
        return Err(Failure::usage(
            "offline-json",
            "--sql prints SQL, not JSON",
            "drop --format json (or --sql)",
        ));
    }
    if before.current.len() > 1 {
        return Err(usage("the database is at several revisions"));
    }
    let destination = match before.graph.destination(&before.current_indices(), target) {
        Some(d) if d.is_empty() => "base".to_owned(),
        Some(d) if d.len() == 1 => before.graph.rev(d[0]).id.clone(),
        Some(_) => return Err(usage("the destination is several revisions")),
        None if target.relative.is_none() => target.as_str().to_owned(),
        None => return Err(usage("the relative target is ambiguous here")),
    };
    let range = match (before.current.first(), direction) {
        (Some(from), _) => format!("{from}:{destination}"),
        (None, Direction::Upgrade) => destination,
        (None, Direction::Downgrade) => {
            return Err(usage("the database has no revision to downgrade from"))
        }
    };
    let verb = direction.verb();
    let mut on_line = relay(app.verbose, &config.label, verb);
    let output = alembic::read_only(&app.ws, config, &[verb, &range, "--sql"], |stream, line| {
        on_line(stream, line);
        if stream == alembic::Stream::Stdout {
            outln!("{}", mask::mask(line));
        }
    })
    .await?;
    if !output.success() {
        return Err(diagnose_run(before, verb, target, &output));
    }
    Ok(ComponentReport::from_inspection(before))
}

/// Explain a failed `alembic upgrade|downgrade` with what the plan knew.
fn diagnose_run(
    before: &Inspection,
    verb: &str,
    target: &Target,
    output: &alembic::Output,
) -> Failure {
    remediation::diagnose(
        verb,
        output,
        &Context {
            config: &before.config,
            target: Some(target),
            graph: Some(&before.graph),
        },
    )
}

/// What the downgrade() of each revision to revert destroys, with file and line.
pub(super) fn destructive_ops(i: &Inspection, revs: &[usize]) -> Vec<Destructive> {
    revs.iter()
        .flat_map(|&r| {
            let rev = i.graph.rev(r);
            let path = rev.path.clone().unwrap_or_default();
            crate::revisions::destructive::in_file(std::path::Path::new(&path))
                .into_iter()
                .map(move |f| Destructive {
                    revision: rev.id.clone(),
                    file: path.clone(),
                    line: f.line,
                    operation: f.operation,
                })
        })
        .collect()
}

pub(super) fn describe_destruction(ops: &[Destructive]) -> String {
    let mut out = String::new();
    for (n, op) in ops.iter().enumerate() {
        let label = if n == 0 { "destroys" } else { "" };
        let file = std::path::Path::new(&op.file)
            .file_name()
            .map_or(op.file.clone(), |f| f.to_string_lossy().into_owned());
        out.push_str(&format!(
            "  {label:<8} {}  {file}:{}  {}\n",
            op.revision, op.line, op.operation
        ));
    }
    out
}

/// Other sessions on the database (stop them before a downgrade), when it can be asked natively.
pub(super) async fn describe_sessions(config: &Config) -> String {
    let Some(pg) = config.url.as_ref().and_then(|u| db::connect_config(u).ok()) else {
        return String::new();
    };
    match db::other_sessions(&pg).await {
        Ok(names) if names.is_empty() => "  sessions none besides db-migrate\n".to_owned(),
        Ok(names) => format!(
            "  sessions {} other connection{}: {} (stop them before downgrading)\n",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        ),
        Err(_) => String::new(),
    }
}

/// Take the component's migration lock (PostgreSQL databases only), waiting up to --lock-timeout.
pub(super) async fn lock(
    app: &App,
    config: &Config,
    run: &RunArgs,
) -> Result<Option<db::MigrationLock>, Failure> {
    let Some(url) = &config.url else {
        return Ok(None);
    };
    let Ok(pg) = db::connect_config(url) else {
        if app.verbose {
            eprintln!(
                "{}: no migration lock (the URL is not one db-migrate connects to natively)",
                config.label
            );
        }
        return Ok(None);
    };
    let key = db::lock_key(url.database.as_deref().unwrap_or_default(), &config.label);
    let waiting = || {
        if run.quiet {
            return;
        }
        eprintln!(
            "{}: another db-migrate is migrating this database; waiting up to {}s for it to finish…",
            config.label, run.lock_timeout
        )
    };
    match db::advisory_lock(&pg, key, Duration::from_secs(run.lock_timeout), waiting).await {
        Ok(lock) => Ok(Some(lock)),
        Err(db::LockError::TimedOut) => Err(Failure::new(
            "lock-timeout",
            format!("another db-migrate still holds the {} migration lock after {}s; nothing was changed", config.label, run.lock_timeout),
            "a migration of the same database is running (or hung) elsewhere: CI job, another terminal",
            format!(
                "wait for it, or find it: SELECT pid, application_name, query_start FROM pg_stat_activity WHERE application_name = 'db-migrate lock'; then retry (--lock-timeout {} to wait longer)",
                run.lock_timeout * 2
            ),
        )),
        // Unreachable database: the inspection that follows asks Alembic and reports it in
        // Alembic's words; there is nothing to lock against.
        Err(db::LockError::Failed(text)) => {
            if app.verbose {
                eprintln!("{}: no migration lock ({})", config.label, mask::mask(&text));
            }
            Ok(None)
        }
    }
}

/// The revisions the run will apply or revert, when the graph determines them.
pub fn plan(i: &Inspection, direction: Direction, target: &Target) -> Option<Vec<usize>> {
    if i.state == State::UnknownRevision {
        return None;
    }
    let current = i.current_indices();
    let destination = i.graph.destination(&current, target)?;
    Some(match direction {
        Direction::Upgrade => i.graph.upgrade_plan(&current, &destination),
        Direction::Downgrade => i.graph.downgrade_plan(&current, &destination),
    })
}

fn at_destination(i: &Inspection, target: &Target) -> bool {
    let current = i.current_indices();
    match i.graph.destination(&current, target) {
        Some(mut dest) => {
            let mut cur = current.clone();
            dest.sort_unstable();
            cur.sort_unstable();
            dest == cur
        }
        None => false,
    }
}

pub(super) fn describe_current(i: &Inspection) -> String {
    if i.current.is_empty() {
        "base (no revision)".to_owned()
    } else {
        i.current.join(", ")
    }
}

fn describe_plan(i: &Inspection, direction: Direction, plan: Option<&[usize]>) -> String {
    let mut out = format!("  from     {}\n", describe_current(i));
    match plan {
        Some(revs) => {
            let what = match direction {
                Direction::Upgrade => "apply",
                Direction::Downgrade => "revert",
            };
            out.push_str(&format!(
                "  plan     {what} {} revision{}\n",
                revs.len(),
                if revs.len() == 1 { "" } else { "s" }
            ));
            text::write_revisions(&mut out, &i.graph, revs, "           ");
        }
        None => out.push_str("  plan     (Alembic resolves this target)\n"),
    }
    out
}

/// Downgrades can drop data: ask on a terminal, require --yes otherwise. `rerun` is the command
/// to suggest (without `--yes`).
pub(super) fn confirm(config: &Config, rerun: &str, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    let select = select_flag(config);
    if !std::io::stdin().is_terminal() {
        let mut failure = Failure::usage(
            "confirmation-required",
            format!("downgrade of {} needs confirmation, and stdin is not a terminal; nothing was changed", config.label),
            format!("review the plan above, then rerun with --yes: {rerun} --yes"),
        );
        failure.cause =
            "a downgrade can drop tables and data, and without a terminal db-migrate cannot ask"
                .to_owned();
        return Err(failure);
    }
    eprint!("Downgrading can drop tables, columns and data. Continue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::new(
            "cancelled",
            "downgrade cancelled; nothing was changed",
            "you answered no",
            format!("db-migrate status {select}"),
        ))
    }
}
