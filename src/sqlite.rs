//! SQLite, read natively: the `alembic_version` of a `sqlite:///relative` (to the workspace root,
//! where Alembic runs) or `sqlite:////absolute` database. The file is opened read-only and never
//! created: a database that does not exist yet has no revision, as Alembic would find it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::workspace::ini::DbUrl;

const DIALECTS: [&str; 3] = ["sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"];

/// The database file a SQLite URL names, or why it is left to Alembic.
pub fn database_path(url: &DbUrl, root: &Path) -> Result<PathBuf, String> {
    if !DIALECTS.contains(&url.scheme.as_str()) {
        return Err(format!("dialect {} is not read natively", url.scheme));
    }
    if !url.query.is_empty() {
        return Err("SQLite URL options (uri, mode, …) are left to Alembic".to_owned());
    }
    match url.database.as_deref() {
        None | Some(":memory:") => Err("an in-memory SQLite database has no state to read".into()),
        Some(path) => Ok(root.join(path)),
    }
}

/// The revisions in `alembic_version`; no file or no table is no revision.
pub fn current(path: &Path) -> Result<Vec<String>, String> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let exists: bool = db
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'",
            [],
            |row| row.get(0),
        )
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut statement = db
        .prepare("SELECT version_num FROM alembic_version")
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let rows = statement
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> DbUrl {
        DbUrl::parse(text).expect("valid URL")
    }

    #[test]
    fn relative_absolute_and_refused_urls() {
        let root = Path::new("/repo");
        assert_eq!(
            database_path(&url("sqlite:///var/manager.db"), root).unwrap(),
            Path::new("/repo/var/manager.db")
        );
        assert_eq!(
            database_path(&url("sqlite+aiosqlite:////srv/db/manager.db"), root).unwrap(),
            Path::new("/srv/db/manager.db")
        );
        assert!(database_path(&url("sqlite://"), root).is_err());
        assert!(database_path(&url("sqlite:///x.db?mode=ro"), root).is_err());
        assert!(database_path(&url("postgresql://u@h/db"), root).is_err());
    }

    #[test]
    fn reads_versions_and_treats_no_file_or_table_as_no_revision() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        assert_eq!(current(&path).unwrap(), Vec::<String>::new());
        assert!(!path.exists(), "reading never creates the file");
        let db = Connection::open(&path).unwrap();
        db.execute_batch("CREATE TABLE other (x INT);").unwrap();
        assert_eq!(current(&path).unwrap(), Vec::<String>::new());
        db.execute_batch(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
             INSERT INTO alembic_version VALUES ('abc'), ('def');",
        )
        .unwrap();
        let mut got = current(&path).unwrap();
        got.sort();
        assert_eq!(got, vec!["abc", "def"]);
    }
}
