//! `upgrade`, `downgrade` and `migrate`: plan, confirm (downgrades), run Alembic with its steps
//! streamed live, then re-check and print the final state. On failure, say where the database is.

use std::io::{BufRead, IsTerminal, Write};

use crate::alembic::{self, parse};
use crate::cli::{ComponentArgs, Direction, Format, RunArgs};
use crate::db;
use crate::error::Failure;
use crate::exit_code;
use crate::graph::Unresolved;
use crate::inspect::{self, relay, Inspection};
use crate::mask;
use crate::remediation::{self, explain, select_flag, Context};
use crate::render::json::{self, ComponentReport, Destructive, Report, Step};
use crate::render::progress::Progress;
use crate::render::text;
use crate::state::State;
use crate::target::Target;
use crate::workspace::{Config, Workspace};
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
    match (direction, target.step_from_current()) {
        (Direction::Upgrade, Some(n)) if n < 0 => {
            return Err(Failure::usage(
                "bad-target",
                format!("upgrade {target} would go down: a negative step is a downgrade"),
                format!("db-migrate downgrade {} {target}", select_flag_args(args)),
            ))
        }
        (Direction::Downgrade, Some(n)) if n > 0 => {
            return Err(Failure::usage(
                "bad-target",
                format!("downgrade {target} would go up: a positive step is an upgrade"),
                format!("db-migrate upgrade {} {target}", select_flag_args(args)),
            ))
        }
        _ => {}
    }
    let configs = app.ws.configs(args)?;
    app.wait_for_databases(&configs).await?;
    let mut reports = Vec::new();
    let mut first_failure: Option<Failure> = None;
    for (n, config) in configs.iter().enumerate() {
        if n > 0 {
            say(app, "\n");
        }
        if first_failure.is_some() && !run.keep_going {
            let why = format!(
                "not attempted: {} failed first (--keep-going tries every component)",
                failed_label(&reports)
            );
            say(
                app,
                &format!("{} ({}): skipped, {why}\n", config.label, config.ini_arg),
            );
            reports.push(ComponentReport::skipped(
                &config.label,
                &config.ini_arg,
                why,
            ));
            continue;
        }
        match migrate_one(app, config, run, direction, target, yes).await {
            Ok(report) => reports.push(report),
            Err(failure) => {
                if app.format == Format::Text {
                    eprint!("{}", text::failure(&failure));
                }
                let known = inspect::known(&app.ws, config).await;
                reports.push(ComponentReport::failed(
                    &config.label,
                    &config.ini_arg,
                    &failure,
                    &known,
                ));
                first_failure.get_or_insert(failure);
            }
        }
    }
    if app.format == Format::Json {
        outln!(
            "{}",
            json::to_string(&Report {
                components: reports,
                error: first_failure.clone(),
            })
        );
    }
    Ok(first_failure.map_or(exit_code::OK, |f| f.exit))
}

/// The component selection as typed, for a suggested command.
fn select_flag_args(args: &ComponentArgs) -> String {
    match &args.config {
        Some(path) => format!("--config {}", path.display()),
        None if args.all => "--all".to_owned(),
        None => format!("--component {}", args.component.name()),
    }
}

/// The component of the first failed report.
fn failed_label(reports: &[ComponentReport]) -> String {
    reports.iter().find(|r| r.error.is_some()).map_or_else(
        || "an earlier component".to_owned(),
        |r| r.component.clone(),
    )
}

/// Human output goes to stdout in text mode and to stderr in JSON mode (stdout stays JSON).
pub(super) fn say(app: &App, text: &str) {
    let text = mask::mask(text);
    match app.format {
        Format::Text | Format::Github => {
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
    let changes = !(run.dry_run || run.sql);
    let asks = changes && direction == Direction::Downgrade && !yes;
    if !asks {
        // One at a time: held (on its own connection) from planning until the final re-check, so
        // a second db-migrate waits here and then plans against what the first one left.
        let _lock = if changes {
            lock(app, config, run).await?
        } else {
            None
        };
        return match prepare(app, config, run, direction, target).await? {
            Prepared::Done(report) => Ok(report),
            Prepared::Run(ready) => apply(app, run, direction, target, ready).await,
        };
    }
    // Ask before taking the lock: a prompt left open must not hold up every other db-migrate
    // (CI included). Once answered, lock, plan again, and ask again only if the plan changed.
    let rerun = format!("db-migrate downgrade {} {target}", select_flag(config));
    let mut ready = match prepare(app, config, run, direction, target).await? {
        Prepared::Done(report) => return Ok(report),
        Prepared::Run(ready) => ready,
    };
    loop {
        confirm(config, &rerun, false)?;
        let _lock = lock(app, config, run).await?;
        let now = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
        if now.current == ready.before.current && plan(&now, direction, target) == ready.plan {
            ready.before = now;
            return apply(app, run, direction, target, ready).await;
        }
        drop(_lock);
        say(
            app,
            "  the database changed while you were answering; here is the new plan\n",
        );
        ready = match prepare(app, config, run, direction, target).await? {
            Prepared::Done(report) => return Ok(report),
            Prepared::Run(ready) => ready,
        };
    }
}

/// A planned run, shown and ready to execute.
struct Ready {
    before: Inspection,
    plan: Option<Vec<usize>>,
    destructive: Vec<Destructive>,
}

enum Prepared {
    /// Nothing to execute: already there, `--sql` printed, or `--dry-run`.
    Done(ComponentReport),
    Run(Ready),
}

/// Inspect, plan and print the plan (with what a downgrade destroys and who else is connected).
async fn prepare(
    app: &App,
    config: &Config,
    run: &RunArgs,
    direction: Direction,
    target: &Target,
) -> Result<Prepared, Failure> {
    let before = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    check_target(&before, direction, target, run.dry_run)?;
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
        return Ok(Prepared::Done(ComponentReport::from_inspection(&before)));
    }
    if run.sql {
        return offline_sql(app, &before, direction, target)
            .await
            .map(Prepared::Done);
    }
    if run.dry_run {
        detail(run, app, "  dry run: nothing was changed\n");
        let mut report = ComponentReport::from_inspection(&before);
        report.destructive = destructive;
        return Ok(Prepared::Done(report));
    }
    Ok(Prepared::Run(Ready {
        before,
        plan,
        destructive,
    }))
}

/// Back up if asked, run the plan, print the final state.
async fn apply(
    app: &App,
    run: &RunArgs,
    direction: Direction,
    target: &Target,
    ready: Ready,
) -> Result<ComponentReport, Failure> {
    let Ready {
        before,
        destructive,
        ..
    } = ready;
    let config = &before.config;
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
    let planned = plan(before, direction, target);
    let progress = Progress::new(
        planned.as_ref().map(Vec::len),
        app.format == Format::Text && !run.quiet && !app.verbose && !run.interactive,
    );
    let input = match run.interactive {
        true => alembic::Input::Terminal,
        false => alembic::Input::Closed,
    };
    let args = [verb, target.as_str()];
    let mut steps: Vec<Step> = Vec::new();
    let mut on_line = relay(app.verbose, &config.label, verb);
    let output = alembic::migration(&app.ws, config, input, &args, |stream, line| {
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
        let mut failure = diagnose_run(before, verb, target, &output, false);
        failure.database = Some(match &after {
            Ok(i) if i.current == before.current => {
                format!("still at {} (nothing was changed)", describe_current(i))
            }
            Ok(i) => format!("now at {} ({})", describe_current(i), i.state.as_str()),
            Err(f) => format!("could not be checked: {}", f.message),
        });
        return Err(failure);
    }
    let after = after?;
    if let Some(planned) = &planned {
        verify_outcome(&app.ws, before, &after, direction, planned, &output)?;
    }
    Ok((steps, after))
}

/// Alembic exiting 0 proves nothing (an env.py that never calls `run_migrations()`, a launcher
/// that is not Alembic): the run succeeded only if the database now holds exactly what the plan
/// promised.
fn verify_outcome(
    ws: &Workspace,
    before: &Inspection,
    after: &Inspection,
    direction: Direction,
    planned: &[usize],
    output: &alembic::Output,
) -> Result<(), Failure> {
    let graph = &before.graph;
    let mut expected = graph.ancestors(&before.current_indices());
    match direction {
        Direction::Upgrade => expected.extend(graph.ancestors(planned)),
        Direction::Downgrade => expected.retain(|r| !planned.contains(r)),
    }
    let reached = after.state != State::UnknownRevision
        && graph.ancestors(&after.current_indices()) == expected;
    if reached {
        return Ok(());
    }
    let config = &before.config;
    let verb = direction.verb();
    let promised = graph
        .heads_of(&expected)
        .iter()
        .map(|&r| graph.rev(r).id.clone())
        .collect::<Vec<_>>();
    let promised = if promised.is_empty() {
        "base (no revision)".to_owned()
    } else {
        promised.join(", ")
    };
    let ran_alembic = output
        .stdout
        .iter()
        .chain(&output.stderr)
        .any(|l| l.contains("[alembic."));
    let ran_steps = output
        .stderr
        .iter()
        .any(|l| parse::step(l, |id| graph.contains(id)).is_some());
    let cause = if !ran_alembic {
        format!(
            "the launcher ({}) exited 0 without any output from Alembic: it is probably not running Alembic (a ./py that does something else, or exits early)",
            launcher_shown(ws)
        )
    } else if !ran_steps {
        "Alembic started but ran no migration: env.py probably never calls context.run_migrations() (or returns before it)".to_owned()
    } else {
        "Alembic ran migrations, but not into this database: env.py may connect somewhere other than the ini's sqlalchemy.url, or a migration changed alembic_version itself".to_owned()
    };
    let mut failure = Failure::new(
        "outcome-mismatch",
        format!(
            "the {verb} of {} reported success, but the database is not where the plan leads: expected {promised}, found {}",
            config.label,
            describe_current(after)
        ),
        cause,
        format!(
            "run it by hand to see what happens: {} -m alembic -c {} {verb} …, then db-migrate status {}",
            launcher_shown(ws),
            config.ini_arg,
            select_flag(config)
        ),
    );
    failure.database = Some(format!(
        "at {} ({})",
        describe_current(after),
        after.state.as_str()
    ));
    Err(failure)
}

/// The launcher as a person would type it in the root (`./py`, or the `--python` command).
fn launcher_shown(ws: &Workspace) -> String {
    if std::path::Path::new(&ws.launcher[0]) == ws.root.join("py") {
        "./py".to_owned()
    } else {
        ws.launcher.join(" ")
    }
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
        return Err(diagnose_run(before, verb, target, &output, true));
    }
    Ok(ComponentReport::from_inspection(before))
}

/// Explain a failed `alembic upgrade|downgrade` with what the plan knew.
fn diagnose_run(
    before: &Inspection,
    verb: &str,
    target: &Target,
    output: &alembic::Output,
    offline: bool,
) -> Failure {
    remediation::diagnose(
        verb,
        output,
        &Context {
            config: &before.config,
            target: Some(target),
            graph: Some(&before.graph),
            offline,
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
                (run.lock_timeout * 2).max(60)
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

/// Refuse, before anything runs, what the real run cannot do: a relative step across a branch
/// point or a merge (Alembic's "Ambiguous walk") always; under `--dry-run` also every target
/// Alembic would reject, with the words the real run would print, so a dry run succeeds only for
/// a plan the real run executes.
fn check_target(
    i: &Inspection,
    direction: Direction,
    target: &Target,
    dry_run: bool,
) -> Result<(), Failure> {
    if i.state == State::UnknownRevision {
        return Ok(());
    }
    let graph = &i.graph;
    let current = i.current_indices();
    let ctx = Context {
        config: &i.config,
        target: Some(target),
        graph: Some(graph),
        offline: false,
    };
    let ids =
        |revs: &[usize]| -> Vec<String> { revs.iter().map(|&r| graph.rev(r).id.clone()).collect() };
    let destination = match graph.resolve(&current, target) {
        Ok(d) => d,
        Err(Unresolved::AmbiguousWalk { from, ways }) => {
            let from = if from.is_empty() {
                "base".to_owned()
            } else {
                ids(&from).join(", ")
            };
            let mut ways = ids(&ways);
            ways.sort();
            let mut failure = Failure::usage(
                "ambiguous-walk",
                format!(
                    "{target} is ambiguous for {}: the walk reaches {from}, where the history splits ({}); nothing was changed",
                    i.config.label,
                    ways.join(" | ")
                ),
                format!(
                    "name the revision instead of counting steps: db-migrate {} {} {}",
                    direction.verb(),
                    select_flag(&i.config),
                    ways[0]
                ),
            );
            failure.cause = "a relative target (+N/-N) cannot choose between branches; Alembic fails with \"Ambiguous walk\"".to_owned();
            return Err(failure);
        }
        Err(why) if dry_run => {
            return Err(match why {
                Unresolved::NotFound(rev) => explain("unknown-target", &ctx, &[("rev", rev)]),
                Unresolved::AmbiguousPrefix(_) => explain(
                    "unknown-target",
                    &ctx,
                    &[(
                        "rev",
                        target.revision_ref().unwrap_or(target.as_str()).to_owned(),
                    )],
                ),
                Unresolved::MultipleHeads(_) => explain("multiple-heads", &ctx, &[]),
                Unresolved::Overshoot => explain("relative-overshoot", &ctx, &[]),
                // Alembic resolves these itself; the dry run shows that it does.
                Unresolved::AlembicDecides | Unresolved::AmbiguousWalk { .. } => return Ok(()),
            });
        }
        Err(_) => return Ok(()),
    };
    if dry_run && direction == Direction::Downgrade {
        let applied = graph.ancestors(&current);
        if let Some(&d) = destination.iter().find(|d| !applied.contains(d)) {
            return Err(explain(
                "wrong-direction",
                &ctx,
                &[
                    ("rev", graph.rev(d).id.clone()),
                    ("direction", "downgrade".to_owned()),
                ],
            ));
        }
    }
    Ok(())
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
    confirm_to(
        &Question {
            action: "downgrade",
            why: "a downgrade can drop tables and data",
            prompt: "Downgrading can drop tables, columns and data. Continue? [y/N] ",
        },
        config,
        rerun,
        yes,
    )
}

/// What a confirmation is about.
pub(super) struct Question<'a> {
    /// `downgrade`, `fix-heads`: names the action in the messages.
    pub action: &'a str,
    /// Why asking matters, for the no-terminal refusal.
    pub why: &'a str,
    pub prompt: &'a str,
}

/// Ask on a terminal, require `--yes` otherwise. `rerun` is the command to suggest (without `--yes`).
pub(super) fn confirm_to(
    q: &Question,
    config: &Config,
    rerun: &str,
    yes: bool,
) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    let select = select_flag(config);
    if !std::io::stdin().is_terminal() {
        let mut failure = Failure::usage(
            "confirmation-required",
            format!(
                "{} of {} needs confirmation, and stdin is not a terminal; nothing was changed",
                q.action, config.label
            ),
            format!("review the plan above, then rerun with --yes: {rerun} --yes"),
        );
        failure.cause = format!("{}, and without a terminal db-migrate cannot ask", q.why);
        return Err(failure);
    }
    eprint!("{}", q.prompt);
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::new(
            "cancelled",
            format!("{} cancelled; nothing was changed", q.action),
            "you answered no",
            format!("db-migrate status {select}"),
        ))
    }
}
