//! A component's config pointed at another database on the same server: a copy of its ini with
//! only `sqlalchemy.url`'s database changed, written privately to `.db-migrate/verify/` and
//! removed again (also on Ctrl-C). `verify` runs Alembic with it so that no step can reach the
//! configured database through the ini.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::cleanup::{self, Registration};
use crate::failure::{Failure, Kind};
use crate::workspace::ini::{DbUrl, Ini};
use crate::workspace::{state_dir, Config};

/// `config` with its URL naming the scratch database; the file goes when this is dropped.
pub struct ScratchConfig {
    pub config: Config,
    path: PathBuf,
    registration: Option<Registration>,
}

impl Drop for ScratchConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(r) = self.registration.take() {
            r.disarm();
        }
    }
}

/// Write the copy of `config`'s ini with `database` in `sqlalchemy.url`, and check that the copy
/// reads as the same server, user and options with only the database changed.
pub fn pointed_at(config: &Config, database: &str) -> Result<ScratchConfig, Failure> {
    let refuse = |why: String| {
        Failure::new(
            Kind::VerifyConfig,
            format!("cannot point a copy of {} at a scratch database: {why}", config.ini_arg),
            "verify runs Alembic with a copy of the ini whose sqlalchemy.url names the scratch database",
            "write sqlalchemy.url on one line in the [alembic] section as dialect://user:password@host:port/database, then retry",
        )
    };
    let ini_path = config.root.join(&config.ini_arg);
    let text = std::fs::read_to_string(&ini_path)
        .map_err(|e| refuse(format!("cannot read it again: {e}")))?;
    let (Some(url), Some(lines), Some(old)) = (
        config.ini.get("alembic", "sqlalchemy.url"),
        config.ini.lines_of("alembic", "sqlalchemy.url"),
        config.url.as_ref(),
    ) else {
        return Err(refuse("it has no sqlalchemy.url".into()));
    };
    let new_url = with_database(url.trim(), database);
    let check = DbUrl::parse(&new_url).map_err(|e| refuse(e.problem))?;
    let same_server = check.scheme == old.scheme
        && check.user == old.user
        && check.password == old.password
        && check.host == old.host
        && check.port == old.port
        && check.query == old.query
        && check.database.as_deref() == Some(database);
    if !same_server {
        return Err(refuse(
            "the rewritten URL would not keep the same server and user".into(),
        ));
    }
    let here = ini_path.parent().unwrap_or(&config.root);
    let copy = rewrite(&text, lines, &new_url, here);

    let dir = state_dir::ensure(&config.root, "verify")
        .map_err(|e| refuse(format!("cannot create .db-migrate/verify: {e}")))?;
    let path = dir.join(format!("{database}.ini"));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| refuse(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(copy.as_bytes())
        .map_err(|e| refuse(format!("cannot write {}: {e}", path.display())))?;
    let registration = {
        let path = path.clone();
        cleanup::register(move || async move {
            let _ = std::fs::remove_file(path);
        })
    };
    let ini_arg = path
        .strip_prefix(&config.root)
        .unwrap_or(&path)
        .to_string_lossy()
        .into_owned();
    Ok(ScratchConfig {
        config: Config {
            ini_arg,
            url: Some(check),
            ini: Ini::parse(&copy, here),
            ..config.clone()
        },
        path,
        registration: Some(registration),
    })
}

/// `url` with its database (the path after the host) replaced, options kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (head, query) = match url.find('?') {
        Some(q) => url.split_at(q),
        None => (url, ""),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    // The host starts after the credentials (a password may hold '/', never '@').
    let host_start = head[authority_start..]
        .find('@')
        .map_or(authority_start, |i| authority_start + i + 1);
    let host_and_path = &head[host_start..];
    let host = match host_and_path.find('/') {
        Some(slash) => &host_and_path[..slash],
        None => host_and_path,
    };
    format!("{}{host}/{database}{query}", &head[..host_start])
}

/// The ini text with the URL's lines replaced by one line, and `%(here)s` spelled out (the copy
/// lives in another directory; configparser's own `here` would name that one).
fn rewrite(text: &str, url_lines: &[usize], url: &str, here: &Path) -> String {
    let escape = |s: &str| s.replace('%', "%%");
    let here = escape(&here.to_string_lossy());
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let number = n + 1;
        if url_lines.first() == Some(&number) {
            out.push_str(&format!("sqlalchemy.url = {}\n", escape(url)));
        } else if !url_lines.contains(&number) {
            out.push_str(&line.replace("%(here)s", &here));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_database_changes() {
        assert_eq!(
            with_database("postgresql+asyncpg://u:p%2Fw@db:8100/backend", "x"),
            "postgresql+asyncpg://u:p%2Fw@db:8100/x"
        );
        assert_eq!(
            with_database("postgresql://u:a/b@h/backend?sslmode=disable", "x"),
            "postgresql://u:a/b@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://h", "x"), "postgresql://h/x");
        assert_eq!(
            with_database("postgresql:///backend?host=/run/pg", "x"),
            "postgresql:///x?host=/run/pg"
        );
    }

    #[test]
    fn the_copy_changes_the_url_line_and_here_only() {
        let text = "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url =\n    postgresql://u:p@h/db\nother = 100%%\n";
        let ini = Ini::parse(text, Path::new("/repo"));
        let lines = ini.lines_of("alembic", "sqlalchemy.url").unwrap();
        let copy = rewrite(text, lines, "postgresql://u:p%40@h/x", Path::new("/re%po"));
        assert_eq!(
            copy,
            "[alembic]\nscript_location = /re%%po/migrations\nsqlalchemy.url = postgresql://u:p%%40@h/x\nother = 100%%\n"
        );
        let reread = Ini::parse(&copy, Path::new("/elsewhere"));
        assert_eq!(
            reread.get("alembic", "sqlalchemy.url"),
            Some("postgresql://u:p%40@h/x")
        );
        assert_eq!(
            reread.get("alembic", "script_location"),
            Some("/re%po/migrations")
        );
    }
}
