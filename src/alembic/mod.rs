//! Everything that talks to Alembic: running it and reading what it prints.

pub mod parse;
pub mod pool;
pub mod runner;
pub mod worker;

pub use runner::{migration, read_only, Input, Output, Stream};
