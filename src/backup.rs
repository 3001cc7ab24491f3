//! `--backup [PATH]`: a `pg_dump -Fc` of the component's database before a migration runs. The
//! password goes through the environment (never argv), the file is created with mode 0600, and a
//! failed backup stops the migration before anything changes.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Failure;
use crate::mask::{self, percent_decode};
use crate::workspace::Config;

/// Where and how the dump was written.
pub struct Backup {
    pub path: PathBuf,
    /// The command that restores it (no password in it).
    pub restore: String,
}

/// Dump the database of `config` to `requested` (or the default path when `None`).
pub fn dump(config: &Config, revision: &str, requested: Option<&Path>) -> Result<Backup, Failure> {
    let nothing_changed = |kind: &str, message: String, cause: &str, fix: String| {
        let mut f = Failure::new(kind, message, cause, fix);
        f.database = Some("unchanged: the migration did not start".into());
        f
    };
    let Some(url) = config.url.as_ref().filter(|u| u.is_postgres()) else {
        return Err(nothing_changed(
            "backup-unsupported",
            format!(
                "--backup needs a PostgreSQL database, and {} is not one",
                config.ini_arg
            ),
            "pg_dump backs up PostgreSQL only",
            "back the database up by hand, then rerun without --backup".into(),
        ));
    };
    let program = std::env::var_os("DB_MIGRATE_PG_DUMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("pg_dump"));
    let Ok(pg_dump) = which::which(&program) else {
        return Err(nothing_changed(
            "pg-dump-missing",
            format!("--backup needs pg_dump, and {} was not found", program.display()),
            "the PostgreSQL client tools are not installed (or DB_MIGRATE_PG_DUMP points nowhere)",
            "apt-get install postgresql-client (a version at least as new as the server), then retry".into(),
        ));
    };
    let path = match requested {
        Some(p) => config.root.join(p),
        None => config.root.join(".db-migrate/backups").join(format!(
            "{}-{}-{}.dump",
            config.label,
            if revision.is_empty() {
                "base"
            } else {
                revision
            },
            timestamp()
        )),
    };
    let unwritable = |e: std::io::Error| {
        nothing_changed(
            "backup-path",
            format!("cannot write the backup to {}: {e}", path.display()),
            "the directory does not exist or is not writable",
            "pass --backup with a writable path, e.g. --backup /tmp/backup.dump".into(),
        )
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(unwritable)?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(unwritable)?;

    let host = url.host.clone().unwrap_or_else(|| "localhost".into());
    let port = url.port.unwrap_or(5432).to_string();
    let user = url
        .user
        .as_deref()
        .map(percent_decode)
        .unwrap_or_else(|| "postgres".into());
    let database = url
        .database
        .as_deref()
        .map(percent_decode)
        .unwrap_or_else(|| "postgres".into());
    let mut cmd = Command::new(&pg_dump);
    cmd.args([
        "-Fc", "-h", &host, "-p", &port, "-U", &user, "-d", &database, "-f",
    ])
    .arg(&path)
    .env("PGCONNECT_TIMEOUT", "5")
    .env_remove("PGPASSWORD")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    if let Some(pw) = &url.password {
        cmd.env("PGPASSWORD", percent_decode(pw));
    }
    let output = cmd.output().map_err(|e| {
        nothing_changed(
            "pg-dump-missing",
            format!("cannot run {}: {e}", pg_dump.display()),
            "pg_dump could not be started",
            "check the PostgreSQL client installation".into(),
        )
    })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&path);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("pg_dump failed")
            .to_owned();
        let mut f = nothing_changed(
            "backup-failed",
            format!("the backup of {} failed, so the migration did not run", config.label),
            "pg_dump could not dump the database (see its message)",
            "fix what pg_dump reports (a client older than the server needs a newer postgresql-client), then retry".into(),
        );
        f.alembic_line = Some(mask::mask(&last).into_owned());
        return Err(f);
    }
    let restore = format!(
        "pg_restore --clean --if-exists -h {host} -p {port} -U {user} -d {database} {}",
        path.display()
    );
    Ok(Backup { path, restore })
}

/// `20261124T083000Z` in UTC, without a date library.
fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_is_compact_utc() {
        let t = super::timestamp();
        assert_eq!(t.len(), 16, "{t}");
        assert!(
            t.starts_with("20") && t.ends_with('Z') && t.as_bytes()[8] == b'T',
            "{t}"
        );
    }
}
