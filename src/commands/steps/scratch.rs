//! Before a scratch database exists: make sure Alembic goes where the scratch ini says, so that no
//! step meant for the scratch copy can reach the configured database.

use crate::failure::{Failure, Kind};
use crate::inspect::relay;
use crate::workspace::scratch::ScratchConfig;

use crate::commands::App;

/// `alembic current` with the scratch ini before the scratch database exists: if Alembic still
/// connects, env.py takes its database from somewhere other than the ini's sqlalchemy.url, and
/// every step would run on that database instead. Refuse before anything is created. Returns
/// how long the call took: Alembic's start-up (Python, env.py's imports), which every step
/// below pays again.
/// `who` is the command line that makes the scratch database (`verify`, `new --autogenerate`),
/// named in the failure.
pub async fn probe_follows_url(
    app: &App,
    scratch: &ScratchConfig,
    name: &str,
    who: &str,
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
            format!("{}'s env.py does not connect to the database its ini names, so {who} cannot point it at a scratch database; nothing was created or changed", config.label),
            format!("alembic current succeeded with sqlalchemy.url naming the database {name}, which does not exist: env.py builds its connection from something else (an environment variable, another config file)"),
            format!("make env.py use config.get_main_option(\"sqlalchemy.url\") (or the [alembic] section), as Backend.AI's does, then rerun db-migrate {who}"),
        ));
    }
    let mut failure =
        crate::remediation::diagnose("current", &output, &crate::remediation::Context::of(config));
    failure.message = format!(
        "before creating a scratch database, {who} runs alembic current against it, and that failed: {}",
        failure.message
    );
    Err(failure)
}
