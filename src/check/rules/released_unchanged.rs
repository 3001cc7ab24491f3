//! `released-unchanged`: revision files that exist on the base keep their identity.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{sorted, Context};
use crate::check::{Finding, Rule, Severity};
use crate::graph::Revision;

pub const RULE: Rule = Rule {
    name: "released-unchanged",
    default_severity: Severity::Error,
    summary: "Revision files on the base keep their revision, down_revision, branch_labels and \
              depends_on, and are not deleted.",
    explain: "\
## What it checks
Every revision file that exists at the base ref (so is on the upstream branch, and may already
have run against someone's database) is compared with the work tree, by path and by revision id:
its `revision`, `down_revision`, `branch_labels` and `depends_on` must be unchanged, and the file
must not be deleted or given another revision id. Moving a file without changing those is fine.

## Why it matters
A database records the revisions it ran in `alembic_version`. Change a released revision's id and
those databases point at a revision the scripts no longer have (\"Can't locate revision\");
change its `down_revision` and the history they ran no longer exists, so upgrades skip or repeat
migrations. Deleting one breaks every database stamped with it.

## How to fix
Restore the released values (`git checkout <base> -- <file>` when nothing else in it changed) and
make the change in a new migration on top of the head instead. When your own unreleased migration
has to move, repoint *it*, never the released one (`db-migrate fix-heads`). Needs a base ref.",
};

/// How a field's value is read for comparison (order-insensitive for lists).
type Field = (&'static str, fn(&Revision) -> Vec<String>);

const FIELDS: [Field; 4] = [
    ("revision", |r| vec![r.id.clone()]),
    ("down_revision", |r| sorted(&r.parents)),
    ("branch_labels", |r| sorted(&r.branch_labels)),
    ("depends_on", |r| sorted(&r.depends_on)),
];

pub fn check(cx: &Context) -> Vec<Finding> {
    let Some(base) = cx.base else {
        return Vec::new();
    };
    let by_path: HashMap<PathBuf, usize> = (0..cx.revision_count())
        .map(|i| (cx.file(i).to_path_buf(), i))
        .collect();
    let mut findings = Vec::new();
    for (rel, old) in &base.revisions {
        let file = cx.base_file(base, rel);
        // The same file, else the same id moved to another file.
        let now = by_path
            .get(&file)
            .copied()
            .or_else(|| cx.graph.index_of(&old.id));
        let Some(i) = now else {
            findings.push(Finding {
                rule: RULE.name,
                severity: RULE.default_severity,
                file,
                line: 0,
                message: format!(
                    "released revision {} was deleted; restore it from {} (databases stamped \
                     with it could not upgrade or downgrade)",
                    old.id, base.reference
                ),
            });
            continue;
        };
        let new = cx.graph.rev(i);
        for (field, values) in FIELDS {
            let (was, is) = (values(old), values(new));
            if was == is {
                continue;
            }
            let message = if field == "revision" && cx.graph.contains(&old.id) {
                // The id lives on in another file: this path now holds another revision.
                format!(
                    "{} held released revision {} at {}; it now holds {}: keep released files \
                     where they were and add new revisions in new files",
                    file.display(),
                    old.id,
                    base.reference,
                    new.id
                )
            } else {
                format!(
                    "released revision {}: {field} changed from {} to {} (it is on {}); restore \
                     it and make the change in a new migration",
                    old.id,
                    show(&was),
                    show(&is),
                    base.reference
                )
            };
            let line = cx.source_line(i, field).unwrap_or(1);
            findings.push(cx.finding(&RULE, i, line, message));
        }
    }
    findings
}

fn show(ids: &[String]) -> String {
    match ids {
        [] => "None".to_owned(),
        [one] => one.clone(),
        many => format!("({})", many.join(", ")),
    }
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
    fn a_changed_down_revision_is_reported_on_its_line() {
        let files = vec![
            ("a_first.py", working("a", &[])),
            ("z_new.py", working("z", &["a"])),
            ("b_second.py", working("b", &["z"])),
        ];
        let ws = Workspace::new(&files).with_base(&base());
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, path("b_second.py"));
        assert_eq!(found[0].line, 14);
        assert!(
            found[0]
                .message
                .contains("down_revision changed from a to z"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_deleted_file_and_a_new_id_are_reported() {
        let files = vec![("a_first.py", working("renamed", &[]))];
        let ws = Workspace::new(&files).with_base(&base());
        let mut found = ws.run(check);
        found.sort_by(|a, b| a.file.cmp(&b.file));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].file, path("a_first.py"));
        assert!(
            found[0]
                .message
                .contains("revision changed from a to renamed"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].line, 13);
        assert_eq!(found[1].file, path("b_second.py"));
        assert_eq!(found[1].line, 0);
        assert!(found[1].message.contains("was deleted"));
    }

    #[test]
    fn unchanged_moved_and_added_files_are_quiet() {
        let files = vec![
            ("a_first.py", working("a", &[])),
            ("b_moved.py", working("b", &["a"])),
            ("c_new.py", working("c", &["b"])),
        ];
        let ws = Workspace::new(&files).with_base(&base());
        assert!(ws.run(check).is_empty(), "{:?}", ws.run(check));
    }
}
