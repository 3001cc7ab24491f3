//! Scratch databases for `verify`: `<db>_verify_<id>` on the component's own server, made from
//! the component's database (`CREATE DATABASE … TEMPLATE` when nobody else is connected to it,
//! else `pg_dump | pg_restore`) or empty, and dropped again — also on Ctrl-C, through a
//! [`cleanup`] job registered before the database exists. The configured database is only ever
//! read (as a template or by pg_dump).

use std::process::Stdio;
use std::time::Duration;

use tokio_postgres::error::SqlState;

use crate::cleanup::{self, Registration};
use crate::failure::{Failure, Kind};
use crate::postgres::connect::{connect, connect_config, error_text};
use crate::postgres::pgdump::{last_error_line, PgDump, Unavailable};
use crate::workspace::ini::DbUrl;

/// What the scratch database starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A copy of the component's database.
    Copy,
    /// An empty database (`--from-empty`).
    Empty,
}

/// How it was made, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// `CREATE DATABASE … TEMPLATE <db>`.
    Template,
    /// `pg_dump | pg_restore`: the database had other sessions, or may not be used as a template.
    DumpRestore,
    /// `CREATE DATABASE`.
    Empty,
}

impl Made {
    pub fn as_str(self) -> &'static str {
        match self {
            Made::Template => "template",
            Made::DumpRestore => "dump-restore",
            Made::Empty => "empty",
        }
    }
}

/// A scratch database that exists until [`Scratch::drop`] or [`Scratch::keep`].
pub struct Scratch {
    pub name: String,
    pub made: Made,
    /// Why a copy was not made from the template (when it was not).
    pub why_dump: Option<String>,
    admin: tokio_postgres::Config,
    registration: Registration,
}

/// How long a drop may take on the way out.
const DROP_LIMIT: Duration = Duration::from_secs(10);

/// `<db>_verify_<6 random characters>`, cut to PostgreSQL's 63-byte identifiers.
pub fn name_for(database: &str) -> String {
    let suffix = format!("_verify_{}", random_id());
    let mut base: String = database.to_owned();
    while base.len() + suffix.len() > 63 {
        base.pop();
    }
    format!("{base}{suffix}")
}

fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    let mut n = hasher.finish();
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|_| {
            let c = alphabet[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Create `name` on `url`'s server from `source`. `pg_dump` is the component database's (for the
/// copy when the template cannot be used).
pub async fn create(
    url: &DbUrl,
    name: &str,
    source: Source,
    pg_dump: &PgDump,
) -> Result<Scratch, Failure> {
    let component_config = connect_config(url).map_err(|why| {
        Failure::usage(
            Kind::VerifyUnsupported,
            format!("verify cannot connect to this database natively: {why}"),
            "point sqlalchemy.url at the PostgreSQL server directly (TLS options are not supported by verify)",
        )
    })?;
    let source_db = component_config
        .get_dbname()
        .unwrap_or("postgres")
        .to_owned();
    let user = component_config.get_user().unwrap_or("postgres").to_owned();
    let admin = maintenance(&component_config)
        .await
        .map_err(|f| f.on_server(url.host_port()))?;
    let registration = {
        let (admin, name) = (admin.clone(), name.to_owned());
        cleanup::register(move || async move {
            let _ = drop_database(&admin, &name).await;
        })
    };
    let mut scratch = Scratch {
        name: name.to_owned(),
        made: Made::Empty,
        why_dump: None,
        admin,
        registration,
    };
    let create = |template: Option<&str>| match template {
        Some(t) => format!("CREATE DATABASE {} TEMPLATE {}", quote(name), quote(t)),
        None => format!("CREATE DATABASE {}", quote(name)),
    };
    // Armed from before CREATE DATABASE is sent (an interrupt may come while it runs); disarmed
    // when the database was never made (a name taken by a database of someone else's must not
    // be dropped on the way out).
    let made = match source {
        Source::Empty => execute(&scratch.admin, &create(None))
            .await
            .map(|()| Made::Empty)
            .map_err(|e| (false, cannot_create(&user, name, &pg_dump.server_args(), e))),
        Source::Copy => match execute(&scratch.admin, &create(Some(&source_db))).await {
            Ok(()) => Ok(Made::Template),
            // In use, or not ours to copy. A role without CREATEDB fails the same way and is
            // told so by the next CREATE DATABASE, whatever the server's language.
            Err(e)
                if matches!(
                    e.code,
                    Some(SqlState::OBJECT_IN_USE) | Some(SqlState::INSUFFICIENT_PRIVILEGE)
                ) =>
            {
                scratch.why_dump = Some(e.text.clone());
                match execute(&scratch.admin, &create(Some("template0"))).await {
                    Err(e) => Err((false, cannot_create(&user, name, &pg_dump.server_args(), e))),
                    Ok(()) => dump_restore(pg_dump, name)
                        .await
                        .map(|()| Made::DumpRestore)
                        .map_err(|f| (true, f)),
                }
            }
            Err(e) => Err((false, cannot_create(&user, name, &pg_dump.server_args(), e))),
        },
    };
    match made {
        Ok(made) => {
            scratch.made = made;
            Ok(scratch)
        }
        Err((true, failure)) => {
            let _ = scratch.drop().await;
            Err(failure)
        }
        Err((false, failure)) => {
            scratch.registration.disarm();
            Err(failure)
        }
    }
}

impl Scratch {
    /// Drop the database (with `FORCE`, so a leftover session cannot keep it).
    pub async fn drop(self) -> Result<(), String> {
        let result = tokio::time::timeout(DROP_LIMIT, drop_database(&self.admin, &self.name))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the server did not answer within {}s",
                    DROP_LIMIT.as_secs()
                ))
            });
        self.registration.disarm();
        result
    }

    /// Leave it in place (`--keep`): no job drops it on the way out.
    pub fn keep(self) {
        self.registration.disarm();
    }
}

/// A connection to the server's maintenance database (`postgres`, else `template1`), with the
/// component's credentials: CREATE/DROP DATABASE cannot run in the database they copy or drop.
async fn maintenance(config: &tokio_postgres::Config) -> Result<tokio_postgres::Config, Failure> {
    let mut last = String::new();
    for db in ["postgres", "template1"] {
        let mut admin = config.clone();
        admin.dbname(db).application_name("db-migrate verify");
        match connect(&admin).await {
            Ok((client, connection)) => {
                drop(client);
                drop(connection);
                return Ok(admin);
            }
            Err(e) => last = e,
        }
    }
    Err(Failure::new(
        Kind::VerifyNoServer,
        format!("cannot connect to the server's maintenance database (postgres or template1): {last}"),
        "verify creates its scratch database from there, with the credentials of sqlalchemy.url",
        "check that the server runs and the URL's user may connect to the postgres database, then retry",
    ))
}

struct SqlError {
    code: Option<SqlState>,
    text: String,
}

async fn execute(admin: &tokio_postgres::Config, sql: &str) -> Result<(), SqlError> {
    let (client, connection) = connect(admin)
        .await
        .map_err(|text| SqlError { code: None, text })?;
    let task = tokio::spawn(connection);
    let result = client
        .simple_query(sql)
        .await
        .map(|_| ())
        .map_err(|e| SqlError {
            code: e.code().cloned(),
            text: e
                .as_db_error()
                .map_or_else(|| error_text(&e), |d| d.message().to_owned()),
        });
    drop(client);
    let _ = task.await;
    result
}

async fn drop_database(admin: &tokio_postgres::Config, name: &str) -> Result<(), String> {
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(name));
    match execute(admin, &sql).await {
        // Before PostgreSQL 13 there is no FORCE.
        Err(e) if e.code == Some(SqlState::SYNTAX_ERROR) => {
            execute(admin, &format!("DROP DATABASE IF EXISTS {}", quote(name)))
                .await
                .map_err(|e| e.text)
        }
        other => other.map_err(|e| e.text),
    }
}

fn cannot_create(user: &str, name: &str, server: &str, e: SqlError) -> Failure {
    if e.code == Some(SqlState::INSUFFICIENT_PRIVILEGE) {
        return Failure::new(
            Kind::VerifyCannotCreate,
            format!("cannot create the scratch database {name}: {}", e.text),
            format!("verify works on a scratch database on the component's server, and the role {user} may not create databases"),
            format!("let it, as a superuser: psql {server} -U postgres -d postgres -c 'ALTER ROLE {} CREATEDB', then retry", quote(user)),
        );
    }
    if e.code == Some(SqlState::INVALID_CATALOG_NAME) {
        return Failure::new(
            Kind::VerifyNoDatabase,
            format!("cannot copy the database into {name}: {}", e.text),
            "the configured database does not exist yet, so there is nothing to copy",
            "start from an empty database instead (--from-empty)",
        );
    }
    Failure::new(
        Kind::VerifyCannotCreate,
        format!("cannot create the scratch database {name}: {}", e.text),
        "PostgreSQL refused CREATE DATABASE (see its message)",
        "fix what PostgreSQL reports, then retry",
    )
}

/// `pg_dump -Fc <db> | pg_restore --no-owner --exit-on-error -d <scratch>`, both checked.
async fn dump_restore(pg_dump: &PgDump, scratch: &str) -> Result<(), Failure> {
    let restore = match pg_dump.sibling("pg_restore") {
        Ok(r) => r.with_database(scratch),
        Err(Unavailable::Missing(_) | Unavailable::NotPostgres) => {
            return Err(Failure::new(
                Kind::PgDumpMissing,
                "verify needs pg_restore to copy a database that has other sessions, and it was not found",
                "the PostgreSQL client tools are incomplete",
                "apt-get install postgresql-client (or close the other sessions so the database can be used as a template), then retry",
            ));
        }
    };
    let mut dump = tokio::process::Command::from(pg_dump.command());
    dump.args(["--format=custom"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut dump = dump.spawn().map_err(|e| cannot_run(pg_dump, &e))?;
    let piped: Stdio = dump
        .stdout
        .take()
        .and_then(|o| o.try_into().ok())
        .unwrap_or_else(Stdio::null);
    let mut load = tokio::process::Command::from(restore.command());
    load.args(["--no-owner", "--exit-on-error"])
        .stdin(piped)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let load = load.spawn().map_err(|e| cannot_run(&restore, &e))?;
    let (dumped, loaded) = tokio::join!(dump.wait_with_output(), load.wait_with_output());
    for (tool, result) in [("pg_dump", dumped), ("pg_restore", loaded)] {
        let output = result.map_err(|e| {
            Failure::new(
            Kind::VerifyCopyFailed,
            format!("{tool} failed while copying the database: {e}"),
            "the copy could not be made",
            "retry, or pass --from-empty to build the scratch database from the migrations alone",
        )
        })?;
        if !output.status.success() {
            let mut f = Failure::new(
                Kind::VerifyCopyFailed,
                format!("{tool} failed while copying the database into {scratch}"),
                "the database could not be copied (its sessions kept it from being a template, so verify used pg_dump | pg_restore)",
                "fix what it reports, close the other sessions so a template copy works, or pass --from-empty",
            );
            f.alembic_line = Some(last_error_line(&output.stderr));
            return Err(f);
        }
    }
    Ok(())
}

fn cannot_run(tool: &PgDump, e: &std::io::Error) -> Failure {
    Failure::new(
        Kind::PgDumpMissing,
        format!("cannot run {}: {e}", tool.program().display()),
        "a PostgreSQL client tool could not be started",
        "check the PostgreSQL client installation (apt-get install postgresql-client)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_fit_an_identifier_and_differ() {
        let a = name_for("backend");
        assert!(a.starts_with("backend_verify_") && a.len() == "backend_verify_".len() + 6);
        let long = name_for(&"x".repeat(80));
        assert_eq!(long.len(), 63);
        assert!(long.contains("_verify_"), "{long}");
        assert_ne!(name_for("backend"), name_for("backend"));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("we\"ird"), "\"we\"\"ird\"");
    }
}
