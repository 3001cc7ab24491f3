//! `verify`: prove a branch's new migrations on a scratch copy of the database, never on the
//! database itself. Each new revision (relative to the base, as `check` tells them) is upgraded,
//! snapshotted, downgraded, upgraded again and compared; backports (and `--idempotent` ones) are
//! stamped back to their parent and run a second time; at head, Alembic's autogenerate compares
//! the models with the migrated schema. The scratch database is dropped at the end, also on
//! failure and Ctrl-C, unless `--keep`.

mod fresh;
mod proof;
mod report;
pub(crate) mod scratch;
#[cfg(test)]
mod snapshot_tests;

use std::collections::HashSet;

use crate::commands::steps::output::reporter;
use crate::event::{Event, Verify};
use crate::failure::{Failure, Kind};
use crate::git::Repo;
use crate::graph::{Graph, Lookup};
use crate::postgres::scratch::{create, name_for, Made, Source};
use crate::postgres::snapshot;
use crate::remediation::select_flag;
use crate::render;
use crate::settings::{RunOptions, VerifyOptions as Options};
use crate::verify::plan;
use crate::workspace::scratch::pointed_at;
use crate::workspace::Config;
use crate::{check, exit_code, inspect};

use super::steps::probe_follows_url;
use super::App;
use proof::Proof;
use report::{ComponentReport, ScratchReport};
use scratch::finish_scratch;

pub async fn run(app: &App, opts: &Options) -> Result<u8, Failure> {
    let configs = &app.ws.configs(&opts.selection)?;
    app.wait_for_databases(configs).await?;
    let repo = Repo::discover(&app.ws.root);
    let mut reports = Vec::new();
    let mut exit = exit_code::OK;
    for config in configs {
        say(
            app,
            Verify::Started {
                component: &config.label,
                config: &config.ini_arg,
            },
        );
        let mut report = ComponentReport {
            component: config.label.clone(),
            config: config.ini_arg.clone(),
            ..ComponentReport::default()
        };
        // One Alembic worker for the component's probe, steps and drift (issue 21).
        let proof = verify_one(app, config, repo.as_ref(), opts, &mut report);
        let result = crate::alembic::pool::scoped(app.verbose, proof).await;
        if let Err(failure) = result {
            reporter(app).emit(Event::ComponentFailed(&failure));
            exit = worse(exit, failure.kind.code());
            report.error = Some(failure);
        }
        report.problems = report.count_problems();
        // The error counts as a problem but keeps its own exit code (2 for a usage error).
        if report.problems > usize::from(report.error.is_some()) {
            exit = worse(exit, exit_code::FAILED);
        }
        say(app, Verify::Finished(&report));
        let interrupted = report
            .error
            .as_ref()
            .is_some_and(|e| e.kind == Kind::Interrupted);
        reports.push(report);
        if interrupted {
            break;
        }
    }
    let problems = reports.iter().map(|r| r.problems).sum();
    render::verify::report(
        app.format,
        &report::Report {
            components: reports,
            problems,
        },
    );
    Ok(exit)
}

/// Show a step of the proof (the reporter decides whether this format shows it).
pub(super) fn say(app: &App, step: Verify<'_>) {
    reporter(app).emit(Event::Verify(step));
}

/// The more telling of two exit codes: an interrupt over a failure over a usage error over 0.
fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        exit_code::INTERRUPTED => 3,
        exit_code::FAILED => 2,
        exit_code::OK => 0,
        _ => 1,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Everything for one component. Each step is said as it happens ([`Verify`] events); `report`
/// collects the rest.
async fn verify_one(
    app: &App,
    config: &Config,
    repo: Option<&Repo>,
    opts: &Options,
    report: &mut ComponentReport,
) -> Result<(), Failure> {
    let select = select_flag(config);
    let url = match config.url.as_ref().filter(|u| u.is_postgres()) {
        Some(url) => url,
        None => {
            return Err(Failure::usage(
                Kind::VerifyUnsupported,
                format!(
                    "verify proves migrations on a scratch PostgreSQL database, and {} is not a PostgreSQL database",
                    config.ini_arg
                ),
                "run it against a PostgreSQL database (the halfstack's)",
            ))
        }
    };
    let pg_dump = snapshot::tool(config, "verify", Kind::VerifyUnsupported)?;
    let (graph, _) =
        inspect::load_graph(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    let heads = graph.heads();
    if heads.len() > 1 {
        let ids: Vec<&str> = heads.iter().map(|&h| graph.rev(h).id.as_str()).collect();
        return Err(Failure::new(
            Kind::MultipleHeads,
            format!(
                "{} has {} heads ({}); verify proves one line of migrations",
                config.label,
                ids.len(),
                ids.join(", ")
            ),
            "two branches added migrations on the same parent",
            format!("db-migrate fix-heads {select}, then rerun db-migrate verify {select}"),
        ));
    }
    let asked = asked_revisions(&graph, &opts.idempotent, &select)?;
    let new: HashSet<usize> = match check::base_for(config, repo, opts.base.as_deref()) {
        Ok(base) => {
            report.base = Some(base.reference.clone());
            (0..graph.len())
                .filter(|&i| base.by_id(&graph.rev(i).id).is_none())
                .collect()
        }
        // An explicit --base that cannot be used is an error even with --idempotent.
        Err(check::NoBase::Failed(failure)) => return Err(failure),
        Err(why) if asked.is_empty() => {
            return Err(Failure::usage(
                Kind::VerifyNoBase,
                format!("verify proves the revisions new relative to a base ref, and there is none: {why}"),
                format!("pass the branch you will merge into (db-migrate verify {select} --base origin/main), or name revisions with --idempotent REV"),
            ))
        }
        Err(_) => HashSet::new(),
    };
    let plan = plan::plan(&graph, &new, &asked, |i| {
        graph
            .rev(i)
            .path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
    });
    if plan.start.len() > 1 {
        return Err(Failure::new(
            Kind::VerifyStart,
            "the new revisions rest on several older branches; verify starts from one revision".to_owned(),
            "a new merge revision joins older branches",
            format!("verify the branches' own revisions with --idempotent REV, or db-migrate roundtrip {select} REV"),
        ));
    }
    say(
        app,
        Verify::Planned {
            revisions: plan.subjects.len(),
            base: report.base.as_deref(),
        },
    );

    // The scratch database: name it, point a copy of the ini at it, and make sure Alembic really
    // goes where the copy says before anything is created.
    let source_db = url
        .database
        .as_deref()
        .map(crate::mask::percent_decode)
        .unwrap_or_else(|| "postgres".to_owned());
    let name = name_for(&source_db);
    let scratch_config = pointed_at(config, &name)?;
    let startup = probe_follows_url(app, &scratch_config, &name, "verify").await?;
    report.alembic_startup_seconds = Some(startup);
    let shared = crate::alembic::pool::serving(&app.ws, &scratch_config.config).await;
    say(
        app,
        Verify::AlembicStartup {
            seconds: startup,
            shared,
        },
    );
    let source = if opts.from_empty {
        Source::Empty
    } else {
        Source::Copy
    };
    let started = std::time::Instant::now();
    let scratch = create(url, &name, source, &pg_dump)
        .await
        .map_err(|f| match f.kind {
            Kind::VerifyNoDatabase => Failure {
                fix: format!(
                    "start from an empty database instead: db-migrate verify {select} --from-empty"
                ),
                ..f
            },
            _ => f,
        })?;
    let took = started.elapsed().as_secs_f64();
    report.scratch = Some(ScratchReport {
        database: name.clone(),
        seconds: took,
        made: scratch.made.as_str(),
        from: (scratch.made != Made::Empty).then(|| source_db.clone()),
        dropped: false,
        connect: None,
    });
    if let Some(made) = &report.scratch {
        say(
            app,
            Verify::ScratchMade {
                scratch: made,
                why_dump: scratch.why_dump.as_deref(),
            },
        );
    }
    let scratch_dump = pg_dump.with_database(&name);
    let mut proof = Proof {
        app,
        run: quiet_run(),
        pg_dump: scratch_dump,
        at: None,
        ini_arg: config.ini_arg.clone(),
        select: select.clone(),
        stopped: None,
    };
    let mut result = proof
        .prove(&scratch_config, &plan, &graph, report)
        .await
        .map_err(|f| Failure {
            database: Some(format!(
                "the scratch database {name}; {source_db} itself was not touched"
            )),
            ..f
        });
    if let (Ok(()), Some(stopped_at)) = (&result, proof.stopped.as_deref()) {
        let origin = fresh::Origin {
            url,
            database: &source_db,
            source,
            pg_dump: &pg_dump,
        };
        result =
            fresh::drift_on_fresh_copy(&proof, config, &origin, &graph, stopped_at, report).await;
    }
    finish_scratch(
        app,
        scratch,
        opts.keep,
        &proof.pg_dump,
        report,
        result.is_err(),
    )
    .await?;
    result
}

/// `--idempotent REV…` as graph indices.
fn asked_revisions(graph: &Graph, asked: &[String], select: &str) -> Result<Vec<usize>, Failure> {
    asked
        .iter()
        .map(|id| match graph.lookup(id) {
            Lookup::Found(i) => Ok(i),
            Lookup::NotFound => Err(Failure::usage(
                Kind::UnknownRevision,
                format!("--idempotent {id}: no revision has this id"),
                format!("db-migrate history {select} lists the revisions"),
            )),
            Lookup::Ambiguous(ids) => Err(Failure::usage(
                Kind::AmbiguousRevision,
                format!("--idempotent {id} could be any of {}", ids.join(", ")),
                "give more of the id",
            )),
        })
        .collect()
}

fn quiet_run() -> RunOptions {
    RunOptions {
        dry_run: false,
        quiet: true,
        sql: false,
        backup: None,
        lock_timeout: 60,
        keep_going: false,
        interactive: false,
    }
}
