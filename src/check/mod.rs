//! `db-migrate check`: lint each new Alembic revision for PostgreSQL lock and downtime hazards
//! before it is merged or applied. The rules are squawk's (the `squawk-linter` crate), run on the
//! SQL that Alembic's offline mode prints for one revision at a time; [`lint`] turns that output
//! into findings and points each back at the `op.*` call in the revision file that produced it.

// The check command (next) uses this.
#![allow(dead_code)]

pub mod lint;
