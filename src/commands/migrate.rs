//! `upgrade`, `downgrade` and `migrate`: plan, confirm (downgrades), run Alembic with its steps
//! streamed live, then re-check and print the final state. On failure, say where the database is.

use crate::alembic;
use crate::commands::steps::output::reporter;
use crate::failure::{Failure, Kind};
use crate::inspect::{self, relay, Inspection};
use crate::plan::{at_destination, check_target, plan, Direction};
use crate::remediation::select_flag;
use crate::render::events::Event;
use crate::render::json::{ComponentReport, Destructive};
use crate::render::sql::Sql;
use crate::render::text;
use crate::settings::{MigrateOptions, RunOptions};
use crate::state::State;
use crate::target::Target;
use crate::workspace::{Config, Selection};

use super::steps::{
    backup_if_asked, confirm, describe_destruction, describe_plan, describe_sessions,
    destructive_ops, detail, diagnose_run, each_component, execute, lock, say,
};
use super::App;

#[cfg(test)]
mod snapshot_tests;

pub async fn run(app: &App, opts: &MigrateOptions) -> Result<u8, Failure> {
    let (args, run, direction, target, yes) = (
        &opts.selection,
        &opts.run,
        opts.direction,
        &opts.target,
        opts.yes,
    );
    if direction == Direction::Downgrade && *args == Selection::All {
        return Err(Failure::usage(
            Kind::DowngradeAll,
            "downgrade --all is not supported",
            "downgrade one component at a time: db-migrate downgrade --component C TARGET",
        ));
    }
    match (direction, target.step_from_current()) {
        (Direction::Upgrade, Some(n)) if n < 0 => {
            return Err(Failure::usage(
                Kind::BadTarget,
                format!("upgrade {target} would go down: a negative step is a downgrade"),
                format!("db-migrate downgrade {} {target}", select_flag_args(args)),
            ))
        }
        (Direction::Downgrade, Some(n)) if n > 0 => {
            return Err(Failure::usage(
                Kind::BadTarget,
                format!("downgrade {target} would go up: a positive step is an upgrade"),
                format!("db-migrate upgrade {} {target}", select_flag_args(args)),
            ))
        }
        _ => {}
    }
    let configs = app.ws.configs(args)?;
    app.wait_for_databases(&configs).await?;
    Ok(each_component(app, &configs, run.keep_going, |config| {
        migrate_one(app, config, run, direction, target, yes)
    })
    .await)
}

/// The component selection as typed, for a suggested command.
fn select_flag_args(selection: &Selection) -> String {
    match selection {
        Selection::Config(path) => format!("--config {}", path.display()),
        Selection::All => "--all".to_owned(),
        Selection::Component(component) => format!("--component {}", component.name()),
    }
}

async fn migrate_one(
    app: &App,
    config: &Config,
    run: &RunOptions,
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
    run: &RunOptions,
    direction: Direction,
    target: &Target,
) -> Result<Prepared, Failure> {
    let mut before = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    if let Some(refusal) = super::sync::refuse_unknown(&mut before, direction) {
        return Err(refusal);
    }
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
        reporter(app).emit(Event::PlanBesideSql(&header));
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
    run: &RunOptions,
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
    backup_if_asked(app, run, &before).await?;
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
            Kind::OfflineRange,
            format!("--sql cannot build the range for {}: {why}", config.label),
            "give an explicit revision as the target, or run without --sql",
        )
    };
    let Some(sql) = Sql::new(app.format) else {
        return Err(Failure::usage(
            Kind::OfflineJson,
            "--sql prints SQL, not JSON",
            "drop --format json (or --sql)",
        ));
    };
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
            sql.line(line);
        }
    })
    .await?;
    if !output.success() {
        return Err(diagnose_run(before, verb, target, &output, true));
    }
    Ok(ComponentReport::from_inspection(before))
}
