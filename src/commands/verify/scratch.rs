//! The scratch database's end: drop it (or keep it and say how to connect). Before it exists,
//! [`crate::commands::steps::probe_follows_url`] makes sure Alembic goes where the scratch ini says.

use crate::event::Verify;
use crate::failure::{Failure, Kind};
use crate::postgres::pgdump::PgDump;
use crate::postgres::scratch::Scratch;
use crate::render::events::{Event, Reporter};

use super::report::ComponentReport;
use super::{say, App};

/// Drop the scratch database (or keep it and say how to connect), and say so.
pub async fn finish_scratch(
    app: &App,
    scratch: Scratch,
    keep: bool,
    pg_dump: &PgDump,
    report: &mut ComponentReport,
    failed: bool,
) -> Result<(), Failure> {
    let name = scratch.name.clone();
    if keep {
        scratch.keep();
        let connect = format!("psql {}", pg_dump.connection_args());
        if let Some(s) = report.scratch.as_mut() {
            s.connect = Some(connect.clone());
        }
        say(
            app,
            Verify::ScratchKept {
                name: &name,
                connect: &connect,
            },
        );
        return Ok(());
    }
    match scratch.drop().await {
        Ok(()) => {
            if let Some(s) = report.scratch.as_mut() {
                s.dropped = true;
            }
            say(app, Verify::ScratchDropped { name: &name });
            Ok(())
        }
        Err(e) => {
            let failure = Failure::new(
                Kind::VerifyDropFailed,
                format!("the scratch database {name} could not be dropped: {e}"),
                "the server refused DROP DATABASE or stopped answering",
                format!(
                    "drop it by hand: psql {} -c 'DROP DATABASE \"{name}\" WITH (FORCE)'",
                    pg_dump.with_database("postgres").connection_args()
                ),
            );
            if failed {
                // The earlier failure is the one to report; this one is said on the side.
                Reporter::process().emit(Event::FailureAside(&failure));
                Ok(())
            } else {
                Err(failure)
            }
        }
    }
}
