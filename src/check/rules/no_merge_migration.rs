//! `no-merge-migration`: no new merge migration, except the team's empty merge of the base's heads.

use super::{sorted, Context};
use crate::check::{Finding, Rule, Severity};
use crate::heads::released::{part_of, Released, PLACEHOLDER};

pub const RULE: Rule = Rule {
    name: "no-merge-migration",
    default_severity: Severity::Error,
    summary:
        "No new merge migration, except an empty merge of the base's heads when it has several.",
    explain: "\
## What it checks
That a revision added relative to the base names several revisions as its `down_revision` only
in the one case the team's policy (the alembic directory's `AGENTS.md`) prescribes one: the base
itself has two or more heads, and the new revision is an empty merge of exactly those heads:
`down_revision` is the tuple of the base's heads, `upgrade()` and `downgrade()` are only `pass`
(docstrings, comments), and, in the manager, it carries `# Part of: NEXT_RELEASE_VERSION`.
Any other merge is reported: one that joins a new revision or an older one, one with a body,
one added while the base has a single head.

## Why it matters
A merge of diverged branches makes the order in which their changes run depend on which database
ran which side first: an installation that already ran one side runs the other later, on a schema
its author never tested. So when only your branch diverged, the history stays linear. When main
itself has several heads, they may both be released; the diverged migrations must not be edited,
and an empty merge is the only way back to one head.

## How to fix
Your migration diverged from main (main has a single head): delete the merge and repoint your
own unmerged migration's `down_revision` to the current head (`db-migrate fix-heads` does it).
main itself has several heads: keep the merge empty (`upgrade`/`downgrade` = `pass`), with
`down_revision = (\"<head_a>\", \"<head_b>\")` naming exactly main's heads and
`# Part of: NEXT_RELEASE_VERSION`, and chain new migrations on top of it. Do not edit the
diverged migrations' `down_revision`. Needs a base ref: without one the rule is skipped.",
};

pub fn check(cx: &Context) -> Vec<Finding> {
    if cx.base.is_none() {
        return Vec::new();
    }
    cx.new
        .iter()
        .copied()
        .filter(|&i| cx.graph.rev(i).parents.len() > 1)
        .filter_map(|i| {
            let message = problem(cx, i)?;
            Some(cx.finding(&RULE, i, cx.line_of(i, "down_revision"), message))
        })
        .collect()
}

/// What is wrong with new merge `i`, in the policy's words; `None` for the team's empty merge.
fn problem(cx: &Context, i: usize) -> Option<String> {
    let rev = cx.graph.rev(i);
    let base = cx.base_ref();
    let joins = format!(
        "{} is a merge migration of {}",
        rev.id,
        rev.parents.join(", ")
    );
    let Some(heads) = cx.base_heads() else {
        return Some(format!(
            "{joins}, and the revisions at {base} do not form a graph to compare it with; a \
             merge migration is added only when {base} itself has several heads"
        ));
    };
    if heads.len() < 2 {
        return Some(format!(
            "{joins}, but {base} has a single head ({}): no merge migration; delete it and \
             repoint your own unmerged migration's down_revision to {} (`db-migrate fix-heads`)",
            heads.join(", "),
            heads.join(", ")
        ));
    }
    let tuple = heads
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let wanted: Vec<String> = heads.iter().map(|h| (*h).to_owned()).collect();
    if sorted(&rev.parents) != sorted(&wanted) {
        return Some(format!(
            "{joins}, but the heads at {base} are {}: the merge's down_revision is exactly the \
             tuple of {base}'s heads, down_revision = ({tuple}); chain your own migrations on \
             top of it, never inside it",
            heads.join(", ")
        ));
    }
    let Some(source) = cx.source(i) else {
        return Some(format!(
            "{joins} ({base}'s heads), but its file could not be read to tell whether it is empty"
        ));
    };
    let empty = |b: Option<super::Body>| b.is_none_or(|b| b.empty);
    if source.facts.unreadable.is_some()
        || !empty(source.facts.upgrade)
        || !empty(source.facts.downgrade)
    {
        return Some(format!(
            "{joins} ({base}'s heads), but its upgrade()/downgrade() do something: keep the \
             merge empty (`pass`) and put the change in a new migration chained on top of it"
        ));
    }
    if cx.component.name == "manager" && part_of(&source.bytes) == Released::Unknown {
        return Some(format!(
            "{joins} ({base}'s heads), but has no `# Part of:` comment; add \
             `# Part of: {PLACEHOLDER}` below down_revision"
        ));
    }
    None
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
        assert!(
            found[0].message.contains("main has a single head (b)")
                && found[0]
                    .message
                    .contains("repoint your own unmerged migration"),
            "{}",
            found[0].message
        );
    }

    /// main itself has two heads: b and c, both on a.
    fn two_heads() -> Vec<(&'static str, String)> {
        let mut v = base();
        v.push(("c_right.py", working("c", &["a"])));
        v
    }

    fn with(extra: &[(&'static str, String)]) -> Vec<Finding> {
        let mut files = two_heads();
        files.extend(extra.iter().cloned());
        Workspace::new(&files).with_base(&two_heads()).run(check)
    }

    #[test]
    fn the_teams_empty_merge_of_the_bases_heads_is_quiet_and_so_is_what_follows_it() {
        let merge = file(
            "m",
            &["c", "b"],
            "pass",
            "\"\"\"Nothing to undo.\"\"\"\n    pass",
        );
        let found = with(&[("m_merge.py", merge.clone())]);
        assert!(found.is_empty(), "{found:?}");
        let found = with(&[("m_merge.py", merge), ("n_next.py", working("n", &["m"]))]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_merge_with_content_of_non_heads_or_without_part_of_is_still_reported() {
        let cases = [
            (
                vec![(
                    "m_merge.py",
                    file("m", &["b", "c"], "op.execute(\"SELECT 1\")", "pass"),
                )],
                "do something",
            ),
            (
                vec![
                    ("n_mine.py", working("n", &["b"])),
                    ("m_merge.py", file("m", &["n", "c"], "pass", "pass")),
                ],
                "the heads at main are c, b",
            ),
            (
                vec![("m_merge.py", file("m", &["a", "c"], "pass", "pass"))],
                "down_revision = (\"c\", \"b\")",
            ),
            (
                vec![(
                    "m_merge.py",
                    file("m", &["b", "c"], "pass", "pass")
                        .replace("# Part of: NEXT_RELEASE_VERSION\n", ""),
                )],
                "no `# Part of:` comment",
            ),
        ];
        for (extra, says) in cases {
            let found = with(&extra);
            assert_eq!(found.len(), 1, "{says}: {found:?}");
            assert_eq!(found[0].file, path("m_merge.py"));
            assert!(found[0].message.contains(says), "{}", found[0].message);
        }
    }

    #[test]
    fn part_of_is_asked_only_of_the_manager() {
        let merge =
            file("m", &["b", "c"], "pass", "pass").replace("# Part of: NEXT_RELEASE_VERSION\n", "");
        let mut files = two_heads();
        files.push(("m_merge.py", merge));
        let mut ws = Workspace::new(&files).with_base(&two_heads());
        ws.name = "accountmgr";
        assert!(ws.run(check).is_empty());
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
