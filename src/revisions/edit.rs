//! Byte-exact edits of revision files people own: when heads diverge, the team repoints the
//! `down_revision` of the developer's own unreleased migration onto the other head (never a merge
//! migration). Only the bytes that name the old parent change; quotes, string prefixes,
//! annotations, comments, line endings and every other byte stay as they were, so the diff a
//! reviewer sees is the one line that matters (plus the docstring's `Revises:` line).
//!
//! Edits are computed first ([`repoint`]), shown ([`unified_diff`]), and written in one step
//! ([`write_atomically`]).

use std::io::Write;
use std::ops::Range;
use std::path::Path;

use super::tokenize::{for_each_line, span_in, Flow, Line, Tok};

const FIELD: &str = "down_revision";

/// Python's augmented assignment operators.
const AUGMENTED: [&[u8]; 13] = [
    b"+=", b"-=", b"*=", b"/=", b"//=", b"%=", b"@=", b"&=", b"|=", b"^=", b">>=", b"<<=", b"**=",
];

/// Why a revision file cannot be repointed by changing a literal's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No module-level `down_revision` assignment.
    #[error("no module-level down_revision assignment")]
    Missing,
    /// `down_revision` is not a single plain string literal at module level (`None` — a root —, a
    /// tuple or list — a merge —, a name or other computed value, an f-string, adjacent literals,
    /// an assignment inside `if`/`try`/…, by unpacking or chained, or more than one assignment).
    /// `line` is 1-based; `why` says which.
    #[error("line {line}: down_revision is {why}, not a single string literal")]
    NotPlainLiteral { line: usize, why: String },
    /// The literal names another revision than the one to repoint from.
    #[error("line {line}: down_revision is {actual:?}, not the expected one")]
    Names { line: usize, actual: String },
    /// The new parent cannot be written into the literal as it is: empty, or holding a quote, a
    /// backslash, a comma, whitespace or a control character.
    #[error("{0:?} cannot be written as a revision id")]
    UnwritableId(String),
    /// The file does not tokenize as Python.
    #[error("line {line}: {message}")]
    Unreadable { line: usize, message: String },
}

/// Rewrite a revision file so its `down_revision` names `to` instead of `from`: the string
/// literal's content only (its quotes and prefix kept), plus the module docstring's
/// `Revises: <from>` line when present (a `Revises:` line naming anything else, e.g. a merge's
/// `abc, def`, stays). Every other byte stays; `from == to` gives back `src` unchanged.
///
/// Accepted: `down_revision = 'abc'` at module level, with any string quotes or prefix, an
/// optional annotation (`down_revision: Union[str, None] = "abc"`), optional parentheses around
/// the one literal, and anything after it on the line (comments).
pub fn repoint(src: &[u8], from: &str, to: &str) -> Result<Vec<u8>, EditError> {
    if !writable_id(to) {
        return Err(EditError::UnwritableId(to.to_owned()));
    }
    let mut first_line = true;
    let mut docstring_edits: Vec<Range<usize>> = Vec::new();
    // The literal's body, or why there is none: the first problem ends the scan.
    let mut found: Option<(usize, Result<Range<usize>, EditError>)> = None;
    let tokenized = for_each_line(src, |line| {
        if std::mem::take(&mut first_line) {
            docstring_edits = revises_lines(src, line, from);
        }
        let first = line.tokens[0];
        // Function and class bodies don't run at import: their assignments are local.
        if first.is_name("def") || first.is_name("class") || first.is_name("async") {
            return Flow::SkipBlock;
        }
        if !assigns_field(&line.tokens) {
            return Flow::Next;
        }
        if let Some((earlier, _)) = found {
            found = Some((
                line.lineno,
                Err(not_plain(
                    line.lineno,
                    format!(
                        "assigned more than once (lines {earlier} and {})",
                        line.lineno
                    ),
                )),
            ));
            return Flow::Stop;
        }
        let literal = literal_body(src, line, from);
        let stop = literal.is_err();
        found = Some((line.lineno, literal));
        if stop {
            Flow::Stop
        } else {
            Flow::Next
        }
    });
    if let Err(e) = tokenized {
        return Err(EditError::Unreadable {
            line: e.lineno,
            message: e.message,
        });
    }
    let body = found.ok_or(EditError::Missing)?.1?;
    let mut edits = docstring_edits;
    edits.push(body);
    edits.sort_by_key(|r| r.start);
    let mut out = Vec::with_capacity(src.len() + edits.len() * to.len());
    let mut at = 0;
    for span in edits {
        out.extend_from_slice(&src[at..span.start]);
        out.extend_from_slice(to.as_bytes());
        at = span.end;
    }
    out.extend_from_slice(&src[at..]);
    Ok(out)
}

/// An id that reads the same inside any string literal and on a `Revises:` line.
fn writable_id(id: &str) -> bool {
    !id.is_empty()
        && !id
            .chars()
            .any(|c| matches!(c, '\'' | '"' | '\\' | ',') || c.is_whitespace() || c.is_control())
}

fn not_plain(line: usize, why: impl Into<String>) -> EditError {
    EditError::NotPlainLiteral {
        line,
        why: why.into(),
    }
}

/// Whether the logical line assigns `down_revision` in any way: as (one of) the targets before
/// the last top-level `=` or augmented assignment, or with `:=`. `x = down_revision`,
/// `f(down_revision=…)` and `op.down_revision = …` don't.
fn assigns_field(tokens: &[Tok]) -> bool {
    let mut depth = 0i32;
    let mut last_assign = None;
    for (i, t) in tokens.iter().enumerate() {
        if let Tok::Op(op) = t {
            match *op {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => depth -= 1,
                _ if depth == 0 && (*op == b"=" || AUGMENTED.contains(op)) => {
                    last_assign = Some(i);
                }
                _ => {}
            }
        }
    }
    tokens.iter().enumerate().any(|(i, t)| {
        t.is_name(FIELD)
            && !(i > 0 && tokens[i - 1].is_op("."))
            && (last_assign.is_some_and(|eq| i < eq)
                || tokens.get(i + 1).is_some_and(|n| n.is_op(":=")))
    })
}

/// The span of the literal's body in `down_revision = '…'` (the line is known to assign it), if
/// the line has that shape and the literal names `from`.
fn literal_body(src: &[u8], line: &Line, from: &str) -> Result<Range<usize>, EditError> {
    let n = line.lineno;
    if line.indent > 0 {
        return Err(not_plain(n, "assigned inside a block (if/try/with/…)"));
    }
    let t = &line.tokens;
    if !t[0].is_name(FIELD) {
        let why = match t[0] {
            Tok::Name(k) if is_compound_keyword(k) => "assigned inside a one-line block",
            _ if t.iter().any(|o| o.is_op(":=")) => "assigned by an assignment expression",
            _ => "assigned together with other names (unpacking or chained)",
        };
        return Err(not_plain(n, why));
    }
    if matches!(t.get(1), Some(Tok::Op(op)) if AUGMENTED.contains(op)) {
        return Err(not_plain(n, "changed by an augmented assignment"));
    }
    let eq = match top_level_positions(t, |op| op == b"=").as_slice() {
        [eq] if t[1].is_op("=") || t[1].is_op(":") => *eq,
        _ => return Err(not_plain(n, "assigned together with other names (chained)")),
    };
    let mut value = &t[eq + 1..];
    if let [open, inner @ .., close] = value {
        if open.is_op("(") && close.is_op(")") && inner.len() == 1 {
            value = inner;
        }
    }
    match value {
        [tok @ Tok::Str {
            body,
            formatted: false,
            ..
        }] => {
            let actual = tok.string_value().unwrap_or_default();
            if actual != from {
                return Err(EditError::Names { line: n, actual });
            }
            span_in(src, body).ok_or_else(|| not_plain(n, "not located in the source"))
        }
        [Tok::Str {
            formatted: true, ..
        }] => Err(not_plain(n, "an f-string")),
        [none] if none.is_name("None") => Err(not_plain(
            n,
            "None (a root revision: there is no parent to repoint)",
        )),
        [Tok::Name(_)] => Err(not_plain(n, "a name, computed at import")),
        _ if value.iter().any(|v| v.is_op(","))
            || value.first().is_some_and(|v| v.is_op("(") || v.is_op("[")) =>
        {
            Err(not_plain(n, "a tuple or list (a merge revision)"))
        }
        _ if !value.is_empty() && value.iter().all(|v| matches!(v, Tok::Str { .. })) => {
            Err(not_plain(n, "adjacent string literals"))
        }
        _ => Err(not_plain(n, "a computed value")),
    }
}

fn is_compound_keyword(word: &[u8]) -> bool {
    matches!(
        word,
        b"if" | b"elif" | b"else" | b"try" | b"except" | b"finally" | b"with" | b"for" | b"while"
    )
}

/// Indexes of the operators outside brackets that `is_op` picks.
fn top_level_positions(tokens: &[Tok], is_op: impl Fn(&[u8]) -> bool) -> Vec<usize> {
    let mut depth = 0i32;
    let mut at = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if let Tok::Op(op) = t {
            match *op {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => depth -= 1,
                _ if depth == 0 && is_op(op) => at.push(i),
                _ => {}
            }
        }
    }
    at
}

/// In the module docstring (the first statement, if made of plain string literals only), the
/// spans of the ids on `Revises: <from>` lines. Lines naming anything else stay.
fn revises_lines(src: &[u8], first: &Line, from: &str) -> Vec<Range<usize>> {
    let is_doc = first.tokens.iter().all(|t| {
        matches!(
            t,
            Tok::Str {
                formatted: false,
                ..
            }
        )
    });
    if !is_doc {
        return Vec::new();
    }
    let mut spans = Vec::new();
    for tok in &first.tokens {
        let Tok::Str { body, .. } = tok else { continue };
        let Some(base) = span_in(src, body) else {
            continue;
        };
        let mut at = 0;
        for text in body.split(|&b| b == b'\n') {
            let start = at;
            at += text.len() + 1;
            let Some(rest) = text.trim_ascii_start().strip_prefix(b"Revises:") else {
                continue;
            };
            let id = rest.trim_ascii();
            if id != from.as_bytes() {
                continue;
            }
            // `id` is a sub-slice of `text`, itself of `body`.
            let offset = id.as_ptr() as usize - text.as_ptr() as usize;
            let id_start = base.start + start + offset;
            spans.push(id_start..id_start + id.len());
        }
    }
    spans
}

/// A new file as a unified diff (`--- /dev/null`, every line added), to show before writing it.
pub fn new_file_diff(path: &str, text: &str) -> String {
    similar::TextDiff::from_lines("", text)
        .unified_diff()
        .context_radius(3)
        .header("/dev/null", path)
        .to_string()
}

/// A unified diff of `before` → `after`, both labelled with `path`, with 3 lines of context:
/// what [`repoint`] changes, to show before writing. Empty when nothing changes. Bytes that are not
/// UTF-8 show as U+FFFD.
pub fn unified_diff(path: &str, before: &[u8], after: &[u8]) -> String {
    if before == after {
        return String::new();
    }
    let before = String::from_utf8_lossy(before);
    let after = String::from_utf8_lossy(after);
    similar::TextDiff::from_lines(before.as_ref(), after.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(path, path)
        .to_string()
}

/// Write a new file: refused when `path` exists; nothing is left behind when writing fails.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// Write `bytes` to the existing file `path` through a temporary file in the same directory and a
/// rename, keeping the file's permissions: readers see the old content or the new, never a part.
/// A symbolic link is followed, so the link stays and its target changes.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = std::fs::canonicalize(path)?;
    let permissions = std::fs::metadata(&path)?.permissions();
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(
            ".{name}.{}.{attempt}.db-migrate-tmp",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| file.set_permissions(permissions))
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // The rename itself survives a crash once the directory is synced; failing that is not an
    // error for the edit, which is done.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revisions::reader::{read_file, Read};

    /// Repoint `abc` → `xyz`, check the whole output, and that the reader sees the new parent.
    fn check(before: &str, after: &str) {
        let out = repoint(before.as_bytes(), "abc", "xyz").unwrap();
        assert_eq!(String::from_utf8(out.clone()).unwrap(), after);
        match read_file(Path::new("/v/0a1.py"), &out) {
            Read::Revision(r) => assert_eq!(r.parents, ["xyz"]),
            other => panic!("the edited file does not read: {other:?}"),
        }
        // And back: byte-exact.
        let back = repoint(&out, "xyz", "abc").unwrap();
        assert_eq!(String::from_utf8(back).unwrap(), before);
    }

    fn fails(src: &str) -> EditError {
        repoint(src.as_bytes(), "abc", "xyz").unwrap_err()
    }

    fn not_plain(line: usize, why: &str) -> EditError {
        super::not_plain(line, why)
    }

    #[test]
    fn quotes_kept() {
        check(
            "revision = 'new1'\ndown_revision = 'abc'\n",
            "revision = 'new1'\ndown_revision = 'xyz'\n",
        );
        check(
            "revision = \"new1\"\ndown_revision = \"abc\"\n",
            "revision = \"new1\"\ndown_revision = \"xyz\"\n",
        );
        check(
            "revision = 'new1'\ndown_revision = r'''abc'''\n",
            "revision = 'new1'\ndown_revision = r'''xyz'''\n",
        );
        check(
            "revision = 'new1'\ndown_revision = (\n    \"abc\"\n)\n",
            "revision = 'new1'\ndown_revision = (\n    \"xyz\"\n)\n",
        );
    }

    #[test]
    fn annotations_kept() {
        check(
            "revision: str = \"new1\"\ndown_revision: Union[str, None] = \"abc\"\n",
            "revision: str = \"new1\"\ndown_revision: Union[str, None] = \"xyz\"\n",
        );
        check(
            "revision: str = 'new1'\ndown_revision: str | None = 'abc'\n",
            "revision: str = 'new1'\ndown_revision: str | None = 'xyz'\n",
        );
    }

    #[test]
    fn comments_and_release_marker_kept() {
        check(
            "revision = \"new1\"\ndown_revision = \"abc\"  # previous\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels = None\n",
            "revision = \"new1\"\ndown_revision = \"xyz\"  # previous\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels = None\n",
        );
    }

    const TEMPLATE: &str = "\"\"\"add email to users\r\n\r\nRevision ID: new1\r\nRevises: abc\r\nCreate Date: 2025-03-01 10:00:00.000000\r\n\r\n\"\"\"\r\nfrom alembic import op\r\n\r\n# revision identifiers, used by Alembic.\r\nrevision = \"new1\"\r\ndown_revision = \"abc\"  # was abc\r\nbranch_labels = None\r\n\r\n\r\ndef upgrade():\r\n    op.execute(\"UPDATE t SET v = 'abc'\")\r\n    down_revision = 'abc'\r\n";

    #[test]
    fn crlf_docstring_and_other_mentions() {
        // Only the Revises line and the assignment change: not the comment, not the strings in
        // upgrade(), not its local variable; CRLF stays.
        let after = TEMPLATE
            .replace("Revises: abc", "Revises: xyz")
            .replace("down_revision = \"abc\"", "down_revision = \"xyz\"");
        check(TEMPLATE, &after);
        assert_eq!(after.matches("abc").count(), 3);
        assert_eq!(
            after.matches("\r\n").count(),
            TEMPLATE.matches("\r\n").count()
        );
    }

    #[test]
    fn single_quoted_docstring() {
        check(
            "'''msg\n\nRevision ID: new1\nRevises: abc\nCreate Date: x\n'''\nrevision = 'new1'\ndown_revision = 'abc'\n",
            "'''msg\n\nRevision ID: new1\nRevises: xyz\nCreate Date: x\n'''\nrevision = 'new1'\ndown_revision = 'xyz'\n",
        );
    }

    #[test]
    fn revises_lines_of_other_shapes_stay() {
        // A merge's list, or a stale docstring: left as written, and no failure.
        check(
            "\"\"\"m\nRevises: abc, def\n\"\"\"\nrevision = 'new1'\ndown_revision = 'abc'\n",
            "\"\"\"m\nRevises: abc, def\n\"\"\"\nrevision = 'new1'\ndown_revision = 'xyz'\n",
        );
        check(
            "\"\"\"m\nRevises: old\n\"\"\"\nrevision = 'new1'\ndown_revision = 'abc'\n",
            "\"\"\"m\nRevises: old\n\"\"\"\nrevision = 'new1'\ndown_revision = 'xyz'\n",
        );
        // Not a docstring: the first statement is code.
        check(
            "revision = 'new1'\nx = \"\"\"\nRevises: abc\n\"\"\"\ndown_revision = 'abc'\n",
            "revision = 'new1'\nx = \"\"\"\nRevises: abc\n\"\"\"\ndown_revision = 'xyz'\n",
        );
    }

    #[test]
    fn same_id_round_trips_byte_for_byte() {
        let src = format!("\u{feff}{TEMPLATE}no newline at the end");
        let out = repoint(src.as_bytes(), "abc", "abc").unwrap();
        assert_eq!(out, src.as_bytes());
        let non_utf8 = b"# \xff\xfe\nrevision = 'n'\ndown_revision = 'abc'\n";
        assert_eq!(
            repoint(non_utf8, "abc", "xyz").unwrap(),
            b"# \xff\xfe\nrevision = 'n'\ndown_revision = 'xyz'\n"
        );
    }

    #[test]
    fn values_that_are_not_one_literal() {
        assert_eq!(fails("revision = 'n'\n"), EditError::Missing);
        assert_eq!(
            fails("down_revision = None\n"),
            not_plain(1, "None (a root revision: there is no parent to repoint)")
        );
        assert_eq!(
            fails("down_revision = ('a', 'b')\n"),
            not_plain(1, "a tuple or list (a merge revision)")
        );
        assert_eq!(
            fails("down_revision = 'abc',\n"),
            not_plain(1, "a tuple or list (a merge revision)")
        );
        assert_eq!(
            fails("PREV = 'abc'\ndown_revision = PREV\n"),
            not_plain(2, "a name, computed at import")
        );
        assert_eq!(
            fails("down_revision = f'{x}'\n"),
            not_plain(1, "an f-string")
        );
        assert_eq!(
            fails("down_revision = 'ab' 'c'\n"),
            not_plain(1, "adjacent string literals")
        );
        assert_eq!(
            fails("down_revision = get('abc')\n"),
            not_plain(1, "a computed value")
        );
    }

    #[test]
    fn assignments_that_are_not_the_plain_statement() {
        assert_eq!(
            fails("if X:\n    down_revision = 'abc'\n"),
            not_plain(2, "assigned inside a block (if/try/with/…)")
        );
        assert_eq!(
            fails("try:\n    down_revision = 'abc'\nexcept E:\n    pass\n"),
            not_plain(2, "assigned inside a block (if/try/with/…)")
        );
        assert_eq!(
            fails("if X: down_revision = 'abc'\n"),
            not_plain(1, "assigned inside a one-line block")
        );
        assert_eq!(
            fails("down_revision = 'abc'\ndown_revision = 'abc'\n"),
            not_plain(2, "assigned more than once (lines 1 and 2)")
        );
        assert_eq!(
            fails("revision, down_revision = 'n', 'abc'\n"),
            not_plain(
                1,
                "assigned together with other names (unpacking or chained)"
            )
        );
        assert_eq!(
            fails("down_revision = other = 'abc'\n"),
            not_plain(1, "assigned together with other names (chained)")
        );
        assert_eq!(
            fails("down_revision = 'abc'\ndown_revision += ''\n"),
            not_plain(2, "assigned more than once (lines 1 and 2)")
        );
        assert_eq!(
            fails("down_revision += 'abc'\n"),
            not_plain(1, "changed by an augmented assignment")
        );
        assert_eq!(
            fails("(down_revision := 'abc')\n"),
            not_plain(1, "assigned by an assignment expression")
        );
        // Reading it, passing it as a keyword, setting an attribute: not assignments.
        check(
            "down_revision = 'abc'\nx = down_revision\nf(down_revision='abc')\no.down_revision = 'abc'\ndown_revision: str\n",
            "down_revision = 'xyz'\nx = down_revision\nf(down_revision='abc')\no.down_revision = 'abc'\ndown_revision: str\n",
        );
    }

    #[test]
    fn another_parent_or_unusable_id() {
        assert_eq!(
            fails("down_revision = 'def'  # abc\n"),
            EditError::Names {
                line: 1,
                actual: "def".into()
            }
        );
        // Escapes are compared decoded; the whole body is replaced.
        assert_eq!(
            repoint(b"down_revision = 'a\\x62c'\n", "abc", "xyz").unwrap(),
            b"down_revision = 'xyz'\n"
        );
        for bad in ["", "x'y", "x\"y", "x\\y", "a,b", "a b", "a\nb"] {
            assert_eq!(
                repoint(b"down_revision = 'abc'\n", "abc", bad),
                Err(EditError::UnwritableId(bad.into()))
            );
        }
        assert!(matches!(
            fails("down_revision = 'abc\n"),
            EditError::Unreadable { line: 1, .. }
        ));
    }

    #[test]
    fn diff_shows_the_line_and_the_path() {
        let before = b"a\nb\nc\nd\nrevision = 'n'\ndown_revision = 'abc'\ne\nf\ng\nh\n";
        let after = repoint(before, "abc", "xyz").unwrap();
        let diff = unified_diff(
            "src/ai/backend/manager/models/alembic/versions/n_x.py",
            before,
            &after,
        );
        assert_eq!(
            diff,
            "--- src/ai/backend/manager/models/alembic/versions/n_x.py\n\
             +++ src/ai/backend/manager/models/alembic/versions/n_x.py\n\
             @@ -3,7 +3,7 @@\n c\n d\n revision = 'n'\n-down_revision = 'abc'\n+down_revision = 'xyz'\n e\n f\n g\n"
        );
        assert_eq!(unified_diff("p", before, before), "");
    }

    #[test]
    fn atomic_write_keeps_mode_and_replaces_content() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o755, 0o644] {
            let path = dir.path().join(format!("rev_{mode:o}.py"));
            std::fs::write(&path, "down_revision = 'abc'\nlonger old content\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            write_atomically(&path, b"down_revision = 'xyz'\n").unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"down_revision = 'xyz'\n");
            let got = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            assert_eq!(got, mode);
        }
        // A link stays a link; its target gets the content.
        let target = dir.path().join("rev_755.py");
        let link = dir.path().join("link.py");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, b"new\n").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
        // No temporary file left behind; a missing file is an error, not a creation.
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["link.py", "rev_644.py", "rev_755.py"]);
        assert!(write_atomically(&dir.path().join("missing.py"), b"x").is_err());
        assert!(!dir.path().join("missing.py").exists());
    }
}
