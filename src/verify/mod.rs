//! `verify`'s domain: which revisions to prove and in what order (`plan`), and the drift between
//! the models and the migrated schema (`drift`).

pub mod drift;
pub mod plan;
