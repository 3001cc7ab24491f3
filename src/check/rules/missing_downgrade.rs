//! `missing-downgrade`: a migration that does work can be undone, or says why not.

use super::Context;
use crate::check::{Finding, Rule, Severity};

pub const RULE: Rule = Rule {
    name: "missing-downgrade",
    default_severity: Severity::Warning,
    summary: "upgrade() does work but downgrade() is empty.",
    explain: "\
## What it checks
That a new revision whose `upgrade()` does something has a `downgrade()` that does something
too: not only `pass`, `...`, a docstring or comments (or no `downgrade()` at all).

## Why it matters
`db-migrate downgrade` (and a rollback after a failed release) runs `downgrade()`. An empty one
succeeds silently and stamps the database as downgraded while the schema still has the upgrade's
changes, so the next upgrade fails or, worse, half-applies.

## How to fix
Write the reverse of the upgrade. When it cannot be undone (data was dropped or transformed
lossily), make that explicit so a downgrade stops instead of lying:

    def downgrade() -> None:
        raise NotImplementedError(\"the dropped data cannot be restored\")

A warning by default: data migrations are sometimes deliberately one-way. A revision marked
`(backport)` in its `# Part of:` line is not reported: the README's backport procedure says \"if
the downgrade is handled by another migration in the chain, use `pass`\" (`db-migrate verify`
runs it twice instead).",
};

pub fn check(cx: &Context) -> Vec<Finding> {
    cx.new_sources()
        .filter(|(_, s)| s.facts.unreadable.is_none() && !super::is_backport(&s.bytes))
        .filter_map(|(i, s)| {
            let up = s.facts.upgrade.filter(|b| !b.empty)?;
            let (line, what) = match s.facts.downgrade {
                Some(b) if b.empty => (b.line, "downgrade() does nothing"),
                Some(_) => return None,
                None => (up.line, "there is no downgrade()"),
            };
            let message = format!(
                "{}: upgrade() changes the database but {what}; write the reverse, or raise \
                 NotImplementedError saying why it cannot be undone",
                cx.graph.rev(i).id
            );
            Some(cx.finding(&RULE, i, line, message))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{file, path, working, Workspace};
    use super::*;

    #[test]
    fn an_empty_or_absent_downgrade_is_reported() {
        let absent = working("c", &["a"]).replace(
            "def downgrade() -> None:\n    op.drop_column(\"t\", \"c\")\n",
            "",
        );
        let ws = Workspace::new(&[
            ("a_first.py", working("a", &[])),
            (
                "b_oneway.py",
                file("b", &["a"], "op.drop_table(\"t\")", "pass"),
            ),
            ("c_absent.py", absent),
        ]);
        let mut found = ws.run(check);
        found.sort_by(|a, b| a.file.cmp(&b.file));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].file, path("b_oneway.py"));
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(found[0].line, 24);
        assert!(found[1].message.contains("there is no downgrade()"));
    }

    #[test]
    fn a_real_or_refusing_downgrade_and_an_empty_upgrade_are_quiet() {
        let ws = Workspace::new(&[
            ("a_first.py", working("a", &[])),
            (
                "b_refuses.py",
                file(
                    "b",
                    &["a"],
                    "op.drop_table(\"t\")",
                    "raise NotImplementedError(\"gone\")",
                ),
            ),
            ("c_nothing.py", file("c", &["b"], "pass", "pass")),
        ]);
        assert!(ws.run(check).is_empty(), "{:?}", ws.run(check));
    }

    #[test]
    fn a_backport_with_a_pass_downgrade_is_quiet() {
        let backport = file("b", &["a"], "op.execute(\"UPDATE t SET c = 1\")", "pass").replace(
            "# Part of: NEXT_RELEASE_VERSION",
            "# Part of: 26.4.8 (backport), 26.8.0 (main)",
        );
        let ws = Workspace::new(&[("a_first.py", working("a", &[])), ("b_fix.py", backport)]);
        assert!(ws.run(check).is_empty(), "{:?}", ws.run(check));
    }
}
