//! The failure document: `{"error": {…}}`, printed when a run fails before any component was
//! looked at (a bad command line, a missing `--config`, an interrupt). The `error` object itself
//! is [`Failure`], the same in every document.

use schemars::JsonSchema;
use serde::Serialize;

/// The error object of every document (defined with the failures themselves; its schema is
/// derived there). The one path the report modules import it by.
pub use crate::failure::Failure;

/// A run that failed as a whole. Stable.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FailureDocument<'a> {
    /// What failed; the exit code follows `error.kind` (see `docs/json.md`). Stable.
    pub error: &'a Failure,
}
