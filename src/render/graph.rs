//! `heads` and `history`: each component's revisions as a listing in text (with `heads`'
//! divergence explained), or one JSON document with every component and the first failure.

use std::fmt::Write;

use crate::failure::Failure;
use crate::graph::Graph;
use crate::heads::Explanation;
use crate::render::events::{Event, Reporter};
use crate::render::json;
use crate::render::text;
use crate::render::Format;
use crate::report::graph::{GraphReport, Report};
use crate::settings::ReportKind as Kind;
use crate::workspace::Config;

/// The printer of a `heads` or `history` run.
pub struct GraphDocument {
    format: Format,
    components: Vec<GraphReport>,
    first_failure: Option<Failure>,
}

impl GraphDocument {
    pub fn new(format: Format) -> GraphDocument {
        GraphDocument {
            format,
            components: Vec::new(),
            first_failure: None,
        }
    }

    /// A component's listing: printed now in text, kept for the document in JSON.
    pub fn component(
        &mut self,
        config: &Config,
        graph: &Graph,
        kind: Kind,
        explanation: Option<&Explanation>,
        report: GraphReport,
    ) {
        if self.format == Format::Text {
            out!("{}", listing(config, graph, kind, explanation));
        }
        self.components.push(report);
    }

    /// A component whose history could not be read: said now in text, the first one in the
    /// document.
    pub fn failed(&mut self, failure: Failure) {
        Reporter::new(self.format, false).emit(Event::GraphFailed(&failure));
        self.first_failure.get_or_insert(failure);
    }

    /// Print the JSON document (in JSON) and return the exit code.
    pub fn finish(self) -> u8 {
        let code = if self.first_failure.is_some() {
            crate::exit_code::FAILED
        } else {
            crate::exit_code::OK
        };
        if self.format == Format::Json {
            outln!(
                "{}",
                json::to_string(&Report {
                    components: self.components,
                    error: self.first_failure
                })
            );
        }
        code
    }
}

/// A component's text: its listing, and for diverged `heads` the divergence explained with the
/// next step.
pub fn listing(
    config: &Config,
    graph: &Graph,
    kind: Kind,
    explanation: Option<&Explanation>,
) -> String {
    let mut text = render_graph(config, graph, kind);
    if let Some(e) = explanation {
        text::write_divergence(&mut text, config, graph, e);
        let next = match &e.plan {
            Ok(fix) => crate::next_step::fix_heads_hint(config, graph, fix),
            Err(refusal) => refusal.next(config),
        };
        text.push_str(&format!("  next     {next}\n"));
    }
    text
}

/// The listing of one component: `heads` with each head's file, `history` with each revision's
/// parents, both with their marks.
pub fn render_graph(config: &Config, graph: &Graph, kind: Kind) -> String {
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
