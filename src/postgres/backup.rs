//! `--backup [PATH]`: a `pg_dump -Fc` of the component's database before a migration runs. The
//! password goes through the environment (never argv), the file is created with mode 0600 in a
//! directory only its owner can enter, and a failed backup stops the migration before anything
//! changes. The default directory, `.db-migrate/backups` at the root, is ignored by git: a dump
//! holds real data and must not be committed by a `git add -A`.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::failure::{Failure, Kind};
use crate::postgres::pgdump::{last_error_line, PgDump, Unavailable};
use crate::workspace::Config;

/// Where and how the dump was written.
pub struct Backup {
    pub path: PathBuf,
    /// The command that restores it (no password in it).
    pub restore: String,
}

/// Dump the database of `config` to `requested` (or the default path when `None`).
pub async fn dump(
    config: &Config,
    revision: &str,
    requested: Option<&Path>,
) -> Result<Backup, Failure> {
    let nothing_changed = |kind: Kind, message: String, cause: &str, fix: String| {
        let mut f = Failure::new(kind, message, cause, fix);
        f.database = Some("unchanged: the migration did not start".into());
        f
    };
    let pg_dump = match PgDump::for_config(config) {
        Ok(p) => p,
        Err(Unavailable::NotPostgres) => {
            return Err(nothing_changed(
                Kind::BackupUnsupported,
                format!(
                    "--backup needs a PostgreSQL database, and {} is not one",
                    config.ini_arg
                ),
                "pg_dump backs up PostgreSQL only",
                "back the database up by hand, then rerun without --backup".into(),
            ))
        }
        Err(Unavailable::Missing(program)) => {
            return Err(nothing_changed(
                Kind::PgDumpMissing,
                format!("--backup needs pg_dump, and {} was not found", program.display()),
                "the PostgreSQL client tools are not installed (or DB_MIGRATE_PG_DUMP points nowhere)",
                "apt-get install postgresql-client (a version at least as new as the server), then retry".into(),
            ))
        }
    };
    let path = match requested {
        Some(p) => config.root.join(p),
        None => config.root.join(BACKUP_DIR).join(format!(
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
            Kind::BackupPath,
            format!("cannot write the backup to {}: {e}", path.display()),
            "the directory does not exist or is not writable",
            "pass --backup with a writable path, e.g. --backup /tmp/backup.dump".into(),
        )
    };
    if requested.is_none() {
        crate::workspace::state_dir::ensure(&config.root, "backups").map_err(unwritable)?;
    } else if let Some(dir) = path.parent() {
        // Directories made for the dump are private; existing ones are the user's to choose.
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(unwritable)?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(unwritable)?;

    // Interrupted half-way, the dump is no backup: it goes with db-migrate (pg_dump itself is
    // killed then, see `child`).
    let partial = {
        let path = path.clone();
        crate::cleanup::register(move || async move {
            let _ = std::fs::remove_file(&path);
        })
    };
    // Async, so that Ctrl-C is seen while it runs (the runtime has one thread).
    let mut cmd = tokio::process::Command::from(pg_dump.command());
    cmd.arg("-Fc")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let output = cmd.output().await;
    partial.disarm();
    let output = output.map_err(|e| {
        let _ = std::fs::remove_file(&path);
        nothing_changed(
            Kind::PgDumpMissing,
            format!("cannot run {}: {e}", pg_dump.program().display()),
            "pg_dump could not be started",
            "check the PostgreSQL client installation".into(),
        )
    })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&path);
        let mut f = nothing_changed(
            Kind::BackupFailed,
            format!("the backup of {} failed, so the migration did not run", config.label),
            "pg_dump could not dump the database (see its message)",
            "fix what pg_dump reports (a client older than the server needs a newer postgresql-client), then retry".into(),
        );
        f.alembic_line = Some(last_error_line(&output.stderr));
        return Err(f);
    }
    let restore = format!(
        "pg_restore --clean --if-exists {} {}",
        pg_dump.connection_args(),
        path.display()
    );
    Ok(Backup { path, restore })
}

/// Where backups go by default, relative to the root (see `state_dir`).
const BACKUP_DIR: &str = ".db-migrate/backups";

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
