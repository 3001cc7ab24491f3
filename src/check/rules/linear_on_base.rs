//! `linear-on-base`: new revisions continue from the base's head.

use super::Context;
use crate::check::{Finding, Rule, Severity};

pub const RULE: Rule = Rule {
    name: "linear-on-base",
    default_severity: Severity::Error,
    summary: "New revisions descend from the base's head, not from an older revision.",
    explain: "\
## What it checks
That every revision added relative to the base has the base's head (every head, if the base
had several) among its ancestors through `down_revision`. It is reported where the new revisions
attach to the old history: on the new revision whose `down_revision` names an older revision.

## Why it matters
A migration written on top of an older revision forks the history: once merged there are two
heads, or, if someone merges them, the order in which migrations run differs between databases.
It happens when a branch was started before someone else's migration was merged upstream.

## How to fix
Repoint your first new migration's `down_revision` to the base's head (update the `Revises:` line
of its docstring too), then check that it still applies on top of the other change:
`db-migrate fix-heads` does the repointing. Needs a base ref: without one the rule is skipped.",
};

pub fn check(cx: &Context) -> Vec<Finding> {
    let Some(base_graph) = cx.base.and_then(|b| b.graph.as_ref()) else {
        return Vec::new();
    };
    let base_heads: Vec<&str> = base_graph
        .heads()
        .into_iter()
        .map(|h| base_graph.rev(h).id.as_str())
        .collect();
    // A base head missing from the work tree is released-unchanged's to report.
    let heads: Vec<(usize, &str)> = base_heads
        .iter()
        .filter_map(|id| cx.graph.index_of(id).map(|i| (i, *id)))
        .collect();
    if heads.is_empty() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for &i in &cx.new {
        let rev = cx.graph.rev(i);
        // Only where the new part attaches to the old history (or starts a history of its own).
        let attaches = rev.parents.is_empty()
            || rev
                .parents
                .iter()
                .any(|p| cx.graph.index_of(p).is_some_and(|p| !cx.is_new(p)));
        if !attaches {
            continue;
        }
        let lineage = cx.graph.lineage(&[i]);
        let missing: Vec<&str> = heads
            .iter()
            .filter(|(h, _)| !lineage.contains(h))
            .map(|(_, id)| *id)
            .collect();
        if missing.is_empty() {
            continue;
        }
        let from = if rev.parents.is_empty() {
            "starts a new history (down_revision = None)".to_owned()
        } else {
            format!("follows {}", rev.parents.join(", "))
        };
        let message = format!(
            "new revision {} {from}, but the head at {} is {}; repoint its down_revision to {} \
             (`db-migrate fix-heads`)",
            rev.id,
            cx.base.map_or("", |b| b.reference.as_str()),
            missing.join(", "),
            missing.join(", ")
        );
        findings.push(cx.finding(&RULE, i, cx.line_of(i, "down_revision"), message));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{path, working, Workspace};
    use super::*;

    fn base() -> Vec<(&'static str, String)> {
        vec![
            ("a_first.py", working("a", &[])),
            ("b_second.py", working("b", &["a"])),
        ]
    }

    #[test]
    fn a_revision_on_an_older_parent_is_reported_once_where_it_attaches() {
        let mut files = base();
        files.push(("c_mine.py", working("c", &["a"])));
        files.push(("d_mine_too.py", working("d", &["c"])));
        let ws = Workspace::new(&files).with_base(&base());
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, path("c_mine.py"));
        assert_eq!(found[0].line, 14);
        assert!(
            found[0]
                .message
                .contains("follows a, but the head at main is b"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn revisions_on_the_head_are_quiet() {
        let mut files = base();
        files.push(("c_mine.py", working("c", &["b"])));
        files.push(("d_mine_too.py", working("d", &["c"])));
        let ws = Workspace::new(&files).with_base(&base());
        assert!(ws.run(check).is_empty());
        assert!(
            Workspace::new(&files).run(check).is_empty(),
            "no base, no finding"
        );
    }
}
