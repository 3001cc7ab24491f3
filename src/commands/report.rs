//! `current`, `heads`, `history`: Alembic's reports, parsed, as text or JSON.

use std::fmt::Write;

use futures_util::future::join_all;

use crate::commands::steps::output::reporter;
use crate::exit_code;
use crate::failure::Failure;
use crate::graph::{Graph, Revision};
use crate::inspect::{inspect, load_graph, Engine};
use crate::render::events::Event;
use crate::render::json::{self, ComponentReport};
use crate::render::{text, Format};
use crate::report::divergence::DivergenceReport;
use crate::report::graph::{self as graph_report, GraphReport};
use crate::settings::{ReportKind as Kind, ReportOptions};
use crate::workspace::Config;

use super::reports::Reports;
use super::App;

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
    let mut reports = Vec::new();
    let mut first_failure = None;
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
                if app.format == Format::Text {
                    let mut text = render_graph(config, &graph, kind);
                    if let Some(e) = &explanation {
                        text::write_divergence(&mut text, config, &graph, e);
                        let next = match &e.plan {
                            Ok(fix) => crate::next_step::fix_heads_hint(config, &graph, fix),
                            Err(refusal) => refusal.next(config),
                        };
                        text.push_str(&format!("  next     {next}\n"));
                    }
                    out!("{}", text);
                }
                let heads = crate::heads::alembic_heads(&graph)
                    .into_iter()
                    .map(|i| graph.rev(i).id.clone())
                    .collect();
                reports.push(GraphReport {
                    divergence: explanation
                        .as_ref()
                        .map(|e| DivergenceReport::new(config, &graph, e)),
                    engine: used.into(),
                    component: config.label.clone(),
                    config: config.ini_arg.clone(),
                    heads,
                    revisions: revisions.iter().map(Into::into).collect(),
                });
            }
            Err(f) => {
                reporter(app).emit(Event::GraphFailed(&f));
                first_failure.get_or_insert(f);
            }
        }
    }
    let code = if first_failure.is_some() {
        exit_code::FAILED
    } else {
        exit_code::OK
    };
    if app.format == Format::Json {
        outln!(
            "{}",
            json::to_string(&graph_report::Report {
                components: reports,
                error: first_failure
            })
        );
    }
    Ok(code)
}

fn render_graph(config: &Config, graph: &Graph, kind: Kind) -> String {
    let mut out = format!("{} ({}):\n", config.label, config.ini_arg);
    let heads = crate::heads::alembic_heads(graph);
    let show: Vec<usize> = match kind {
        Kind::Heads => heads.clone(),
        _ => graph.history_order(),
    };
    for i in show {
        let r = graph.rev(i);
        let parents = if r.parents.is_empty() {
            "<base>".to_owned()
        } else {
            r.parents.join(", ")
        };
        let mut marks = String::new();
        if heads.contains(&i) {
            marks.push_str(" (head)");
        }
        if r.parents.len() > 1 {
            marks.push_str(" (mergepoint)");
        }
        if !r.branch_labels.is_empty() {
            let _ = write!(marks, " [{}]", r.branch_labels.join(", "));
        }
        match kind {
            Kind::Heads => {
                let _ = writeln!(
                    out,
                    "  {}{}  {}  ({})",
                    r.id,
                    marks,
                    r.message,
                    r.path.as_deref().unwrap_or("?")
                );
            }
            _ => {
                let _ = writeln!(out, "  {parents} -> {}{}, {}", r.id, marks, r.message);
            }
        }
    }
    out
}

async fn current(app: &App, configs: &[Config], engine: Engine) -> Result<u8, Failure> {
    let results = join_all(
        configs
            .iter()
            .map(|c| inspect(&app.ws, c, engine, app.verbose)),
    )
    .await;
    let mut reports = Reports::default();
    for (config, result) in configs.iter().zip(results) {
        match result {
            Ok(i) => {
                if app.format == Format::Text {
                    let current = if i.current.is_empty() {
                        "(none)".to_owned()
                    } else {
                        i.current.join(", ")
                    };
                    outln!("{}: {current} ({})", config.label, i.state.as_str());
                }
                reports.push(ComponentReport::from_inspection(&i));
            }
            Err(f) => reports.failed(app, config, f).await,
        }
    }
    Ok(reports.finish(app, exit_code::OK))
}
