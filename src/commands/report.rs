//! `current`, `heads`, `history`: Alembic's reports, parsed, handed to the run's printer.

use futures_util::future::join_all;

use super::App;
use crate::exit_code;
use crate::failure::Failure;
use crate::graph::Revision;
use crate::inspect::{self, inspect, load_graph, Engine};
use crate::render::document::Document;
use crate::render::graph::GraphDocument;
use crate::report::divergence::DivergenceReport;
use crate::report::graph::GraphReport;
use crate::settings::{ReportKind as Kind, ReportOptions};
use crate::workspace::Config;

#[cfg(test)]
mod snapshot_tests;

pub async fn run(app: &App, opts: &ReportOptions) -> Result<u8, Failure> {
    let (kind, engine, upstream) = (opts.kind, opts.engine, opts.upstream.as_deref());
    let configs = app.ws.configs(&opts.selection)?;
    for config in &configs {
        crate::heads::released::require_upstream(config, "heads", upstream)?;
    }
    if kind == Kind::Current {
        app.wait_for_databases(&configs).await?;
        return current(app, &configs, engine).await;
    }
    let graphs = join_all(
        configs
            .iter()
            .map(|c| load_graph(&app.ws, c, engine, app.verbose)),
    )
    .await;
    let mut doc = GraphDocument::new(app.format);
    for (config, graph) in configs.iter().zip(graphs) {
        match graph {
            Ok((graph, used)) => {
                let revisions: Vec<Revision> = match kind {
                    Kind::Heads => crate::heads::alembic_heads(&graph)
                        .into_iter()
                        .map(|i| graph.rev(i).clone())
                        .collect(),
                    _ => graph
                        .history_order()
                        .into_iter()
                        .map(|i| graph.rev(i).clone())
                        .collect(),
                };
                let explanation = match kind {
                    Kind::Heads => crate::heads::explain(&config.root, &graph, upstream),
                    _ => None,
                };
                let heads = crate::heads::alembic_heads(&graph)
                    .into_iter()
                    .map(|i| graph.rev(i).id.clone())
                    .collect();
                let report = GraphReport {
                    divergence: explanation
                        .as_ref()
                        .map(|e| DivergenceReport::new(config, &graph, e)),
                    engine: used.into(),
                    component: config.label.clone(),
                    config: config.ini_arg.clone(),
                    heads,
                    revisions: revisions.iter().map(Into::into).collect(),
                };
                doc.component(config, &graph, kind, explanation.as_ref(), report);
            }
            Err(f) => doc.failed(f),
        }
    }
    Ok(doc.finish())
}

async fn current(app: &App, configs: &[Config], engine: Engine) -> Result<u8, Failure> {
    let results = join_all(
        configs
            .iter()
            .map(|c| inspect(&app.ws, c, engine, app.verbose)),
    )
    .await;
    let mut doc = Document::new(app.format);
    for (config, result) in configs.iter().zip(results) {
        match result {
            Ok(i) => doc.current(&i),
            Err(f) => {
                doc.failed(config, f, || inspect::known(&app.ws, config))
                    .await
            }
        }
    }
    Ok(doc.finish(exit_code::OK))
}
