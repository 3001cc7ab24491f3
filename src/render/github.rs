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
/// so a workflow shows why the step failed even when nothing else was annotated.
pub fn failure(f: &crate::error::Failure) -> String {
    let line = format!(
        "::error title={}::{} (fix: {})",
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
        let f = crate::error::Failure::new("no-migration-scripts", "none\nhere", "why", "git pull");
        assert_eq!(
            failure(&f),
            "::error title=db-migrate no-migration-scripts::none%0Ahere (fix: git pull)"
        );
    }
}
