//! Ctrl-C and SIGTERM while no Alembic child runs (planning, waiting for the lock or the
//! database): exit 130 at once, reported like any failure. While a child runs, the Alembic runner
//! forwards the signal instead and the command reports where the database was left. Before it
//! exits, the handler runs the [`crate::cleanup`] jobs still registered.

use std::sync::atomic::Ordering;

use tokio::signal::unix::{signal, SignalKind};

use crate::alembic::runner::ACTIVE_CHILDREN;
use crate::failure::{Failure, Kind};

/// Exit 130 on SIGINT/SIGTERM unless an Alembic child is running (then `run` forwards it). The
/// interrupt is reported like every failure: one JSON document on stdout with `json` (set once at
/// startup from `--format`), the error/cause/fix paragraph on stderr otherwise.
pub async fn exit_on_signal_when_idle(json: bool) {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    loop {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        if ACTIVE_CHILDREN.load(Ordering::SeqCst) == 0 {
            // A scratch database, a temporary ini: what the command would have removed itself.
            crate::cleanup::run_all(std::time::Duration::from_secs(10)).await;
            let failure = Failure::new(
                Kind::Interrupted,
                "interrupted: no Alembic command was running at that moment, so nothing was being applied",
                "db-migrate received SIGINT/SIGTERM while it prepared or waited (for the migration lock, the database, or while reading the scripts)",
                "db-migrate status --all shows where each database is; rerun the command when ready",
            );
            crate::render::interrupted(json, &failure);
            std::process::exit(i32::from(crate::render::stdout::finish(
                failure.kind.code(),
            )));
        }
    }
}
