//! Before a repoint is written for real: run the new order on a scratch copy of the database
//! (verify's machinery: a template copy on the component's server, a copy of the ini pointed at
//! it, env.py checked to follow that URL). The scratch copy is walked back to the fork point
//! when the real database will be, then the repointed file is put in place, the copy upgraded to
//! the new head, and the file restored byte for byte — always, and by a cleanup job on Ctrl-C.
//! The scratch database is dropped at the end, also on failure and Ctrl-C.

use std::path::Path;

use crate::cleanup;
use crate::failure::{Failure, Kind};
use crate::inspect;
use crate::plan::Direction;
use crate::postgres::scratch::{create, name_for, Source};
use crate::postgres::snapshot;
use crate::render::events::{Event, Note, Reporter};
use crate::revisions::edit;
use crate::settings::RunOptions;
use crate::target::Target;
use crate::workspace::scratch::pointed_at;
use crate::workspace::Config;

use super::super::steps::execute;
use super::super::App;
use crate::commands::steps::probe_follows_url;

/// What the scratch copy said about the new order.
pub enum Outcome {
    /// Upgraded to the new head on `copy` (a copy of `of`).
    Proved { of: String },
    /// A step failed there: the real run would fail the same way.
    Fails { of: String, failure: Box<Failure> },
    /// No scratch copy could be made (why).
    NotProved(String),
}

/// The file being repointed: where, and its bytes before and after.
pub struct Edit<'a> {
    pub path: &'a Path,
    pub old: &'a [u8],
    pub new: &'a [u8],
}

/// Prove the repoint `edit` on a scratch copy of `before`'s database; `fork` is the revision
/// to walk the copy back to first, when the real database will be walked back.
pub async fn prove(
    app: &App,
    config: &Config,
    edit: &Edit<'_>,
    fork: Option<&str>,
) -> Result<Outcome, Failure> {
    // One Alembic worker for the probe and every step on the copy (issue 21).
    crate::alembic::pool::scoped(app.verbose, prove_on_copy(app, config, edit, fork)).await
}

async fn prove_on_copy(
    app: &App,
    config: &Config,
    edit: &Edit<'_>,
    fork: Option<&str>,
) -> Result<Outcome, Failure> {
    let Some(url) = config.url.as_ref().filter(|u| u.is_postgres()) else {
        return Ok(Outcome::NotProved(
            "the database is not PostgreSQL, so there is no scratch copy to run it on".into(),
        ));
    };
    let pg_dump = match snapshot::tool(config, "fix-heads", Kind::FixHeadsUnsupported) {
        Ok(p) => p,
        Err(f) => return Ok(Outcome::NotProved(f.message)),
    };
    let of = url
        .database
        .as_deref()
        .map(crate::mask::percent_decode)
        .unwrap_or_else(|| "postgres".to_owned());
    let name = name_for(&of);
    let scratch_config = match pointed_at(config, &name) {
        Ok(c) => c,
        Err(f) => return Ok(Outcome::NotProved(f.message)),
    };
    match probe_follows_url(app, &scratch_config, &name, "fix-heads").await {
        Ok(_) => {}
        Err(f) if f.kind == Kind::Interrupted => return Err(f),
        Err(f) => return Ok(Outcome::NotProved(f.message)),
    }
    let scratch = match create(url, &name, Source::Copy, &pg_dump).await {
        Ok(s) => s,
        Err(f) if f.kind == Kind::Interrupted => return Err(f),
        Err(f) => return Ok(Outcome::NotProved(f.message)),
    };
    let result = run_new_order(app, &scratch_config.config, edit, fork).await;
    let dropped = scratch.drop().await;
    drop(scratch_config);
    if let Err(e) = dropped {
        Reporter::process().emit(Event::Note(Note::ScratchNotDropped {
            name: &name,
            error: &e.to_string(),
            psql_args: &pg_dump.with_database("postgres").connection_args(),
        }));
    }
    match result {
        Ok(()) => Ok(Outcome::Proved { of }),
        Err(f) if f.kind == Kind::Interrupted => Err(f),
        Err(failure) => Ok(Outcome::Fails {
            of,
            failure: Box::new(failure),
        }),
    }
}

/// On the scratch copy: walk back (the file as it is), then put the repointed file in place,
/// upgrade to the new head, and restore the file whatever happened.
async fn run_new_order(
    app: &App,
    scratch: &Config,
    edit: &Edit<'_>,
    fork: Option<&str>,
) -> Result<(), Failure> {
    let run = quiet();
    if let Some(fork) = fork {
        let at = inspect::inspect(&app.ws, scratch, inspect::Engine::Auto, app.verbose).await?;
        let target = Target::parse(fork)
            .map_err(|e| Failure::usage(Kind::BadTarget, e, "name the revision by its id"))?;
        execute(app, &run, &at, Direction::Downgrade, &target).await?;
    }
    let restore = {
        let (path, old) = (edit.path.to_path_buf(), edit.old.to_vec());
        cleanup::register(move || async move {
            let _ = edit::write_atomically(&path, &old);
        })
    };
    let upgraded = match edit::write_atomically(edit.path, edit.new) {
        Ok(()) => upgrade_to_head(app, &run, scratch).await,
        Err(e) => Err(Failure::new(
            Kind::FixHeadsWrite,
            format!("cannot write {}: {e}", edit.path.display()),
            "the file or its directory is not writable",
            "make it writable, then retry",
        )
        .in_workspace(&app.ws.root, edit.path, None)),
    };
    let restored = edit::write_atomically(edit.path, edit.old)
        .and_then(|()| std::fs::read(edit.path))
        .map(|bytes| bytes == edit.old);
    restore.disarm();
    if !matches!(restored, Ok(true)) {
        return Err(Failure::new(
            Kind::FixHeadsRestore,
            format!(
                "{} could not be restored after the proof on a scratch copy",
                edit.path.display()
            ),
            "the file or its directory stopped being writable meanwhile",
            format!(
                "git -C {} checkout -- {} (or undo the repoint by hand)",
                app.ws.root.display(),
                edit.path.display()
            ),
        )
        .in_workspace(&app.ws.root, edit.path, None));
    }
    upgraded
}

async fn upgrade_to_head(app: &App, run: &RunOptions, scratch: &Config) -> Result<(), Failure> {
    // The file changed: read the graph again.
    let now = inspect::inspect(&app.ws, scratch, inspect::Engine::Auto, app.verbose).await?;
    let head = Target::parse("head").expect("valid target");
    execute(app, run, &now, Direction::Upgrade, &head).await?;
    Ok(())
}

/// The scratch copy's steps are not the user's: no progress, no plan printed.
fn quiet() -> RunOptions {
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
