//! JSON output: one document per run, serialised from the types in [`crate::report`] (the
//! published contract, with its JSON Schema) and masked on the way out.

use serde::Serialize;

use crate::mask;
use crate::report::failure::Failure;
use crate::report::failure::FailureDocument;

// The types moved to `crate::report`; re-exported here for the commands that build them.
pub use crate::report::fix_heads::{MergeReport, RepointReport};
pub use crate::report::status::{ComponentReport, Destructive, Report, Roundtrip, Step};

/// Serialise and mask.
pub fn to_string<T: Serialize>(value: &T) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        format!("{{\"error\":{{\"kind\":\"internal-error\",\"cause\":\"{e}\"}}}}")
    });
    mask::mask(&text).into_owned()
}

pub fn failure(f: &Failure) -> String {
    to_string(&FailureDocument { error: f })
}
