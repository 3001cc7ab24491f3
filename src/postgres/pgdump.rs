//! Running `pg_dump` against a component's database: the program (`DB_MIGRATE_PG_DUMP`, else
//! `pg_dump` on PATH), the connection taken from `sqlalchemy.url`, and the password passed through
//! `PGPASSWORD` in the child's environment, never on its command line.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::mask::{self, percent_decode};
use crate::workspace::Config;

pub struct PgDump {
    program: PathBuf,
    host: String,
    port: String,
    user: String,
    database: String,
    password: Option<String>,
}

pub enum Unavailable {
    /// The config's database is not PostgreSQL (or has no URL in the ini).
    NotPostgres,
    /// No pg_dump program: the name that was looked for.
    Missing(PathBuf),
}

impl PgDump {
    pub fn for_config(config: &Config) -> Result<PgDump, Unavailable> {
        let url = config
            .url
            .as_ref()
            .filter(|u| u.is_postgres())
            .ok_or(Unavailable::NotPostgres)?;
        let wanted = std::env::var_os("DB_MIGRATE_PG_DUMP")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("pg_dump"));
        let program = which::which(&wanted).map_err(|_| Unavailable::Missing(wanted))?;
        let decoded = |v: &Option<String>, default: &str| {
            v.as_deref()
                .map(percent_decode)
                .unwrap_or_else(|| default.into())
        };
        Ok(PgDump {
            program,
            host: decoded(&url.host, "localhost"),
            port: url.port.unwrap_or(5432).to_string(),
            user: decoded(&url.user, "postgres"),
            database: decoded(&url.database, "postgres"),
            password: url.password.as_deref().map(percent_decode),
        })
    }

    /// The same connection to another database on the server (a scratch copy).
    pub fn with_database(&self, database: &str) -> PgDump {
        PgDump {
            program: self.program.clone(),
            host: self.host.clone(),
            port: self.port.clone(),
            user: self.user.clone(),
            database: database.to_owned(),
            password: self.password.clone(),
        }
    }

    /// Another client tool of the same installation (`pg_restore` beside this `pg_dump`, so the
    /// two have one version), else the one on PATH.
    pub fn sibling(&self, name: &str) -> Result<PgDump, Unavailable> {
        let beside = self.program.with_file_name(name);
        let program = if beside.is_file() {
            beside
        } else {
            which::which(name).map_err(|_| Unavailable::Missing(PathBuf::from(name)))?
        };
        Ok(PgDump {
            program,
            ..self.with_database(&self.database)
        })
    }

    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    /// `pg_dump -h … -p … -U … -d …` with the password in the environment; add the rest.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(["-h", &self.host, "-p", &self.port, "-U", &self.user])
            .args(["-d", &self.database])
            .env("PGCONNECT_TIMEOUT", "5")
            .env_remove("PGPASSWORD")
            .stdin(Stdio::null());
        crate::child::tie_to_parent(&mut cmd);
        if let Some(pw) = &self.password {
            cmd.env("PGPASSWORD", pw);
        }
        cmd
    }

    /// `-h … -p … -U … -d …` for commands printed to the user (no password).
    pub fn connection_args(&self) -> String {
        format!(
            "{} -U {} -d {}",
            self.server_args(),
            self.user,
            self.database
        )
    }

    /// `-h … -p …`: the server alone, for a command run as another role.
    pub fn server_args(&self) -> String {
        format!("-h {} -p {}", self.host, self.port)
    }
}

/// The last non-empty line pg_dump printed on stderr, masked: usually the reason it failed.
pub fn last_error_line(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("pg_dump failed");
    mask::mask(last).into_owned()
}
