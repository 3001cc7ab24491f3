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
//! - [`check`], [`verify`] and [`new`]: their own documents;
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
pub mod new;
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
    New(new::Report),
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// `docs/json.md` promises that every field says whether it is stable: a field added without
    /// saying so fails here. (`Failure`'s fields are described in `docs/json.md` until its own
    /// module documents them.)
    #[test]
    fn every_field_says_whether_it_is_stable() {
        let schema: Value = serde_json::from_str(&super::schema()).expect("the schema is JSON");
        let defs = schema["$defs"].as_object().expect("$defs");
        let mut silent = Vec::new();
        for (name, def) in defs.iter().filter(|(name, _)| *name != "Failure") {
            let mut objects = vec![def];
            // Tagged enums (Evidence) keep their objects' properties under oneOf.
            objects.extend(def["oneOf"].as_array().into_iter().flatten());
            for object in objects {
                for (field, property) in object["properties"].as_object().into_iter().flatten() {
                    let description = property["description"].as_str().unwrap_or("");
                    let tag = field == "by" && property.get("const").is_some();
                    if !tag && !description.contains("Stable") && !description.contains("Unstable")
                    {
                        silent.push(format!("{name}.{field}"));
                    }
                }
            }
        }
        assert!(
            silent.is_empty(),
            "fields that do not say whether they are stable: {silent:?}"
        );
    }

    /// The six documents, and nothing else, at the top.
    #[test]
    fn the_schema_offers_every_document() {
        let schema: Value = serde_json::from_str(&super::schema()).expect("the schema is JSON");
        let refs: Vec<&str> = schema["anyOf"]
            .as_array()
            .expect("anyOf")
            .iter()
            .map(|d| d["$ref"].as_str().expect("a $ref"))
            .collect();
        assert_eq!(
            refs,
            [
                "#/$defs/ComponentsDocument",
                "#/$defs/GraphDocument",
                "#/$defs/CheckDocument",
                "#/$defs/VerifyDocument",
                "#/$defs/NewDocument",
                "#/$defs/FailureDocument",
            ]
        );
    }
}
