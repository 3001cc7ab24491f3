//! What `status` shows in the unknown-revision state when git still holds the revisions: each
//! one with where it was found, and `sync` as the next step (text and JSON).

use crate::graph::Graph;
use crate::render::json::ComponentReport;
use crate::render::snapshot_tests::{inspection, rev, status_json};
use crate::render::text;

use super::find::{Found, Search, Source};

fn found(id: &str, parent: &str, message: &str, branch: Option<&str>) -> Found {
    Found {
        revision: rev(id, &[parent], message),
        path: format!("src/ai/backend/manager/models/alembic/versions/{id}_x.py").into(),
        content: Vec::new(),
        source: Source {
            branch: branch.map(str::to_owned),
            commit: "3b8e4f1a2c9d0e1f2a3b4c5d6e7f8091a2b3c4d5".into(),
            date: "2026-12-03T04:00:00+00:00".into(),
        },
    }
}

fn main_checkout() -> Graph {
    Graph::new(vec![
        rev("4b7b650bc30e", &[], "create keypairs"),
        rev("c4c4c4c4c4c4", &["4b7b650bc30e"], "add sessions"),
    ])
    .expect("a valid graph")
}

#[test]
fn status_names_the_branch_holding_the_missing_revisions_and_points_at_sync() {
    let mut i = inspection(main_checkout(), &["f2f2f2f2f2f2"]);
    i.found_in_git = Some(Box::new(Search {
        found: vec![
            found(
                "f2f2f2f2f2f2",
                "f1f1f1f1f1f1",
                "add keypair index",
                Some("feature"),
            ),
            found(
                "f1f1f1f1f1f1",
                "4b7b650bc30e",
                "add keypairs",
                Some("feature"),
            ),
        ],
        missing: Vec::new(),
    }));
    insta::assert_snapshot!("status_unknown_revision_found_text", text::status(&i));
    insta::assert_snapshot!(
        "status_unknown_revision_found_json",
        status_json(vec![ComponentReport::from_inspection(&i)], None)
    );
}

#[test]
fn a_deleted_branch_is_named_by_its_commit_from_the_reflog() {
    let mut i = inspection(main_checkout(), &["f1f1f1f1f1f1"]);
    i.found_in_git = Some(Box::new(Search {
        found: vec![found("f1f1f1f1f1f1", "4b7b650bc30e", "add keypairs", None)],
        missing: Vec::new(),
    }));
    insta::assert_snapshot!("status_unknown_revision_reflog_text", text::status(&i));
}

#[test]
fn a_revision_git_does_not_hold_keeps_the_old_advice() {
    let mut i = inspection(main_checkout(), &["e9e9e9e9e9e9"]);
    i.found_in_git = Some(Box::new(Search {
        found: Vec::new(),
        missing: vec!["e9e9e9e9e9e9".into()],
    }));
    insta::assert_snapshot!("status_unknown_revision_not_in_git_text", text::status(&i));
}
