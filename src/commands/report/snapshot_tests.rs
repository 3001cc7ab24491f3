//! Snapshots of `heads` and `history` over graphs built in memory (no Alembic): the text listing
//! ([`crate::render::graph::render_graph`]) and the JSON document.
//!
//! Not reachable from memory: `heads`' divergence block and its `next` line, and `current`'s
//! text line, which `run` and `current` assemble and print inline.

use crate::graph::Graph;
use crate::inspect::Engine;
use crate::render::graph::render_graph;
use crate::render::snapshot_tests::json;
use crate::render::snapshot_tests::{config, diverged, linear, rev};
use crate::report::graph::{GraphReport, Report as GraphReports, Revision};
use crate::settings::ReportKind as Kind;

/// A history with a branch label, a merge point and a `depends_on`: every mark `history` shows.
fn marked() -> Graph {
    let mut base = rev("4b7b650bc30e", &[], "create keypairs");
    base.branch_labels = vec!["manager".into()];
    let mut dependent = rev("77aa12cd90ef", &["e1d1a2f4a0b9"], "add kernels.priority");
    dependent.depends_on = vec!["8679d0a7e22b".into()];
    Graph::new(vec![
        base,
        rev("8679d0a7e22b", &["4b7b650bc30e"], "add sessions.priority"),
        rev("c9d8e7f6a5b4", &["4b7b650bc30e"], "add users.totp_key"),
        rev(
            "e1d1a2f4a0b9",
            &["8679d0a7e22b", "c9d8e7f6a5b4"],
            "merge heads 8679d0a7e22b and c9d8e7f6a5b4",
        ),
        dependent,
    ])
    .expect("a valid graph")
}

fn graph_json(graph: &Graph, kind: Kind) -> String {
    let config = config();
    let heads = crate::heads::alembic_heads(graph);
    let shown: Vec<usize> = match kind {
        Kind::Heads => heads.clone(),
        _ => graph.history_order(),
    };
    json::to_string(&GraphReports {
        components: vec![GraphReport {
            component: config.label.clone(),
            config: config.ini_arg.clone(),
            engine: Engine::Native.into(),
            heads: heads.iter().map(|&h| graph.rev(h).id.clone()).collect(),
            revisions: shown
                .into_iter()
                .map(|i| graph.rev(i).into())
                .collect::<Vec<Revision>>(),
            divergence: None,
        }],
        error: None,
    })
}

#[test]
fn heads_of_a_linear_history() {
    let g = linear();
    insta::assert_snapshot!(
        "heads_linear_text",
        render_graph(&config(), &g, Kind::Heads)
    );
    insta::assert_snapshot!("heads_linear_json", graph_json(&g, Kind::Heads));
}

#[test]
fn heads_of_a_diverged_history() {
    let g = diverged();
    insta::assert_snapshot!(
        "heads_diverged_text",
        render_graph(&config(), &g, Kind::Heads)
    );
}

#[test]
fn history_with_every_mark() {
    let g = marked();
    insta::assert_snapshot!(
        "history_marked_text",
        render_graph(&config(), &g, Kind::History)
    );
    insta::assert_snapshot!("history_marked_json", graph_json(&g, Kind::History));
}
