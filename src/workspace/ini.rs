//! Just enough of Python's configparser to read an Alembic ini: sections, `key = value` or
//! `key: value`, indented continuation lines, comments, `%%` and `%(here)s` interpolation — and
//! the one parser of `sqlalchemy.url` that every part of db-migrate (native engine, lock, backup,
//! messages) uses, so that none of them can read a different server than the others.

use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::mask::percent_decode;

#[derive(Debug, Default, Clone)]
pub struct Ini {
    sections: HashMap<String, HashMap<String, Value>>,
}

#[derive(Debug, Default, Clone)]
struct Value {
    /// Interpolated, lines joined with `\n` as configparser does.
    text: String,
    /// The 1-based ini line of each line of `text`: the key's, then its continuation lines.
    lines: Vec<usize>,
}

impl Ini {
    pub fn parse(text: &str, here: &Path) -> Ini {
        let mut ini = Ini::default();
        let mut section = String::new();
        let mut last_key: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(key) = &last_key {
                    if let Some(value) = ini.sections.get_mut(&section).and_then(|s| s.get_mut(key))
                    {
                        value.text.push('\n');
                        value.text.push_str(trimmed);
                        value.lines.push(n + 1);
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
                let value = Value {
                    text: trimmed[pos + 1..].trim().to_owned(),
                    lines: vec![n + 1],
                };
                ini.sections
                    .entry(section.clone())
                    .or_default()
                    .insert(key.clone(), value);
                last_key = Some(key);
            }
        }
        // Interpolation never adds or removes a line break (a path holds none), so `lines` stays
        // aligned with the text's lines. As in configparser, `key =` with the value on the next
        // line keeps the empty first line: the value starts with a line break.
        let here = here.to_string_lossy();
        for values in ini.sections.values_mut() {
            for value in values.values_mut() {
                value.text = value.text.replace("%(here)s", &here).replace("%%", "%");
            }
        }
        ini
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.value(section, key)
            .map(|v| v.text.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The ini line holding byte `offset` of the value [`Ini::get`] returns.
    pub fn line_of(&self, section: &str, key: &str, offset: usize) -> Option<usize> {
        let value = self.value(section, key)?;
        let before = value.text.get(..offset.min(value.text.len()))?;
        let index = before.matches('\n').count();
        value.lines.get(index).or(value.lines.last()).copied()
    }

    /// The 1-based ini lines a value occupies (its key's line, then continuation lines).
    pub fn lines_of(&self, section: &str, key: &str) -> Option<&[usize]> {
        self.value(section, key).map(|v| v.lines.as_slice())
    }

    fn value(&self, section: &str, key: &str) -> Option<&Value> {
        self.sections.get(section)?.get(&key.to_lowercase())
    }
}

/// A SQLAlchemy URL, split the way SQLAlchemy and the PostgreSQL drivers read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUrl {
    /// Empty when the text is not in SQLAlchemy's `dialect://…` form at all (SQLAlchemy then
    /// refuses it with its own message, so the Alembic engine explains it).
    pub scheme: String,
    pub user: Option<String>,
    /// As written in the URL (possibly percent-encoded).
    pub password: Option<String>,
    /// The server: the URL's host, or for PostgreSQL the `?host=` option, which the drivers
    /// prefer (a name, an address, or a Unix socket directory).
    pub host: Option<String>,
    /// Only when one was given (in the URL or, for PostgreSQL, as `?port=`).
    pub port: Option<u16>,
    pub database: Option<String>,
    /// The other `?key=value&…` options, decoded as Python's `parse_qsl` does (for PostgreSQL
    /// without `host` and `port`, which are in the fields above).
    pub query: Vec<(String, String)>,
}

/// Why a URL cannot be read exactly. Never holds the password in `problem` or `fix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    /// Byte offset of the wrong part in the text given to [`DbUrl::parse`].
    pub offset: usize,
    /// What is wrong, naming the part, e.g. `the port 99999 is out of range (1-65535)`.
    pub problem: String,
    /// How to write it instead.
    pub fix: String,
    /// Passwords found on the way, to be masked all the same.
    pub secrets: Vec<String>,
}

/// Query options that would send the drivers to another server, database or role than the one
/// db-migrate's own connections (native reads, the lock, `--backup`) use.
const RETARGETING_OPTIONS: [(&str, &str); 6] = [
    ("dbname", "the database"),
    ("database", "the database"),
    ("user", "the user"),
    ("service", "the server, user and database"),
    ("hostaddr", "the server address"),
    ("servicefile", "the server, user and database"),
];

const SSLMODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// What db-migrate's own connections are, for the fixes that say why they matter.
const OWN_CONNECTIONS: &str =
    "db-migrate's own connections (native status, the migration lock, --backup)";

impl DbUrl {
    /// Split the way SQLAlchemy's `make_url` does: the user ends at `:` or `/`, the password at
    /// the first `@` (so it may contain `/` and `:`), then host, port, database and query. A part
    /// that is given but cannot be read exactly (a port that is not a port, a port without a
    /// host, an option that moves the target or has a malformed value) is an error: nothing here
    /// substitutes a default for something that was written.
    pub fn parse(text: &str) -> Result<DbUrl, UrlError> {
        static URL: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"(?s)^(?P<scheme>[\w+]+)://(?:(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@)?(?:(?:\[(?P<ipv6>[^/?]+)\]|(?P<host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?(?:/(?P<database>[^?]*))?(?:\?(?P<query>.*))?$",
            )
            .expect("valid regex")
        });
        // SQLAlchemy matches the value as it is, and configparser strips only the first line's
        // blanks: a URL that starts on the line after `sqlalchemy.url =` is not read at all.
        if text.starts_with(char::is_whitespace) {
            return Err(UrlError {
                offset: 0,
                problem: "the URL starts on the line after the key, which SQLAlchemy does not read"
                    .into(),
                fix: "move the URL up onto the line of sqlalchemy.url =".into(),
                secrets: Vec::new(),
            });
        }
        let url = text.trim_end();
        let Some(c) = URL.captures(url) else {
            return Ok(DbUrl {
                scheme: String::new(),
                user: None,
                password: None,
                host: None,
                port: None,
                database: None,
                query: Vec::new(),
            });
        };
        let part = |name: &str| c.name(name).map(|m| m.as_str().to_owned());
        let mut secrets: Vec<String> = part("password").into_iter().collect();
        let error = |at: usize, problem: String, fix: String, secrets: &[String]| UrlError {
            offset: at,
            problem,
            fix,
            secrets: secrets.to_vec(),
        };
        let scheme = part("scheme").unwrap_or_default();
        let postgres = is_postgres_scheme(&scheme);
        // With userinfo present, the password is in its own part, so the host and port are not
        // pieces of it and may be quoted.
        let has_userinfo = c.name("user").is_some();

        let mut host = None;
        if let Some(m) = c.name("ipv6") {
            let addr = m.as_str();
            let bare = addr.split_once('%').map_or(addr, |(a, _)| a);
            if bare.parse::<Ipv6Addr>().is_err() {
                return Err(error(
                    m.start() - 1,
                    "the host in [brackets] is not an IPv6 address".into(),
                    "write an IPv6 address in the brackets (…@[::1]:5432/…) or a host name without them".into(),
                    &secrets,
                ));
            }
            host = Some(addr.to_owned());
        } else if let Some(m) = c.name("host") {
            let h = m.as_str();
            if h.contains('@') {
                return Err(error(
                    m.start(),
                    "the host has an '@' in it, so the password ends too early".into(),
                    AT_FIX.into(),
                    // Only a piece of the password was split off, and nothing of the URL is
                    // quoted; masking the piece would garble words such as "password".
                    &[],
                ));
            }
            if let Some(bad) = h
                .chars()
                .find(|ch| ch.is_whitespace() || "[]".contains(*ch))
            {
                return Err(error(
                    m.start(),
                    format!("the host contains {bad:?}"),
                    "write the host name or address alone (…@127.0.0.1:5432/…)".into(),
                    &secrets,
                ));
            }
            host = Some(h.to_owned());
        }

        let mut port = None;
        if let Some(m) = c.name("port").filter(|m| !m.as_str().is_empty()) {
            let p = m.as_str();
            let problem = match parse_port(p) {
                Ok(p) => {
                    port = Some((m.start(), p));
                    None
                }
                Err(PortError::At) => {
                    Some("an '@' follows the host, so the password ends too early".to_owned())
                }
                Err(PortError::NotANumber) => Some(
                    "the port is not a number (is the host missing, or a ':' out of place?)"
                        .to_owned(),
                ),
                // Quoted only when the password has its own part, so that this is not a piece of it.
                Err(PortError::OutOfRange) if has_userinfo => {
                    Some(format!("the port {p} is out of range (1-65535)"))
                }
                Err(PortError::OutOfRange) => Some("the port is out of range (1-65535)".to_owned()),
            };
            if let Some(problem) = problem {
                let (fix, secrets) = if p.contains('@') {
                    (AT_FIX, &[][..]) // as for the host above
                } else {
                    (PORT_FIX, &secrets[..])
                };
                return Err(error(m.start(), problem, fix.into(), secrets));
            }
        }

        let mut query = Vec::new();
        let mut query_host: Option<(usize, String)> = None;
        let mut query_port: Option<(usize, u16)> = None;
        if let Some(q) = c.name("query") {
            let mut at = q.start();
            for raw in q.as_str().split('&') {
                let start = at;
                at += raw.len() + 1;
                let Some((k, v)) = raw.split_once('=') else {
                    continue; // parse_qsl drops an option without `=`
                };
                let (key, value) = (query_decode(k), query_decode(v));
                if key == "password" && !value.is_empty() {
                    secrets.push(value.clone());
                }
                if !postgres {
                    if !value.is_empty() {
                        query.push((key, value));
                    }
                    continue;
                }
                match key.as_str() {
                    "host" | "port" if value.is_empty() => {
                        return Err(error(
                            start,
                            format!("the option {key}= is empty"),
                            format!("give a {key} after {key}= or remove the option"),
                            &secrets,
                        ));
                    }
                    "host" | "port"
                        if value.contains(',')
                            || (key == "host" && query_host.is_some())
                            || (key == "port" && query_port.is_some()) =>
                    {
                        return Err(error(
                            start,
                            format!("the URL names more than one {key} (?{key}=…)"),
                            format!("point sqlalchemy.url at one server: {OWN_CONNECTIONS} use one host and port"),
                            &secrets,
                        ));
                    }
                    "host" => query_host = Some((start, value)),
                    "port" => match parse_port(&value) {
                        Ok(p) => query_port = Some((start, p)),
                        Err(e) => {
                            return Err(error(
                                start,
                                format!("the option port={value} {}", e.describe()),
                                PORT_FIX.into(),
                                &secrets,
                            ))
                        }
                    },
                    "connect_timeout"
                        if !value.bytes().all(|b| b.is_ascii_digit()) || value.is_empty() =>
                    {
                        return Err(error(
                            start,
                            format!("the option connect_timeout={value} is not a whole number of seconds"),
                            "write connect_timeout=SECONDS, e.g. connect_timeout=10".into(),
                            &secrets,
                        ));
                    }
                    "sslmode" if !SSLMODES.contains(&value.as_str()) => {
                        return Err(error(
                            start,
                            format!("the option sslmode={value} is not an SSL mode"),
                            format!("write sslmode= one of {}", SSLMODES.join(", ")),
                            &secrets,
                        ));
                    }
                    k => {
                        if let Some((_, what)) = RETARGETING_OPTIONS.iter().find(|(o, _)| *o == k) {
                            return Err(error(
                                start,
                                format!("the option {k}= changes {what} the drivers connect to"),
                                format!("write {what} in the URL itself (…USER:…@HOST:PORT/DATABASE) and remove ?{k}=, which {OWN_CONNECTIONS} would not follow"),
                                &secrets,
                            ));
                        }
                        if !value.is_empty() {
                            query.push((key, value));
                        }
                    }
                }
            }
        }
        // As SQLAlchemy splits a lone `?host=name:port`.
        if let (Some((start, h)), None) = (&query_host, &query_port) {
            static HOST_PORT: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"^([A-Za-z0-9.-]*):(\d*)$").expect("valid regex"));
            if let Some(hp) = HOST_PORT.captures(h) {
                let (name, p) = (hp[1].to_owned(), hp[2].to_owned());
                if !p.is_empty() {
                    match parse_port(&p) {
                        Ok(p) => query_port = Some((*start, p)),
                        Err(e) => {
                            return Err(error(
                                *start,
                                format!("the port in the option host={h} {}", e.describe()),
                                PORT_FIX.into(),
                                &secrets,
                            ))
                        }
                    }
                }
                query_host = Some((*start, name));
            }
        }
        if let Some((_, h)) = query_host {
            host = Some(h);
        }
        if query_port.is_some() {
            port = query_port;
        }
        if let (None, Some((at, p))) = (&host, port) {
            return Err(error(
                at,
                format!("the URL gives the port {p} but no host"),
                "write the host before the port (…@127.0.0.1:5432/…), or a Unix socket directory as ?host=/var/run/postgresql".into(),
                &secrets,
            ));
        }

        Ok(DbUrl {
            scheme,
            user: part("user"),
            password: part("password"),
            host: host.filter(|h| !h.is_empty()),
            port: port.map(|(_, p)| p),
            database: part("database").filter(|d| !d.is_empty()),
            query,
        })
    }

    pub fn is_postgres(&self) -> bool {
        is_postgres_scheme(&self.scheme)
    }

    /// Every password the URL carries (its own and a `?password=` option), for masking.
    pub fn secrets(&self) -> Vec<&str> {
        self.password
            .as_deref()
            .into_iter()
            .chain(
                self.query
                    .iter()
                    .filter(|(k, _)| k == "password")
                    .map(|(_, v)| v.as_str()),
            )
            .collect()
    }

    /// `host:port` as Alembic would connect (PostgreSQL's default port when none is given).
    pub fn host_port(&self) -> String {
        let host = match self.host.as_deref() {
            Some(h) if h.contains(':') && !h.starts_with('/') => format!("[{h}]"),
            Some(h) => h.to_owned(),
            None => "localhost".to_owned(),
        };
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None if self.is_postgres() => format!("{host}:5432"),
            None => host,
        }
    }
}

fn is_postgres_scheme(scheme: &str) -> bool {
    scheme.starts_with("postgresql") || scheme.starts_with("postgres")
}

const PORT_FIX: &str = "write the server's port, a number from 1 to 65535 (…@127.0.0.1:5432/…; the halfstack's is 8100)";

const AT_FIX: &str = "write each '@' inside the password as %40 (and '%' as %25)";

enum PortError {
    /// An `@` in it: the password had an unencoded `@`.
    At,
    NotANumber,
    OutOfRange,
}

impl PortError {
    fn describe(&self) -> &'static str {
        match self {
            PortError::At | PortError::NotANumber => "is not a number",
            PortError::OutOfRange => "is out of range (1-65535)",
        }
    }
}

/// A port from 1 to 65535.
fn parse_port(text: &str) -> Result<u16, PortError> {
    if text.contains('@') {
        return Err(PortError::At);
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PortError::NotANumber);
    }
    match text.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        _ => Err(PortError::OutOfRange),
    }
}

/// One key or value of a query string, decoded as `urllib.parse.parse_qsl` does.
fn query_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> DbUrl {
        DbUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    fn problem(text: &str) -> UrlError {
        match DbUrl::parse(text) {
            Ok(u) => panic!("{text} was accepted: {u:?}"),
            Err(e) => e,
        }
    }

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
        let url = url(ini.get("alembic", "sqlalchemy.url").unwrap());
        assert_eq!(url.password.as_deref(), Some("p%40ss"));
        assert_eq!(url.host_port(), "localhost:8100");
        assert_eq!(url.database.as_deref(), Some("backend"));
        assert_eq!(url.user.as_deref(), Some("postgres"));
    }

    #[test]
    fn remembers_the_line_of_every_part_of_a_value() {
        let text = "# top\n[alembic]\nscript_location = %(here)s/alembic\n\nsqlalchemy.url =\n    sqlite:///%(here)s/a%%b\n    ?mode=ro\nother: x\n";
        let ini = Ini::parse(text, Path::new("/ws/dir"));
        assert_eq!(
            ini.get("alembic", "script_location"),
            Some("/ws/dir/alembic")
        );
        assert_eq!(ini.line_of("alembic", "script_location", 0), Some(3));
        // The empty first line is kept, as configparser keeps it.
        let value = ini.get("alembic", "sqlalchemy.url").unwrap();
        assert_eq!(value, "\nsqlite:////ws/dir/a%b\n?mode=ro");
        assert_eq!(ini.line_of("alembic", "sqlalchemy.url", 0), Some(5));
        assert_eq!(ini.line_of("alembic", "sqlalchemy.url", 1), Some(6));
        let e = DbUrl::parse(value).unwrap_err();
        assert_eq!((e.offset, e.problem.contains("line after")), (0, true));
        let q = value.find('?').unwrap();
        assert_eq!(ini.line_of("alembic", "sqlalchemy.url", q), Some(7));
        assert_eq!(ini.line_of("alembic", "other", 0), Some(8));
        assert_eq!(ini.line_of("alembic", "missing", 0), None);
    }

    #[test]
    fn passwords_may_hold_slashes_and_colons() {
        let url =
            url("postgresql+asyncpg://dm_u1:3E5n/Gh:Op@127.0.0.1:5433/backend?sslmode=disable");
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
        assert_eq!(url("postgresql://u@db/x").host_port(), "db:5432");
        assert_eq!(url("postgresql://u@db:/x").port, None);
        let lite = url("sqlite:///var/manager.db");
        assert!(!lite.is_postgres());
        assert_eq!(lite.database.as_deref(), Some("var/manager.db"));
        assert_eq!(
            url("sqlite:////abs/m.db").database.as_deref(),
            Some("/abs/m.db")
        );
        let lite = url("sqlite+aiosqlite:///var/m.db?mode=ro&uri=true");
        assert_eq!(lite.database.as_deref(), Some("var/m.db"));
        assert_eq!(lite.query.len(), 2);
        assert_eq!(url("sqlite://").database, None);
    }

    #[test]
    fn accepts_every_valid_form() {
        let v6 = url("postgresql://u:p@[::1]:5433/db");
        assert_eq!((v6.host.as_deref(), v6.port), (Some("::1"), Some(5433)));
        assert_eq!(v6.host_port(), "[::1]:5433");
        assert_eq!(url("postgresql://u:p@[fe80::1%25eth0]/db").port, None);
        let enc = url("postgresql+asyncpg://us%40er:p%40ss%2Fw@h:1/db");
        assert_eq!(enc.password.as_deref(), Some("p%40ss%2Fw"));
        assert_eq!(url("postgresql://u:a/b:c@h:65535/db").port, Some(65535));
        let socket = url("postgresql://u:p@/db?host=/var/run/postgresql");
        assert_eq!(socket.host.as_deref(), Some("/var/run/postgresql"));
        assert_eq!(socket.port, None);
        assert!(socket.query.is_empty());
        let socket = url("postgresql://u:p@:5433/db?host=/run/pg");
        assert_eq!(
            (socket.host.as_deref(), socket.port),
            (Some("/run/pg"), Some(5433))
        );
        let local = url("postgresql:///db");
        assert_eq!((local.host, local.port), (None, None));
        let split = url("postgresql://u@/db?host=db.example:6000");
        assert_eq!(
            (split.host.as_deref(), split.port),
            (Some("db.example"), Some(6000))
        );
        // The drivers prefer the options to the URL's own host and port.
        let moved = url("postgresql://u@a:1/db?host=b&port=2");
        assert_eq!((moved.host.as_deref(), moved.port), (Some("b"), Some(2)));
        let opts = url("postgresql://u@h/db?application_name=a+b&connect_timeout=3&sslmode=require&options=-csearch_path%3Dx&flag");
        assert_eq!(
            opts.query,
            vec![
                ("application_name".to_owned(), "a b".to_owned()),
                ("connect_timeout".to_owned(), "3".to_owned()),
                ("sslmode".to_owned(), "require".to_owned()),
                ("options".to_owned(), "-csearch_path=x".to_owned()),
            ]
        );
        // Not SQLAlchemy's form at all: SQLAlchemy says so when Alembic runs.
        assert_eq!(url("postgresql-asyncpg://u:p@h/db").scheme, "");
        assert_eq!(url("driver://user:pass@localhost/dbname").scheme, "driver");
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        let e = problem("postgresql+asyncpg://u:pw@127.0.0.1:99999/db");
        assert_eq!(e.problem, "the port 99999 is out of range (1-65535)");
        assert_eq!(e.offset, "postgresql+asyncpg://u:pw@127.0.0.1:".len());
        assert_eq!(e.secrets, vec!["pw".to_owned()]);
        assert!(e.fix.contains("1 to 65535"), "{}", e.fix);
        assert!(problem("postgresql://u:p@h:0/db")
            .problem
            .contains("out of range"));
        assert!(problem("postgresql://u:p@h:5432x/db")
            .problem
            .contains("not a number"));
        assert!(problem("postgresql://u:p@h:54:32/db")
            .problem
            .contains("not a number"));
        // A wrong part on a continuation line is found there.
        let e = problem("postgresql://h/db\n?port=99999");
        assert_eq!(e.offset, "postgresql://h/db\n?".len());
        // Without userinfo the "port" may be a password that lost its host: never quoted.
        let e = problem("postgresql://postgres:123456/db");
        assert_eq!(e.problem, "the port is out of range (1-65535)");
        let e = problem("postgresql://postgres:s3cret/db");
        assert!(!format!("{e:?}").contains("s3cret"), "{e:?}");
        // An unencoded '@' in the password puts a piece of it into the host or port.
        for text in [
            "postgresql://u:pa@zq@h/db",
            "postgresql://u:pa@zq:w@xk@h:5432/db",
        ] {
            let e = problem(text);
            assert!(e.fix.contains("%40"), "{e:?}");
            assert!(
                !e.problem.contains("zq") && !e.problem.contains("xk"),
                "{e:?}"
            );
        }
        let e = problem("postgresql://u:p@:5432/db");
        assert_eq!(e.problem, "the URL gives the port 5432 but no host");
        assert!(problem("postgresql://u:p@/db?port=5433")
            .problem
            .contains("no host"));
        let e = problem("postgresql://u:p@h/db?port=abc");
        assert_eq!(e.problem, "the option port=abc is not a number");
        assert_eq!(e.offset, "postgresql://u:p@h/db?".len());
        assert!(problem("postgresql://u:p@h/db?sslmode=disable&port=70000")
            .problem
            .contains("port=70000 is out of range"));
        assert!(problem("postgresql://u:p@/db?host=h:99999")
            .problem
            .contains("out of range"));
        assert!(problem("postgresql://u:p@h/db?host=")
            .problem
            .contains("host= is empty"));
        assert!(problem("postgresql://u:p@/db?host=a,b")
            .problem
            .contains("more than one host"));
        assert!(problem("postgresql://u:p@/db?host=a&host=b")
            .problem
            .contains("more than one host"));
        assert!(problem("postgresql://u:p@h/db?port=1&port=2")
            .problem
            .contains("more than one port"));
        assert!(problem("postgresql://u:p@h/db?connect_timeout=soon")
            .problem
            .contains("connect_timeout"));
        assert!(problem("postgresql://u:p@h/db?sslmode=on")
            .problem
            .contains("sslmode=on"));
        for option in [
            "dbname=x",
            "database=x",
            "user=x",
            "service=x",
            "hostaddr=10.0.0.1",
        ] {
            let e = problem(&format!("postgresql://u:p@h/db?{option}"));
            assert!(e.problem.contains("changes"), "{e:?}");
        }
        assert!(problem("postgresql://u:p@[nope]/db")
            .problem
            .contains("IPv6"));
        assert!(problem("postgresql://u:p@a b/db").problem.contains("host"));
        // A ?password= option is a secret too.
        let e = problem("postgresql://u@h:1/db?password=hunter22&port=x");
        assert_eq!(e.secrets, vec!["hunter22".to_owned()]);
        assert_eq!(
            url("postgresql://u@h/db?password=hunter22").secrets(),
            vec!["hunter22"]
        );
    }
}
