//! The published JSON contract: every type `--format json` prints, and nothing else. Commands
//! build these from their outcomes; `render::json` serialises them. The JSON Schema of all of them
//! ([`schema`], printed by `db-migrate schema`, committed as `docs/db-migrate.schema.json`) is
//! derived from these definitions, so the schema and the output cannot disagree; each field's doc
//! comment is its `description`, and says whether the field is stable (see `docs/json.md`).
//!
//! One module per document or part of one:
//! - [`status`]: the components document of status, upgrade, downgrade, migrate, roundtrip,
//!   fix-heads and current;
//! - [`graph`]: the document of heads and history;
//! - [`check`] and [`verify`]: their own documents;
//! - [`failure`]: the document of a run that failed before any component was looked at, and the
//!   `error` object every document carries.
//!
//! Parts shared by several documents: [`divergence`] (a diverged component's branches),
//! [`fix_heads`] (what fix-heads changed).

pub mod check;
pub mod divergence;
pub mod failure;
pub mod fix_heads;
pub mod graph;
pub mod status;
pub mod verify;

use schemars::JsonSchema;

/// Any document `db-migrate … --format json` prints: exactly one JSON document on stdout per run,
/// whatever the exit code. Which one depends on the command (see `docs/json.md`).
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(title = "db-migrate --format json")]
#[allow(dead_code)] // only its schema is used: each command serialises its own document
pub enum Document {
    Components(status::Report),
    Graph(graph::Report),
    Check(check::Report),
    Verify(verify::Report),
    Failure(failure::FailureDocument<'static>),
}

/// The JSON Schema (draft 2020-12) of every `--format json` document, pretty-printed, with a
/// trailing newline. Made for what is printed (serialisation): a field left out when empty is
/// not required.
pub fn schema() -> String {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<Document>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}
