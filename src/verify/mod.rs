//! `verify`'s domain: what a scratch database migrated to head is checked for, one module per
//! check; `commands::verify` runs them and reports.

pub mod drift;
