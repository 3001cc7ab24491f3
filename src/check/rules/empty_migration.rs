//! `empty-migration`: a migration does something.

use super::Context;
use crate::check::{Finding, Rule, Severity};

pub const RULE: Rule = Rule {
    name: "empty-migration",
    default_severity: Severity::Error,
    summary: "upgrade() and downgrade() are not both empty.",
    explain: "\
## What it checks
That a new revision's `upgrade()` or `downgrade()` contains a statement other than `pass`, `...`,
a docstring or comments. Merge revisions (several `down_revision`s) are left to
`no-merge-migration`: the team's merge of main's heads is empty by design.

## Why it matters
An empty migration is usually an `alembic revision` whose autogenerate found nothing, or whose
body was lost in a rebase, committed by mistake. It still becomes part of every database's
history and a parent every later migration depends on.

## How to fix
Write the migration, or delete the file if it is not needed (it is new, so nothing ran it yet).
If an empty revision is intended (to mark a point in the history), say so with
`# db-migrate: ignore[empty-migration] <why>` at the top of the file.",
};

pub fn check(cx: &Context) -> Vec<Finding> {
    cx.new_sources()
        .filter(|(i, _)| cx.graph.rev(*i).parents.len() < 2)
        .filter(|(_, s)| s.facts.unreadable.is_none())
        .filter(|(_, s)| {
            let empty = |b: Option<super::Body>| b.is_none_or(|b| b.empty);
            empty(s.facts.upgrade) && empty(s.facts.downgrade)
        })
        .map(|(i, s)| {
            let line = s.facts.upgrade.map_or(1, |b| b.line);
            let message = format!(
                "{}: upgrade() and downgrade() do nothing; write the migration or delete the file",
                cx.graph.rev(i).id
            );
            cx.finding(&RULE, i, line, message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{file, path, working, Workspace};
    use super::*;

    #[test]
    fn pass_docstrings_and_comments_only_are_empty() {
        let body = "\"\"\"Nothing.\"\"\"\n    # later\n    pass";
        let ws = Workspace::new(&[
            ("a_first.py", working("a", &[])),
            ("b_empty.py", file("b", &["a"], body, "...")),
        ]);
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, path("b_empty.py"));
        assert_eq!(found[0].line, 20);
    }

    #[test]
    fn one_liners_are_read_too() {
        let src = working("b", &["a"])
            .replace(
                "def upgrade() -> None:\n    op.add_column(\"t\", sa.Column(\"c\", sa.Integer()))",
                "def upgrade() -> None: pass",
            )
            .replace(
                "def downgrade() -> None:\n    op.drop_column(\"t\", \"c\")",
                "def downgrade(): ...",
            );
        let ws = Workspace::new(&[("a_first.py", working("a", &[])), ("b.py", src)]);
        assert_eq!(ws.run(check).len(), 1);
    }

    #[test]
    fn work_in_either_function_and_merges_are_quiet() {
        let ws = Workspace::new(&[
            ("a_first.py", working("a", &[])),
            (
                "b_up.py",
                file("b", &["a"], "op.execute(\"SELECT 1\")", "pass"),
            ),
            (
                "c_down.py",
                file("c", &["a"], "pass", "if True:\n        pass"),
            ),
            ("d_merge.py", file("d", &["b", "c"], "pass", "pass")),
        ]);
        assert!(ws.run(check).is_empty(), "{:?}", ws.run(check));
    }
}
