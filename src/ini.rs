//! Just enough of Python's configparser to read an Alembic ini: sections, `key = value` or
//! `key: value`, indented continuation lines, comments, `%%` and `%(here)s` interpolation.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

#[derive(Debug, Default, Clone)]
pub struct Ini {
    sections: HashMap<String, HashMap<String, String>>,
}

impl Ini {
    pub fn parse(text: &str, here: &Path) -> Ini {
        let mut ini = Ini::default();
        let mut section = String::new();
        let mut last_key: Option<String> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(key) = &last_key {
                    if let Some(value) = ini.sections.get_mut(&section).and_then(|s| s.get_mut(key))
                    {
                        value.push('\n');
                        value.push_str(trimmed);
                    }
                }
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                section = name.trim().to_owned();
                last_key = None;
                continue;
            }
            if let Some(pos) = trimmed.find(['=', ':']) {
                let key = trimmed[..pos].trim().to_lowercase();
                let value = trimmed[pos + 1..].trim().to_owned();
                ini.sections
                    .entry(section.clone())
                    .or_default()
                    .insert(key.clone(), value);
                last_key = Some(key);
            }
        }
        let here = here.to_string_lossy();
        for values in ini.sections.values_mut() {
            for value in values.values_mut() {
                *value = value.replace("%(here)s", &here).replace("%%", "%");
            }
        }
        ini
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .get(section)?
            .get(&key.to_lowercase())
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// A SQLAlchemy URL, split into the parts db-migrate needs to explain a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUrl {
    pub scheme: String,
    pub user: Option<String>,
    /// As written in the URL (possibly percent-encoded).
    pub password: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    /// `?key=value&…`, percent-decoded.
    pub query: Vec<(String, String)>,
}

impl DbUrl {
    /// Split the way SQLAlchemy's `make_url` does: the user ends at `:` or `/`, the password at
    /// the first `@` (so it may contain `/` and `:`), then host, port, database and query.
    pub fn parse(url: &str) -> DbUrl {
        static URL: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"(?s)^(?P<scheme>[\w+]+)://(?:(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@)?(?:(?:\[(?P<ipv6>[^/?]+)\]|(?P<host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?(?:/(?P<database>[^?]*))?(?:\?(?P<query>.*))?$",
            )
            .expect("valid regex")
        });
        let Some(c) = URL.captures(url.trim()) else {
            return DbUrl {
                scheme: String::new(),
                user: None,
                password: None,
                host: None,
                port: None,
                database: None,
                query: Vec::new(),
            };
        };
        let part = |name: &str| c.name(name).map(|m| m.as_str().to_owned());
        let query = c
            .name("query")
            .map(|q| {
                q.as_str()
                    .split('&')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        (
                            crate::mask::percent_decode(k),
                            crate::mask::percent_decode(v),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        DbUrl {
            scheme: part("scheme").unwrap_or_default(),
            user: part("user"),
            password: part("password"),
            host: part("ipv6")
                .or_else(|| part("host"))
                .filter(|h| !h.is_empty()),
            port: part("port").and_then(|p| p.parse().ok()),
            database: part("database").filter(|d| !d.is_empty()),
            query,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.scheme.starts_with("postgresql") || self.scheme.starts_with("postgres")
    }

    /// `host:port` as Alembic would connect (PostgreSQL's default port when none is given).
    pub fn host_port(&self) -> String {
        let host = self.host.as_deref().unwrap_or("localhost");
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None if self.is_postgres() => format!("{host}:5432"),
            None => host.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_alembic_section_with_interpolation() {
        let ini = Ini::parse(
            "[alembic]\nscript_location = ai.backend.manager.models:alembic\n# c\nsqlalchemy.url = postgresql+asyncpg://postgres:p%%40ss@localhost:8100/backend\n[loggers]\nkeys = root\n",
            Path::new("/x"),
        );
        assert_eq!(
            ini.get("alembic", "script_location"),
            Some("ai.backend.manager.models:alembic")
        );
        let url = DbUrl::parse(ini.get("alembic", "sqlalchemy.url").unwrap());
        assert_eq!(url.password.as_deref(), Some("p%40ss"));
        assert_eq!(url.host_port(), "localhost:8100");
        assert_eq!(url.database.as_deref(), Some("backend"));
        assert_eq!(url.user.as_deref(), Some("postgres"));
    }

    #[test]
    fn passwords_may_hold_slashes_and_colons() {
        let url = DbUrl::parse(
            "postgresql+asyncpg://dm_u1:3E5n/Gh:Op@127.0.0.1:5433/backend?sslmode=disable",
        );
        assert_eq!(url.user.as_deref(), Some("dm_u1"));
        assert_eq!(url.password.as_deref(), Some("3E5n/Gh:Op"));
        assert_eq!(url.host_port(), "127.0.0.1:5433");
        assert_eq!(url.database.as_deref(), Some("backend"));
        assert_eq!(
            url.query,
            vec![("sslmode".to_owned(), "disable".to_owned())]
        );
    }

    #[test]
    fn default_port_and_sqlite() {
        assert_eq!(DbUrl::parse("postgresql://u@db/x").host_port(), "db:5432");
        let lite = DbUrl::parse("sqlite:///var/manager.db");
        assert!(!lite.is_postgres());
        assert_eq!(lite.database.as_deref(), Some("var/manager.db"));
    }
}
