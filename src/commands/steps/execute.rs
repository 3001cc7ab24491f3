//! Running a plan: `alembic upgrade|downgrade TARGET` with each step shown (and a progress bar on
//! a terminal), then the database re-read and held to what the plan promised. An interrupt or a
//! failure becomes a `Failure` that says where the database was left and what went wrong.

use crate::alembic::{self, parse};
use crate::failure::{Failure, Kind};
use crate::inspect::{self, relay, Inspection};
use crate::plan::{plan, Direction};
use crate::remediation::{self, select_flag, Context};
use crate::render::events::{self, Event};
use crate::render::json::Step;
use crate::settings::RunOptions;
use crate::state::State;
use crate::target::Target;
use crate::workspace::shell;
use crate::workspace::Workspace;

use super::describe::describe_current;
use super::output::run_reporter;
use crate::commands::App;

/// Run `alembic <verb> <target>` for the inspected component, each step shown as it happens,
/// then re-read where the database is. An interrupt or a failure becomes a `Failure` that says
/// where the database was left.
pub async fn execute(
    app: &App,
    run: &RunOptions,
    before: &Inspection,
    direction: Direction,
    target: &Target,
) -> Result<(Vec<Step>, Inspection), Failure> {
    let config = &before.config;
    let verb = direction.verb();
    let planned = plan(before, direction, target);
    let reporter =
        run_reporter(app, run).with_progress(planned.as_ref().map(Vec::len), run.interactive);
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
            reporter.emit(Event::StepStarted {
                step: events::Step {
                    direction: &step.direction,
                    from: &step.from,
                    to: &step.to,
                    message: &step.message,
                },
                done: steps.len(),
            });
            steps.push(Step {
                direction: step.direction,
                from: step.from,
                to: step.to,
                message: step.message,
            });
        }
    })
    .await?;
    reporter.emit(Event::StepsFinished);

    let after = inspect::refresh(&app.ws, before, app.verbose).await;
    if output.interrupted {
        let at = match &after {
            Ok(i) => format!("the database is at {}", describe_current(i)),
            Err(f) => format!("the database could not be checked: {}", f.message),
        };
        let mut failure = Failure::new(
            Kind::Interrupted,
            format!("{verb} of {} interrupted", config.label),
            "db-migrate received SIGINT/SIGTERM and stopped Alembic; PostgreSQL rolls back the unfinished transaction",
            format!("db-migrate status {}, then rerun the {verb} when ready", select_flag(config)),
        );
        failure.database = Some(at);
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
pub fn verify_outcome(
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
    // The target to rerun by hand: the one promised revision, base, or every head.
    let rerun_target = match promised.as_slice() {
        [] => "base".to_owned(),
        [one] => one.clone(),
        _ => "heads".to_owned(),
    };
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
        Kind::OutcomeMismatch,
        format!(
            "the {verb} of {} reported success, but the database is not where the plan leads: expected {promised}, found {}",
            config.label,
            describe_current(after)
        ),
        cause,
        format!(
            "run it by hand to see what happens: {} -m alembic -c {} {verb} {rerun_target}, then db-migrate status {}",
            launcher_shown(ws),
            shell::word(&config.ini_arg),
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
pub fn launcher_shown(ws: &Workspace) -> String {
    if std::path::Path::new(&ws.launcher[0]) == ws.root.join("py") {
        "./py".to_owned()
    } else {
        ws.launcher.join(" ")
    }
}

/// Explain a failed `alembic upgrade|downgrade` with what the plan knew.
pub fn diagnose_run(
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
