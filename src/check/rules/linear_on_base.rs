//! `linear-on-base`: new revisions continue from the base's head.

use super::{insertion, Context};
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
A backport inserted the README's way is accepted: a new revision `d` whose `down_revision` is a
released `a`, with the released revision that followed `a` now following `d`.

## Why it matters
A migration written on top of an older revision forks the history: once merged there are two
heads, or, if someone merges them, the order in which migrations run differs between databases.
It happens when a branch was started before someone else's migration was merged upstream.

## How to fix
Your migration diverged from main (main has a single head): repoint your own unmerged migration's
`down_revision` to the head (update the `Revises:` line of its docstring too), then check that it
still applies on top of the other change; `db-migrate fix-heads` does the repointing. Do not add
a merge migration. main itself has several heads: add an empty merge migration of exactly those
heads (`db-migrate fix-heads` on main writes it) and chain your migration on top of it (see
`no-merge-migration`). A backport: insert it
the README's way (`a --> d --> b --> c --> d'`), not on the head. Needs a base ref: without one
the rule is skipped.",
};

pub fn check(cx: &Context) -> Vec<Finding> {
    let Some(base_heads) = cx.base_heads() else {
        return Vec::new();
    };
    // A base head missing from the work tree is released-unchanged's to report.
    let heads: Vec<(usize, &str)> = base_heads
        .iter()
        .filter_map(|id| cx.graph.index_of(id).map(|i| (i, *id)))
        .collect();
    if heads.is_empty() {
        return Vec::new();
    }
    let inserted = insertion::inserted(cx);
    let base = cx.base_ref();
    let mut findings = Vec::new();
    for &i in &cx.new {
        let rev = cx.graph.rev(i);
        // Only where the new part attaches to the old history (or starts a history of its own).
        let attaches = rev.parents.is_empty()
            || rev
                .parents
                .iter()
                .any(|p| cx.graph.index_of(p).is_some_and(|p| !cx.is_new(p)));
        if !attaches || inserted.contains(&i) {
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
        let fix = if cx.marked_backport(i) {
            insertion::advice(cx, i)
        } else if heads.len() > 1 {
            format!(
                "{base} itself has {} heads: add an empty merge migration whose down_revision is \
                 the tuple of them ({}) (`db-migrate fix-heads` on {base} writes it) and set your \
                 migration's down_revision to that merge",
                heads.len(),
                base_heads.join(", ")
            )
        } else {
            format!(
                "repoint your own unmerged migration's down_revision to {} (`db-migrate fix-heads`)",
                missing.join(", ")
            )
        };
        let message = format!(
            "new revision {} {from}, but the head at {base} is {}; {fix}",
            rev.id,
            missing.join(", "),
        );
        findings.push(cx.finding(&RULE, i, cx.line_of(i, "down_revision"), message));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{file, path, working, Workspace};
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
        assert!(
            found[0]
                .message
                .contains("repoint your own unmerged migration's down_revision to b"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn the_readme_backport_insertion_is_quiet_and_a_stray_backport_is_told_the_procedure() {
        // main a → b → c; d inserted below b, d2 (d') on top of c.
        let mut main = base();
        main.push(("c_third.py", working("c", &["b"])));
        let backport = |id: &str, down: &[&str]| {
            working(id, down).replace(
                "# Part of: NEXT_RELEASE_VERSION",
                "# Part of: 26.4.8 (backport), 26.8.0 (main)",
            )
        };
        let mut files = main.clone();
        files[1] = ("b_second.py", working("b", &["d"]));
        files.push(("d_backport.py", backport("d", &["a"])));
        files.push(("e_duplicate.py", backport("e", &["c"])));
        let ws = Workspace::new(&files).with_base(&main);
        assert!(ws.run(check).is_empty(), "{:?}", ws.run(check));

        // The same backport without repointing b: a second head, and the README's way named.
        let mut files = main.clone();
        files.push(("d_backport.py", backport("d", &["a"])));
        let found = Workspace::new(&files).with_base(&main).run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        let m = &found[0].message;
        assert!(
            m.contains("marked (backport)") && m.contains("b's down_revision moves from a to d"),
            "{m}"
        );
        assert!(!m.contains("fix-heads"), "{m}");
    }

    #[test]
    fn on_a_base_with_two_heads_a_migration_on_one_is_told_to_merge_and_one_on_the_merge_is_quiet()
    {
        let mut main = base();
        main.push(("c_other.py", working("c", &["a"])));
        let mut files = main.clone();
        files.push(("d_mine.py", working("d", &["b"])));
        let found = Workspace::new(&files).with_base(&main).run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .message
                .contains("main itself has 2 heads: add an empty merge migration"),
            "{}",
            found[0].message
        );
        let mut files = main.clone();
        files.push(("m_merge.py", file("m", &["b", "c"], "pass", "pass")));
        files.push(("d_mine.py", working("d", &["m"])));
        let ws = Workspace::new(&files).with_base(&main);
        assert!(ws.run(check).is_empty(), "{:?}", ws.run(check));
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
