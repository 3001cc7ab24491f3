//! Connecting natively: the config's `sqlalchemy.url` as tokio-postgres settings (for the
//! PostgreSQL dialects Backend.AI uses), one bounded handshake, and the one-query reads:
//! `alembic_version` and the other sessions on the database.

use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, SimpleQueryMessage};

use crate::mask::percent_decode;
use crate::workspace::ini::DbUrl;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const DIALECTS: [&str; 5] = [
    "postgresql",
    "postgresql+asyncpg",
    "postgresql+psycopg2",
    "postgresql+psycopg",
    "postgresql+pg8000",
];

/// Connection settings, or why the URL can't be used natively (then Alembic reads it).
///
/// The URL has been read exactly by [`DbUrl::parse`]: every part used here was either given
/// (host and port include PostgreSQL's `?host=`/`?port=`) or left out, in which case the
/// PostgreSQL default applies.
pub fn connect_config(url: &DbUrl) -> Result<tokio_postgres::Config, String> {
    if url.scheme.is_empty() {
        return Err("sqlalchemy.url is not in SQLAlchemy's dialect://… form".into());
    }
    if !DIALECTS.contains(&url.scheme.as_str()) {
        return Err(format!("dialect {} is not read natively", url.scheme));
    }
    let mut config = tokio_postgres::Config::new();
    config
        .application_name("db-migrate")
        .connect_timeout(CONNECT_TIMEOUT);
    config.user(
        url.user
            .as_deref()
            .map(percent_decode)
            .unwrap_or_else(|| "postgres".into()),
    );
    if let Some(pw) = &url.password {
        config.password(percent_decode(pw));
    }
    config.dbname(
        url.database
            .as_deref()
            .map(percent_decode)
            .unwrap_or_else(|| "postgres".into()),
    );
    for (key, value) in &url.query {
        match (key.as_str(), value.as_str()) {
            ("sslmode", "disable" | "allow" | "prefer") | ("ssl", "disable" | "false" | "prefer" | "allow") => {}
            ("application_name", v) => {
                config.application_name(v);
            }
            ("connect_timeout", v) => {
                let secs: u64 = v.parse().map_err(|_| format!("connect_timeout={v} is not a number of seconds"))?;
                config.connect_timeout(Duration::from_secs(secs));
            }
            (k, v) => return Err(format!("the URL option {k}={v} is not supported natively (TLS and server options are left to Alembic)")),
        }
    }
    match url.host.as_deref().map(percent_decode).as_deref() {
        Some(h) if h.starts_with('/') => {
            config.host_path(h);
        }
        Some(h) => {
            config.host(h.trim_start_matches('[').trim_end_matches(']'));
        }
        None => {
            config.host("localhost");
        }
    }
    config.port(url.port.unwrap_or(5432));
    Ok(config)
}

/// Connect, bounding the whole handshake: `connect_timeout` covers only the TCP connect, and a
/// server that accepts but never answers must not hang db-migrate.
pub(super) async fn connect(
    config: &tokio_postgres::Config,
) -> Result<
    (
        tokio_postgres::Client,
        tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
    ),
    String,
> {
    let limit = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(CONNECT_TIMEOUT);
    match tokio::time::timeout(limit, config.connect(NoTls)).await {
        Ok(result) => result.map_err(|e| error_text(&e)),
        Err(_) => Err(format!(
            "timed out after {}s waiting for the server to answer",
            limit.as_secs()
        )),
    }
}

/// The application names of the other sessions on this database (db-migrate's own excluded).
pub async fn other_sessions(config: &tokio_postgres::Config) -> Result<Vec<String>, String> {
    let sql = "SELECT coalesce(nullif(application_name, ''), '(unnamed)') FROM pg_stat_activity \
               WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND application_name NOT LIKE 'db-migrate%' ORDER BY 1";
    first_column(config, sql).await?.map_err(|e| error_text(&e))
}

/// The revisions in `alembic_version`; an absent table is a fresh database (no revisions).
/// The error is the driver's message, for the remediation table.
pub async fn current(config: &tokio_postgres::Config) -> Result<Vec<String>, String> {
    match first_column(config, "SELECT version_num FROM alembic_version").await? {
        Ok(rows) => Ok(rows),
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(Vec::new()),
        Err(e) => Err(error_text(&e)),
    }
}

/// Connect, run one query over the simple protocol (one round trip, no prepared statement) and
/// return its first column. The outer error is the connection's, the inner one the query's.
async fn first_column(
    config: &tokio_postgres::Config,
    sql: &str,
) -> Result<Result<Vec<String>, tokio_postgres::Error>, String> {
    let (client, connection) = connect(config).await?;
    let task = tokio::spawn(connection);
    let rows = client.simple_query(sql).await.map(|messages| {
        messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .collect()
    });
    drop(client);
    let _ = task.await;
    Ok(rows)
}

/// The whole chain of an error, e.g. `error connecting to server: Connection refused (os error 111)`.
pub(super) fn error_text(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    if let Some(db) = e.as_db_error() {
        text = format!("{text}: {} {}", db.severity(), db.message());
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text = format!("{text}: {s_text}");
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> DbUrl {
        DbUrl::parse(text).unwrap()
    }

    #[test]
    fn maps_backend_ai_urls() {
        let config = connect_config(&url(
            "postgresql+asyncpg://postgres:p%40ss@127.0.0.1:8100/backend",
        ))
        .unwrap();
        assert_eq!(config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(config.get_ports(), &[8100]);
        assert_eq!(config.get_dbname(), Some("backend"));
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        assert!(connect_config(&url("mysql+pymysql://u:p@h/db")).is_err());
        assert!(connect_config(&url("postgresql://u:p@h/db?sslmode=require")).is_err());
        assert!(connect_config(&url("postgresql-asyncpg://u:p@h/db")).is_err());
        assert!(connect_config(&url(
            "postgresql://u:p@h/db?sslmode=disable&application_name=x"
        ))
        .is_ok());
        let socket = connect_config(&url("postgresql://u@/db?host=/var/run/postgresql")).unwrap();
        assert_eq!(
            socket.get_hosts(),
            &[tokio_postgres::config::Host::Unix(
                "/var/run/postgresql".into()
            )]
        );
        assert_eq!(socket.get_ports(), &[5432]);
    }

    #[test]
    fn connects_where_the_url_says_and_nowhere_else() {
        let tcp = |text: &str| {
            let config = connect_config(&url(text)).unwrap();
            (config.get_hosts().to_vec(), config.get_ports().to_vec())
        };
        let host = |h: &str| tokio_postgres::config::Host::Tcp(h.into());
        assert_eq!(
            tcp("postgresql://u:p@[::1]:5433/db"),
            (vec![host("::1")], vec![5433])
        );
        assert_eq!(
            tcp("postgresql://u:p@db/x?port=6000"),
            (vec![host("db")], vec![6000])
        );
        assert_eq!(
            tcp("postgresql://u:p@/x?host=db:6001"),
            (vec![host("db")], vec![6001])
        );
        assert_eq!(
            tcp("postgresql:///x"),
            (vec![host("localhost")], vec![5432])
        );
        let socket = connect_config(&url("postgresql://u:p@:5433/x?host=%2Ftmp%2Fpg")).unwrap();
        assert_eq!(
            socket.get_hosts(),
            &[tokio_postgres::config::Host::Unix("/tmp/pg".into())]
        );
        assert_eq!(socket.get_ports(), &[5433]);
    }
}
