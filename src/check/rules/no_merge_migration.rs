//! `no-merge-migration`: no new revision joins several heads.

use super::Context;
use crate::check::{Finding, Rule, Severity};

pub const RULE: Rule = Rule {
    name: "no-merge-migration",
    default_severity: Severity::Error,
    summary: "No new revision with several down_revisions (a merge migration).",
    explain: "\
## What it checks
That no revision added relative to the base names several revisions as its `down_revision`.

## Why it matters
A merge migration makes the order in which two branches' changes run depend on which database
ran which branch first: an installation that already ran one side runs the other later, on a
schema the other side's author never tested. Backend.AI keeps a linear history instead, so every
installation runs the same migrations in the same order.

## How to fix
Delete the merge migration and repoint your own, unreleased migration's `down_revision` to the
current head of the base (`db-migrate fix-heads` does it). Needs a base ref: without one the rule
is skipped.",
};

pub fn check(cx: &Context) -> Vec<Finding> {
    if cx.base.is_none() {
        return Vec::new();
    }
    cx.new
        .iter()
        .copied()
        .filter(|&i| cx.graph.rev(i).parents.len() > 1)
        .map(|i| {
            let rev = cx.graph.rev(i);
            let message = format!(
                "{} is a merge migration of {}; delete it and repoint your migration's \
                 down_revision to the head it should follow (`db-migrate fix-heads`)",
                rev.id,
                rev.parents.join(", ")
            );
            cx.finding(&RULE, i, cx.line_of(i, "down_revision"), message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{file, path, working, Workspace};
    use super::*;

    fn base() -> Vec<(&'static str, String)> {
        vec![
            ("a_first.py", working("a", &[])),
            ("b_left.py", working("b", &["a"])),
        ]
    }

    #[test]
    fn a_new_merge_is_reported() {
        let mut files = base();
        files.push(("c_right.py", working("c", &["a"])));
        files.push(("d_merge.py", file("d", &["b", "c"], "pass", "pass")));
        let ws = Workspace::new(&files).with_base(&base());
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, path("d_merge.py"));
        assert!(found[0].message.contains("merge migration of b, c"));
    }

    #[test]
    fn an_old_merge_and_a_linear_addition_are_quiet() {
        let mut old = base();
        old.push(("c_right.py", working("c", &["a"])));
        old.push(("d_merge.py", file("d", &["b", "c"], "pass", "pass")));
        let mut files = old.clone();
        files.push(("e_mine.py", working("e", &["d"])));
        let ws = Workspace::new(&files).with_base(&old);
        assert!(ws.run(check).is_empty());
    }

    #[test]
    fn without_a_base_it_does_not_run() {
        let mut files = base();
        files.push(("c_right.py", working("c", &["a"])));
        files.push(("d_merge.py", file("d", &["b", "c"], "pass", "pass")));
        assert!(Workspace::new(&files).run(check).is_empty());
        assert!(crate::check::needs_base("no-merge-migration"));
    }
}
