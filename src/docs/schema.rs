//! `docs/db-migrate.schema.json`: the JSON Schema of every `--format json` document, as
//! `db-migrate schema` prints it.
#![cfg(test)]

#[test]
fn the_committed_schema_is_what_db_migrate_schema_prints() {
    crate::docs::assert_fresh("docs/db-migrate.schema.json", &crate::report::schema());
}
