//! Reads one revision file statically: `revision`, `down_revision`, `branch_labels`, `depends_on`
//! and the docstring's first line, from module-level assignments of literal values, the way
//! Alembic would see them after importing the module.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::tokenize::{for_each_line, Flow, Line, Tok};
use crate::graph::Revision;

/// Alembic's fallback for files without `revision`: a hex file name is the id.
static LEGACY_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([a-f0-9]+)\.py$").expect("valid regex"));

const FIELDS: [&str; 4] = ["revision", "down_revision", "branch_labels", "depends_on"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Revision(Revision),
    /// Something only running Python could tell; the reason says what.
    NotStatic(String),
    /// Alembic itself would reject the file; the message says why (and names the file).
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    None,
    Str(String),
    Seq(Vec<String>),
}

pub fn read_file(path: &Path, src: &[u8]) -> Read {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Python refuses a NUL byte anywhere ("source code string cannot contain null bytes"):
    // binary data, not a revision whatever else it holds.
    if let Some(at) = src.iter().position(|&b| b == 0) {
        return Read::Invalid(format!(
            "{}:{}: the file holds a NUL byte (binary data, not Python source), so Python cannot import it",
            path.display(),
            line_at(src, at)
        ));
    }
    let mut values: [Option<Value>; 4] = Default::default();
    let mut doc: Option<Option<String>> = None;
    let mut not_static: Option<String> = None;
    let mut invalid: Option<String> = None;
    let tokenized = for_each_line(src, |line| {
        if doc.is_none() {
            doc = Some(docstring(line));
        }
        // Function and class bodies don't run at import: their assignments are local.
        let first = line.tokens[0];
        if first.is_name("def") || first.is_name("class") || first.is_name("async") {
            return Flow::SkipBlock;
        }
        if let Some(field) = unpacking_target(&line.tokens) {
            not_static = Some(format!(
                "{}:{}: {field} is assigned by unpacking",
                path.display(),
                line.lineno
            ));
            return Flow::Stop;
        }
        let Some((targets, value)) = split_assignment(&line.tokens) else {
            return Flow::Next;
        };
        for target in targets {
            let Some(slot) = FIELDS.iter().position(|f| f.as_bytes() == target) else {
                continue;
            };
            let field = FIELDS[slot];
            if line.indent > 0 {
                not_static = Some(format!(
                    "{}:{}: {field} is assigned inside a block",
                    path.display(),
                    line.lineno
                ));
                return Flow::Stop;
            }
            match parse_value(value) {
                Some(v) => values[slot] = Some(v),
                // `revision = 123`: a literal Alembic cannot use (it fails with a TypeError).
                None if matches!(value, [Tok::Number]) => {
                    invalid = Some(format!(
                        "{}:{}: {field} must be a string: quote the id ({field} = \"…\")",
                        path.display(),
                        line.lineno
                    ));
                    return Flow::Stop;
                }
                None => {
                    not_static = Some(format!(
                        "{}:{}: {field} is computed, not a literal",
                        path.display(),
                        line.lineno
                    ));
                    return Flow::Stop;
                }
            }
        }
        Flow::Next
    });
    if let Err(e) = tokenized {
        if let Err(bad) = std::str::from_utf8(src) {
            // Neither UTF-8 nor Python: nothing Alembic could load either.
            return Read::Invalid(format!(
                "{}:{}: the file is not UTF-8 text (byte 0x{:02x}) and does not tokenize as Python ({}), so Python cannot import it",
                path.display(),
                line_at(src, bad.valid_up_to()),
                src[bad.valid_up_to()],
                e.message
            ));
        }
        return Read::NotStatic(format!("{}:{}: {}", path.display(), e.lineno, e.message));
    }
    if let Some(why) = invalid {
        return Read::Invalid(why);
    }
    if let Some(why) = not_static {
        return Read::NotStatic(why);
    }
    let [revision, down, labels, depends] = values;
    let id = match revision {
        Some(Value::Str(id)) => id,
        Some(_) => return Read::NotStatic(format!("{}: revision is not a string", path.display())),
        None => match LEGACY_NAME.captures(&name) {
            Some(c) => c[1].to_owned(),
            None => {
                return Read::Invalid(format!(
                    "Could not determine revision id from filename {name}. Be sure the 'revision' variable is declared inside the script"
                ))
            }
        },
    };
    Read::Revision(Revision {
        id,
        parents: to_list(down),
        depends_on: to_list(depends),
        branch_labels: to_list(labels),
        path: Some(path.to_string_lossy().into_owned()),
        message: doc.flatten().map(|d| first_line(&d)).unwrap_or_default(),
    })
}

/// The 1-based line of byte `at`.
fn line_at(src: &[u8], at: usize) -> usize {
    1 + src[..at].iter().filter(|&&b| b == b'\n').count()
}

fn to_list(v: Option<Value>) -> Vec<String> {
    match v {
        None | Some(Value::None) => Vec::new(),
        Some(Value::Str(s)) => vec![s],
        Some(Value::Seq(items)) => items,
    }
}

/// Alembic's message: the stripped module docstring, up to its first line.
fn first_line(doc: &str) -> String {
    doc.trim()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The module docstring, if the first statement is made only of (non-f) string literals.
fn docstring(first: &Line) -> Option<String> {
    let mut doc = String::new();
    for tok in &first.tokens {
        doc.push_str(&tok.string_value()?);
    }
    Some(doc)
}

/// `a = b = value`, `a: T = value`: the target names and the value tokens.
fn split_assignment<'t, 'a>(tokens: &'t [Tok<'a>]) -> Option<(Vec<&'a [u8]>, &'t [Tok<'a>])> {
    let mut depth = 0i32;
    let mut eqs = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if let Tok::Op(op) = t {
            match *op {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => depth -= 1,
                b"=" if depth == 0 => eqs.push(i),
                _ => {}
            }
        }
    }
    let &last = eqs.last()?;
    let mut targets = Vec::new();
    let mut start = 0;
    for &eq in &eqs {
        match &tokens[start..eq] {
            [Tok::Name(n)] => targets.push(*n),
            [Tok::Name(n), colon, ..] if colon.is_op(":") && start == 0 => targets.push(*n),
            _ => {}
        }
        start = eq + 1;
    }
    Some((targets, &tokens[last + 1..]))
}

/// `revision, down_revision = …`: a field assigned by tuple unpacking.
fn unpacking_target(tokens: &[Tok]) -> Option<&'static str> {
    let eq = tokens.iter().position(|t| t.is_op("="))?;
    let lhs = &tokens[..eq];
    let mut depth = 0i32;
    let mut top_level_comma = false;
    for t in lhs {
        if let Tok::Op(o) = t {
            match *o {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => depth -= 1,
                b":" if depth == 0 => return None, // an annotation, not a tuple target
                b"," if depth == 0 => top_level_comma = true,
                _ => {}
            }
        }
    }
    if !top_level_comma {
        return None;
    }
    FIELDS
        .into_iter()
        .find(|f| lhs.iter().any(|t| t.is_name(f)))
}

/// `None`, a string (adjacent literals concatenated), or a tuple/list of strings.
fn parse_value(tokens: &[Tok]) -> Option<Value> {
    match tokens {
        [none] if none.is_name("None") => return Some(Value::None),
        [open, inner @ .., close]
            if (open.is_op("(") && close.is_op(")")) || (open.is_op("[") && close.is_op("]")) =>
        {
            let items = split_items(inner)?;
            let trailing_comma = inner.last().is_some_and(|c| c.is_op(","));
            // `("a")` is a string; `("a",)`, `["a"]` and `()` are sequences.
            if open.is_op("(") && items.len() == 1 && !trailing_comma {
                return Some(Value::Str(items.into_iter().next()?));
            }
            return Some(Value::Seq(items));
        }
        _ => {}
    }
    let items = split_items(tokens)?;
    let has_comma = tokens.iter().any(|t| t.is_op(","));
    match (items.len(), has_comma) {
        (1, false) => Some(Value::Str(items.into_iter().next()?)),
        (_, true) => Some(Value::Seq(items)),
        _ => None,
    }
}

/// Comma-separated string items (trailing comma allowed); `None` if anything else appears.
fn split_items(tokens: &[Tok]) -> Option<Vec<String>> {
    let mut items = Vec::new();
    let mut current: Option<String> = None;
    for tok in tokens {
        if tok.is_op(",") {
            items.push(current.take()?);
        } else {
            current
                .get_or_insert_with(String::new)
                .push_str(&tok.string_value()?);
        }
    }
    items.extend(current);
    Some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(src: &str) -> Read {
        read_file(Path::new("/v/abc_x.py"), src.as_bytes())
    }

    fn rev(src: &str) -> Revision {
        match read(src) {
            Read::Revision(r) => r,
            other => panic!("expected a revision, got {other:?}"),
        }
    }

    #[test]
    fn modern_annotated_style() {
        let r = rev(r#""""add email

Revision ID: b2
Revises: a1
Create Date: 2024-01-01

"""
from typing import Sequence, Union

revision: str = "b2"  # Part of: 25.1.0
down_revision: Union[str, Sequence[str], None] = (
    "a1",  # the old head
    'a0',
)
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = ["x1"]
"#);
        assert_eq!(r.id, "b2");
        assert_eq!(r.parents, ["a1", "a0"]);
        assert!(r.branch_labels.is_empty());
        assert_eq!(r.depends_on, ["x1"]);
        assert_eq!(r.message, "add email");
    }

    #[test]
    fn plain_style_and_docstring_mentions_are_not_assignments() {
        let r = rev("'''msg\nrevision = 'nope'\nRevision ID: nope\n'''\nrevision = '7h4m7ygnaao1'\ndown_revision = None\nbranch_labels = ('lbl',)\n");
        assert_eq!(r.id, "7h4m7ygnaao1");
        assert!(r.parents.is_empty());
        assert_eq!(r.branch_labels, ["lbl"]);
        assert_eq!(r.message, "msg");
    }

    #[test]
    fn computed_values_and_blocks_are_not_static() {
        assert!(matches!(
            read("revision = 'a'\ndown_revision = get()\n"),
            Read::NotStatic(_)
        ));
        assert!(matches!(
            read("revision = 'a'\nif X:\n    down_revision = 'b'\n"),
            Read::NotStatic(_)
        ));
        assert!(matches!(
            read("revision, down_revision = 'a', 'b'\n"),
            Read::NotStatic(_)
        ));
        assert!(matches!(read("revision = f'a{x}'\n"), Read::NotStatic(_)));
        assert!(matches!(
            read("revision = 123\n"),
            Read::Invalid(m) if m.ends_with(":1: revision must be a string: quote the id (revision = \"…\")")
        ));
        // A local variable inside upgrade() is not the module's revision.
        assert!(
            matches!(read("revision = 'a'\ndef upgrade():\n    revision = conn.get()\n    x = 1\ndown_revision = 'z'\n"), Read::Revision(r) if r.parents == ["z"])
        );
    }

    #[test]
    fn binary_data_is_invalid_at_its_line_and_a_non_utf8_comment_is_not() {
        let at = |b: &[u8]| read_file(Path::new("/v/abc_x.py"), b);
        assert!(matches!(
            at(b"revision = 'a'\n\x00\x01"),
            Read::Invalid(m) if m.starts_with("/v/abc_x.py:2: the file holds a NUL byte")
        ));
        assert!(matches!(
            at(b"revision = 'a'\ndown_revision = None\nx = '\xe9\n"),
            Read::Invalid(m) if m.contains(":3: the file is not UTF-8 text (byte 0xe9)")
        ));
        // Tokenizable: the reader reads it (check reports the encoding itself).
        assert!(matches!(
            at(b"revision = 'a'\ndown_revision = None\n# caf\xe9\n"),
            Read::Revision(_)
        ));
    }

    #[test]
    fn missing_revision_mirrors_alembic() {
        assert!(
            matches!(read("down_revision = None\n"), Read::Invalid(m) if m.contains("abc_x.py"))
        );
        let legacy = read_file(Path::new("/v/ae1027a6acf.py"), b"down_revision = None\n");
        assert!(matches!(legacy, Read::Revision(r) if r.id == "ae1027a6acf"));
    }

    #[test]
    fn values_in_every_shape() {
        assert_eq!(parse_value(&[Tok::Name(b"None")]), Some(Value::None));
        let s = |v: &'static str| Tok::Str {
            body: v.as_bytes(),
            raw: false,
            formatted: false,
        };
        let op = |o: &'static str| Tok::Op(o.as_bytes());
        assert_eq!(
            parse_value(&[s("a"), s("b")]),
            Some(Value::Str("ab".into()))
        );
        assert_eq!(
            parse_value(&[op("("), s("a"), op(")")]),
            Some(Value::Str("a".into()))
        );
        assert_eq!(
            parse_value(&[op("("), s("a"), op(","), op(")")]),
            Some(Value::Seq(vec!["a".into()]))
        );
        assert_eq!(
            parse_value(&[s("a"), op(","), s("b")]),
            Some(Value::Seq(vec!["a".into(), "b".into()]))
        );
        assert_eq!(parse_value(&[op("("), op(")")]), Some(Value::Seq(vec![])));
        assert_eq!(parse_value(&[Tok::Number]), None);
    }
}
