//! Password masking, applied to every line db-migrate prints: its own messages and relayed
//! Alembic output alike, in every mode.
//!
//! Two layers: any `scheme://user:password@` gets its password replaced by `***`, and every
//! password read from a config (raw, percent-decoded and ini-escaped forms) is replaced wherever it
//! appears, e.g. inside a driver's error message. Literal masking skips passwords shorter than
//! three characters, which would otherwise blank out ordinary words.

use std::borrow::Cow;
use std::sync::{LazyLock, RwLock};

use regex::Regex;

pub const MASK: &str = "***";

static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<pre>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s'"]*:)[^\s'"]*@"#)
        .expect("valid regex")
});

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remember a password so that it is masked wherever it shows up.
pub fn add_secret(password: &str) {
    let mut forms = vec![
        password.to_owned(),
        percent_decode(password),
        password.replace('%', "%%"),
    ];
    forms.retain(|f| f.chars().count() >= 3);
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for form in forms {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    // Longest first, so that a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// The text with every known password and every URL password replaced by `***`.
pub fn mask(text: &str) -> Cow<'_, str> {
    let mut out = match URL_PASSWORD
        .replace_all(text, |c: &regex::Captures| format!("{}{MASK}@", &c["pre"]))
    {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(s) => Cow::Owned(s),
    };
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// Decode `%XX` escapes (as in a URL's userinfo); invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_url_passwords_of_any_scheme() {
        assert_eq!(
            mask("url postgresql+asyncpg://postgres:s3cr%40t@127.0.0.1:8100/backend end"),
            "url postgresql+asyncpg://postgres:***@127.0.0.1:8100/backend end"
        );
        assert_eq!(
            mask("'postgresql://u:p@ss@h/db'"),
            "'postgresql://u:***@h/db'"
        );
        assert_eq!(mask("sqlite:///var/x.db"), "sqlite:///var/x.db");
    }

    #[test]
    fn masks_registered_secrets_everywhere() {
        add_secret("hunter%402");
        assert_eq!(
            mask("password hunter@2 and hunter%402 and hunter%%402"),
            "password *** and *** and ***"
        );
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%40b%2"), "a@b%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
