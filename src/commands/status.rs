//! `status`: classify every selected component, concurrently.

use futures_util::future::join_all;

use crate::exit_code;
use crate::failure::{Failure, Kind};
use crate::inspect::{self, inspect, Inspection};
use crate::remediation::{explain, Context};
use crate::render::document::Document;
use crate::settings::StatusOptions;
use crate::state::overlapping;
use crate::state::State;

use super::App;

pub async fn run(app: &App, opts: &StatusOptions) -> Result<u8, Failure> {
    let (engine, upstream, check) = (opts.engine, opts.upstream.as_deref(), opts.check);
    let configs = app.ws.configs(&opts.selection)?;
    for config in &configs {
        crate::heads::released::require_upstream(config, "status", upstream)?;
    }
    app.wait_for_databases(&configs).await?;
    let results = join_all(
        configs
            .iter()
            .map(|c| inspect(&app.ws, c, engine, app.verbose)),
    )
    .await;

    let mut all_up_to_date = true;
    let mut doc = Document::new(app.format);
    let results: Vec<Result<Inspection, Failure>> = results
        .into_iter()
        .map(|r| r.and_then(refuse_overlap))
        .map(|r| {
            r.map(|mut i| {
                i.explain_divergence(upstream);
                i.find_in_git();
                i
            })
        })
        .collect();
    for (config, result) in configs.into_iter().zip(results) {
        doc.begin();
        match result {
            Ok(i) => {
                all_up_to_date &= i.state == State::UpToDate;
                doc.status(&i);
            }
            Err(f) => {
                doc.failed(&config, f, || inspect::known(&app.ws, &config))
                    .await
            }
        }
    }
    let ok = if check && !all_up_to_date {
        exit_code::NOT_UP_TO_DATE
    } else {
        exit_code::OK
    };
    Ok(doc.finish(ok))
}

/// Overlapping `alembic_version` rows are no state at all: Alembic refuses to migrate from there.
/// Report them as the failure `upgrade` would hit, with both rows named.
fn refuse_overlap(i: Inspection) -> Result<Inspection, Failure> {
    let Some((newest, older)) = overlapping(&i.graph, &i.current) else {
        return Ok(i);
    };
    let ctx = Context {
        config: &i.config,
        target: None,
        graph: Some(&i.graph),
        offline: false,
    };
    let mut failure = explain(
        Kind::OverlappingVersions,
        &ctx,
        &[("rev", newest), ("others", older.join(", "))],
    );
    failure.database = Some(format!("at {} (overlapping rows)", i.current.join(", ")));
    Err(failure)
}
