//! `sync`: make the database match this checkout after a branch switch. The revisions the
//! database is at that this checkout lacks are found in git (other branches, the reflog), walked
//! back with their own files (extracted to a private temporary directory that Alembic sees
//! through a copy of the ini, never into the work tree), then this checkout's head is applied.
//! Plan, data-loss listing, confirmation, lock, backup and outcome checks are the migrating
//! commands' own.

use std::collections::HashSet;

use crate::failure::{Failure, Kind};
use crate::inspect::{self, Inspection};
use crate::plan::{plan, Direction};
use crate::remediation::{explain, select_flag, Context};
use crate::render::json::ComponentReport;
use crate::render::text;
use crate::settings::SyncOptions;
use crate::state::State;
use crate::sync::{self, find::Found};
use crate::target::Target;
use crate::workspace::Config;

use super::steps::{
    backup_if_asked, confirm, describe_destruction, describe_plan, destructive_ops, detail,
    each_component, execute, lock, say,
};
use super::App;

pub async fn run(app: &App, opts: &SyncOptions) -> Result<u8, Failure> {
    if opts.run.sql {
        return Err(Failure::usage(
            Kind::Usage,
            "sync --sql is not supported: the walk back runs revision files that only exist in git",
            "db-migrate sync --dry-run shows the plan",
        ));
    }
    let configs = app.ws.configs(&opts.selection)?;
    app.wait_for_databases(&configs).await?;
    Ok(
        each_component(app, &configs, opts.run.keep_going, |config| {
            sync_one(app, config, opts)
        })
        .await,
    )
}

/// What the walk back needs: the found files, the inspection that sees them, and where it leads.
struct WalkBack {
    found: Vec<Found>,
    scratch: sync::scratch::WithFound,
    wide: Inspection,
    target: Target,
    revert: Vec<usize>,
}

async fn sync_one(
    app: &App,
    config: &Config,
    opts: &SyncOptions,
) -> Result<ComponentReport, Failure> {
    let run = &opts.run;
    let before = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    let mut header = format!(
        "{} ({}): sync with this checkout\n",
        config.label, config.ini_arg
    );
    let walk = if before.state == State::UnknownRevision {
        Some(walk_back(app, &before).await?)
    } else {
        None
    };
    let heads = Target::parse("heads").expect("a valid target");
    let mut destructive = Vec::new();
    match &walk {
        Some(w) => {
            for f in &w.found {
                header.push_str(&format!(
                    "  missing  {}  {}  from {}\n",
                    f.revision.id,
                    f.revision.message,
                    f.source.describe()
                ));
            }
            header.push_str(&describe_plan(
                &w.wide,
                Direction::Downgrade,
                Some(&w.revert),
            ));
            destructive = destructive_ops(&w.wide, &w.revert);
            // The files are temporary copies: name them as git holds them.
            for op in &mut destructive {
                if let Some(f) = w.found.iter().find(|f| f.revision.id == op.revision) {
                    op.file = f.path.to_string_lossy().into_owned();
                }
            }
            header.push_str(&describe_destruction(&destructive));
            // Then what this checkout applies from where the walk back lands.
            let landing: Vec<usize> = match w.target.as_str() {
                "base" => Vec::new(),
                id => before.graph.index_of(id).into_iter().collect(),
            };
            let apply = before
                .graph
                .destination(&landing, &heads)
                .map(|d| before.graph.upgrade_plan(&landing, &d))
                .unwrap_or_default();
            header.push_str(&format!(
                "  then     apply {} revision{}\n",
                apply.len(),
                if apply.len() == 1 { "" } else { "s" }
            ));
            text::write_revisions(&mut header, &before.graph, &apply, "           ");
        }
        None => {
            header.push_str(&describe_plan(
                &before,
                Direction::Upgrade,
                Some(&before.pending),
            ));
        }
    }
    detail(run, app, &header);
    let found_report = walk
        .as_ref()
        .map(|w| crate::report::status::FoundInGit::list(&w.found))
        .unwrap_or_default();
    let nothing_to_do = walk.is_none() && before.pending.is_empty();
    if nothing_to_do {
        detail(run, app, "  already there: nothing to run\n");
        say(app, &text::status(&before));
        return Ok(ComponentReport::from_inspection(&before));
    }
    if opts.only_harmless && !destructive.is_empty() {
        say(
            app,
            &format!(
                "  not synced: the walk back destroys data; review it with db-migrate sync {} --dry-run\n",
                select_flag(config)
            ),
        );
        let mut report = ComponentReport::from_inspection(&before);
        report.destructive = destructive;
        report.found_in_git = found_report;
        return Ok(report);
    }
    if run.dry_run {
        detail(run, app, "  dry run: nothing was changed\n");
        let mut report = ComponentReport::from_inspection(&before);
        report.destructive = destructive;
        report.found_in_git = found_report;
        report.next = Some(format!("db-migrate sync {} --yes", select_flag(config)));
        return Ok(report);
    }
    if walk.is_some() {
        // Ask before taking the lock: a prompt left open must not hold up every other db-migrate.
        confirm(
            config,
            &format!("db-migrate sync {}", select_flag(config)),
            opts.yes,
        )?;
    }
    let _lock = lock(app, config, run).await?;
    // Through the copy that sees the found files: Alembic (when it reads the state) would fail on
    // a revision this checkout lacks.
    let now = match &walk {
        Some(w) => inspect::refresh(&app.ws, &w.wide, app.verbose).await?,
        None => inspect::refresh(&app.ws, &before, app.verbose).await?,
    };
    if now.current != before.current {
        return Err(Failure::new(
            Kind::SyncUnsupported,
            format!(
                "the {} database moved while sync was planning (now at {}); nothing was changed",
                config.label,
                now.current.join(", ")
            ),
            "another db-migrate or Alembic run changed alembic_version",
            format!("db-migrate sync {}", select_flag(config)),
        ));
    }
    backup_if_asked(app, run, &before).await?;
    let mut applied = Vec::new();
    if let Some(w) = &walk {
        let (steps, _after) = execute(app, run, &w.wide, Direction::Downgrade, &w.target)
            .await
            .map_err(|f| as_configured(f, &w.wide.config, config))?;
        applied.extend(steps);
    }
    drop(walk.map(|w| w.scratch));
    let middle = inspect::inspect(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    let after = if middle.pending.is_empty() {
        middle
    } else {
        let (steps, after) = execute(app, run, &middle, Direction::Upgrade, &heads).await?;
        applied.extend(steps);
        after
    };
    say(app, &text::status(&after));
    let mut report = ComponentReport::from_inspection(&after);
    report.applied = applied;
    report.destructive = destructive;
    report.found_in_git = found_report;
    Ok(report)
}

/// A failure of the walk back names the temporary ini copy: say the configured one instead, so
/// the suggested commands work after the copy is gone.
fn as_configured(mut f: Failure, scratch: &Config, config: &Config) -> Failure {
    let pairs = [
        (select_flag(scratch), select_flag(config)),
        (scratch.ini_arg.clone(), config.ini_arg.clone()),
    ];
    for text in [&mut f.message, &mut f.cause, &mut f.fix] {
        for (from, to) in &pairs {
            *text = text.replace(from.as_str(), to);
        }
    }
    f.fix = f.fix.replace(
        "then rerun the downgrade when ready",
        &format!(
            "then rerun db-migrate sync {} when ready",
            select_flag(config)
        ),
    );
    if let Some(d) = &mut f.database {
        *d = d.replace(scratch.ini_arg.as_str(), &config.ini_arg);
    }
    f
}

/// Find the missing revisions in git, write them where Alembic sees them, and plan the walk back
/// to the newest revision this checkout shares with the database.
async fn walk_back(app: &App, before: &Inspection) -> Result<WalkBack, Failure> {
    let config = &before.config;
    let unsupported = |why: String| {
        Failure::new(
            Kind::SyncUnsupported,
            format!("sync cannot walk {} back: {why}; nothing was changed", config.label),
            "sync finds the revisions this checkout lacks in git and plans their downgrade from there",
            format!(
                "check out the branch that has {} and downgrade there: db-migrate downgrade {} REV",
                before.current.join(", "),
                select_flag(config)
            ),
        )
    };
    let search = {
        let (config, graph, current) =
            (config.clone(), before.graph.clone(), before.current.clone());
        tokio::task::spawn_blocking(move || sync::search(&config, &graph, &current))
            .await
            .map_err(|e| unsupported(format!("the git search failed: {e}")))?
            .map_err(|e| unsupported(e.to_string()))?
    };
    let found_ids: HashSet<&str> = search
        .found
        .iter()
        .map(|f| f.revision.id.as_str())
        .collect();
    let below: Vec<String> = {
        let mut b: Vec<String> = search
            .found
            .iter()
            .flat_map(|f| f.revision.parents.iter())
            .filter(|p| !found_ids.contains(p.as_str()))
            .cloned()
            .collect();
        b.sort();
        b.dedup();
        b
    };
    if !search.missing.is_empty() {
        let stamp = match below.as_slice() {
            [one] => one.clone(),
            _ => "REVISION".to_owned(),
        };
        let ctx = Context {
            config,
            target: None,
            graph: Some(&before.graph),
            offline: false,
        };
        return Err(explain(
            Kind::RevisionNotInGit,
            &ctx,
            &[
                ("rev", search.missing.join(", ")),
                ("stamp", stamp),
                ("launcher", super::steps::execute::launcher_shown(&app.ws)),
                ("in_root", String::new()),
            ],
        ));
    }
    let scratch = sync::scratch::with_found(config, &search.found)?;
    let wide =
        inspect::inspect(&app.ws, &scratch.config, inspect::Engine::Auto, app.verbose).await?;
    if wide.state == State::UnknownRevision {
        return Err(unsupported(
            "the database is still at a revision unknown with the files found in git".to_owned(),
        ));
    }
    // The newest revisions of this checkout under the database's: where the walk back lands.
    let applied = wide.graph.ancestors(&wide.current_indices());
    let kept: HashSet<usize> = applied
        .iter()
        .copied()
        .filter(|&r| !found_ids.contains(wide.graph.rev(r).id.as_str()))
        .collect();
    let landing = wide.graph.heads_of(&kept);
    let target = match landing.as_slice() {
        [] => "base".to_owned(),
        [one] => wide.graph.rev(*one).id.clone(),
        _ => {
            return Err(unsupported(format!(
                "the database's revisions rest on several revisions of this checkout ({})",
                landing
                    .iter()
                    .map(|&r| wide.graph.rev(r).id.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    let target = Target::parse(&target).map_err(unsupported)?;
    let revert = plan(&wide, Direction::Downgrade, &target).unwrap_or_default();
    Ok(WalkBack {
        found: search.found,
        scratch,
        wide,
        target,
        revert,
    })
}

/// `upgrade`/`downgrade` with the database at revisions this checkout lacks that git still holds:
/// refuse before Alembic fails on them, pointing at `sync`.
pub fn refuse_unknown(before: &mut Inspection, direction: Direction) -> Option<Failure> {
    if before.state != State::UnknownRevision {
        return None;
    }
    before.find_in_git();
    let search = before.syncable()?;
    let config = &before.config;
    let unknown: Vec<&str> = before
        .current
        .iter()
        .filter(|c| !before.graph.contains(c))
        .map(String::as_str)
        .collect();
    let mut failure = Failure::new(
        Kind::UnknownDbRevision,
        format!(
            "the {} database is at {}, which this checkout lacks (it is in {}); the {} was not run",
            config.label,
            unknown.join(", "),
            sync::sources(&search.found),
            direction.verb()
        ),
        "a branch was switched after upgrading: Alembic cannot run from a revision whose file is not here",
        crate::next_step::next_step(before),
    );
    failure.revision = unknown.first().map(|s| (*s).to_owned());
    failure.database = Some(format!(
        "at {} (nothing was changed)",
        before.current.join(", ")
    ));
    Some(failure)
}
