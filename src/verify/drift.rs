//! Drift: the models (env.py's `target_metadata`) against a database migrated to head, compared
//! the way `alembic check` does (autogenerate), each difference one readable line instead of
//! Alembic's Python reprs.
//!
//! The comparison runs in Alembic itself: `drift.py` (embedded) does what Alembic 1.13's
//! `command.check` does and prints one JSON object per difference behind a marker, then a summary
//! marker, so a script that died half-way is never taken for "no differences". It runs as
//! `<launcher> -c <script> <ini>` in the workspace root, a read-only call like `alembic current`
//! (same signals, same `--alembic-timeout`).
//!
//! What the lines say, with `+` the models have it and the database does not, `-` the database
//! has it and the models do not, `~` both, differently (old, the database's, `->` new, the
//! models'):
//!
//! ```text
//! + table users                          - table old_things
//! + column users.email VARCHAR(64)       - column users.legacy
//! + index ix_users_email on users (email)
//! - index ix_kernels_status
//! + unique constraint uq_users_name on users (name)
//! + foreign key fk_x on sessions (group_id) -> groups(id)
//! ~ type of sessions.status: VARCHAR(32) -> VARCHAR(64)
//! ~ nullable of users.email: NULL -> NOT NULL
//! ~ default of users.x: 'a' -> 'b'
//! ~ comment of users.x
//! ```
//!
//! A table in a schema other than the default one is named with it (`billing.invoices`).

use serde::Deserialize;
use serde_json::Value;

use crate::alembic::runner;
use crate::failure::{Failure, Kind};
use crate::inspect;
use crate::mask;
use crate::remediation::{self, Context};
use crate::workspace::{Config, Workspace};

/// The comparison, run by the launcher's Python (see the script's docstring).
const SCRIPT: &str = include_str!("drift.py");

/// `@@db-migrate-drift {json}`: one difference.
const DIFFERENCE: &str = "@@db-migrate-drift ";
/// `@@db-migrate-drift-done {"count": N}`: the comparison finished.
const DONE: &str = "@@db-migrate-drift-done ";
/// env.py gives Alembic no MetaData, so there is nothing to compare.
const NO_METADATA: &str = "@@db-migrate-drift-no-metadata";

/// One difference between the models and the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `+` the models have it, the database does not; `-` the database has it, the models do
    /// not; `~` both have it, differently.
    pub sign: char,
    /// Alembic's name for it: `add_column`, `remove_index`, `modify_type`, …
    pub op: String,
    /// What differs, masked: `column users.email VARCHAR(64)`.
    pub text: String,
}

impl Difference {
    /// `+ column users.email VARCHAR(64)` (the report's `Difference::line` is what prints).
    #[cfg(test)]
    pub fn line(&self) -> String {
        format!("{} {}", self.sign, self.text)
    }
}

/// What to do about `differences`, by which side has what. Only in the database (`-`): a
/// migration makes it and the models lack it, so the models are fixed (a new migration would
/// undo what production already has). Only in the models (`+`): a new migration, made by
/// `autogenerate` (the command that writes one). Both, differently (`~`): the database's
/// value is left of `->`, the models' right; whichever side is wrong is fixed. Then `rerun`.
pub fn fix(differences: &[Difference], autogenerate: &str, rerun: &str) -> String {
    let of = |sign: char| -> Vec<&str> {
        differences
            .iter()
            .filter(|d| d.sign == sign)
            .map(|d| d.text.as_str())
            .collect()
    };
    let it = |n: usize| if n == 1 { "it" } else { "them" };
    let mut steps = Vec::new();
    let database = of('-');
    if !database.is_empty() {
        steps.push(format!(
            "the migrations make {} and the models lack {}: add {} to the models (not a new migration: the database is right)",
            database.join(", "),
            it(database.len()),
            it(database.len())
        ));
    }
    let models = of('+');
    if !models.is_empty() {
        steps.push(format!(
            "the models have {} and no migration makes {}: with your database at head, {autogenerate}, review the new file",
            models.join(", "),
            it(models.len())
        ));
    }
    let both = of('~');
    if !both.is_empty() {
        steps.push(format!(
            "{} differ{} (left of -> the database, as the migrations make it; right the models): if the migration is right, change the models; if the models are, {autogenerate}",
            both.join("; "),
            if both.len() == 1 { "s" } else { "" }
        ));
    }
    steps.push(format!("then {rerun}"));
    steps.join("; ")
}

/// What the comparison found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The models and the migrated schema agree.
    Clean,
    /// In the order Alembic found them (by table).
    Differences(Vec<Difference>),
    /// env.py sets no `target_metadata`: there are no models to compare.
    NoMetadata,
}

/// Run the comparison for `config` (its ini names the scratch database) through the launcher.
/// A run that fails (or is interrupted) is explained as a failed `alembic check` would be.
pub async fn compare(ws: &Workspace, config: &Config, verbose: bool) -> Result<Drift, Failure> {
    let args = ["-c", SCRIPT, config.ini_arg.as_str()];
    let relay = inspect::relay(verbose, &config.label, "check");
    let output = crate::alembic::python(ws, config, &args, relay).await?;
    if !output.success() {
        // Includes an interrupt: `interrupted`, exit 130.
        return Err(remediation::diagnose(
            "check",
            &output,
            &Context::of(config),
        ));
    }
    parse(&output.stdout).map_err(|why| {
        let last = output
            .stderr
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| mask::mask(l).into_owned());
        Failure::new(
            Kind::AlembicFailed,
            format!(
                "the drift check for {} ended without its result: {why}",
                config.label
            ),
            "env.py or the models ended the process early (sys.exit, os._exit) or wrote over the check's output",
            format!(
                "rerun with -v to see everything it printed; `{} -m alembic -c {} check` runs Alembic's own comparison",
                runner::launcher_shown(ws),
                config.ini_arg
            ),
        )
        .with_alembic_line(last)
    })
}

/// Parse the script's stdout lines; lines without a marker (env.py's own prints) are skipped.
pub fn parse(stdout: &[String]) -> Result<Drift, String> {
    let mut differences = Vec::new();
    let mut done = None;
    for line in stdout {
        if let Some(json) = line.strip_prefix(DIFFERENCE) {
            let record: Record = serde_json::from_str(json)
                .map_err(|e| format!("unreadable difference ({e}): {}", mask::mask(json)))?;
            differences.push(record.difference());
        } else if let Some(json) = line.strip_prefix(DONE) {
            let summary: Summary = serde_json::from_str(json)
                .map_err(|e| format!("unreadable summary ({e}): {}", mask::mask(json)))?;
            done = Some(summary.count);
        } else if line.trim_end() == NO_METADATA {
            return Ok(Drift::NoMetadata);
        }
    }
    let Some(count) = done else {
        return Err(format!(
            "no summary line after {} difference(s)",
            differences.len()
        ));
    };
    if count != differences.len() {
        return Err(format!(
            "the summary counts {count} difference(s), {} were printed",
            differences.len()
        ));
    }
    Ok(if differences.is_empty() {
        Drift::Clean
    } else {
        Drift::Differences(differences)
    })
}

#[derive(Deserialize)]
struct Summary {
    count: usize,
}

/// One difference as the script prints it.
#[derive(Deserialize)]
struct Record {
    op: Option<String>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    table: Option<String>,
    /// The column, index or constraint.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    detail: Detail,
    /// For an op the script does not know: the diff tuple's Python repr.
    #[serde(default)]
    repr: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Detail {
    /// A column's type: `VARCHAR(64)`.
    r#type: Option<String>,
    /// An index's or constraint's columns (an expression's SQL for a functional index).
    columns: Option<Vec<String>>,
    unique: Option<bool>,
    /// A constraint's kind: `unique`, `check`, `primary key`.
    kind: Option<String>,
    referred_schema: Option<String>,
    referred_table: Option<String>,
    referred_columns: Option<Vec<String>>,
    /// A change's old (the database's) and new (the models') value: a type, a default's SQL, a
    /// comment (strings), nullable (booleans); null for none.
    from: Option<Value>,
    to: Option<Value>,
}

impl Record {
    fn difference(self) -> Difference {
        let op = self.op.clone().unwrap_or_else(|| "unknown".to_owned());
        let (sign, text) = self.render(&op);
        Difference {
            sign,
            op,
            text: mask::mask(&text).into_owned(),
        }
    }

    fn render(&self, op: &str) -> (char, String) {
        let d = &self.detail;
        let table = self.table();
        let column = format!("{table}.{}", self.name());
        match op {
            "add_table" => ('+', format!("table {table}")),
            "remove_table" => ('-', format!("table {table}")),
            "add_column" => (
                '+',
                format!("column {column}{}", spaced(d.r#type.as_deref())),
            ),
            "remove_column" => ('-', format!("column {column}")),
            "add_index" => {
                let unique = if d.unique == Some(true) {
                    "unique "
                } else {
                    ""
                };
                (
                    '+',
                    format!("{unique}index {}on {table}{}", self.named(), self.columns()),
                )
            }
            "remove_index" => match (&self.name, &self.schema) {
                (Some(name), Some(schema)) => ('-', format!("index {schema}.{name}")),
                (Some(name), None) => ('-', format!("index {name}")),
                (None, _) => ('-', format!("index on {table}{}", self.columns())),
            },
            "add_constraint" | "remove_constraint" => {
                let kind = match d.kind.as_deref() {
                    Some("primary key") => "primary key".to_owned(),
                    Some(kind) => format!("{kind} constraint"),
                    None => "constraint".to_owned(),
                };
                let text = format!("{kind} {}on {table}{}", self.named(), self.columns());
                (sign_of(op), text)
            }
            "add_fk" | "remove_fk" => {
                let referred = match (&d.referred_schema, &d.referred_table) {
                    (Some(schema), Some(t)) => format!("{schema}.{t}"),
                    (None, Some(t)) => t.clone(),
                    (_, None) => "?".to_owned(),
                };
                let referred_columns = d.referred_columns.as_deref().unwrap_or_default().join(", ");
                let text = format!(
                    "foreign key {}on {table}{} -> {referred}({referred_columns})",
                    self.named(),
                    self.columns()
                );
                (sign_of(op), text)
            }
            "modify_type" => (
                '~',
                format!("type of {column}: {}", self.change(|v| text_or(v, "?"))),
            ),
            "modify_nullable" => (
                '~',
                format!("nullable of {column}: {}", self.change(nullable)),
            ),
            "modify_default" => (
                '~',
                format!(
                    "default of {column}: {}",
                    self.change(|v| text_or(v, "(none)"))
                ),
            ),
            "modify_comment" => ('~', format!("comment of {column}")),
            "add_table_comment" if d.from.as_ref().is_none_or(Value::is_null) => {
                ('+', format!("comment on table {table}"))
            }
            "add_table_comment" => ('~', format!("comment of table {table}")),
            "remove_table_comment" => ('-', format!("comment on table {table}")),
            _ => {
                let repr = self.repr.as_deref().unwrap_or("(no details)");
                ('~', format!("{op}: {repr}"))
            }
        }
    }

    /// `users`, `billing.invoices`.
    fn table(&self) -> String {
        let table = self.table.as_deref().unwrap_or("?");
        match &self.schema {
            Some(schema) => format!("{schema}.{table}"),
            None => table.to_owned(),
        }
    }

    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("?")
    }

    /// `ix_name ` (with the space before `on`), or nothing for an unnamed index or constraint.
    fn named(&self) -> String {
        self.name
            .as_deref()
            .map_or_else(String::new, |name| format!("{name} "))
    }

    /// ` (a, b)`, or nothing when the columns are unknown.
    fn columns(&self) -> String {
        match self.detail.columns.as_deref() {
            Some(columns) if !columns.is_empty() => format!(" ({})", columns.join(", ")),
            _ => String::new(),
        }
    }

    /// `old -> new`.
    fn change(&self, show: impl Fn(Option<&Value>) -> String) -> String {
        format!(
            "{} -> {}",
            show(self.detail.from.as_ref()),
            show(self.detail.to.as_ref())
        )
    }
}

fn sign_of(op: &str) -> char {
    if op.starts_with("add_") {
        '+'
    } else if op.starts_with("remove_") {
        '-'
    } else {
        '~'
    }
}

/// ` VARCHAR(64)`, or nothing.
fn spaced(text: Option<&str>) -> String {
    text.map_or_else(String::new, |t| format!(" {t}"))
}

/// A string as it is, another JSON value as JSON, null as `none`.
fn text_or(value: Option<&Value>, none: &str) -> String {
    match value {
        None | Some(Value::Null) => none.to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `NULL` (nullable), `NOT NULL`.
fn nullable(value: Option<&Value>) -> String {
    match value {
        Some(Value::Bool(true)) => "NULL".to_owned(),
        Some(Value::Bool(false)) => "NOT NULL".to_owned(),
        other => text_or(other, "?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(stdout: &[&str]) -> Vec<String> {
        stdout.iter().map(|l| (*l).to_owned()).collect()
    }

    /// The lines of one difference record followed by the summary.
    fn one(json: &str) -> Vec<String> {
        lines(&[
            &format!("{DIFFERENCE}{json}"),
            &format!("{DONE}{{\"count\": 1}}"),
        ])
    }

    fn rendered(json: &str) -> String {
        match parse(&one(json)) {
            Ok(Drift::Differences(d)) if d.len() == 1 => d[0].line(),
            other => panic!("{json}: {other:?}"),
        }
    }

    fn difference(sign: char, text: &str) -> Difference {
        Difference {
            sign,
            op: String::new(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn the_fix_names_the_side_to_change_by_sign() {
        let db = difference('-', "column users.legacy");
        let models = difference('+', "index ix_users_email on users (email)");
        let both = difference('~', "type of sessions.status: VARCHAR(32) -> VARCHAR(64)");
        let fix_of = |d: &[Difference]| fix(d, "AUTOGEN", "RERUN");

        let only_db = fix_of(std::slice::from_ref(&db));
        assert!(
            only_db.starts_with("the migrations make column users.legacy and the models lack it: add it to the models"),
            "{only_db}"
        );
        assert!(!only_db.contains("AUTOGEN"), "{only_db}");
        assert!(only_db.ends_with("; then RERUN"), "{only_db}");

        let only_models = fix_of(std::slice::from_ref(&models));
        assert!(
            only_models.starts_with("the models have index ix_users_email on users (email) and no migration makes it: with your database at head, AUTOGEN"),
            "{only_models}"
        );
        assert!(
            !only_models.contains("add it to the models"),
            "{only_models}"
        );

        let changed = fix_of(std::slice::from_ref(&both));
        assert!(
            changed.contains("left of -> the database") && changed.contains("right the models"),
            "{changed}"
        );

        let all = fix_of(&[db, models, both]);
        let at = |needle: &str| {
            all.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {all}"))
        };
        assert!(
            at("add it to the models") < at("no migration makes it"),
            "{all}"
        );
        assert!(at("no migration makes it") < at("left of ->"), "{all}");
    }

    #[test]
    fn every_op_renders_on_one_readable_line() {
        let cases = [
            (
                r#"{"op": "add_table", "schema": null, "table": "users", "name": null, "detail": {"columns": ["id"]}}"#,
                "+ table users",
            ),
            (
                r#"{"op": "remove_table", "schema": null, "table": "old_things", "name": null, "detail": {"columns": ["id"]}}"#,
                "- table old_things",
            ),
            (
                r#"{"op": "add_column", "schema": null, "table": "users", "name": "email", "detail": {"type": "VARCHAR(64)", "nullable": true}}"#,
                "+ column users.email VARCHAR(64)",
            ),
            (
                r#"{"op": "remove_column", "schema": null, "table": "users", "name": "legacy", "detail": {"type": "INTEGER", "nullable": true}}"#,
                "- column users.legacy",
            ),
            (
                r#"{"op": "add_index", "schema": null, "table": "users", "name": "ix_users_email", "detail": {"columns": ["email"], "unique": false}}"#,
                "+ index ix_users_email on users (email)",
            ),
            (
                r#"{"op": "add_index", "schema": null, "table": "users", "name": "ix_users_x", "detail": {"columns": ["x", "lower(name)"], "unique": true}}"#,
                "+ unique index ix_users_x on users (x, lower(name))",
            ),
            (
                r#"{"op": "remove_index", "schema": null, "table": "kernels", "name": "ix_kernels_status", "detail": {"columns": ["status"], "unique": false}}"#,
                "- index ix_kernels_status",
            ),
            (
                r#"{"op": "add_constraint", "schema": null, "table": "users", "name": "uq_users_name", "detail": {"kind": "unique", "columns": ["name"]}}"#,
                "+ unique constraint uq_users_name on users (name)",
            ),
            (
                r#"{"op": "add_constraint", "schema": null, "table": "users", "name": null, "detail": {"kind": "unique", "columns": ["name"]}}"#,
                "+ unique constraint on users (name)",
            ),
            (
                r#"{"op": "remove_constraint", "schema": null, "table": "sessions", "name": "uq_s", "detail": {"kind": "unique", "columns": ["status", "group_id"]}}"#,
                "- unique constraint uq_s on sessions (status, group_id)",
            ),
            (
                r#"{"op": "add_fk", "schema": null, "table": "sessions", "name": "fk_x", "detail": {"columns": ["group_id"], "referred_schema": null, "referred_table": "groups", "referred_columns": ["id"]}}"#,
                "+ foreign key fk_x on sessions (group_id) -> groups(id)",
            ),
            (
                r#"{"op": "remove_fk", "schema": null, "table": "sessions", "name": "fk_old", "detail": {"columns": ["group_id"], "referred_schema": null, "referred_table": "groups", "referred_columns": ["id"]}}"#,
                "- foreign key fk_old on sessions (group_id) -> groups(id)",
            ),
            (
                r#"{"op": "modify_type", "schema": null, "table": "sessions", "name": "status", "detail": {"from": "VARCHAR(32)", "to": "VARCHAR(64)"}}"#,
                "~ type of sessions.status: VARCHAR(32) -> VARCHAR(64)",
            ),
            (
                r#"{"op": "modify_nullable", "schema": null, "table": "users", "name": "email", "detail": {"from": true, "to": false}}"#,
                "~ nullable of users.email: NULL -> NOT NULL",
            ),
            (
                r#"{"op": "modify_default", "schema": null, "table": "users", "name": "x", "detail": {"from": "'a'", "to": "'b'"}}"#,
                "~ default of users.x: 'a' -> 'b'",
            ),
            (
                r#"{"op": "modify_default", "schema": null, "table": "users", "name": "x", "detail": {"from": "'a'::character varying", "to": null}}"#,
                "~ default of users.x: 'a'::character varying -> (none)",
            ),
            (
                r#"{"op": "modify_comment", "schema": null, "table": "users", "name": "x", "detail": {"from": null, "to": "ex"}}"#,
                "~ comment of users.x",
            ),
            (
                r#"{"op": "add_table_comment", "schema": null, "table": "groups", "name": null, "detail": {"from": null, "to": "the groups"}}"#,
                "+ comment on table groups",
            ),
            (
                r#"{"op": "add_table_comment", "schema": null, "table": "groups", "name": null, "detail": {"from": "old", "to": "new"}}"#,
                "~ comment of table groups",
            ),
            (
                r#"{"op": "remove_table_comment", "schema": null, "table": "groups", "name": null, "detail": {}}"#,
                "- comment on table groups",
            ),
        ];
        for (json, line) in cases {
            assert_eq!(rendered(json), line, "{json}");
        }
    }

    #[test]
    fn a_schema_qualifies_the_table() {
        let cases = [
            (
                r#"{"op": "add_table", "schema": "billing", "table": "invoices", "name": null, "detail": {}}"#,
                "+ table billing.invoices",
            ),
            (
                r#"{"op": "add_column", "schema": "billing", "table": "invoices", "name": "amount", "detail": {"type": "NUMERIC(10, 2)"}}"#,
                "+ column billing.invoices.amount NUMERIC(10, 2)",
            ),
            (
                r#"{"op": "remove_index", "schema": "billing", "table": "invoices", "name": "ix_invoices_due", "detail": {}}"#,
                "- index billing.ix_invoices_due",
            ),
            (
                r#"{"op": "add_fk", "schema": "billing", "table": "invoices", "name": null, "detail": {"columns": ["user_id"], "referred_schema": "auth", "referred_table": "users", "referred_columns": ["id"]}}"#,
                "+ foreign key on billing.invoices (user_id) -> auth.users(id)",
            ),
            (
                r#"{"op": "modify_nullable", "schema": "billing", "table": "invoices", "name": "amount", "detail": {"from": false, "to": true}}"#,
                "~ nullable of billing.invoices.amount: NOT NULL -> NULL",
            ),
        ];
        for (json, line) in cases {
            assert_eq!(rendered(json), line, "{json}");
        }
    }

    #[test]
    fn an_unknown_op_shows_its_repr() {
        let diff = match parse(&one(
            r#"{"op": "execute", "repr": "('execute', 'SELECT 1')"}"#,
        )) {
            Ok(Drift::Differences(d)) => d,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            diff,
            [Difference {
                sign: '~',
                op: "execute".into(),
                text: "execute: ('execute', 'SELECT 1')".into(),
            }]
        );
    }

    #[test]
    fn the_op_and_sign_are_kept_with_the_text() {
        let d = match parse(&one(
            r#"{"op": "add_column", "schema": null, "table": "users", "name": "email", "detail": {"type": "VARCHAR(64)"}}"#,
        )) {
            Ok(Drift::Differences(d)) => d,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            d,
            [Difference {
                sign: '+',
                op: "add_column".into(),
                text: "column users.email VARCHAR(64)".into(),
            }]
        );
    }

    #[test]
    fn a_password_in_a_difference_is_masked() {
        let line = rendered(
            r#"{"op": "modify_default", "schema": null, "table": "t", "name": "dsn", "detail": {"from": null, "to": "'postgresql://u:hunter2@db/x'"}}"#,
        );
        assert!(!line.contains("hunter2"), "{line}");
    }

    #[test]
    fn only_the_summary_with_nothing_before_it_is_clean() {
        let stdout = lines(&[
            "something env.py printed",
            &format!("{DONE}{{\"count\": 0}}"),
        ]);
        assert_eq!(parse(&stdout), Ok(Drift::Clean));
    }

    #[test]
    fn differences_come_in_order_between_other_output() {
        let stdout = lines(&[
            &format!(
                r#"{DIFFERENCE}{{"op": "add_table", "schema": null, "table": "a", "name": null, "detail": {{}}}}"#
            ),
            "a print from the models",
            &format!(
                r#"{DIFFERENCE}{{"op": "remove_column", "schema": null, "table": "b", "name": "c", "detail": {{}}}}"#
            ),
            &format!("{DONE}{{\"count\": 2}}"),
        ]);
        let Ok(Drift::Differences(d)) = parse(&stdout) else {
            panic!("{:?}", parse(&stdout));
        };
        let shown: Vec<String> = d.iter().map(Difference::line).collect();
        assert_eq!(shown, ["+ table a", "- column b.c"]);
    }

    #[test]
    fn without_the_summary_the_run_did_not_finish() {
        let stdout = lines(&[&format!(
            r#"{DIFFERENCE}{{"op": "add_table", "schema": null, "table": "a", "name": null, "detail": {{}}}}"#
        )]);
        let err = parse(&stdout).unwrap_err();
        assert!(err.contains("no summary line"), "{err}");
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn a_summary_that_miscounts_is_an_error() {
        let stdout = lines(&[&format!("{DONE}{{\"count\": 3}}")]);
        assert!(parse(&stdout).unwrap_err().contains("counts 3"));
    }

    #[test]
    fn an_unreadable_record_is_an_error() {
        let stdout = lines(&[
            &format!("{DIFFERENCE}{{not json"),
            &format!("{DONE}{{\"count\": 1}}"),
        ]);
        assert!(parse(&stdout)
            .unwrap_err()
            .contains("unreadable difference"));
    }

    #[test]
    fn env_py_without_metadata() {
        assert_eq!(parse(&lines(&[NO_METADATA])), Ok(Drift::NoMetadata));
    }

    #[test]
    fn the_scripts_first_line_ends_the_launchers_turn() {
        // What the runner shows as `manager: ./py: …` stops at this line (see runner::python).
        let first = SCRIPT
            .lines()
            .find(|l| l.contains("INFO  [db_migrate.drift] "))
            .and_then(|l| l.trim().strip_prefix('"'))
            .and_then(|l| l.strip_suffix("\\n\""))
            .expect("the script writes an Alembic-style log line first");
        assert!(crate::alembic::parse::alembic_ran(first), "{first}");
    }

    #[test]
    fn the_script_prints_the_markers_parse_reads() {
        for marker in [DIFFERENCE.trim_end(), DONE.trim_end(), NO_METADATA] {
            let suffix = marker.strip_prefix("@@db-migrate-drift").unwrap();
            assert!(SCRIPT.contains(r#"MARK = "@@db-migrate-drift""#));
            assert!(
                suffix.is_empty() || SCRIPT.contains(&format!("MARK + \"{suffix}\"")),
                "{marker}"
            );
        }
    }
}
