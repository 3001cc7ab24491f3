//! What a revision's `downgrade()` destroys, found statically with the tokenizer: dropped tables
//! and columns (also through `batch_alter_table`), type changes of columns, and `op.execute` of
//! DROP / DELETE / TRUNCATE. Shown before a downgrade asks for confirmation.

use std::path::Path;

use serde::Serialize;

use super::tokenize::{for_each_line, Flow, Line, Tok};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// 1-based line in the revision file.
    pub line: usize,
    /// What it does, e.g. `drops table sessions`.
    pub operation: String,
}

/// Findings in the body of `def downgrade` (any indentation of its statements).
pub fn in_downgrade(src: &[u8]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut body_of: Option<usize> = None;
    // `with op.batch_alter_table("t") as batch_op:` → batch_op refers to table t.
    let mut batch: Vec<(String, String, usize)> = Vec::new();
    let _ = for_each_line(src, |line| {
        if let Some(indent) = body_of {
            if line.indent <= indent {
                body_of = None;
            }
        }
        let starts_def = line.tokens.first().is_some_and(|t| t.is_name("def"))
            || (line.tokens.first().is_some_and(|t| t.is_name("async"))
                && line.tokens.get(1).is_some_and(|t| t.is_name("def")));
        if body_of.is_none() {
            if starts_def && line.tokens.iter().any(|t| t.is_name("downgrade")) {
                body_of = Some(line.indent);
                batch.clear();
                return Flow::Next;
            }
            // Other functions (upgrade) and classes: nothing to report there.
            let opens_block = starts_def || line.tokens.first().is_some_and(|t| t.is_name("class"));
            return if opens_block {
                Flow::SkipBlock
            } else {
                Flow::Next
            };
        }
        batch.retain(|(_, _, indent)| line.indent > *indent);
        if let Some(alias) = batch_alias(line) {
            batch.push((alias.0, alias.1, line.indent));
        }
        findings.extend(scan(line, &batch).into_iter().map(|operation| Finding {
            line: line.lineno,
            operation,
        }));
        Flow::Next
    });
    findings
}

/// Read a revision file and scan its downgrade; unreadable files give no findings.
pub fn in_file(path: &Path) -> Vec<Finding> {
    std::fs::read(path)
        .map(|src| in_downgrade(&src))
        .unwrap_or_default()
}

fn string_args(tokens: &[Tok]) -> Vec<String> {
    tokens.iter().filter_map(Tok::string_value).collect()
}

/// `with op.batch_alter_table("t") as batch_op:` → ("batch_op", "t").
fn batch_alias(line: &Line) -> Option<(String, String)> {
    let t = &line.tokens;
    if !t.first()?.is_name("with") {
        return None;
    }
    let at = t
        .windows(3)
        .position(|w| w[0].is_name("op") && w[1].is_op(".") && w[2].is_name("batch_alter_table"))?;
    let table = t[at + 3..].iter().find_map(Tok::string_value)?;
    let as_at = t.iter().position(|x| x.is_name("as"))?;
    match t.get(as_at + 1)? {
        Tok::Name(alias) => Some((String::from_utf8_lossy(alias).into_owned(), table)),
        _ => None,
    }
}

fn scan(line: &Line, batch: &[(String, String, usize)]) -> Vec<String> {
    let t = &line.tokens;
    let mut found = Vec::new();
    for i in 0..t.len().saturating_sub(3) {
        let Tok::Name(receiver) = t[i] else { continue };
        if !t[i + 1].is_op(".") || !t[i + 3].is_op("(") {
            continue;
        }
        let Tok::Name(method) = t[i + 2] else {
            continue;
        };
        let receiver = String::from_utf8_lossy(receiver);
        let batch_table = batch
            .iter()
            .rev()
            .find(|(alias, _, _)| *alias == receiver)
            .map(|(_, table, _)| table.clone());
        if receiver != "op" && batch_table.is_none() {
            continue;
        }
        let args = string_args(&t[i + 4..]);
        let first = args.first().cloned().unwrap_or_else(|| "?".into());
        match (method, &batch_table) {
            (b"drop_table", _) => found.push(format!("drops table {first}")),
            (b"drop_column", Some(table)) => found.push(format!("drops column {table}.{first}")),
            (b"drop_column", None) => found.push(format!(
                "drops column {first}.{}",
                args.get(1).map_or("?", String::as_str)
            )),
            (b"alter_column", _) if t[i + 4..].iter().any(|x| x.is_name("type_")) => {
                let column = match &batch_table {
                    Some(table) => format!("{table}.{first}"),
                    None => format!("{first}.{}", args.get(1).map_or("?", String::as_str)),
                };
                found.push(format!(
                    "changes the type of column {column} (narrowing loses data)"
                ));
            }
            (b"execute", _) => {
                let sql = args.concat();
                let upper = sql.to_uppercase();
                if ["DROP ", "DELETE ", "TRUNCATE "]
                    .iter()
                    .any(|k| upper.contains(k))
                {
                    let short: String = sql
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .chars()
                        .take(70)
                        .collect();
                    found.push(format!("executes {short}"));
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_downgrade_destroys_and_ignores_upgrade() {
        let src = br#"
def upgrade():
    op.drop_table("not_in_downgrade")


def downgrade() -> None:
    op.drop_column("users", "email")
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.drop_column("status")
        batch_op.alter_column("name", type_=sa.String(16))
    op.execute(
        "DELETE FROM kernels "
        "WHERE status = 'x'"
    )
    op.execute("UPDATE a SET b = 1")
    op.drop_index("ix_a")
    op.drop_table('keypairs')
"#;
        let found = in_downgrade(src);
        let ops: Vec<(usize, &str)> = found
            .iter()
            .map(|f| (f.line, f.operation.as_str()))
            .collect();
        assert_eq!(
            ops,
            [
                (7, "drops column users.email"),
                (9, "drops column sessions.status"),
                (
                    10,
                    "changes the type of column sessions.name (narrowing loses data)"
                ),
                (11, "executes DELETE FROM kernels WHERE status = 'x'"),
                (17, "drops table keypairs"),
            ]
        );
    }
}
