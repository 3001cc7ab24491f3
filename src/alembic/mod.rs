//! Everything that talks to Alembic: running it and reading what it prints.

pub mod call;
pub mod parse;
pub mod pool;
pub mod runner;
pub mod worker;

pub use call::{migration, python, read_only};
pub use runner::{Input, Output, Stream};
