//! `current`, `heads`, `history`: Alembic's reports, parsed, as text or JSON.

use std::fmt::Write;

use futures_util::future::join_all;
use serde::Serialize;

use crate::cli::{ComponentArgs, Format};
use crate::error::Failure;
use crate::exit_code;
use crate::graph::{Graph, Revision};
use crate::inspect::{inspect, load_graph, Engine};
use crate::render::json::{self, ComponentReport};
use crate::render::text;
use crate::workspace::Config;

use super::reports::Reports;
use super::App;

#[cfg(test)]
mod snapshot_tests;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Current,
    Heads,
    History,
}

#[derive(Serialize)]
struct GraphReport {
    component: String,
    config: String,
    engine: Engine,
    heads: Vec<String>,
    /// `heads`: the head revisions; `history`: every revision, newest first.
    revisions: Vec<Revision>,
    /// `heads` with several heads: each head's branch back to the fork point.
    #[serde(skip_serializing_if = "Option::is_none")]
    divergence: Option<json::DivergenceReport>,
}

#[derive(Serialize)]
struct GraphReports {
    components: Vec<GraphReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Failure>,
}

pub async fn run(
    app: &App,
    args: &ComponentArgs,
    kind: Kind,
    engine: Engine,
    upstream: Option<&str>,
) -> Result<u8, Failure> {
    let configs = app.ws.configs(&args.selection())?;
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
                            Ok(fix) => crate::render::fix_heads_hint(config, &graph, fix),
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
                        .map(|e| json::DivergenceReport::new(config, &graph, e)),
                    engine: used,
                    component: config.label.clone(),
                    config: config.ini_arg.clone(),
                    heads,
                    revisions,
                });
            }
            Err(f) => {
                if app.format == Format::Text {
                    eprint!("{}", text::failure(&f));
                }
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
            json::to_string(&GraphReports {
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
