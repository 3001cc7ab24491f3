//! The stdout path lives in the output layer now ([`crate::render::stdout`]); this keeps the
//! `out!`/`outln!` macros and `stdout::finish` callers working until they name it there.

pub use crate::render::stdout::{finish, record, write, written};
