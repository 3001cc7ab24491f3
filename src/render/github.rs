//! GitHub Actions workflow commands (`::error file=…,line=…,title=…::message`): the escaping the
//! runner expects, in one place for `check` and `verify`.

/// A message (after `::`): `%`, CR and LF escaped.
pub fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value (`file=`, `title=`): also `:` and `,`.
pub fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A failure of the whole run as one `::error` line (the text rendering goes to stderr as usual),
/// so a workflow shows why the step failed even when nothing else was annotated. A failure that
/// points at a file (and line) is annotated there.
pub fn failure(f: &crate::failure::Failure) -> String {
    let mut at = String::new();
    if let Some(file) = &f.file {
        at = format!("file={},", property(&file.to_string_lossy()));
        if let Some(line) = f.line {
            at.push_str(&format!("line={line},"));
        }
    }
    let line = format!(
        "::error {at}title={}::{} (fix: {})",
        property(&format!("db-migrate {}", f.kind)),
        data(&f.message),
        data(&f.fix)
    );
    crate::mask::mask(&line).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_the_runner_would_read_as_syntax() {
        assert_eq!(data("50%\nnext"), "50%25%0Anext");
        assert_eq!(property("db-migrate: a,b"), "db-migrate%3A a%2Cb");
    }

    #[test]
    fn a_failure_is_one_error_line_with_its_fix() {
        let f = crate::failure::Failure::new(
            crate::failure::Kind::NoMigrationScripts,
            "none\nhere",
            "why",
            "git pull",
        );
        assert_eq!(
            failure(&f),
            "::error title=db-migrate no-migration-scripts::none%0Ahere (fix: git pull)"
        );
    }

    #[test]
    fn a_failure_in_a_file_is_annotated_there() {
        let f = crate::failure::Failure::new(
            crate::failure::Kind::MigrationSyntaxError,
            "does not parse",
            "why",
            "fix it",
        );
        let at_line = f.clone().at_file("versions/a,b.py", Some(7));
        assert_eq!(
            failure(&at_line),
            "::error file=versions/a%2Cb.py,line=7,title=db-migrate migration-syntax-error::does not parse (fix: fix it)"
        );
        let whole_file = f.at_file("versions/a.py", None);
        assert_eq!(
            failure(&whole_file),
            "::error file=versions/a.py,title=db-migrate migration-syntax-error::does not parse (fix: fix it)"
        );
    }
}
