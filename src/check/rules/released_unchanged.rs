//! `released-unchanged`: revision files that exist on the base keep their identity.

use std::collections::HashMap;
use std::path::PathBuf;

use super::insertion::{self, Moved};
use super::{sorted, Context};
use crate::check::{Finding, Rule, Severity};
use crate::graph::Revision;
use crate::revisions::reader::{self, Read};

pub const RULE: Rule = Rule {
    name: "released-unchanged",
    default_severity: Severity::Error,
    summary: "Revision files on the base keep their revision, down_revision, branch_labels and \
              depends_on, and are not deleted.",
    explain: "\
## What it checks
Every revision file that exists at the base ref (so is on the upstream branch, and may already
have run against someone's database) is compared with the work tree, by path and by revision id:
the `revision`, `down_revision`, `branch_labels` and `depends_on` the file itself declares must be
unchanged, and the file must not be deleted or given another revision id. Moving a file without
changing those is fine. One exception, the README's backport procedure: a released revision's
`down_revision` may move from `a` to a backport `d` inserted right below it, whose own
`down_revision` is `a` (`d` new in the same change, or marked `(backport)` in its `# Part of:`).

## Why it matters
A database records the revisions it ran in `alembic_version`. Change a released revision's id and
those databases point at a revision the scripts no longer have (\"Can't locate revision\");
change its `down_revision` and the history they ran no longer exists, so upgrades skip or repeat
migrations. Deleting one breaks every database stamped with it.

## How to fix
Restore the released values (`git checkout <base> -- <file>` when nothing else in it changed) and
make the change in a new migration on top of the head instead. When your own unmerged migration
has to move, repoint *it*, never the released one (`db-migrate fix-heads`). A backport: insert it
`a --> d --> b --> c --> d'`: `d` keeps `down_revision = a`, `b` moves from `a` to `d`, and an
idempotent duplicate `d'` goes on top of the head. Needs a base ref.",
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
        // The graph gives a revision the branch labels of the revisions below it; the file's own
        // declaration is read only when that differs, so a label changed in one file is
        // reported on that file alone.
        let mut declared: Option<Option<Revision>> = None;
        for (field, values) in FIELDS {
            let (was, mut is) = (values(old), values(new));
            if was != is && field == "branch_labels" {
                let own = declared.get_or_insert_with(|| declared_in(cx, i));
                if let Some(own) = own {
                    is = values(own);
                }
            }
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
            } else if field == "down_revision" {
                match insertion::moved(cx, i, old) {
                    Moved::Insertion(_) => continue,
                    Moved::Misplaced { inserted, reached } => {
                        let d = &cx.graph.rev(inserted[inserted.len() - 1]).id;
                        format!(
                            "released revision {}: down_revision changed from {} to {}, but the \
                             inserted {d} comes down to {}, not to {}; {}",
                            old.id,
                            show(&was),
                            show(&is),
                            show(&reached),
                            show(&was),
                            insertion::procedure(d, &show(&was), &old.id)
                        )
                    }
                    Moved::Other => format!(
                        "released revision {}: down_revision changed from {} to {} (it is on {}); \
                         restore it: a released down_revision moves only to insert a backport \
                         right below it (a new revision whose down_revision is {}); otherwise \
                         repoint your own unmerged migration instead",
                        old.id,
                        show(&was),
                        show(&is),
                        base.reference,
                        show(&was)
                    ),
                }
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

/// Revision `i` as its file declares it (no values inherited through the graph).
fn declared_in(cx: &Context, i: usize) -> Option<Revision> {
    let bytes = cx.bytes(i)?;
    match reader::read_file(cx.file(i), &bytes) {
        Read::Revision(r) => Some(r),
        _ => None,
    }
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
            ("z_new.py", working("z", &[])),
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
    fn the_readme_backport_insertion_is_quiet_and_a_move_onto_released_history_is_not() {
        let files = vec![
            ("a_first.py", working("a", &[])),
            ("d_backport.py", working("d", &["a"])),
            ("b_second.py", working("b", &["d"])),
        ];
        let ws = Workspace::new(&files).with_base(&base());
        assert!(ws.run(check).is_empty(), "{:?}", ws.run(check));

        // b moved onto another released revision: no backport between them.
        let mut main = base();
        main.push(("c_third.py", working("c", &["a"])));
        let files = vec![
            ("a_first.py", working("a", &[])),
            ("c_third.py", working("c", &["a"])),
            ("b_second.py", working("b", &["c"])),
        ];
        let found = Workspace::new(&files).with_base(&main).run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("only to insert a backport"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_misplaced_backport_is_told_the_readme_procedure_not_fix_heads() {
        let mut main = base();
        main.push(("c_third.py", working("c", &["b"])));
        // b repointed onto a new d that starts a history of its own: a is skipped.
        let files = vec![
            ("a_first.py", working("a", &[])),
            ("b_second.py", working("b", &["d"])),
            ("c_third.py", working("c", &["b"])),
            ("d_backport.py", working("d", &[])),
        ];
        let found = Workspace::new(&files).with_base(&main).run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        let m = &found[0].message;
        assert!(m.contains("d keeps down_revision = a"), "{m}");
        assert!(!m.contains("fix-heads"), "{m}");
    }

    #[test]
    fn a_branch_label_changed_in_one_file_is_reported_on_that_file_only() {
        let labelled =
            working("a", &[]).replace("branch_labels = None", "branch_labels = (\"core\",)");
        let files = vec![
            ("a_first.py", labelled),
            ("b_second.py", working("b", &["a"])),
        ];
        let ws = Workspace::new(&files).with_base(&base());
        let found = ws.run(check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, path("a_first.py"));
        assert!(
            found[0]
                .message
                .contains("branch_labels changed from None to core"),
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
