//! `new`'s domain pieces: what db-migrate does to the file Alembic wrote ([`shape`]: the
//! `# Part of:` line and the docstring ids) and how the written file is checked, kept apart from
//! the command's flow (`commands/new.rs`) so they are pure and tested without Alembic.

pub mod shape;
