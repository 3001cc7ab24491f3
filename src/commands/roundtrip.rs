//! `roundtrip [REVISION]`: does the revision's downgrade undo its upgrade? Upgrade to it, snapshot
//! the schema, downgrade one step, upgrade again, snapshot again, and compare. Everything runs
//! under the migration lock, and any failing step says where the database was left.

use std::collections::HashSet;

use crate::exit_code;
use crate::failure::{Failure, Kind};
use crate::inspect::{self, Inspection};
use crate::plan::Direction;
use crate::postgres::snapshot;
use crate::remediation::select_flag;
use crate::render::document::Document;
use crate::render::json::{ComponentReport, Roundtrip};
use crate::render::text;
use crate::settings::RoundtripOptions;
use crate::state::State;
use crate::target::Target;
use crate::workspace::Selection;

use super::steps::{
    backup_if_asked, confirm, describe_current, describe_destruction, describe_sessions,
    destructive_ops, detail, execute, lock, say,
};
use super::App;

#[cfg(test)]
mod snapshot_tests;

pub async fn run(app: &App, opts: &RoundtripOptions) -> Result<u8, Failure> {
    // One Alembic worker for every step of the round trip (issue 21); --interactive steps
    // still run Alembic on the terminal.
    crate::alembic::pool::scoped(app.verbose, round_trip(app, opts)).await
}

async fn round_trip(app: &App, opts: &RoundtripOptions) -> Result<u8, Failure> {
    let (run, revision, yes) = (&opts.run, &opts.revision, opts.yes);
    if opts.selection == Selection::All {
        return Err(Failure::usage(
            Kind::RoundtripAll,
            "roundtrip --all is not supported",
            "test one component at a time: db-migrate roundtrip --component C [REVISION]",
        ));
    }
    if run.sql {
        return Err(Failure::usage(
            Kind::RoundtripSql,
            "roundtrip runs the migrations and compares schemas; it has no offline SQL mode",
            "drop --sql (db-migrate downgrade --sql shows a downgrade's SQL)",
        ));
    }
    let configs = app.ws.configs(&opts.selection)?;
    app.wait_for_databases(&configs).await?;
    let config = &configs[0];
    // With --yes nothing waits for a person: hold the lock from planning on. Otherwise ask first
    // and lock after the answer, so an open prompt does not block other db-migrate runs.
    let mut _lock = if run.dry_run || !yes {
        None
    } else {
        lock(app, config, run).await?
    };
    let pg_dump = snapshot::tool(config, "roundtrip", Kind::RoundtripUnsupported)?;
    let before = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    let plan = plan(&before, revision)?;
    let graph = &before.graph;
    let id = graph.rev(plan.revision).id.clone();
    let parent_target = match &plan.parent {
        Some(p) => p.clone(),
        None => "base".to_owned(),
    };

    let mut header = format!(
        "{} ({}): roundtrip of {id}  {}\n  from     {}\n",
        config.label,
        config.ini_arg,
        graph.rev(plan.revision).message,
        describe_current(&before)
    );
    if !plan.upgrade_first.is_empty() {
        header.push_str(&format!(
            "  first    upgrade to {id} ({} revision{})\n",
            plan.upgrade_first.len(),
            if plan.upgrade_first.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    header.push_str(&format!(
        "  then     snapshot the schema, downgrade {id} -> {parent_target}, upgrade -> {id}, snapshot again, compare\n"
    ));
    header.push_str(&describe_destruction(&destructive_ops(
        &before,
        &[plan.revision],
    )));
    header.push_str(&describe_sessions(config).await);
    detail(run, app, &header);
    if run.dry_run {
        detail(run, app, "  dry run: nothing was changed\n");
        let mut doc = Document::new(app.format);
        doc.push(ComponentReport::from_inspection(&before));
        return Ok(doc.finish(exit_code::OK));
    }
    let target = |id: &str| {
        Target::parse(id)
            .map_err(|e| Failure::usage(Kind::BadTarget, e, "name the revision by its id"))
    };
    let (to_revision, to_parent) = (target(&id)?, target(&parent_target)?);
    let rerun = format!("db-migrate roundtrip {} {id}", select_flag(config));
    confirm(config, &rerun, yes)?;
    if _lock.is_none() {
        _lock = lock(app, config, run).await?;
        let now = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
        if now.current != before.current {
            let mut failure = Failure::new(
                Kind::DatabaseMoved,
                format!(
                    "{} moved from {} to {} while you were answering; nothing was changed",
                    config.label,
                    describe_current(&before),
                    describe_current(&now)
                ),
                "another migration ran on this database after the plan was shown",
                format!("look at the new state, then rerun: {rerun}"),
            );
            failure.database = Some(format!(
                "at {} ({})",
                describe_current(&now),
                now.state.as_str()
            ));
            return Err(failure);
        }
    }
    backup_if_asked(app, run, &before).await?;

    let mut at = before.clone();
    let mut applied = Vec::new();
    if !plan.upgrade_first.is_empty() {
        let (steps, after) = execute(app, run, &at, Direction::Upgrade, &to_revision).await?;
        applied.extend(steps);
        at = after;
    }
    let first = snapshot::take(&pg_dump, config)
        .await
        .map_err(|f| left_at(f, &at))?;
    detail(
        run,
        app,
        &format!("  snapshot {} schema lines at {id}\n", first.lines.len()),
    );
    let (steps, after) = execute(app, run, &at, Direction::Downgrade, &to_parent).await?;
    applied.extend(steps);
    let (steps, after) = execute(app, run, &after, Direction::Upgrade, &to_revision)
        .await
        .map_err(|mut f| {
            if f.kind != Kind::Interrupted {
                f.cause = format!("the downgrade of {id} left behind something its upgrade creates, so upgrading again failed");
                f.fix = format!("make downgrade() drop everything upgrade() creates (enum types, indexes, sequences, constraints), then rerun {rerun}");
            }
            f
        })?;
    applied.extend(steps);
    at = after;
    let second = snapshot::take(&pg_dump, config)
        .await
        .map_err(|f| left_at(f, &at))?;
    detail(
        run,
        app,
        &format!(
            "  snapshot {} schema lines after the round trip\n",
            second.lines.len()
        ),
    );

    let diff = snapshot::diff(
        &first,
        &second,
        &format!("{id} after the first upgrade"),
        &format!("{id} after downgrade and upgrade again"),
    );
    let mut report = ComponentReport::from_inspection(&at);
    report.applied = applied;
    report.roundtrip = Some(Roundtrip {
        revision: id.clone(),
        identical: diff.is_empty(),
        schema_lines: first.lines.len(),
        diff: diff.clone(),
    });
    if !diff.is_empty() {
        say(app, &diff);
        let mut failure = Failure::new(
            Kind::RoundtripMismatch,
            format!("{id}: the schema after downgrade and upgrade again differs from the schema after its first upgrade"),
            format!("{id}'s downgrade() does not exactly undo its upgrade() (the diff above: - first upgrade, + after the round trip)"),
            format!("make downgrade() reverse every operation of upgrade(), then rerun {rerun}"),
        );
        failure.database = Some(format!(
            "at {} ({})",
            describe_current(&at),
            at.state.as_str()
        ));
        return Document::new(app.format).finish_failed(report, failure);
    }
    detail(
        run,
        app,
        &format!("  ok       downgrade and upgrade again leave the schema of {id} unchanged\n"),
    );
    say(app, &text::status(&at));
    let mut doc = Document::new(app.format);
    doc.push(report);
    Ok(doc.finish(exit_code::OK))
}

/// A snapshot failed after the database moved: say where it is.
fn left_at(mut failure: Failure, at: &Inspection) -> Failure {
    failure.database = Some(format!(
        "at {} ({}); the round trip stopped here",
        describe_current(at),
        at.state.as_str()
    ));
    failure
}

struct Plan {
    /// The revision under test.
    revision: usize,
    /// Its parent's id (`None`: a base revision, downgraded to `base`).
    parent: Option<String>,
    /// What the first upgrade applies (empty when the database is already at the revision).
    upgrade_first: Vec<usize>,
}

/// Work out, before anything runs, that the round trip touches exactly one revision.
fn plan(i: &Inspection, revision: &Target) -> Result<Plan, Failure> {
    let graph = &i.graph;
    let select = select_flag(&i.config);
    if i.state == State::UnknownRevision {
        return Err(Failure::new(
            Kind::RoundtripUnknownRevision,
            format!(
                "{} is at {}, which the migration files do not have",
                i.config.label,
                describe_current(i)
            ),
            "the database was migrated from another branch or checkout",
            format!("db-migrate status {select}"),
        ));
    }
    let current = i.current_indices();
    let resolved = graph.destination(&current, revision);
    let rev = match resolved.as_deref() {
        Some([one]) => *one,
        _ => {
            let heads: Vec<String> = i.head_ids();
            let why = if revision.symbol.as_deref() == Some("head") && heads.len() > 1 {
                format!("there are several heads ({})", heads.join(", "))
            } else {
                "it does not name exactly one revision".to_owned()
            };
            return Err(Failure::usage(
                Kind::RoundtripTarget,
                format!("cannot roundtrip {revision}: {why}"),
                format!("name one revision: db-migrate roundtrip {select} <revision id>"),
            ));
        }
    };
    let id = graph.rev(rev).id.clone();
    let parents: Vec<usize> = graph
        .rev(rev)
        .parents
        .iter()
        .filter_map(|p| graph.index_of(p))
        .collect();
    if parents.len() > 1 {
        return Err(Failure::usage(
            Kind::RoundtripMerge,
            format!("{id} is a merge revision; one downgrade step from it has no single destination"),
            format!("roundtrip the revisions of each branch instead: db-migrate roundtrip {select} <revision id>"),
        ));
    }
    // Where the database will be after upgrading to the revision, and what the downgrade step
    // would then revert: it must be this revision alone.
    let upgrade_first = graph.upgrade_plan(&current, &[rev]);
    let mut applied: HashSet<usize> = graph.ancestors(&current);
    applied.extend(graph.ancestors(&[rev]));
    let after_upgrade: Vec<usize> = graph.heads_of(&applied);
    let reverted = graph.downgrade_plan(&after_upgrade, &parents);
    if reverted != [rev] {
        let others: Vec<String> = reverted
            .iter()
            .filter(|&&r| r != rev)
            .map(|&r| graph.rev(r).id.clone())
            .collect();
        return Err(Failure::usage(
            Kind::RoundtripNotLast,
            format!(
                "roundtrip reverts only {id}, and one downgrade step from it would also revert {}; nothing was changed",
                others.join(", ")
            ),
            format!("{id} must be the only applied revision above its parent: downgrade the others first (db-migrate downgrade {select} …), or roundtrip the newest revision"),
        ));
    }
    Ok(Plan {
        revision: rev,
        parent: parents.first().map(|&p| graph.rev(p).id.clone()),
        upgrade_first,
    })
}
