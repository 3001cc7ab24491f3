//! `[tool.db-migrate.check]` in the workspace root's `pyproject.toml`:
//!
//! ```toml
//! [tool.db-migrate.check]
//! disable = ["part-of-comment"]              # rules not to run
//! severity = { missing-downgrade = "error" } # "error" or "warning"
//! squawk = { pg-version = "16", exclude = ["prefer-robust-stmts"] }
//! ```
//!
//! Every key is checked: an unknown key, an unknown rule name or a wrong type is an error naming
//! it, so a typo cannot silently turn a rule off or leave it on. No file, no `[tool.db-migrate]`
//! or no `check` table means the defaults, which suit Backend.AI: every rule at its default
//! severity, and squawk assuming PostgreSQL 16 (the halfstack's `postgres:16.3-alpine`) with
//! all of its rules.

use std::collections::BTreeMap;
use std::path::Path;

use toml::Value;

use super::{Finding, Severity};

/// The PostgreSQL major version squawk assumes by default.
pub const DEFAULT_PG_VERSION: &str = "16";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Rules not to run (their findings are dropped).
    pub disable: Vec<String>,
    /// Severity overrides by rule.
    pub severity: BTreeMap<String, Severity>,
    pub squawk: Squawk,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Squawk {
    /// `--pg-version` for squawk.
    pub pg_version: String,
    /// squawk rule names not to run (`--exclude`).
    pub exclude: Vec<String>,
}

/// squawk rules left out unless `squawk.exclude` says otherwise: style preferences that fire on
/// nearly every Alembic migration (`sa.String` is VARCHAR, `sa.Integer` is INT, primary keys are
/// SERIAL, `sa.DateTime` has no zone), not lock or downtime hazards.
pub const DEFAULT_SQUAWK_EXCLUDE: &[&str] = &[
    "prefer-text-field",
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-timestamptz",
];

/// squawk rules reported as warnings: advice that applies to every DDL statement (set a lock
/// and statement timeout), where Backend.AI's env.py, not each migration, is the place to act.
pub const SQUAWK_WARNINGS: &[&str] = &["require-lock-timeout", "require-statement-timeout"];

impl Default for Config {
    fn default() -> Config {
        Config {
            disable: Vec::new(),
            severity: BTreeMap::new(),
            squawk: Squawk {
                pg_version: DEFAULT_PG_VERSION.to_owned(),
                exclude: DEFAULT_SQUAWK_EXCLUDE
                    .iter()
                    .map(|r| (*r).to_owned())
                    .collect(),
            },
        }
    }
}

impl Config {
    pub fn enabled(&self, rule: &str) -> bool {
        !self.disable.iter().any(|d| d == rule)
    }

    pub fn severity_of(&self, rule: &str, default: Severity) -> Severity {
        self.severity.get(rule).copied().unwrap_or(default)
    }

    /// Drop the findings of disabled rules and apply severity overrides.
    pub fn apply(&self, findings: Vec<Finding>) -> Vec<Finding> {
        findings
            .into_iter()
            .filter(|f| self.enabled(f.rule))
            .map(|mut f| {
                f.severity = self.severity_of(f.rule, f.severity);
                f
            })
            .collect()
    }
}

const FILE: &str = "pyproject.toml";
const TABLE: &str = "[tool.db-migrate.check]";

/// Read the configuration from `root/pyproject.toml`.
pub fn load(root: &Path) -> Result<Config, String> {
    let path = root.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The configuration in a `pyproject.toml`'s text.
pub fn parse(text: &str) -> Result<Config, String> {
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_owned())?;
    let check = doc
        .get("tool")
        .and_then(|t| t.get("db-migrate"))
        .and_then(|t| t.get("check"));
    let Some(check) = check else {
        return Ok(Config::default());
    };
    let check = check
        .as_table()
        .ok_or_else(|| format!("{TABLE} must be a table"))?;
    let mut config = Config::default();
    for (key, value) in check {
        match key.as_str() {
            "disable" => {
                config.disable = strings(value, "disable")?;
                for rule in &config.disable {
                    known(rule, "disable")?;
                }
            }
            "severity" => {
                let table = value
                    .as_table()
                    .ok_or("severity must be a table of rule = \"error\" | \"warning\"")?;
                for (rule, level) in table {
                    known(rule, "severity")?;
                    let level = match level.as_str() {
                        Some("error") => Severity::Error,
                        Some("warning") => Severity::Warning,
                        _ => {
                            return Err(format!(
                                "severity.{rule} must be \"error\" or \"warning\", not {level}"
                            ))
                        }
                    };
                    config.severity.insert(rule.clone(), level);
                }
            }
            "squawk" => {
                let table = value
                    .as_table()
                    .ok_or("squawk must be a table (pg-version, exclude)")?;
                for (k, v) in table {
                    match k.as_str() {
                        "pg-version" => {
                            config.squawk.pg_version = match v {
                                Value::String(s) => s.clone(),
                                Value::Integer(n) => n.to_string(),
                                Value::Float(f) => f.to_string(),
                                _ => {
                                    return Err(format!(
                                        "squawk.pg-version must be a version like \"16\", not {v}"
                                    ))
                                }
                            };
                        }
                        "exclude" => config.squawk.exclude = strings(v, "squawk.exclude")?,
                        other => {
                            return Err(format!(
                                "unknown key squawk.{other} in {TABLE} (known: pg-version, exclude)"
                            ))
                        }
                    }
                }
            }
            other => {
                return Err(format!(
                    "unknown key {other} in {TABLE} (known: disable, severity, squawk)"
                ))
            }
        }
    }
    Ok(config)
}

fn strings(value: &Value, key: &str) -> Result<Vec<String>, String> {
    value
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| format!("{key} must be a list of strings"))
}

/// Rule names the configuration may name: `check`'s own (squawk's go in `squawk.exclude`).
fn known(rule: &str, key: &str) -> Result<(), String> {
    if [
        super::load::COMPONENT_FAULT.name,
        super::load::UNLOADABLE_FILE.name,
    ]
    .contains(&rule)
    {
        return Err(format!(
            "{key} names {rule:?}, which reports what check could not read: it cannot be turned off or down"
        ));
    }
    if super::rule(rule).is_some() && rule != super::rules::squawk::RULE.name {
        return Ok(());
    }
    Err(format!(
        "{key} names unknown rule {rule:?} (`db-migrate check --explain` lists the rules; squawk's \
         rules go in squawk.exclude)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_file_section_or_table_is_the_default() {
        let tmp = tempfile::TempDir::new().unwrap();
        assert_eq!(load(tmp.path()), Ok(Config::default()));
        std::fs::write(tmp.path().join(FILE), "[tool.ruff]\nline-length = 100\n").unwrap();
        assert_eq!(load(tmp.path()), Ok(Config::default()));
        assert_eq!(Config::default().squawk.pg_version, "16");
    }

    #[test]
    fn every_key_is_read() {
        let config = parse(
            "[tool.db-migrate.check]\ndisable = [\"part-of-comment\"]\nseverity = { missing-downgrade = \"error\", single-head = \"warning\" }\nsquawk = { pg-version = \"15\", exclude = [\"prefer-robust-stmts\"] }\n",
        )
        .unwrap();
        assert_eq!(config.disable, vec!["part-of-comment"]);
        assert_eq!(
            config.severity_of("missing-downgrade", Severity::Warning),
            Severity::Error
        );
        assert_eq!(
            config.severity_of("single-head", Severity::Error),
            Severity::Warning
        );
        assert_eq!(config.squawk.pg_version, "15");
        assert_eq!(config.squawk.exclude, vec!["prefer-robust-stmts"]);
        let sub = parse("[tool.db-migrate.check.squawk]\npg-version = 14\n").unwrap();
        assert_eq!(sub.squawk.pg_version, "14");
    }

    #[test]
    fn unknown_keys_rules_and_values_are_errors_naming_them() {
        let err = |text: &str| parse(&format!("[tool.db-migrate.check]\n{text}\n")).unwrap_err();
        assert!(err("disabled = []").contains("unknown key disabled"));
        assert!(err("squawk = { pg_version = \"15\" }").contains("squawk.pg_version"));
        assert!(err("disable = [\"single-heads\"]").contains("\"single-heads\""));
        assert!(err("severity = { single-head = \"fatal\" }").contains("severity.single-head"));
        assert!(err("disable = \"single-head\"").contains("list of strings"));
        assert!(err("disable = [\"component-fault\"]").contains("cannot be turned off"));
        assert!(
            err("severity = { unloadable-file = \"warning\" }").contains("cannot be turned off")
        );
        assert!(parse("not toml [").is_err());
    }

    #[test]
    fn apply_drops_disabled_rules_and_overrides_severity() {
        let config = parse(
            "[tool.db-migrate.check]\ndisable = [\"empty-migration\"]\nseverity = { missing-downgrade = \"error\" }\n",
        )
        .unwrap();
        let f = |rule, severity| Finding {
            rule,
            severity,
            file: "a.py".into(),
            line: 1,
            message: String::new(),
        };
        let out = config.apply(vec![
            f("empty-migration", Severity::Error),
            f("missing-downgrade", Severity::Warning),
        ]);
        assert_eq!(out, vec![f("missing-downgrade", Severity::Error)]);
    }
}
