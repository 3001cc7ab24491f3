//! `docstring-ids`: the docstring's `Revision ID:` and `Revises:` agree with the assignments.

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::{id_list, line_at, sorted, Context};
use crate::check::{Finding, Rule, Severity};

pub const RULE: Rule = Rule {
    name: "docstring-ids",
    default_severity: Severity::Error,
    summary:
        "`Revision ID:` and `Revises:` in the docstring agree with revision and down_revision.",
    explain: "\
## What it checks
Alembic's template writes the ids twice: in the module docstring (`Revision ID: …`,
`Revises: …`) and in the assignments `revision = …` and `down_revision = …`. Only the
assignments count; this rule checks that a new revision's docstring says the same. A docstring
without those lines is not checked.

## Why it matters
Repointing a migration after a rebase often updates `down_revision` and forgets the docstring,
which is what people read in reviews and in `git log -p`: a stale `Revises:` sends them to the
wrong parent when two branches raced.

## How to fix
Make the docstring line say what the assignment says (`db-migrate fix-heads` updates both).",
};

static REVISION_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*Revision ID:[ \t]*([^\r\n]*?)[ \t]*\r?$").expect("valid regex")
});
static REVISES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*Revises:[ \t]*([^\r\n]*?)[ \t]*\r?$").expect("valid regex")
});

pub fn check(cx: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, src) in cx.new_sources() {
        let rev = cx.graph.rev(i);
        for range in &src.facts.docstring {
            let body = &src.bytes[range.clone()];
            for (re, label, expected) in [
                (&*REVISION_ID, "Revision ID", vec![rev.id.clone()]),
                (&*REVISES, "Revises", sorted(&rev.parents)),
            ] {
                let Some(c) = re.captures(body) else {
                    continue;
                };
                let said = String::from_utf8_lossy(&c[1]);
                if id_list(&said) == expected {
                    continue;
                }
                let field = if label == "Revises" {
                    "down_revision"
                } else {
                    "revision"
                };
                let shown = if expected.is_empty() {
                    "None".to_owned()
                } else {
                    expected.join(", ")
                };
                let line = line_at(&src.bytes, range.start + c.get(0).expect("match").start());
                let message = format!(
                    "the docstring says `{label}: {}` but {field} is {shown}; update the docstring",
                    said.trim()
                );
                findings.push(cx.finding(&RULE, i, line, message));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testing::{path, working, Workspace};
    use super::*;

    #[test]
    fn a_stale_revises_line_is_reported_on_its_line() {
        let stale = working("b", &["a"]).replace("Revises: a\n", "Revises: old\n");
        let ws = Workspace::new(&[("a_first.py", working("a", &[])), ("b_mine.py", stale)]);
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, path("b_mine.py"));
        assert_eq!(found[0].line, 4);
        assert!(found[0]
            .message
            .contains("`Revises: old` but down_revision is a"));
    }

    #[test]
    fn a_wrong_revision_id_is_reported() {
        let wrong = working("b", &["a"]).replace("Revision ID: b\n", "Revision ID: bb\n");
        let ws = Workspace::new(&[("a_first.py", working("a", &[])), ("b_mine.py", wrong)]);
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, 3);
    }

    #[test]
    fn agreeing_merges_bases_and_missing_lines_are_quiet() {
        let bare = working("c", &["a", "b"]).replace("Revises: a, b\n", "");
        let ws = Workspace::new(&[
            ("a_first.py", working("a", &[])),
            ("b_second.py", working("b", &["a"])),
            ("d_merge.py", working("d", &["b", "a"])),
            ("c_bare.py", bare),
        ]);
        assert!(ws.run(check).is_empty(), "{:?}", ws.run(check));
    }
}
