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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_the_runner_would_read_as_syntax() {
        assert_eq!(data("50%\nnext"), "50%25%0Anext");
        assert_eq!(property("db-migrate: a,b"), "db-migrate%3A a%2Cb");
    }
}
