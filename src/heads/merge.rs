//! The empty merge migration the team adds when main itself has several released heads
//! (AGENTS.md): named and shaped like the ones in Backend.AI's history — `<id>_<slug>.py` with
//! Alembic's slug of `merge heads X and Y`, the docstring's `Revision ID:`/`Revises:`/`Create
//! Date:`, `down_revision` the tuple of the heads in Alembic's head order, `# Part of:
//! NEXT_RELEASE_VERSION`, and `pass` bodies — with an id made the way Alembic makes one.

use std::path::{Path, PathBuf};

use crate::graph::Graph;

use super::released::PLACEHOLDER;
use super::Merge;

/// Alembic's `truncate_slug_length` default.
const SLUG_LENGTH: usize = 40;

/// The file to write: where, its revision id, and its text.
#[derive(Debug, Clone)]
pub struct MergeFile {
    pub id: String,
    pub path: PathBuf,
    pub text: String,
}

/// The merge file for `merge`: a fresh id (none of the graph's), in the directory of the first
/// head's file, dated now.
pub fn file(graph: &Graph, merge: &Merge) -> Result<MergeFile, String> {
    let heads: Vec<&str> = merge
        .heads
        .iter()
        .map(|&h| graph.rev(h).id.as_str())
        .collect();
    let first = graph.rev(merge.heads[0]);
    let dir = first
        .path
        .as_deref()
        .and_then(|p| Path::new(p).parent())
        .ok_or_else(|| format!("{} has no file to put the merge next to", first.id))?;
    let id = new_id(|id| graph.contains(id) || dir.join(file_name(id, &heads)).exists());
    Ok(MergeFile {
        path: dir.join(file_name(&id, &heads)),
        text: text(&id, &heads, &create_date_now()),
        id,
    })
}

/// `merge heads X and Y` (`merge heads X, Y and Z` for more).
pub fn message(heads: &[&str]) -> String {
    match heads.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("merge heads {} and {last}", rest.join(", "))
        }
        _ => format!("merge heads {}", heads.join("")),
    }
}

/// `<id>_<slug>.py`, as Alembic's default `file_template` (`%(rev)s_%(slug)s`) names it.
pub fn file_name(id: &str, heads: &[&str]) -> String {
    format!("{id}_{}.py", slug(&message(heads)))
}

/// Alembic's slug: the message's words (`\w+`) joined by `_`, lowercased; longer than 40
/// characters, cut to 40 and then back to the last `_`, which is kept.
pub fn slug(message: &str) -> String {
    let words: Vec<&str> = message
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let slug = words.join("_").to_lowercase();
    if slug.chars().count() <= SLUG_LENGTH {
        return slug;
    }
    let cut: String = slug.chars().take(SLUG_LENGTH).collect();
    match cut.rfind('_') {
        Some(i) => format!("{}_", &cut[..i]),
        None => format!("{cut}_"),
    }
}

/// The file's text, in the shape of the team's merges.
pub fn text(id: &str, heads: &[&str], create_date: &str) -> String {
    let quoted: Vec<String> = heads.iter().map(|h| format!("\"{h}\"")).collect();
    format!(
        r#""""{message}

Revision ID: {id}
Revises: {revises}
Create Date: {create_date}

"""

# revision identifiers, used by Alembic.
revision = "{id}"
down_revision = ({tuple})
# Part of: {PLACEHOLDER}
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
"#,
        message = message(heads),
        revises = heads.join(", "),
        tuple = quoted.join(", "),
    )
}

/// Twelve random lowercase hex digits, as Alembic's `uuid.uuid4().hex[-12:]`, none `taken`.
pub fn new_id(taken: impl Fn(&str) -> bool) -> String {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    for attempt in 0u32.. {
        let mut hasher = state.build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        hasher.write_u32(std::process::id());
        hasher.write_u32(attempt);
        let id = format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff);
        if !taken(&id) {
            return id;
        }
    }
    unreachable!("some id is free")
}

/// Local time as Alembic writes `Create Date:` (`datetime.now()`): `2026-08-04 13:57:21.030668`.
pub fn create_date_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r only writes the `tm` it is given.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = !unsafe { libc::localtime_r(&secs, &mut tm) }.is_null();
    if !ok {
        return "1970-01-01 00:00:00.000000".to_owned();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_like_alembic_names_the_teams_merges() {
        let heads = ["b17bba59db34", "e88ba629994f"];
        assert_eq!(message(&heads), "merge heads b17bba59db34 and e88ba629994f");
        assert_eq!(
            file_name("1e088322c207", &heads),
            "1e088322c207_merge_heads_b17bba59db34_and_.py"
        );
        assert_eq!(slug("Add a column, to users!"), "add_a_column_to_users");
        assert_eq!(
            message(&["a", "b", "c"]),
            "merge heads a, b and c",
            "three heads, one merge"
        );
    }

    #[test]
    fn shaped_like_the_teams_merges() {
        let expected = "\"\"\"merge heads b17bba59db34 and e88ba629994f\n\nRevision ID: 1e088322c207\nRevises: b17bba59db34, e88ba629994f\nCreate Date: 2026-08-04 13:57:21.030668\n\n\"\"\"\n\n# revision identifiers, used by Alembic.\nrevision = \"1e088322c207\"\ndown_revision = (\"b17bba59db34\", \"e88ba629994f\")\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n";
        assert_eq!(
            text(
                "1e088322c207",
                &["b17bba59db34", "e88ba629994f"],
                "2026-08-04 13:57:21.030668"
            ),
            expected
        );
    }

    #[test]
    fn ids_are_twelve_hex_digits_and_avoid_taken_ones() {
        let id = new_id(|_| false);
        assert_eq!(id.len(), 12);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        let asked = std::cell::Cell::new(0);
        let taken_three_times = new_id(|_| {
            asked.set(asked.get() + 1);
            asked.get() <= 3
        });
        assert_eq!(asked.get(), 4, "asked until one was free");
        assert_eq!(taken_three_times.len(), 12);
        let date = create_date_now();
        assert_eq!(date.len(), "2026-08-04 13:57:21.030668".len(), "{date}");
    }
}
