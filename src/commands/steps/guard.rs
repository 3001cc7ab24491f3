//! What stands between a plan and the database: the migration lock (one db-migrate at a time per
//! database) and `--backup`.

use std::time::Duration;

use crate::failure::{Failure, Kind};
use crate::inspect::Inspection;
use crate::postgres;
use crate::render::events::{Event, Note};
use crate::settings::RunOptions;
use crate::workspace::Config;

use super::output::{detail, reporter, run_reporter};
use crate::commands::App;

/// `--backup`: dump the database before anything changes; a failed dump stops the run.
pub async fn backup_if_asked(
    app: &App,
    run: &RunOptions,
    before: &Inspection,
) -> Result<(), Failure> {
    let config = &before.config;
    if let Some(requested) = &run.backup {
        let requested = Some(std::path::Path::new(requested)).filter(|p| !p.as_os_str().is_empty());
        let at = before.current.join("+");
        let backup = crate::postgres::backup::dump(config, &at, requested).await?;
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

/// Take the component's migration lock (PostgreSQL databases only), waiting up to --lock-timeout.
pub async fn lock(
    app: &App,
    config: &Config,
    run: &RunOptions,
) -> Result<Option<postgres::MigrationLock>, Failure> {
    let Some(url) = &config.url else {
        return Ok(None);
    };
    let Ok(pg) = postgres::connect_config(url) else {
        reporter(app).emit(Event::Note(Note::NoLockNotNative {
            component: &config.label,
        }));
        return Ok(None);
    };
    let key = postgres::lock_key(url.database.as_deref().unwrap_or_default(), &config.label);
    let waiting = || {
        run_reporter(app, run).emit(Event::WaitingForLock {
            component: &config.label,
            timeout_secs: run.lock_timeout,
        });
    };
    match postgres::advisory_lock(&pg, key, Duration::from_secs(run.lock_timeout), waiting).await {
        Ok(lock) => Ok(Some(lock)),
        Err(postgres::LockError::TimedOut) => Err(Failure::new(
            Kind::LockTimeout,
            format!("another db-migrate still holds the {} migration lock after {}s; nothing was changed", config.label, run.lock_timeout),
            "a migration of the same database is running (or hung) elsewhere: CI job, another terminal",
            format!(
                "wait for it, or find it: SELECT pid, application_name, query_start FROM pg_stat_activity WHERE application_name = 'db-migrate lock'; then retry (--lock-timeout {} to wait longer)",
                (run.lock_timeout * 2).max(60)
            ),
        )),
        // Unreachable database: the inspection that follows asks Alembic and reports it in
        // Alembic's words; there is nothing to lock against.
        Err(postgres::LockError::Failed(text)) => {
            reporter(app).emit(Event::Note(Note::NoLockUnreachable {
                component: &config.label,
                error: &text,
            }));
            Ok(None)
        }
    }
}
