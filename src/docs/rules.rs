//! `docs/rules/<rule>.md` and `docs/rules/index.md`, generated from each check rule's own
//! [`Rule`] entry (the text `db-migrate check --explain RULE` prints) and from the configuration
//! defaults in [`crate::check::config`], so the pages say what the code does.

use std::fmt::Write as _;

use crate::check::config::{self, DEFAULT_PG_VERSION, DEFAULT_SQUAWK_EXCLUDE, SQUAWK_WARNINGS};
use crate::check::{self, Rule};

/// Where the pages live, relative to the repository root.
const DIR: &str = "docs/rules";

const SQUAWK_DOCS: &str = "https://squawkhq.com/docs/rules";

fn header(source: &str) -> String {
    format!(
        "<!-- Generated from {source} by src/docs/rules.rs: do not edit here. Regenerate with\n     \
         UPDATE_DOCS=1 cargo test --bin db-migrate docs:: -->\n\n"
    )
}

/// Whether `[tool.db-migrate.check]` may turn the rule off (as the configuration loader decides).
fn can_be_disabled(rule: &Rule) -> bool {
    config::parse(&format!(
        "[tool.db-migrate.check]\ndisable = [\"{}\"]\n",
        rule.name
    ))
    .is_ok()
}

/// One rule's page.
pub fn page(rule: &Rule) -> String {
    let mut out = header("the rule's `Rule` entry (what `db-migrate check --explain` prints)");
    let _ = writeln!(out, "# `{}`\n", rule.name);
    let _ = writeln!(out, "{}\n", rule.summary);
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| default severity | {} |", rule.default_severity);
    let needs_base = if check::needs_base(rule.name) {
        "yes: without one (no git, no `--base` and no upstream branch) it is reported as skipped"
    } else {
        "no"
    };
    let _ = writeln!(out, "| needs a base ref | {needs_base} |");
    let configurable = if rule.name == check::rules::squawk::RULE.name {
        "per squawk rule: `squawk.exclude`, or `# db-migrate: ignore[<squawk-rule>] reason`"
            .to_owned()
    } else if can_be_disabled(rule) {
        format!(
            "yes: `disable = [\"{0}\"]` or `severity = {{ {0} = \"warning\" }}` in \
             `[tool.db-migrate.check]`, or `# db-migrate: ignore[{0}] reason`",
            rule.name
        )
    } else {
        "no: it reports what `check` could not read, so it cannot be disabled, downgraded or ignored"
            .to_owned()
    };
    let _ = writeln!(out, "| can be turned off | {configurable} |\n");
    let _ = writeln!(out, "{}\n", rule.explain.trim_end());
    if rule.name == check::rules::squawk::RULE.name {
        let _ = writeln!(out, "## Defaults\n");
        let _ = writeln!(
            out,
            "- PostgreSQL version the rules assume (`pg-version`): {DEFAULT_PG_VERSION}"
        );
        let _ = writeln!(
            out,
            "- left out unless `exclude` says otherwise (style preferences every Alembic migration \
             trips; an `exclude` list replaces this one): {}",
            code_list(DEFAULT_SQUAWK_EXCLUDE)
        );
        let _ = writeln!(
            out,
            "- reported as warnings (advice for every DDL statement; Backend.AI's `env.py` is the \
             place to set the timeouts once): {}\n",
            code_list(SQUAWK_WARNINGS)
        );
        let _ = writeln!(
            out,
            "squawk's own documentation of every rule: [{SQUAWK_DOCS}]({SQUAWK_DOCS}).\n"
        );
    }
    let _ = writeln!(
        out,
        "---\n\n`db-migrate check --explain {}` prints the same text. All rules: [index](index.md); \
         the command: [check](../commands/check.md).",
        rule.name
    );
    out
}

fn code_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table of every rule.
pub fn index(rules: &[Rule]) -> String {
    let mut out = header("every rule's `Rule` entry (src/check/mod.rs `rules()`)");
    let _ = writeln!(out, "# Check rules\n");
    let _ = writeln!(
        out,
        "The rules of [`db-migrate check`](../commands/check.md), in the order `check` knows them. \
         Each page is the rule's own documentation, as `db-migrate check --explain RULE` prints it. \
         \"The README\" in these pages is the README of Backend.AI's alembic directory (its backport \
         procedure), not this project's.\n"
    );
    let _ = writeln!(out, "| rule | severity | summary |\n|---|---|---|");
    for rule in rules {
        let _ = writeln!(
            out,
            "| [`{0}`]({0}.md) | {1} | {2} |",
            rule.name,
            rule.default_severity,
            rule.summary.replace('|', "\\|")
        );
    }
    let _ = writeln!(
        out,
        "\nSQL findings carry squawk's own rule names (`adding-required-field`, \
         `require-concurrent-index-creation`, …): see [`squawk`](squawk.md) and \
         [squawk's rule documentation]({SQUAWK_DOCS})."
    );
    out
}

fn file_name(rule: &Rule) -> String {
    format!("{}.md", rule.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::assert_fresh;

    #[test]
    fn rule_pages_are_fresh() {
        for rule in check::rules() {
            assert_fresh(&format!("{DIR}/{}", file_name(rule)), &page(rule));
        }
        // A page whose rule is gone (renamed, removed) must go too.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
        let wanted: Vec<String> = check::rules().iter().map(file_name).collect();
        let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1");
        let mut stale = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("docs/rules exists") {
            let name = entry.expect("a directory entry").file_name();
            let name = name.to_string_lossy().into_owned();
            if name == "index.md" || wanted.contains(&name) {
                continue;
            }
            if update {
                std::fs::remove_file(dir.join(&name)).expect("remove a stale page");
            } else {
                stale.push(name);
            }
        }
        assert!(
            stale.is_empty(),
            "{DIR} holds pages for rules that do not exist: {stale:?}; remove them with\n  \
             UPDATE_DOCS=1 cargo test --bin db-migrate docs::"
        );
    }

    #[test]
    fn rule_index_is_fresh() {
        assert_fresh(&format!("{DIR}/index.md"), &index(check::rules()));
    }

    #[test]
    fn pages_say_what_the_configuration_allows() {
        let rule = |name: &str| check::rule(name).unwrap();
        assert!(can_be_disabled(rule("single-head")));
        assert!(can_be_disabled(rule("bad-ignore")));
        assert!(!can_be_disabled(rule("component-fault")));
        assert!(!can_be_disabled(rule("unloadable-file")));
        assert!(page(rule("released-unchanged")).contains("| needs a base ref | yes"));
        assert!(page(rule("squawk")).contains(SQUAWK_DOCS));
        assert!(page(rule("squawk")).contains("`prefer-text-field`"));
    }
}
