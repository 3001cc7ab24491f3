//! SQL rules come from squawk, which explains them itself; this entry says where.

use crate::check::{Rule, Severity};

pub const RULE: Rule = Rule {
    name: "squawk",
    default_severity: Severity::Error,
    summary:
        "SQL rules (adding-required-field, require-concurrent-index-creation, …) are squawk's.",
    explain: "\
## What it is
The SQL lint renders each new migration to SQL offline and runs squawk on it, one migration at a
time. Findings carry squawk's own rule name; squawk documents each rule (what it catches, why it
locks or rewrites, the safe alternative) at https://squawkhq.com/docs/rules, one page per rule:
https://squawkhq.com/docs/<rule-name>. `squawk --help` lists its options.

## Configuring
`[tool.db-migrate.check.squawk]` in `pyproject.toml`: `pg-version` (the PostgreSQL version the
rules assume) and `exclude` (squawk rule names not to run). A single finding is silenced with
`# db-migrate: ignore[<squawk-rule>] <reason>` in the migration, like any other rule.",
};
