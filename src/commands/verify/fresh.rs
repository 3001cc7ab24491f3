//! Drift after a failed proof: the proof's scratch database stopped below head, so the models
//! are compared on a second scratch database made the same way and upgraded straight to head
//! (no round trips), then dropped — also on Ctrl-C, by the same cleanup jobs. One run shows
//! every problem: the failed revision and the drift.

use crate::event::Verify;
use crate::failure::{Failure, Kind};
use crate::graph::Graph;
use crate::postgres::pgdump::PgDump;
use crate::postgres::scratch::{create, name_for, Source};
use crate::render::events::{Event, Reporter};
use crate::workspace::ini::DbUrl;
use crate::workspace::scratch::pointed_at;
use crate::workspace::Config;

use super::proof::Proof;
use super::report::{ComponentReport, DriftReport};
use super::say;

/// Where the proof's copy came from, to make another one the same way.
pub struct Origin<'a> {
    pub url: &'a DbUrl,
    pub database: &'a str,
    pub source: Source,
    /// pg_dump of the component's database.
    pub pg_dump: &'a PgDump,
}

/// Measure the drift on a fresh copy at head, because the proof stopped at `stopped_at`.
/// `Err` only for an interrupt; anything else that goes wrong leaves the drift `skipped`, with why.
pub async fn drift_on_fresh_copy(
    proof: &Proof<'_>,
    config: &Config,
    origin: &Origin<'_>,
    graph: &Graph,
    stopped_at: &str,
    report: &mut ComponentReport,
) -> Result<(), Failure> {
    let app = proof.app;
    let name = name_for(origin.database);
    let skipped = |why: String| DriftReport {
        why: Some(why),
        ..DriftReport::default()
    };
    let result = measure(proof, config, origin, graph, &name).await;
    report.drift = match result {
        Ok((drift, dropped)) => {
            say(
                app,
                Verify::DriftOnFreshCopy {
                    name: &name,
                    stopped_at,
                    dropped,
                },
            );
            DriftReport {
                measured_on: Some("fresh-copy"),
                fresh_copy: Some(name.clone()),
                ..drift
            }
        }
        Err(f) if f.kind == Kind::Interrupted => return Err(f),
        Err(f) => skipped(format!(
            "the proof stopped at {stopped_at}, and a fresh copy to measure it on could not be made: {}",
            f.message
        )),
    };
    say(app, Verify::Drift(&report.drift));
    Ok(())
}

/// Make the copy, measure, drop it. The drift and whether the copy was dropped.
async fn measure(
    proof: &Proof<'_>,
    config: &Config,
    origin: &Origin<'_>,
    graph: &Graph,
    name: &str,
) -> Result<(DriftReport, bool), Failure> {
    let scratch_config = pointed_at(config, name)?;
    let scratch = create(origin.url, name, origin.source, origin.pg_dump).await?;
    let mut fresh = Proof {
        app: proof.app,
        run: proof.run.clone(),
        pg_dump: origin.pg_dump.with_database(name),
        at: None,
        ini_arg: proof.ini_arg.clone(),
        select: proof.select.clone(),
        stopped: None,
    };
    let drift = fresh.drift_straight_to_head(&scratch_config, graph).await;
    let dropped = scratch.drop().await;
    if let Err(e) = &dropped {
        Reporter::process().emit(Event::FailureAside(&Failure::new(
            Kind::VerifyDropFailed,
            format!("the scratch database {name} could not be dropped: {e}"),
            "the server refused DROP DATABASE or stopped answering",
            format!(
                "drop it by hand: psql {} -c 'DROP DATABASE \"{name}\" WITH (FORCE)'",
                origin.pg_dump.with_database("postgres").connection_args()
            ),
        )));
    }
    Ok((drift?, dropped.is_ok()))
}
