//! `single-head`: a component's migrations end in exactly one head.

use super::Context;
use crate::check::{Finding, Rule, Severity};

pub const RULE: Rule = Rule {
    name: "single-head",
    default_severity: Severity::Error,
    summary: "The migrations of a component end in exactly one head.",
    explain: "\
## What it checks
That exactly one revision of the component is not named as `down_revision` by any other.

## Why it matters
With two heads, `alembic upgrade head` refuses to run (\"Multiple head revisions are present\"),
so every deployment of the branch stops at its migration step. It usually happens when two
branches each added a migration on the same parent and both were merged.

## How to fix
Repoint your own, unreleased migration's `down_revision` to the other head, so the history is
linear again: `db-migrate fix-heads` does this and shows the diff first. Do not add a merge
migration (see `no-merge-migration`).

The finding is reported once, on the newest head that is new relative to the base (the one to
repoint), and lists every head with its file.",
};

pub fn check(cx: &Context) -> Vec<Finding> {
    let heads = cx.graph.heads();
    if heads.len() <= 1 {
        return Vec::new();
    }
    let at = heads
        .iter()
        .copied()
        .find(|&h| cx.is_new(h))
        .unwrap_or(heads[0]);
    let listed: Vec<String> = heads
        .iter()
        .map(|&h| format!("{} ({})", cx.graph.rev(h).id, cx.file(h).display()))
        .collect();
    let message = format!(
        "{} has {} heads: {}; repoint the unreleased one's down_revision to the other head \
         (`db-migrate fix-heads`)",
        cx.component.name,
        heads.len(),
        listed.join(", ")
    );
    vec![cx.finding(&RULE, at, cx.line_of(at, "down_revision"), message)]
}

#[cfg(test)]
mod tests {
    use super::super::testing::{path, working, Workspace};
    use super::*;

    #[test]
    fn two_heads_are_one_finding_on_the_new_head() {
        let base = [
            ("a_first.py", working("a", &[])),
            ("b_second.py", working("b", &["a"])),
        ];
        let mut files = base.to_vec();
        files.push(("c_mine.py", working("c", &["a"])));
        let ws = Workspace::new(&files).with_base(&base);
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "single-head");
        assert_eq!(found[0].file, path("c_mine.py"));
        assert_eq!(found[0].line, 14);
        assert!(found[0].message.contains("2 heads"), "{}", found[0].message);
        assert!(found[0].message.contains("b_second.py"));
    }

    #[test]
    fn one_head_is_quiet() {
        let ws = Workspace::new(&[
            ("a_first.py", working("a", &[])),
            ("b_second.py", working("b", &["a"])),
        ]);
        assert!(ws.run(check).is_empty());
    }
}
