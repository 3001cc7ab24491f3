//! `part-of-comment`: a new manager migration says which release it is part of.

use super::Context;
use crate::check::{Finding, Rule, Severity};
use crate::heads::released::{part_of, Released, PLACEHOLDER};

pub const RULE: Rule = Rule {
    name: "part-of-comment",
    default_severity: Severity::Error,
    summary: "A new manager migration carries a `# Part of: …` comment.",
    explain: "\
## What it checks
That every new revision file of the `manager` component has a `# Part of: …` comment, normally
right after `down_revision`: `# Part of: NEXT_RELEASE_VERSION` until a release freezes it to the
version it shipped in (`# Part of: 26.8.0`). Other components do not use the convention.

## Why it matters
Backend.AI's release tooling replaces the placeholder with the version being released, and the
comment is how people (and `db-migrate fix-heads` outside git) tell released migrations, which
must never change, from unreleased ones, which may still be repointed. A migration without it
looks unreleased forever.

## How to fix
Add the line below `down_revision = …`:

    # Part of: NEXT_RELEASE_VERSION",
};

pub fn check(cx: &Context) -> Vec<Finding> {
    if cx.component.name != "manager" {
        return Vec::new();
    }
    cx.new_sources()
        .filter(|(_, s)| part_of(&s.bytes) == Released::Unknown)
        .map(|(i, s)| {
            let line = s.facts.line_of("down_revision").unwrap_or(1);
            let message = format!(
                "{} has no `# Part of:` comment; add `# Part of: {PLACEHOLDER}` below down_revision",
                cx.graph.rev(i).id
            );
            cx.finding(&RULE, i, line, message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{path, working, Workspace};
    use super::*;

    fn without_comment(id: &str, down: &[&str]) -> String {
        working(id, down).replace("# Part of: NEXT_RELEASE_VERSION\n", "")
    }

    #[test]
    fn a_new_manager_migration_without_the_comment_is_reported() {
        let base = [("a_first.py", without_comment("a", &[]))];
        let ws = Workspace::new(&[
            ("a_first.py", without_comment("a", &[])),
            ("b_mine.py", without_comment("b", &["a"])),
        ])
        .with_base(&base);
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, path("b_mine.py"));
        assert_eq!(found[0].line, 14);
    }

    #[test]
    fn the_placeholder_a_version_and_other_components_are_quiet() {
        let ws = Workspace::new(&[
            (
                "a_first.py",
                working("a", &[]).replace("NEXT_RELEASE_VERSION", "26.8.0"),
            ),
            ("b_mine.py", working("b", &["a"])),
        ]);
        assert!(ws.run(check).is_empty());
        let mut other = Workspace::new(&[("a_first.py", without_comment("a", &[]))]);
        other.name = "accountmgr";
        assert!(other.run(check).is_empty());
    }
}
