//! Snapshots of what `roundtrip` reports, built in memory (no database, no pg_dump): the
//! refusals its plan makes before anything runs, and the JSON of a round trip whose schema came
//! back different (with the diff of two in-memory schema snapshots).
//!
//! Not reachable from memory: the plan header, the `snapshot N schema lines` lines, the `ok` line
//! and the diff printed on its own, which `run` prints inline as the round trip goes; and the
//! `roundtrip-mismatch` failure, which `run` builds inline and adds to the JSON document (so the
//! document below shows the component's `roundtrip` object without the `error` beside it).

use super::plan;
use crate::postgres::snapshot::{self, Snapshot};
use crate::render::snapshot_tests::{
    diverged, inspection, json, linear, rev, status_json, ComponentReport, Roundtrip,
};
use crate::render::text;
use crate::target::Target;

fn refusal(i: &crate::inspect::Inspection, target: &str) -> String {
    let target = Target::parse(target).expect("a valid target");
    let failure = plan(i, &target)
        .err()
        .expect("the plan refuses this round trip");
    format!(
        "--- text\n{}--- json\n{}\n",
        text::failure(&failure),
        json::failure(&failure)
    )
}

#[test]
fn roundtrip_refuses_several_heads() {
    let i = inspection(diverged(), &["4b7b650bc30e"]);
    insta::assert_snapshot!("roundtrip_refused_several_heads", refusal(&i, "head"));
}

#[test]
fn roundtrip_refuses_a_merge() {
    let mut revs: Vec<_> = diverged().revisions().to_vec();
    revs.push(rev(
        "5d6e7f8091a2",
        &["8679d0a7e22b", "e1d1a2f4a0b9"],
        "merge heads 8679d0a7e22b and e1d1a2f4a0b9",
    ));
    let g = crate::graph::Graph::new(revs).expect("a valid graph");
    let i = inspection(g, &["5d6e7f8091a2"]);
    insta::assert_snapshot!("roundtrip_refused_merge", refusal(&i, "5d6e7f8091a2"));
}

#[test]
fn roundtrip_refuses_a_revision_below_others_applied() {
    let i = inspection(linear(), &["e1d1a2f4a0b9"]);
    insta::assert_snapshot!("roundtrip_refused_not_last", refusal(&i, "8679d0a7e22b"));
}

#[test]
fn roundtrip_that_differs_in_json() {
    let at = inspection(linear(), &["e1d1a2f4a0b9"]);
    let first = Snapshot {
        lines: vec![
            "CREATE TABLE public.users (".into(),
            "    id uuid NOT NULL,".into(),
            "    totp_key character varying(64)".into(),
            ");".into(),
            "CREATE INDEX ix_users_totp_key ON public.users USING btree (totp_key);".into(),
        ],
    };
    let second = Snapshot {
        lines: vec![
            "CREATE TABLE public.users (".into(),
            "    id uuid NOT NULL,".into(),
            "    totp_key character varying(64)".into(),
            ");".into(),
        ],
    };
    let diff = snapshot::diff(
        &first,
        &second,
        "e1d1a2f4a0b9 after the first upgrade",
        "e1d1a2f4a0b9 after downgrade and upgrade again",
    );
    let mut report = ComponentReport::from_inspection(&at);
    report.roundtrip = Some(Roundtrip {
        revision: "e1d1a2f4a0b9".into(),
        identical: diff.is_empty(),
        schema_lines: first.lines.len(),
        diff,
    });
    insta::assert_snapshot!("roundtrip_differs_json", status_json(vec![report], None));
}
