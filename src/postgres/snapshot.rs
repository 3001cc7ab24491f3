//! Schema snapshots for `roundtrip`: `pg_dump --schema-only`, normalised so that two dumps of the
//! same schema are equal line for line, and a unified diff when they are not.

use std::process::Stdio;

use similar::TextDiff;

use crate::failure::{Failure, Kind};
use crate::postgres::pgdump::{last_error_line, PgDump, Unavailable};
use crate::workspace::Config;

/// The schema as normalised DDL lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub lines: Vec<String>,
}

/// The pg_dump to snapshot `config`'s database with: checked before anything changes.
/// `command` (`roundtrip`, `verify`) names who needs it in the messages; `unsupported` is its
/// kind of failure when the database is not PostgreSQL.
pub fn tool(config: &Config, command: &str, unsupported: Kind) -> Result<PgDump, Failure> {
    match PgDump::for_config(config) {
        Ok(p) => Ok(p),
        Err(Unavailable::NotPostgres) => Err(Failure::usage(
            unsupported,
            format!(
                "{command} compares PostgreSQL schemas, and {} is not a PostgreSQL database",
                config.ini_arg
            ),
            "run it against a PostgreSQL database (the halfstack's, or a scratch one)",
        )),
        Err(Unavailable::Missing(program)) => Err(Failure::new(
            Kind::PgDumpMissing,
            format!("{command} needs pg_dump, and {} was not found; nothing was changed", program.display()),
            "the PostgreSQL client tools are not installed (or DB_MIGRATE_PG_DUMP points nowhere)",
            "apt-get install postgresql-client (a version at least as new as the server), then retry",
        )),
    }
}

/// Dump the schema (without Alembic's own version table) and normalise it.
/// Async, so that Ctrl-C is seen while pg_dump runs (the runtime has one thread).
pub async fn take(pg_dump: &PgDump, config: &Config) -> Result<Snapshot, Failure> {
    let output = tokio::process::Command::from(pg_dump.command())
        .args(["--schema-only", "--exclude-table=alembic_version"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|e| {
            Failure::new(
                Kind::PgDumpMissing,
                format!("cannot run {}: {e}", pg_dump.program().display()),
                "pg_dump could not be started",
                "check the PostgreSQL client installation",
            )
        })?;
    if !output.status.success() {
        let mut f = Failure::new(
            Kind::SnapshotFailed,
            format!("pg_dump --schema-only of {} failed", config.label),
            "pg_dump could not dump the schema (see its message)",
            "fix what pg_dump reports (a client older than the server needs a newer postgresql-client), then retry",
        );
        f.alembic_line = Some(last_error_line(&output.stderr));
        return Err(f);
    }
    Ok(Snapshot {
        lines: normalise(&String::from_utf8_lossy(&output.stdout)),
    })
}

/// Keep the DDL; drop what changes between two dumps of one schema: comments (pg_dump's headers
/// and version), blank lines, session settings and psql's `\restrict` guard lines.
pub fn normalise(dump: &str) -> Vec<String> {
    dump.lines()
        .map(str::trim_end)
        .filter(|l| {
            !(l.is_empty()
                || l.starts_with("--")
                || l.starts_with("SET ")
                || l.starts_with("SELECT pg_catalog.set_config(")
                || l.starts_with("\\restrict")
                || l.starts_with("\\unrestrict"))
        })
        .map(str::to_owned)
        .collect()
}

/// A unified diff (`-` before, `+` after) with three lines of context; empty when equal.
pub fn diff(before: &Snapshot, after: &Snapshot, before_name: &str, after_name: &str) -> String {
    if before == after {
        return String::new();
    }
    let (a, b) = (
        before.lines.join("\n") + "\n",
        after.lines.join("\n") + "\n",
    );
    TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(before_name, after_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_keeps_ddl_only() {
        let dump = "--\n-- PostgreSQL database dump\n--\n\\restrict abc\nSET statement_timeout = 0;\n\
            SELECT pg_catalog.set_config('search_path', '', false);\n\nCREATE TABLE public.t (\n    id integer\n);\n\n\\unrestrict abc\n";
        assert_eq!(
            normalise(dump),
            ["CREATE TABLE public.t (", "    id integer", ");"]
        );
    }

    #[test]
    fn diff_shows_what_changed() {
        let a = Snapshot {
            lines: vec![
                "CREATE TABLE t (".into(),
                "    id integer,".into(),
                "    name text".into(),
                ");".into(),
            ],
        };
        let mut b = a.clone();
        assert_eq!(diff(&a, &b, "before", "after"), "");
        b.lines.remove(2);
        let d = diff(&a, &b, "before", "after");
        assert!(d.contains("-    name text"), "{d}");
        assert!(d.starts_with("--- before\n+++ after\n"), "{d}");
    }
}
