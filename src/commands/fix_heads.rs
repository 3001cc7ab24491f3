//! `fix-heads`: one head again, the way the team's policy (AGENTS.md) says. A branch that
//! diverged from main: repoint the `down_revision` of the developer's own unreleased migration
//! onto the other head (and its docstring's `Revises:` line), no merge migration. When the
//! database has applied the branch being moved, walk it back to the fork point first, then
//! rewrite, then upgrade to the new single head, so the other branch's migrations are applied
//! rather than skipped. Main itself has several heads, all released: write the empty merge
//! migration of them ([`merge`]).
//!
//! Order of the repoint's steps, and where a failure leaves things: downgrade (files untouched)
//! → rewrite (database at the fork point) → verify one head, also by Alembic's own `heads` →
//! upgrade.

mod head_file;
mod merge;
mod prove;
#[cfg(test)]
mod snapshot_tests;

use crate::alembic::{self, parse};
use crate::exit_code;
use crate::failure::{Failure, Kind};
use crate::git::Repo;
use crate::heads::{self, Explanation, Fix, Refusal, Repoint};
use crate::inspect::{self, relay, Inspection};
use crate::plan::Direction;
use crate::remediation::select_flag;
use crate::render::document::Document;
use crate::render::json::{ComponentReport, RepointReport};
use crate::render::text;
use crate::revisions::edit;
use crate::settings::{FixHeadsOptions as Options, RunOptions};
use crate::state::State;
use crate::target::Target;
use crate::workspace::Config;

use super::steps::{
    backup_if_asked, confirm_to, describe_current, describe_destruction, destructive_ops, detail,
    execute, lock, say, Question,
};
use super::App;

pub async fn run(app: &App, opts: &Options) -> Result<u8, Failure> {
    let run = &opts.run;
    if run.sql {
        return Err(Failure::usage(
            Kind::FixHeadsSql,
            "fix-heads edits a file and migrates; it has no offline SQL mode",
            "drop --sql (db-migrate fix-heads --dry-run shows the diff and the database steps)",
        ));
    }
    let configs = app.ws.configs(&opts.selection)?;
    for config in &configs {
        heads::released::require_upstream(config, "fix-heads", opts.upstream.as_deref())?;
    }
    let head_file = head_file::enabled(app)?;
    app.wait_for_databases(&configs).await?;
    let mut doc = Document::new(app.format);
    for (n, config) in configs.iter().enumerate() {
        if n > 0 {
            say(app, "\n");
        }
        match fix_one(app, config, run, opts, head_file).await {
            Ok(report) => doc.push(report),
            Err(failure) => {
                doc.failed(config, failure, || inspect::known(&app.ws, config))
                    .await
            }
        }
    }
    Ok(doc.finish(exit_code::OK))
}

async fn fix_one(
    app: &App,
    config: &Config,
    run: &RunOptions,
    opts: &Options,
    head_file: bool,
) -> Result<ComponentReport, Failure> {
    let mut before = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    if before.state != State::Diverged {
        if let Some(report) = head_file::rewrite_only(app, config, run, opts, &before, head_file)? {
            return Ok(report);
        }
        detail(
            run,
            app,
            &format!(
                "{} ({}): one head ({}): nothing to fix\n",
                config.label,
                config.ini_arg,
                before.head_ids().join(", ")
            ),
        );
        return Ok(ComponentReport::from_inspection(&before));
    }
    before.explain_divergence(opts.upstream.as_deref());
    detail(run, app, &text::status(&before));
    let e = before.explanation.clone().expect("diverged is explained");
    match &e.plan {
        Ok(Fix::Repoint(r)) if opts.mine_first => {
            let swapped = heads::mine_first(&before.graph, &e.divergence, r)
                .map_err(|why| refused(&before, &why))?;
            repoint(app, config, run, opts, &before, &e, swapped, head_file).await
        }
        Ok(Fix::Repoint(r)) => {
            repoint(app, config, run, opts, &before, &e, r.clone(), head_file).await
        }
        Ok(Fix::Merge(_)) if opts.mine_first => Err(refused(&before, &Refusal::NothingToPutFirst)),
        Ok(Fix::Merge(m)) => merge::write(app, config, run, opts, &before, m, head_file).await,
        Err(refusal) => Err(refused(&before, refusal)),
    }
}

/// A branch that diverged from main: repoint its first migration onto the other head.
#[allow(clippy::too_many_arguments)]
async fn repoint(
    app: &App,
    config: &Config,
    run: &RunOptions,
    opts: &Options,
    before: &Inspection,
    e: &Explanation,
    repoint: Repoint,
    head_file_on: bool,
) -> Result<ComponentReport, Failure> {
    let graph = &before.graph;
    let (path, old_bytes, new_bytes) =
        heads::edited(graph, &repoint).map_err(|why| refused(before, &Refusal::File(why)))?;
    let shown = config.shown_path(path.to_str());
    if let Some(repo) = Repo::discover(&config.root) {
        let dirty = repo.is_dirty(&path).unwrap_or(false);
        if dirty && !opts.allow_dirty {
            return Err(Failure::new(
                Kind::FixHeadsDirty,
                format!("{shown} has uncommitted changes; nothing was changed"),
                "fix-heads rewrites that file, and mixing its edit with yours makes both hard to review",
                format!(
                    "commit or stash your changes first (git -C {} status), or rerun with --allow-dirty",
                    repo.root().display()
                ),
            )
            .in_workspace(&config.root, &path, None));
        }
    }
    let diff = edit::unified_diff(&shown, &old_bytes, &new_bytes);
    let moved = &e.divergence.branches[repoint.branch].revisions;
    let applied = graph.ancestors(&before.current_indices());
    let walk_back = moved.iter().any(|r| applied.contains(r));
    let moved_head = graph
        .rev(e.divergence.branches[repoint.branch].head)
        .id
        .clone();
    let fork_id = graph.rev(repoint.from).id.clone();
    let mut header = format!(
        "  repoint  {} ({shown}): down_revision {} -> {}\n{diff}",
        graph.rev(repoint.revision).id,
        fork_id,
        graph.rev(repoint.onto).id
    );
    // The new single head is the moved branch's head.
    let mut head_file = head_file::plan(head_file_on, config, graph, &moved_head)?;
    if let Some(planned) = &head_file {
        header.push_str(&planned.shown());
    }
    let reverted = if walk_back {
        graph.downgrade_plan(&before.current_indices(), &[repoint.from])
    } else {
        Vec::new()
    };
    if walk_back {
        header.push_str(&format!(
            "  database at {} has applied {}: 1. downgrade to the fork point {fork_id} (reverts {}), 2. rewrite the file, 3. upgrade to the new single head\n",
            describe_current(before),
            if opts.mine_first { "the branch that moves" } else { "your branch" },
            reverted
                .iter()
                .map(|&r| graph.rev(r).id.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        header.push_str(&describe_destruction(&destructive_ops(before, &reverted)));
    } else {
        header.push_str(if opts.mine_first {
            "  database has not applied the branch that moves: only the file changes (db-migrate upgrade applies the result)\n"
        } else {
            "  database has not applied your branch: only the file changes (db-migrate upgrade applies the result)\n"
        });
    }
    detail(run, app, &header);
    let mut report = ComponentReport::from_inspection(before);
    report.repoint = Some(Box::new(RepointReport {
        revision: graph.rev(repoint.revision).id.clone(),
        file: shown.clone(),
        from: fork_id.clone(),
        onto: graph.rev(repoint.onto).id.clone(),
        diff: diff.clone(),
        walk_back,
        written: false,
        proved: false,
        proof: "not run (--dry-run): the new order is proved on a scratch copy before the file is written".to_owned(),
    }));
    report.head_file = head_file.as_ref().map(|p| Box::new(p.report.clone()));
    if run.dry_run {
        detail(run, app, "  dry run: nothing was changed (the new order is proved on a scratch copy of the database before the file is written)\n");
        return Ok(report);
    }
    let rerun = format!(
        "db-migrate fix-heads {}{}",
        select_flag(config),
        if opts.mine_first { " --mine-first" } else { "" }
    );
    confirm_to(
        &Question {
            action: "fix-heads",
            why: "fix-heads rewrites a migration file and may downgrade the database",
            prompt: if walk_back {
                "Downgrade to the fork point, repoint, and upgrade? [y/N] "
            } else {
                "Repoint the migration? [y/N] "
            },
        },
        config,
        &rerun,
        opts.yes,
    )?;

    let edit = prove::Edit {
        path: &path,
        old: &old_bytes,
        new: &new_bytes,
    };
    let proof = prove::prove(app, config, &edit, walk_back.then_some(fork_id.as_str())).await?;
    let (proved, proof) = match proof {
        prove::Outcome::Proved { of } => (
            true,
            format!("the new order upgrades a scratch copy of {of} to the new head (the copy is dropped)"),
        ),
        prove::Outcome::NotProved(why) => (false, format!("the new order was not proved on a scratch copy: {why}")),
        prove::Outcome::Fails { of, failure } => {
            return Err(order_fails(before, e, &repoint, &of, *failure, opts.mine_first))
        }
    };
    detail(
        run,
        app,
        &format!(
            "  {}  {proof}\n",
            if proved { "proved " } else { "unproved" }
        ),
    );
    if let Some(r) = report.repoint.as_mut() {
        r.proved = proved;
        r.proof = proof;
    }

    let mut applied_steps = Vec::new();
    let mut at = before.clone();
    let _lock = if walk_back {
        let held = lock(app, config, run).await?;
        still_where_it_was(app, config, before, &rerun).await?;
        backup_if_asked(app, run, before).await?;
        let to_fork = Target::parse(&fork_id)
            .map_err(|e| Failure::usage(Kind::BadTarget, e, "name the revision by its id"))?;
        let (steps, after) = execute(app, run, before, Direction::Downgrade, &to_fork)
            .await
            .map_err(|mut f| {
                f.fix = format!("{}; no file was edited. Then rerun {rerun}", f.fix);
                f
            })?;
        applied_steps.extend(steps);
        at = after;
        held
    } else {
        None
    };

    edit::write_atomically(&path, &new_bytes).map_err(|e| {
        let mut f = Failure::new(
            Kind::FixHeadsWrite,
            format!("cannot write {shown}: {e}"),
            "the file or its directory is not writable",
            format!(
                "repoint it by hand (down_revision = \"{}\"), then db-migrate upgrade {}",
                graph.rev(repoint.onto).id,
                select_flag(config)
            ),
        )
        .in_workspace(&config.root, &path, None);
        f.database = Some(format!(
            "at {} ({}); the file is unchanged",
            describe_current(&at),
            at.state.as_str()
        ));
        f
    })?;
    detail(run, app, &format!("  rewrote  {shown}\n"));
    if let Some(r) = report.repoint.as_mut() {
        r.written = true;
    }

    let fixed = verify_one_head(app, config, &moved_head).await?;
    let mut fixed = fixed;
    if let Some(planned) = head_file.as_mut() {
        head_file::write(app, run, config, planned, &fixed).map_err(|mut f| {
            if walk_back {
                f.fix = format!(
                    "{}; {shown} is already repointed (keep it): then db-migrate upgrade {}",
                    f.fix,
                    select_flag(config)
                );
            }
            f
        })?;
    }
    if walk_back {
        let head = Target::parse("head").expect("valid target");
        let (steps, after) = execute(app, run, &fixed, Direction::Upgrade, &head)
            .await
            .map_err(|mut f| {
                f.fix = format!(
                    "{}; {shown} is already repointed (keep it), so after fixing this run db-migrate upgrade {}",
                    f.fix,
                    select_flag(config)
                );
                f
            })?;
        applied_steps.extend(steps);
        fixed = after;
    }
    say(app, &text::status(&fixed));
    let repoint_report = report.repoint.take();
    let mut report = ComponentReport::from_inspection(&fixed);
    report.repoint = repoint_report;
    report.head_file = head_file.map(|p| Box::new(p.report));
    head_file::git_add_next(&fixed, &mut report);
    report.applied = applied_steps;
    Ok(report)
}

/// The new order failed on the scratch copy: nothing was written; say which revision failed,
/// why, and the way out (the other order, when the other branch is not in a release).
fn order_fails(
    before: &Inspection,
    e: &Explanation,
    r: &Repoint,
    of: &str,
    failure: Failure,
    mine_first: bool,
) -> Failure {
    let g = &before.graph;
    let select = select_flag(&before.config);
    let ids = |revs: &[usize]| {
        revs.iter()
            .map(|&i| g.rev(i).id.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let moved = &g.rev(r.revision).id;
    let first = ids(&e.divergence.branches[1 - r.branch].revisions);
    let fix = if mine_first {
        format!("neither order is known to work: change the migrations so that one runs after the other (see the cause), then db-migrate fix-heads {select}")
    } else {
        match heads::mine_first(g, &e.divergence, r) {
            Ok(swap) => format!(
                "if {moved} must run first, put your branch first: db-migrate fix-heads {select} --mine-first (repoints the down_revision of {} from {} onto {}, allowed while {first} {} not in a release: `# Part of: {}`); otherwise change {moved} so that it works after {first}",
                g.rev(swap.revision).id,
                g.rev(swap.from).id,
                g.rev(swap.onto).id,
                if e.divergence.branches[1 - r.branch].revisions.len() == 1 { "is" } else { "are" },
                heads::released::PLACEHOLDER
            ),
            Err(why) => format!(
                "{first} keep their place ({}): change {moved} so that it works after them, then db-migrate fix-heads {select}",
                why.describe(g)
            ),
        }
    };
    Failure {
        kind: Kind::FixHeadsOrderFails,
        message: format!(
            "with {moved} repointed onto {}, the upgrade fails on a scratch copy of {of}; nothing was written: {}",
            g.rev(r.onto).id,
            failure.message
        ),
        cause: format!(
            "in the new order {first} run before {moved}, and the migration named above fails after them: it needs something they change (the alembic: line says what)"
        ),
        fix,
        database: Some(format!(
            "at {} (untouched: the order was run on a scratch copy, dropped since)",
            describe_current(before)
        )),
        // The Alembic line and where it points, from the failed upgrade.
        ..failure
    }
}

/// Under the lock, before changing anything: the database is still where the plan was made.
async fn still_where_it_was(
    app: &App,
    config: &Config,
    before: &Inspection,
    rerun: &str,
) -> Result<(), Failure> {
    let now = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    if now.current == before.current {
        return Ok(());
    }
    let mut f = Failure::new(
        Kind::DatabaseMoved,
        format!(
            "{} moved from {} to {} after the plan was made; nothing was changed",
            config.label,
            describe_current(before),
            describe_current(&now)
        ),
        "another migration ran on this database meanwhile",
        format!("rerun {rerun}"),
    );
    f.database = Some(format!("at {}", describe_current(&now)));
    Err(f)
}

/// After the edit: the files must have one head, and Alembic's own `heads` must say the same.
/// `look_at` is the revision whose file to look at when they do not.
async fn verify_one_head(app: &App, config: &Config, look_at: &str) -> Result<Inspection, Failure> {
    let after = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    let native = after.head_ids();
    let output = alembic::read_only(
        &app.ws,
        config,
        &["heads"],
        relay(app.verbose, &config.label, "heads"),
    )
    .await?;
    let mut by_alembic = parse::current(&output.stdout);
    by_alembic.sort();
    let mut expected = native.clone();
    expected.sort();
    if native.len() != 1 || !output.success() || by_alembic != expected {
        let mut f = Failure::new(
            Kind::FixHeadsUnverified,
            format!(
                "after the repoint, {} has heads {} (Alembic says {}), not one",
                config.label,
                native.join(", "),
                if by_alembic.is_empty() {
                    "nothing".to_owned()
                } else {
                    by_alembic.join(", ")
                }
            ),
            "the history has more to it than the heads fix-heads looked at",
            format!(
                "look at db-migrate heads {} and the file of {look_at}",
                select_flag(config)
            ),
        );
        f.database = Some(format!("at {}", describe_current(&after)));
        return Err(f);
    }
    Ok(after)
}

/// A refusal: nothing changed, and what to do instead (what `status` prints as `next`).
fn refused(i: &Inspection, why: &Refusal) -> Failure {
    Failure::new(
        Kind::FixHeadsRefused,
        format!(
            "fix-heads will not change {}: {}; nothing was changed",
            i.config.label,
            why.describe(&i.graph)
        ),
        "the policy (AGENTS.md): a branch that diverged from main repoints its own unreleased migration onto the other head, no merge migration; only when main itself has several heads, all released, is an empty merge migration added; a released migration's revision and down_revision are never edited",
        why.next(&i.config),
    )
}
