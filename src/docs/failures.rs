//! `docs/failures.md`: every kind of failure, its exit code and meaning, and the cause and fix
//! templates of its remediation rows, generated from `failure::Kind` and `remediation.toml`.

use std::fmt::Write as _;

use crate::exit_code;
use crate::failure::Kind;
use crate::remediation;

/// The page, as committed.
#[cfg_attr(not(test), allow(dead_code))] // written and checked by the test below
pub fn generate() -> String {
    let mut page = String::from(
        "<!-- Generated from src/failure/kind.rs and src/remediation/remediation.toml: do not edit.\n     \
         Regenerate: UPDATE_DOCS=1 cargo test --bin db-migrate docs:: -->\n\n\
         # Failures\n\n\
         Every failure db-migrate reports has a stable `kind` (the `kind` field of `--format json`,\n\
         the title of a GitHub `::error`), a message, a cause and a fix. The exit code follows from\n\
         the kind.\n\n\
         ## Exit codes\n\n\
         | Code | Meaning |\n\
         |-----:|---------|\n",
    );
    for (code, meaning) in exit_code::ALL {
        let _ = writeln!(page, "| {code} | {} |", meaning.replace('|', "\\|"));
    }
    page.push_str(
        "\n## Kinds\n\n\
         A kind with remediation rows is recognised in Alembic's output (the rows are tried in\n\
         the table's order; the first whose pattern matches wins) or foreseen by db-migrate\n\
         itself. `{placeholders}` are filled from the run: the component, its ini, the revision,\n\
         the server's `host:port`…\n\n\
         | Kind | Exit | Meaning |\n\
         |------|-----:|---------|\n",
    );
    for &kind in Kind::ALL {
        let _ = writeln!(
            page,
            "| [`{kind}`](#{kind}) | {} | {} |",
            kind.code(),
            kind.description().replace('|', "\\|")
        );
    }
    for &kind in Kind::ALL {
        let _ = write!(
            page,
            "\n### {kind}\n\nExit code {}. {}\n",
            kind.code(),
            kind.description()
        );
        let rows: Vec<_> = remediation::rows().filter(|r| r.kind == kind).collect();
        for row in &rows {
            page.push('\n');
            if let Some(condition) = row.applies {
                let _ = writeln!(page, "Applies {}:\n", condition.describe());
            } else if rows.len() > 1 {
                page.push_str("Applies on any match:\n\n");
            }
            let _ = writeln!(
                page,
                "```text\nmessage: {}\ncause:   {}\nfix:     {}\n```",
                row.message, row.cause, row.fix
            );
        }
    }
    page
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_is_fresh() {
        crate::docs::assert_fresh("docs/failures.md", &super::generate());
    }
}
