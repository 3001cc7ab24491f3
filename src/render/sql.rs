//! `--sql`: the SQL Alembic writes in offline mode, on stdout as it comes, masked. Not in JSON:
//! a JSON run's stdout is one document, with no place for SQL.

use crate::mask;
use crate::render::Format;

/// The printer of `--sql`'s SQL.
pub struct Sql(());

impl Sql {
    /// The printer, or `None` when `format` cannot carry SQL.
    pub fn new(format: Format) -> Option<Sql> {
        (format != Format::Json).then_some(Sql(()))
    }

    /// One line of SQL.
    pub fn line(&self, line: &str) {
        outln!("{}", mask::mask(line));
    }
}
