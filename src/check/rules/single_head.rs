//! `single-head`: a component's migrations end in exactly one head.

use super::{insertion, Context};
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
Your migration diverged from main (main has a single head): repoint your own unmerged
migration's `down_revision` to the current head, so the history is linear again;
`db-migrate fix-heads` does this and shows the diff first. No merge migration.
main itself has two or more heads (every head is already on main): add an empty merge migration
whose `down_revision` is the tuple of the heads (`upgrade`/`downgrade` = `pass`,
`# Part of: NEXT_RELEASE_VERSION`; `db-migrate fix-heads` writes it when every head is
released) and chain new migrations on top of it; do not edit the diverged migrations'
`down_revision` (see `no-merge-migration`).

The finding is reported once, on the newest head that is new relative to the base (the one to
repoint), and lists every head with its file.",
};

pub fn check(cx: &Context) -> Vec<Finding> {
    let heads = cx.graph.heads();
    if heads.len() <= 1 {
        return Vec::new();
    }
    let new_head = heads.iter().copied().find(|&h| cx.is_new(h));
    let at = new_head.unwrap_or(heads[0]);
    let listed: Vec<String> = heads
        .iter()
        .map(|&h| format!("{} ({})", cx.graph.rev(h).id, cx.file(h).display()))
        .collect();
    let base_heads: Vec<String> = cx
        .base_heads()
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let fix = if let Some(d) = new_head.filter(|&h| cx.marked_backport(h)) {
        // A backport left as a head of its own: the README inserts it instead.
        insertion::advice(cx, d)
    } else if cx.base.is_some() && (new_head.is_none() || base_heads.len() > 1) {
        // main's heads: the base's when it has several, else the released heads here.
        let ids: Vec<String> = if base_heads.len() > 1 {
            base_heads
        } else {
            heads
                .iter()
                .filter(|&&h| !cx.is_new(h))
                .map(|&h| cx.graph.rev(h).id.clone())
                .collect()
        };
        let ids: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
        let writes = if new_head.is_none() {
            "`db-migrate fix-heads` writes it".to_owned()
        } else {
            format!("`db-migrate fix-heads` on {} writes it", cx.base_ref())
        };
        format!(
            "{} itself has several heads: add an empty merge migration with down_revision = ({}) \
             (upgrade/downgrade = pass, `# Part of: NEXT_RELEASE_VERSION`; {writes}) and chain \
             new migrations on top of it; do not edit the diverged migrations' down_revision",
            cx.base_ref(),
            ids.join(", ")
        )
    } else {
        "repoint your own unmerged migration's down_revision to the other head \
         (`db-migrate fix-heads`); no merge migration"
            .to_owned()
    };
    let message = format!(
        "{} has {} heads: {}; {fix}",
        cx.component.name,
        heads.len(),
        listed.join(", "),
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
        assert!(
            found[0]
                .message
                .contains("repoint your own unmerged migration"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn heads_that_main_already_has_are_told_to_merge_not_to_repoint() {
        let main = [
            ("a_first.py", working("a", &[])),
            ("b_left.py", working("b", &["a"])),
            ("c_right.py", working("c", &["a"])),
        ];
        let ws = Workspace::new(&main).with_base(&main);
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("main itself has several heads")
                && found[0].message.contains("add an empty merge migration"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn one_head_is_quiet() {
        let ws = Workspace::new(&[
            ("a_first.py", working("a", &[])),
            ("b_second.py", working("b", &["a"])),
        ]);
        assert!(ws.run(check).is_empty());
    }

    #[test]
    fn a_backport_left_as_a_second_head_is_told_the_readme_procedure_not_fix_heads() {
        let main = [
            ("a_first.py", working("a", &[])),
            ("b_second.py", working("b", &["a"])),
        ];
        let mut files = main.to_vec();
        files.push((
            "d_backport.py",
            working("d", &["a"]).replace(
                "# Part of: NEXT_RELEASE_VERSION",
                "# Part of: 26.4.8 (backport), 26.8.0 (main)",
            ),
        ));
        let found = Workspace::new(&files).with_base(&main).run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        let m = &found[0].message;
        assert!(m.contains("b's down_revision moves from a to d"), "{m}");
        assert!(!m.contains("fix-heads"), "{m}");
    }
}
