//! Snapshots of `heads` and `history` over graphs built in memory (no Alembic): the text listing
//! ([`crate::render::graph::render_graph`]) and the JSON document.
//!
//! Also `heads`' divergence block with its `next` line ([`crate::render::graph::listing`]) and
//! `current`'s text line ([`crate::render::document::current_line`]).

use crate::graph::Graph;
use crate::heads::released::Released;
use crate::inspect::Engine;
use crate::render::document::current_line;
use crate::render::graph::{listing, render_graph};
use crate::render::snapshot_tests::json;
use crate::render::snapshot_tests::{config, diverged, explained, inspection, linear, rev};
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

#[test]
fn heads_of_a_diverged_history_explained() {
    let i = explained(
        inspection(diverged(), &["8679d0a7e22b"]),
        &[
            ("4b7b650bc30e", Released::Yes),
            ("8679d0a7e22b", Released::Yes),
            ("e1d1a2f4a0b9", Released::No),
        ],
    );
    let e = i.explanation.as_deref();
    insta::assert_snapshot!(
        "heads_diverged_explained_text",
        listing(&config(), &i.graph, Kind::Heads, e)
    );
}

#[test]
fn current_lines() {
    let lines = [
        current_line(&inspection(linear(), &[])),
        current_line(&inspection(diverged(), &["8679d0a7e22b"])),
        current_line(&inspection(diverged(), &["8679d0a7e22b", "e1d1a2f4a0b9"])),
    ];
    insta::assert_snapshot!("current_text", lines.join("\n"));
}
