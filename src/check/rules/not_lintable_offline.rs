//! `not-lintable-offline`: reported by the lint side (rendering migrations to SQL offline); its
//! documentation lives here with the other rules'.

use crate::check::{Rule, Severity};

pub const RULE: Rule = Rule {
    name: "not-lintable-offline",
    default_severity: Severity::Warning,
    summary: "A revision that cannot be rendered to SQL offline, so its SQL was not linted.",
    explain: "\
## What it checks
The SQL lint renders each new migration with Alembic's offline mode (`--sql`) and lints the
result. A migration that talks to the database while it runs (`op.get_bind()`, `sa.inspect()` of
the connection, a `SELECT` whose result decides what to do) cannot be rendered that way. Such a
revision is reported with this rule instead of being passed silently: nothing about its SQL was
checked.

## Why it matters
Data migrations and migrations that inspect the schema are exactly the ones most likely to lock
tables or rewrite them; a lint that skipped them quietly would give false confidence.

## How to fix
Nothing has to change. Review the migration's locking by hand (what it alters, on which tables,
how large they are), then acknowledge it with
`# db-migrate: ignore[not-lintable-offline] <what you checked>` at the top of the file. Where the
database access is only there to decide whether to act, consider doing the work unconditionally
with `IF EXISTS` / `IF NOT EXISTS` so it renders offline.",
};
