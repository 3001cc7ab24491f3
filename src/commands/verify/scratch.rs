//! The scratch database's edges: before it exists, make sure Alembic goes where the scratch ini
//! says; at the end, drop it (or keep it and say how to connect).

use crate::event::Verify;
use crate::failure::{Failure, Kind};
use crate::inspect::relay;
use crate::postgres::pgdump::PgDump;
use crate::postgres::scratch::Scratch;
use crate::render::events::{Event, Reporter};
use crate::workspace::scratch::ScratchConfig;

use super::report::ComponentReport;
use super::{say, App};

/// `alembic current` with the scratch ini before the scratch database exists: if Alembic still
/// connects, env.py takes its database from somewhere other than the ini's sqlalchemy.url, and
/// every step would run on that database instead. Refuse before anything is created. Returns
/// how long the call took: Alembic's start-up (Python, env.py's imports), which every step
/// below pays again.
pub async fn probe_follows_url(
    app: &App,
    scratch: &ScratchConfig,
    name: &str,
) -> Result<f64, Failure> {
    let config = &scratch.config;
    let started = std::time::Instant::now();
    let output = crate::alembic::read_only(
        &app.ws,
        config,
        &["current"],
        relay(app.verbose, &config.label, "current (probe)"),
    )
    .await?;
    // The server names the database it was asked for when it refuses it ("database … does not
    // exist", in the server's language): the name alone, unique to this run, proves the attempt.
    let tried_scratch = !output.success()
        && output
            .stdout
            .iter()
            .chain(&output.stderr)
            .any(|l| l.contains(name));
    if tried_scratch {
        return Ok(started.elapsed().as_secs_f64());
    }
    if output.success() {
        return Err(Failure::new(
            Kind::VerifyEnvIgnoresUrl,
            format!("{}'s env.py does not connect to the database its ini names, so verify cannot point it at a scratch database; nothing was created or changed", config.label),
            format!("alembic current succeeded with sqlalchemy.url naming the database {name}, which does not exist: env.py builds its connection from something else (an environment variable, another config file)"),
            "make env.py use config.get_main_option(\"sqlalchemy.url\") (or the [alembic] section), as Backend.AI's does, then rerun verify",
        ));
    }
    let mut failure =
        crate::remediation::diagnose("current", &output, &crate::remediation::Context::of(config));
    failure.message = format!(
        "before creating a scratch database, verify runs alembic current against it, and that failed: {}",
        failure.message
    );
    Err(failure)
}

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
