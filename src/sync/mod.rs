//! Bringing a database back to what this checkout holds after a branch switch: the revisions in
//! `alembic_version` that the checkout lacks are found in git (other branches, the reflog), their
//! files extracted privately, walked back with their own `downgrade()`, then the checkout's head
//! applied.

// Used by the `sync` command, which comes next.
#![allow(dead_code)]

pub mod find;
pub mod scratch;
