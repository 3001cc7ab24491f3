//! squawk's rules over one Alembic revision: [`revision_sql`] takes what `alembic upgrade
//! <down_revision>:<revision> --sql` prints and keeps the statements the revision runs, [`lint`]
//! runs squawk's linter on them, and [`op_call_lines`] finds the `op.*` calls in the revision file
//! that the statements usually come from, one for one.
//!
//! Lint one revision at a time: squawk exempts tables created earlier in the same text (an index
//! on a table created a moment ago locks nobody), so a whole range at once would hide hazards in
//! later revisions on tables made by earlier ones.

use std::ops::Range;

use squawk_linter::{Linter, LinterSettings, Rule, Version};
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind, SyntaxToken};

use crate::revisions::tokenize::{for_each_line, Flow, Line, Tok};

/// One hazard squawk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlFinding {
    /// squawk's kebab-case rule name, e.g. `require-concurrent-index-creation`; `syntax-error`
    /// when squawk's parser did not understand the SQL (as squawk's own CLI reports it).
    pub rule: String,
    pub message: String,
    /// How to do it safely, when squawk says.
    pub help: Option<String>,
    /// Byte range in the linted SQL.
    pub range: Range<usize>,
}

/// How to lint: squawk's settings, in the project's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintSettings {
    /// The PostgreSQL version the migrations run on, e.g. `"15"` or `"13.4"` (squawk's
    /// `pg_version`; some hazards are gone in newer versions). `None`: squawk's default, 15.
    pub pg_version: Option<String>,
    /// squawk rule names to leave out, e.g. `prefer-robust-stmts`; `syntax-error` is accepted too.
    pub excluded_rules: Vec<String>,
    /// The SQL runs inside a transaction the migration tool opens: Alembic wraps a PostgreSQL
    /// migration in one (transactional DDL). The SQL may still end and reopen it, as
    /// `autocommit_block()` does with `COMMIT;` … `BEGIN;`, to run statements outside it.
    pub assume_in_transaction: bool,
}

impl Default for LintSettings {
    fn default() -> Self {
        LintSettings {
            pg_version: None,
            excluded_rules: Vec::new(),
            assume_in_transaction: true,
        }
    }
}

/// Settings squawk cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LintError {
    #[error("unknown squawk rule `{0}`")]
    UnknownRule(String),
    #[error("invalid PostgreSQL version `{version}`: {reason}")]
    PgVersion { version: String, reason: String },
}

/// Whether squawk has a rule of this name (for validating ignore comments and configuration).
pub fn is_squawk_rule(name: &str) -> bool {
    name == SYNTAX_ERROR || name.parse::<Rule>().is_ok()
}

/// The rule name squawk's CLI gives SQL its parser rejects.
const SYNTAX_ERROR: &str = "syntax-error";

/// Lint one revision's SQL (see [`revision_sql`]) with squawk's default rules, less
/// `settings.excluded_rules`. Findings come in the order of their position in `sql`.
///
/// `assume_in_transaction` is given to squawk as an explicit `BEGIN;` before `sql` and `COMMIT;`
/// after it, not as squawk's own `assume_in_transaction` setting: with that setting squawk treats
/// every `COMMIT`/`BEGIN` in the text as nesting (`transaction-nesting`), while Alembic's
/// `autocommit_block()` legitimately leaves the transaction for a while, e.g. for
/// `CREATE INDEX CONCURRENTLY`. With explicit statements, squawk tracks where the transaction
/// ends and restarts, so rules such as `ban-concurrent-index-creation-in-transaction` and
/// `prefer-robust-stmts` see exactly which statements run inside it.
pub fn lint(sql: &str, settings: &LintSettings) -> Result<Vec<SqlFinding>, LintError> {
    let mut excluded = Vec::new();
    let mut report_syntax_errors = true;
    for name in &settings.excluded_rules {
        if name == SYNTAX_ERROR {
            report_syntax_errors = false;
            continue;
        }
        let rule: Rule = name
            .parse()
            .map_err(|_| LintError::UnknownRule(name.clone()))?;
        excluded.push(rule);
    }
    let pg_version = match &settings.pg_version {
        None => Version::default(),
        Some(v) => v.parse::<Version>().map_err(|e| LintError::PgVersion {
            version: v.clone(),
            reason: e.to_string(),
        })?,
    };
    const OPEN: &str = "BEGIN;\n";
    const CLOSE: &str = "\nCOMMIT;\n";
    let (text, offset) = if settings.assume_in_transaction {
        (format!("{OPEN}{sql}{CLOSE}"), OPEN.len())
    } else {
        (sql.to_owned(), 0)
    };
    // Back to `sql`'s bytes; the wrapper's own bytes clamp to its ends.
    let map = |r: Range<usize>| {
        let at = |p: usize| p.saturating_sub(offset).min(sql.len());
        at(r.start)..at(r.end)
    };
    let parse = SourceFile::parse(&text);
    let mut linter = Linter::with_rules(&[], &excluded);
    linter.settings = LinterSettings {
        pg_version,
        assume_in_transaction: false,
    };
    let mut findings: Vec<SqlFinding> = linter
        .lint(&parse, &text)
        .into_iter()
        .map(|v| SqlFinding {
            rule: v.code.to_string(),
            message: v.message,
            help: v.help,
            range: map(v.text_range.start().into()..v.text_range.end().into()),
        })
        .collect();
    if report_syntax_errors {
        findings.extend(parse.errors().into_iter().map(|e| SqlFinding {
            rule: SYNTAX_ERROR.to_owned(),
            message: e.message().to_owned(),
            help: None,
            range: map(e.range().start().into()..e.range().end().into()),
        }));
    }
    findings.sort_by_key(|f| (f.range.start, f.range.end));
    Ok(findings)
}

/// From Alembic's offline output for one revision (`alembic upgrade A:B --sql`): the SQL that
/// revision runs, and the byte range in it of each of its statements, in order.
///
/// Left out: the `BEGIN;` and `COMMIT;` around the whole (Alembic's transaction; see
/// [`LintSettings::assume_in_transaction`]), the `alembic_version` bookkeeping (`CREATE TABLE`,
/// `INSERT`, `UPDATE`, `DELETE`, `DROP TABLE`), and the comments between statements, such as
/// `-- Running upgrade A -> B`.
/// Kept, without a range of their own: a `COMMIT;` … `BEGIN;` inside (an `autocommit_block()`,
/// whose statements run outside the transaction), and squawk's `-- squawk-ignore …` comments
/// before a statement (a `-- squawk-ignore` line inside `op.execute` text still silences it).
/// So statement n of the ranges is the n-th statement the revision itself runs.
pub fn revision_sql(offline_output: &str) -> (String, Vec<Range<usize>>) {
    let parse = SourceFile::parse(offline_output);
    let file = parse.tree();
    let stmts: Vec<ast::Stmt> = file.stmts().collect();
    // Alembic's transaction: the first statement if BEGIN, the last if COMMIT.
    let wrapper_begin = stmts.first().filter(|s| matches!(s, ast::Stmt::Begin(_)));
    let wrapper_commit = stmts
        .last()
        .filter(|s| matches!(s, ast::Stmt::Commit(_)) && wrapper_begin.is_some());
    // What to keep, by position in the output: (range, counts as a statement).
    let mut kept: Vec<(Range<usize>, bool)> = Vec::new();
    for stmt in &stmts {
        let wrapper = Some(stmt) == wrapper_begin || Some(stmt) == wrapper_commit;
        if wrapper || is_alembic_version(stmt) {
            continue;
        }
        let tokens = significant_tokens(stmt);
        let (Some(first), Some(last)) = (tokens.first(), tokens.last()) else {
            continue;
        };
        let range = usize::from(first.text_range().start())..usize::from(last.text_range().end());
        let transaction_control = matches!(stmt, ast::Stmt::Begin(_) | ast::Stmt::Commit(_));
        kept.push((range, !transaction_control));
    }
    for token in file
        .syntax()
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
    {
        if token.kind() == SyntaxKind::COMMENT && is_squawk_directive(token.text()) {
            let r = usize::from(token.text_range().start())..usize::from(token.text_range().end());
            // Inside a kept statement it is part of its text already.
            if !kept
                .iter()
                .any(|(k, _)| k.start <= r.start && r.end <= k.end)
            {
                kept.push((r, false));
            }
        }
    }
    kept.sort_by_key(|(r, _)| r.start);
    let mut sql = String::new();
    let mut ranges = Vec::new();
    for (r, is_stmt) in kept {
        let text = &offline_output[r];
        let start = sql.len();
        sql.push_str(text);
        if !text.starts_with("--") && !text.ends_with(';') {
            sql.push(';');
        }
        if is_stmt {
            ranges.push(start..sql.len());
        }
        // A directive stays on the line right above its statement, as squawk reads it.
        sql.push_str(if text.starts_with("--") { "\n" } else { "\n\n" });
    }
    sql.truncate(sql.trim_end().len());
    if !sql.is_empty() {
        sql.push('\n');
    }
    (sql, ranges)
}

/// A statement's tokens, whitespace and comments left out.
fn significant_tokens(stmt: &ast::Stmt) -> Vec<SyntaxToken> {
    stmt.syntax()
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| !t.kind().is_trivia())
        .collect()
}

/// `-- squawk-ignore …`, `-- squawk-ignore-file …` (also as `/* … */`).
fn is_squawk_directive(comment: &str) -> bool {
    let body = comment
        .strip_prefix("--")
        .or_else(|| comment.strip_prefix("/*"))
        .unwrap_or(comment);
    body.trim_start().starts_with("squawk-ignore")
}

/// Alembic's bookkeeping on its version table (the default name, `alembic_version`, in any
/// schema): `CREATE TABLE`, `DROP TABLE`, `INSERT INTO`, `UPDATE`, `DELETE FROM`.
fn is_alembic_version(stmt: &ast::Stmt) -> bool {
    if !matches!(
        stmt,
        ast::Stmt::CreateTable(_)
            | ast::Stmt::DropTable(_)
            | ast::Stmt::Insert(_)
            | ast::Stmt::Update(_)
            | ast::Stmt::Delete(_)
    ) {
        return false;
    }
    let tokens = significant_tokens(stmt);
    let words: Vec<&str> = tokens.iter().map(|t| t.text()).take(12).collect();
    let mut i = 0;
    // The command and its keywords up to the table name.
    while i < words.len()
        && [
            "create", "drop", "insert", "update", "delete", "table", "into", "from", "only",
        ]
        .iter()
        .any(|k| words[i].eq_ignore_ascii_case(k))
    {
        i += 1;
    }
    // `name` or `schema.name`: the last segment is the table.
    let mut table = None;
    while i < words.len() {
        table = Some(words[i]);
        if words.get(i + 1) == Some(&".") {
            i += 2;
        } else {
            break;
        }
    }
    table.is_some_and(|t| t.trim_matches('"').eq_ignore_ascii_case("alembic_version"))
}

/// `op` functions that emit no SQL of their own.
const NO_SQL: &[&str] = &[
    "batch_alter_table",
    "f",
    "get_bind",
    "get_context",
    "implementation_for",
    "inline_literal",
    "register_operation",
    "run_async",
];

/// The 1-based lines of the `op.*` calls in `def upgrade` of a revision file, in order, and of the
/// `batch_op.*` calls inside `with op.batch_alter_table(…) as batch_op:` (any alias): statement n
/// of the revision's SQL usually comes from call n. Only calls that are statements of their own
/// (`op.add_column(…)`, `table = op.create_table(…)`), not `op.f(…)` inside another call nor
/// `op.get_bind()` and the like, which emit nothing. Usually, because `op.execute` may hold
/// several statements and `op.create_table` with `index=True` columns emits one per index.
pub fn op_call_lines(src: &[u8]) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut body_of: Option<usize> = None;
    // Aliases of `with op.batch_alter_table(…) as alias:`, with the `with` line's indentation.
    let mut batch: Vec<(&[u8], usize)> = Vec::new();
    let _ = for_each_line(src, |line| {
        if body_of.is_some_and(|indent| line.indent <= indent) {
            body_of = None;
        }
        let t = &line.tokens;
        let is_def = t.first().is_some_and(|t| t.is_name("def"))
            || (t.first().is_some_and(|t| t.is_name("async"))
                && t.get(1).is_some_and(|t| t.is_name("def")));
        if body_of.is_none() {
            if is_def && t.iter().any(|t| t.is_name("upgrade")) {
                body_of = Some(line.indent);
                batch.clear();
                return Flow::Next;
            }
            let opens_block = is_def || t.first().is_some_and(|t| t.is_name("class"));
            return if opens_block {
                Flow::SkipBlock
            } else {
                Flow::Next
            };
        }
        batch.retain(|&(_, indent)| line.indent > indent);
        if let Some(alias) = batch_alias(line) {
            batch.push((alias, line.indent));
            return Flow::Next;
        }
        if is_op_call(line, &batch) {
            lines.push(line.lineno);
        }
        Flow::Next
    });
    lines
}

/// `with op.batch_alter_table(…) as alias:` → alias.
fn batch_alias<'a>(line: &Line<'a>) -> Option<&'a [u8]> {
    let t = &line.tokens;
    if !t.first()?.is_name("with") || !t.get(1)?.is_name("op") || !t.get(2)?.is_op(".") {
        return None;
    }
    if !t.get(3)?.is_name("batch_alter_table") {
        return None;
    }
    let close = t.iter().rposition(|tok| tok.is_op(")"))?;
    match (t.get(close + 1), t.get(close + 2)) {
        (Some(as_), Some(Tok::Name(alias))) if as_.is_name("as") => Some(alias),
        _ => None,
    }
}

/// A statement that is a call `op.name(…)` or `alias.name(…)` of a batch alias, maybe assigned
/// (`t = op.create_table(…)`).
fn is_op_call(line: &Line, batch: &[(&[u8], usize)]) -> bool {
    let t = &line.tokens;
    let call = match t.as_slice() {
        [Tok::Name(_), eq, rest @ ..] if eq.is_op("=") => rest,
        rest => rest,
    };
    let [Tok::Name(receiver), dot, Tok::Name(name), open, ..] = call else {
        return false;
    };
    if !dot.is_op(".") || !open.is_op("(") {
        return false;
    }
    let from_op = *receiver == b"op" && !NO_SQL.iter().any(|n| *name == n.as_bytes());
    from_op || batch.iter().any(|(alias, _)| alias == receiver)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `alembic upgrade A:B --sql`, as alembic 1.13.3 prints it for PostgreSQL.
    fn offline(rev: &str, down: &str, body: &str) -> String {
        format!(
            "BEGIN;\n\n-- Running upgrade {down} -> {rev}\n\n{body}\
             UPDATE alembic_version SET version_num='{rev}' \
             WHERE alembic_version.version_num = '{down}';\n\nCOMMIT;\n\n"
        )
    }

    fn rules(sql: &str, settings: &LintSettings) -> Vec<String> {
        lint(sql, settings)
            .unwrap()
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    /// The hazards of the brief, as Alembic prints `op.create_index`, `op.add_column(…,
    /// nullable=False)`, `op.alter_column(type_=…)`, `op.create_foreign_key`, a batch_op
    /// add_column, and `op.create_index(…, postgresql_concurrently=True)` in an autocommit_block.
    const HAZARDS: &str = "BEGIN;

-- Running upgrade aaaa00000001 -> bbbb00000002

CREATE INDEX ix_account_name ON account (name);

ALTER TABLE account ADD COLUMN email TEXT NOT NULL;

ALTER TABLE account ALTER COLUMN name TYPE TEXT;

ALTER TABLE account ADD CONSTRAINT fk_account_owner FOREIGN KEY(owner_id) REFERENCES account (id);

ALTER TABLE account ADD COLUMN flag BOOLEAN;

COMMIT;

CREATE INDEX CONCURRENTLY ix_account_email ON account (email);

BEGIN;

UPDATE account SET note = 'x; y' WHERE id = 1;

UPDATE alembic_version SET version_num='bbbb00000002' WHERE alembic_version.version_num = 'aaaa00000001';

COMMIT;

";

    /// Statement index → the rules that fired in it.
    fn by_statement(
        sql: &str,
        ranges: &[Range<usize>],
        settings: &LintSettings,
    ) -> Vec<Vec<String>> {
        let mut out = vec![Vec::new(); ranges.len()];
        for f in lint(sql, settings).unwrap() {
            let n = ranges
                .iter()
                .position(|r| r.start <= f.range.start && f.range.end <= r.end)
                .unwrap_or_else(|| panic!("{f:?} outside every statement"));
            out[n].push(f.rule);
        }
        out
    }

    #[test]
    fn flags_lock_hazards_and_maps_them_to_statements() {
        let (sql, ranges) = revision_sql(HAZARDS);
        let settings = LintSettings {
            // The timeouts fire on every ALTER; they are tested on their own below.
            excluded_rules: vec![
                "require-lock-timeout".into(),
                "require-statement-timeout".into(),
            ],
            ..LintSettings::default()
        };
        let found = by_statement(&sql, &ranges, &settings);
        assert_eq!(
            found,
            [
                vec!["require-concurrent-index-creation"],
                vec!["adding-required-field"],
                vec!["changing-column-type"],
                vec![
                    "constraint-missing-not-valid",
                    "adding-foreign-key-constraint"
                ],
                vec![],
                // Outside the transaction (autocommit_block): not atomic, so squawk asks for
                // IF NOT EXISTS, but CONCURRENTLY is fine there.
                vec!["prefer-robust-stmts"],
                vec![],
            ]
        );
        let index = lint(&sql, &settings).unwrap().remove(0);
        assert_eq!(
            &sql[index.range.clone()],
            "CREATE INDEX ix_account_name ON account (name);"
        );
        assert!(index.help.is_some(), "squawk says how: {index:?}");
    }

    #[test]
    fn concurrent_index_inside_the_transaction_is_flagged() {
        let sql = "ALTER TABLE account ADD COLUMN flag BOOLEAN;\n\
                   CREATE INDEX CONCURRENTLY ix_account_flag ON account (flag);\n";
        let found = rules(sql, &LintSettings::default());
        assert!(
            found.contains(&"ban-concurrent-index-creation-in-transaction".to_owned()),
            "{found:?}"
        );
        let outside = LintSettings {
            assume_in_transaction: false,
            ..LintSettings::default()
        };
        let found = rules(sql, &outside);
        assert!(
            !found.contains(&"ban-concurrent-index-creation-in-transaction".to_owned()),
            "{found:?}"
        );
        // Outside a transaction a failure leaves half a migration: rerunnable statements needed.
        assert!(
            found.contains(&"prefer-robust-stmts".to_owned()),
            "{found:?}"
        );
    }

    #[test]
    fn clean_migrations_give_nothing() {
        let table = "CREATE TABLE tag (\n    id BIGINT GENERATED BY DEFAULT AS IDENTITY, \n    \
                     name TEXT NOT NULL, \n    parent_id BIGINT, \n    \
                     created_at TIMESTAMP WITH TIME ZONE, \n    PRIMARY KEY (id)\n);\n\n";
        let (sql, _) = revision_sql(&offline("aaaa00000001", "", table));
        assert_eq!(rules(&sql, &LintSettings::default()), Vec::<String>::new());
        // An index and a foreign key on the table just created block no one: squawk's
        // concurrency and NOT VALID rules exempt them (which is why each revision is linted on
        // its own). Its timeout rules do not: they ask for timeouts before any ALTER or index.
        let (sql, _) = revision_sql(&offline(
            "aaaa00000001",
            "",
            &format!(
                "{table}CREATE INDEX ix_tag_name ON tag (name);\n\n\
                 ALTER TABLE tag ADD CONSTRAINT fk_tag_parent FOREIGN KEY(parent_id) \
                 REFERENCES tag (id);\n\n"
            ),
        ));
        assert_eq!(
            rules(&sql, &LintSettings::default()),
            ["require-lock-timeout", "require-statement-timeout"]
        );

        let add_column = offline(
            "bbbb00000002",
            "aaaa00000001",
            "SET lock_timeout = '3s';\n\nSET statement_timeout = '30s';\n\n\
             ALTER TABLE account ADD COLUMN note TEXT;\n\n",
        );
        let (sql, _) = revision_sql(&add_column);
        assert_eq!(rules(&sql, &LintSettings::default()), Vec::<String>::new());
        // Without timeouts, squawk's defaults ask for them before the ACCESS EXCLUSIVE lock.
        let (sql, _) = revision_sql(&offline(
            "bbbb00000002",
            "aaaa00000001",
            "ALTER TABLE account ADD COLUMN note TEXT;\n\n",
        ));
        assert_eq!(
            rules(&sql, &LintSettings::default()),
            ["require-lock-timeout", "require-statement-timeout"]
        );
    }

    #[test]
    fn excluded_rules_and_settings() {
        let sql = "CREATE INDEX ix_account_name ON account (name);\n";
        let settings = LintSettings {
            excluded_rules: vec![
                "require-concurrent-index-creation".into(),
                "require-lock-timeout".into(),
                "require-statement-timeout".into(),
            ],
            ..LintSettings::default()
        };
        assert_eq!(rules(sql, &settings), Vec::<String>::new());

        let unknown = LintSettings {
            excluded_rules: vec!["no-such-rule".into()],
            ..LintSettings::default()
        };
        assert_eq!(
            lint(sql, &unknown),
            Err(LintError::UnknownRule("no-such-rule".into()))
        );
        let bad_version = LintSettings {
            pg_version: Some("fifteen".into()),
            ..LintSettings::default()
        };
        assert!(matches!(
            lint(sql, &bad_version),
            Err(LintError::PgVersion { .. })
        ));

        // A volatile default rewrites the table on any version; a constant one only before 11.
        let default = "ALTER TABLE account ADD COLUMN kind TEXT DEFAULT 'user';\n";
        let on = |v: &str| {
            rules(
                default,
                &LintSettings {
                    pg_version: Some(v.into()),
                    ..settings.clone()
                },
            )
        };
        assert_eq!(on("10"), ["adding-field-with-default"]);
        assert_eq!(on("15"), Vec::<String>::new());
    }

    #[test]
    fn syntax_errors_are_findings() {
        let found = lint(
            "ALTER TABLE account ADD COLUMN;\n",
            &LintSettings::default(),
        )
        .unwrap();
        assert!(found.iter().any(|f| f.rule == "syntax-error"), "{found:?}");
    }

    #[test]
    fn revision_sql_strips_the_bookkeeping_and_keeps_statement_ranges() {
        // From base: Alembic creates its table and inserts the first version.
        let out = "BEGIN;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> aaaa00000001

CREATE TABLE account (
    id SERIAL NOT NULL, 
    PRIMARY KEY (id)
);

-- squawk-ignore prefer-robust-stmts
ALTER TABLE account ADD COLUMN note TEXT;

INSERT INTO alembic_version (version_num) VALUES ('aaaa00000001') RETURNING alembic_version.version_num;

COMMIT;

";
        let (sql, ranges) = revision_sql(out);
        assert_eq!(
            sql,
            "CREATE TABLE account (\n    id SERIAL NOT NULL, \n    PRIMARY KEY (id)\n);\n\n\
             -- squawk-ignore prefer-robust-stmts\n\
             ALTER TABLE account ADD COLUMN note TEXT;\n"
        );
        let texts: Vec<&str> = ranges.iter().map(|r| &sql[r.clone()]).collect();
        assert_eq!(
            texts,
            [
                "CREATE TABLE account (\n    id SERIAL NOT NULL, \n    PRIMARY KEY (id)\n);",
                "ALTER TABLE account ADD COLUMN note TEXT;",
            ]
        );

        // An autocommit_block's COMMIT/BEGIN stay in the text but are not statements of the
        // revision; a `;` inside a string does not split; DELETE (a merge) and a schema-qualified
        // version table are bookkeeping too.
        let (sql, ranges) = revision_sql(HAZARDS);
        assert!(
            sql.contains("COMMIT;\n\nCREATE INDEX CONCURRENTLY"),
            "{sql}"
        );
        assert!(
            !sql.contains("alembic_version") && !sql.contains("--"),
            "{sql}"
        );
        assert_eq!(ranges.len(), 7);
        assert_eq!(
            &sql[ranges[6].clone()],
            "UPDATE account SET note = 'x; y' WHERE id = 1;"
        );
        let merge = "BEGIN;\n\n-- Running upgrade a, b -> c\n\n\
                     DELETE FROM public.alembic_version WHERE alembic_version.version_num = 'a';\n\n\
                     UPDATE \"public\".\"alembic_version\" SET version_num='c' WHERE alembic_version.version_num = 'b';\n\n\
                     COMMIT;\n\n";
        assert_eq!(revision_sql(merge), (String::new(), vec![]));
    }

    #[test]
    fn op_call_lines_follow_upgrade() {
        let src = br#""""add email

Revision ID: bbbb00000002
"""
from alembic import op
import sqlalchemy as sa

revision = "bbbb00000002"
down_revision = "aaaa00000001"


def helper():
    op.drop_table("not_in_upgrade")


def upgrade():
    op.create_index(
        op.f("ix_account_name"),  # op.f emits nothing
        "account",
        ["name"],
    )
    conn = op.get_bind()
    op.add_column("account", sa.Column("email", sa.Text(), nullable=False))
    with op.batch_alter_table("account", schema=None) as b:
        b.alter_column("name", type_=sa.Text())
        b.create_foreign_key(
            "fk_account_owner", "account", ["owner_id"], ["id"]
        )
    tag = op.create_table("tag", sa.Column("id", sa.BigInteger(), primary_key=True))
    with op.get_context().autocommit_block():
        op.create_index("ix_account_email", "account", ["email"], postgresql_concurrently=True)
    b.not_a_batch_any_more()
    op.execute("UPDATE account SET note = 'x; y' WHERE id = 1")


def downgrade():
    op.drop_column("account", "email")
"#;
        assert_eq!(op_call_lines(src), [17, 23, 25, 26, 29, 31, 33]);
        assert_eq!(
            op_call_lines(b"def upgrade():\n    pass\n"),
            Vec::<usize>::new()
        );
    }
}
