//! The team's shape of a new revision, applied to the file Alembic wrote: `# Part of:
//! NEXT_RELEASE_VERSION` on its own line right below `down_revision` (the way Backend.AI's
//! manager migrations carry it, and check's `part-of-comment` rule asks), and the docstring's
//! `Revision ID:` / `Revises:` lines agreeing with the assignments. Only those bytes change:
//! everything else (the template's text, what a post-write hook made of it, line endings) stays.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::check::rules::{id_list, line_at, Facts};
use crate::heads::released::{part_of, Released, PLACEHOLDER};
use crate::revisions::tokenize::{for_each_line, span_in, Flow, Tok};

/// What db-migrate changed in the file, each with its 1-based line in the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `# Part of: NEXT_RELEASE_VERSION` inserted below down_revision.
    PartOf { line: usize },
    /// A docstring line (`Revision ID` or `Revises`) said `was`; it now says what the
    /// assignment says.
    Docstring {
        label: &'static str,
        line: usize,
        was: String,
    },
}

impl Change {
    /// The change as a person reads it.
    pub fn describe(&self) -> String {
        match self {
            Change::PartOf { line } => {
                format!("line {line}: `# Part of: {PLACEHOLDER}` below down_revision")
            }
            Change::Docstring { label, line, was } => {
                format!("line {line}: the docstring's `{label}:` (it said `{was}`) to match the assignment")
            }
        }
    }
}

/// The file after [`shape`], and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shaped {
    pub bytes: Vec<u8>,
    pub changes: Vec<Change>,
}

static REVISION_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*Revision ID:[ \t]*([^\r\n]*?)[ \t]*\r?$").expect("valid regex")
});
static REVISES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*Revises:[ \t]*([^\r\n]*?)[ \t]*\r?$").expect("valid regex")
});

/// Give `src` (revision `id` on `parents`) the team's shape. `part_of`: add the `# Part of:` line
/// unless the file already has one (the template may write it). A docstring without the id lines
/// is left as it is. Fails (with why) when there is no module-level `down_revision` to put the
/// line below.
pub fn shape(
    src: &[u8],
    id: &str,
    parents: &[String],
    part_of_line: bool,
) -> Result<Shaped, String> {
    let mut bytes = src.to_vec();
    let mut changes = Vec::new();
    docstring_ids(&mut bytes, id, parents, &mut changes);
    if part_of_line && part_of(&bytes) == Released::Unknown {
        let at = below_down_revision(&bytes).ok_or(
            "the file has no module-level down_revision assignment to put `# Part of:` below",
        )?;
        let eol: &[u8] = if bytes[..at].ends_with(b"\r\n") {
            b"\r\n"
        } else {
            b"\n"
        };
        let mut line = format!("# Part of: {PLACEHOLDER}").into_bytes();
        line.extend_from_slice(eol);
        // A file whose down_revision line has no line ending: end it first.
        if at == bytes.len() && !bytes.ends_with(b"\n") {
            bytes.extend_from_slice(eol);
        }
        let at = at.min(bytes.len());
        bytes.splice(at..at, line);
        changes.push(Change::PartOf {
            line: line_at(&bytes, at),
        });
    }
    Ok(Shaped { bytes, changes })
}

/// Make the docstring's `Revision ID:` and `Revises:` say `id` and `parents`.
fn docstring_ids(bytes: &mut Vec<u8>, id: &str, parents: &[String], changes: &mut Vec<Change>) {
    let mut expected_parents = parents.to_vec();
    expected_parents.sort();
    for (re, label, wanted, expected) in [
        (
            &*REVISION_ID,
            "Revision ID",
            id.to_owned(),
            vec![id.to_owned()],
        ),
        (&*REVISES, "Revises", parents.join(", "), expected_parents),
    ] {
        // Facts again each time: an earlier edit may have moved the docstring's end.
        let facts = Facts::of(bytes);
        let Some(range) = facts.docstring.first().cloned() else {
            return;
        };
        let Some(c) = re.captures(&bytes[range.clone()]) else {
            continue;
        };
        let said = c.get(1).expect("group 1");
        let was = String::from_utf8_lossy(said.as_bytes()).into_owned();
        if id_list(&was) == expected {
            continue;
        }
        let (start, end) = (range.start + said.start(), range.start + said.end());
        bytes.splice(start..end, wanted.into_bytes());
        changes.push(Change::Docstring {
            label,
            line: line_at(bytes, start),
            was,
        });
    }
}

/// The byte offset of the line after the module-level `down_revision = …` statement (after its
/// last physical line, for one that spans several).
fn below_down_revision(src: &[u8]) -> Option<usize> {
    let mut end = None;
    let _ = for_each_line(src, |line| {
        let first = line.tokens[0];
        if first.is_name("def") || first.is_name("class") || first.is_name("async") {
            return Flow::SkipBlock;
        }
        let assigns = line.indent == 0
            && first.is_name("down_revision")
            && line.tokens.iter().any(|t| t.is_op("="));
        if assigns {
            end = line.tokens.iter().rev().find_map(|t| last_byte(src, t));
        }
        Flow::Next
    });
    let end = end?;
    Some(
        src[end..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |p| end + p + 1),
    )
}

/// Where a token ends in `src` (for a string, where its body ends: the closing quote is on the
/// same physical line).
fn last_byte(src: &[u8], tok: &Tok<'_>) -> Option<usize> {
    let part = match *tok {
        Tok::Name(n) => n,
        Tok::Op(o) => o,
        Tok::Str { body, .. } => body,
        Tok::Number => return None,
    };
    span_in(src, part).map(|r| r.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALEMBIC: &str = "\"\"\"add foo\n\nRevision ID: bbbb\nRevises: aaaa\nCreate Date: 2026-12-03\n\n\"\"\"\nimport sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision = \"bbbb\"\ndown_revision = \"aaaa\"\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n";

    fn text(s: &Shaped) -> String {
        String::from_utf8(s.bytes.clone()).unwrap()
    }

    #[test]
    fn the_part_of_line_goes_right_below_down_revision_and_nothing_else_changes() {
        let s = shape(ALEMBIC.as_bytes(), "bbbb", &["aaaa".into()], true).unwrap();
        assert_eq!(
            text(&s),
            ALEMBIC.replace(
                "down_revision = \"aaaa\"\n",
                "down_revision = \"aaaa\"\n# Part of: NEXT_RELEASE_VERSION\n"
            )
        );
        assert_eq!(s.changes, [Change::PartOf { line: 14 }]);
    }

    #[test]
    fn a_template_that_writes_the_line_is_left_alone_and_other_components_get_none() {
        let with = ALEMBIC.replace(
            "branch_labels",
            "# Part of: NEXT_RELEASE_VERSION\nbranch_labels",
        );
        let s = shape(with.as_bytes(), "bbbb", &["aaaa".into()], true).unwrap();
        assert_eq!(text(&s), with);
        assert!(s.changes.is_empty());
        let s = shape(ALEMBIC.as_bytes(), "bbbb", &["aaaa".into()], false).unwrap();
        assert_eq!(text(&s), ALEMBIC);
    }

    #[test]
    fn annotated_multiline_and_crlf_assignments() {
        let typed = ALEMBIC.replace(
            "down_revision = \"aaaa\"\n",
            "down_revision: Union[str, None] = (\n    \"aaaa\"\n)\n",
        );
        let s = shape(typed.as_bytes(), "bbbb", &["aaaa".into()], true).unwrap();
        assert!(
            text(&s).contains("    \"aaaa\"\n)\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels"),
            "{}",
            text(&s)
        );
        let crlf = ALEMBIC.replace('\n', "\r\n");
        let s = shape(crlf.as_bytes(), "bbbb", &["aaaa".into()], true).unwrap();
        assert!(text(&s).contains(
            "down_revision = \"aaaa\"\r\n# Part of: NEXT_RELEASE_VERSION\r\nbranch_labels"
        ));
    }

    #[test]
    fn the_first_revision_has_none_and_a_file_without_down_revision_is_an_error() {
        let first = ALEMBIC
            .replace("down_revision = \"aaaa\"", "down_revision = None")
            .replace("Revises: aaaa", "Revises: ");
        let s = shape(first.as_bytes(), "bbbb", &[], true).unwrap();
        assert!(text(&s).contains("down_revision = None\n# Part of: NEXT_RELEASE_VERSION\n"));
        assert_eq!(s.changes.len(), 1, "{:?}", s.changes);
        let none = ALEMBIC.replace("down_revision = \"aaaa\"\n", "");
        assert!(shape(none.as_bytes(), "bbbb", &["aaaa".into()], true).is_err());
        // A local `down_revision` in a function does not count.
        let local = none.replace(
            "    pass\n\n\ndef down",
            "    down_revision = 1\n\n\ndef down",
        );
        assert!(shape(local.as_bytes(), "bbbb", &["aaaa".into()], true).is_err());
    }

    #[test]
    fn docstring_ids_that_disagree_are_made_to_agree() {
        let stale = ALEMBIC
            .replace("Revision ID: bbbb", "Revision ID: xxxx")
            .replace("Revises: aaaa", "Revises: old");
        let s = shape(stale.as_bytes(), "bbbb", &["aaaa".into()], false).unwrap();
        assert_eq!(text(&s), ALEMBIC);
        assert_eq!(
            s.changes,
            [
                Change::Docstring {
                    label: "Revision ID",
                    line: 3,
                    was: "xxxx".into()
                },
                Change::Docstring {
                    label: "Revises",
                    line: 4,
                    was: "old".into()
                }
            ]
        );
        let bare = ALEMBIC.replace("Revision ID: bbbb\nRevises: aaaa\n", "");
        let s = shape(bare.as_bytes(), "bbbb", &["aaaa".into()], false).unwrap();
        assert_eq!(text(&s), bare);
    }
}
