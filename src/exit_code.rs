//! The exit codes db-migrate promises, in one place (also shown in `--help`, the README and the
//! generated `docs/failures.md`).

/// The command did what was asked; for `status`, the state was determined.
pub const OK: u8 = 0;
/// An operation failed: Alembic, the database or the workspace reported an error.
pub const FAILED: u8 = 1;
/// Usage error: bad flag, bad target syntax, unknown component, missing `--yes`.
pub const USAGE: u8 = 2;
/// `status --check`: some component is not up-to-date.
pub const NOT_UP_TO_DATE: u8 = 3;
/// Interrupted by SIGINT/SIGTERM (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// Every code with what it means, as `--help` shows it.
pub const ALL: [(u8, &str); 5] = [
    (
        OK,
        "success; for `status`, the state of every component was determined",
    ),
    (
        FAILED,
        "an operation failed (Alembic, database or workspace error)",
    ),
    (
        USAGE,
        "usage error (bad flag or target, unknown component, downgrade without --yes)",
    ),
    (
        NOT_UP_TO_DATE,
        "`status --check`: a component is not up-to-date",
    ),
    (INTERRUPTED, "interrupted (Ctrl-C / SIGTERM)"),
];

/// The table rendered into `--help`.
pub const HELP_TABLE: &str = "\
Exit codes:
  0    success; for `status`, the state of every component was determined
  1    an operation failed (Alembic, database or workspace error)
  2    usage error (bad flag or target, unknown component, downgrade without --yes)
  3    `status --check`: a component is not up-to-date
  130  interrupted (Ctrl-C / SIGTERM)";

#[cfg(test)]
mod tests {
    #[test]
    fn the_help_table_lists_every_code() {
        let rows: String = super::ALL
            .iter()
            .map(|(code, meaning)| format!("\n  {code:<4} {meaning}"))
            .collect();
        assert_eq!(super::HELP_TABLE, format!("Exit codes:{rows}"));
    }
}
