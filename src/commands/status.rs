//! `status`: classify every selected component, concurrently.

use futures_util::future::join_all;

use crate::exit_code;
use crate::failure::{Failure, Kind};
use crate::inspect::{inspect, Inspection};
use crate::remediation::{explain, Context};
use crate::render::json::ComponentReport;
use crate::render::text;
use crate::render::Format;
use crate::settings::StatusOptions;
use crate::state::overlapping;
use crate::state::State;

use super::reports::Reports;
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
    let mut reports = Reports::default();
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
    for (n, (config, result)) in configs.into_iter().zip(results).enumerate() {
        if n > 0 && app.format != Format::Json {
            outln!();
        }
        match result {
            Ok(i) => {
                all_up_to_date &= i.state == State::UpToDate;
                match app.format {
                    Format::Text | Format::Github => out!("{}", text::status(&i)),
                    Format::Json => reports.push(ComponentReport::from_inspection(&i)),
                }
            }
            Err(f) => reports.failed(app, &config, f).await,
        }
    }
    let ok = if check && !all_up_to_date {
        exit_code::NOT_UP_TO_DATE
    } else {
        exit_code::OK
    };
    Ok(reports.finish(app, ok))
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
