//! A Python tokenizer, enough of the language's lexical grammar to find top-level statements
//! without running Python: strings of every kind (prefixes, triple quotes, escapes, f-strings with
//! nested quotes as Python 3.12 allows), comments, line continuations, brackets, and logical lines
//! with their indentation. Works on bytes, so a file with non-UTF-8 bytes still tokenizes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok<'a> {
    Name(&'a [u8]),
    /// A string literal: its body between the quotes, undecoded (see [`Tok::string_value`]).
    Str {
        body: &'a [u8],
        raw: bool,
        formatted: bool,
    },
    Number,
    /// Operators and delimiters, one to three bytes.
    Op(&'a [u8]),
}

impl Tok<'_> {
    pub fn is_name(&self, name: &str) -> bool {
        matches!(self, Tok::Name(n) if *n == name.as_bytes())
    }

    pub fn is_op(&self, op: &str) -> bool {
        matches!(self, Tok::Op(o) if *o == op.as_bytes())
    }

    /// A plain (not f-) string literal's value, escapes decoded unless raw.
    pub fn string_value(&self) -> Option<String> {
        match *self {
            Tok::Str {
                body,
                raw: true,
                formatted: false,
            } => Some(String::from_utf8_lossy(body).into_owned()),
            Tok::Str {
                body,
                raw: false,
                formatted: false,
            } => Some(decode_escapes(body)),
            _ => None,
        }
    }
}

/// One logical line: its indentation (0 = module level) and its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    pub indent: usize,
    /// 1-based physical line where the logical line starts.
    pub lineno: usize,
    pub tokens: Vec<Tok<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizeError {
    pub lineno: usize,
    pub message: String,
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    lineno: usize,
}

/// What the line handler wants after a logical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The next logical line, tokenized.
    Next,
    /// Skip the block this line opens: the following lines indented deeper than it (and blank or
    /// comment lines among them) are only scanned for strings, brackets and line ends, which is
    /// several times faster than tokenizing them. Function bodies are most of a revision file.
    SkipBlock,
    /// Stop here.
    Stop,
}

/// Tokenize `src` and hand each logical line to `on_line`, which says how to go on.
pub fn for_each_line<'a>(
    src: &'a [u8],
    mut on_line: impl FnMut(&Line<'a>) -> Flow,
) -> Result<(), TokenizeError> {
    let src = src.strip_prefix(b"\xef\xbb\xbf").unwrap_or(src);
    let mut lx = Lexer {
        src,
        pos: 0,
        lineno: 1,
    };
    let mut line = Line {
        indent: 0,
        lineno: 1,
        tokens: Vec::with_capacity(64),
    };
    let mut depth = 0usize;
    let mut at_line_start = true;
    // Inside a skipped block: lines indented deeper than this are skipped.
    let mut skipping: Option<usize> = None;
    while lx.pos < lx.src.len() {
        if at_line_start && depth == 0 {
            // Measure the indentation of a new physical line.
            let mut indent = 0;
            while lx.pos < lx.src.len() && matches!(lx.src[lx.pos], b' ' | b'\t' | b'\x0c') {
                indent += if lx.src[lx.pos] == b'\t' {
                    8 - indent % 8
                } else {
                    1
                };
                lx.pos += 1;
            }
            if let Some(block) = skipping {
                let blank = matches!(lx.peek(0), None | Some(b'\n' | b'\r' | b'#'));
                if blank || indent > block {
                    lx.skip_logical_line()?;
                    continue;
                }
                skipping = None;
            }
            line.indent = indent;
            at_line_start = false;
            continue;
        }
        match lx.src[lx.pos] {
            b'\n' => {
                lx.pos += 1;
                lx.lineno += 1;
                if depth == 0 {
                    if !line.tokens.is_empty() {
                        match on_line(&line) {
                            Flow::Next => {}
                            Flow::SkipBlock => skipping = Some(line.indent),
                            Flow::Stop => return Ok(()),
                        }
                        line.tokens.clear();
                    }
                    at_line_start = true;
                }
            }
            b'\r' | b' ' | b'\t' | b'\x0c' => lx.pos += 1,
            b'#' => lx.pos = next_newline(lx.src, lx.pos),
            b'\\'
                if lx.peek(1) == Some(b'\n')
                    || (lx.peek(1) == Some(b'\r') && lx.peek(2) == Some(b'\n')) =>
            {
                lx.pos += if lx.peek(1) == Some(b'\r') { 3 } else { 2 };
                lx.lineno += 1;
            }
            _ => {
                let lineno = lx.lineno;
                let tok = lx.token()?;
                if let Tok::Op([c]) = tok {
                    match c {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
                if line.tokens.is_empty() {
                    line.lineno = lineno;
                }
                line.tokens.push(tok);
            }
        }
    }
    if depth > 0 {
        return Err(TokenizeError {
            lineno: lx.lineno,
            message: "unclosed bracket at end of file".into(),
        });
    }
    if !line.tokens.is_empty() {
        on_line(&line);
    }
    Ok(())
}

/// All logical lines at once (tests).
#[cfg(test)]
pub fn logical_lines(src: &[u8]) -> Result<Vec<Line<'_>>, TokenizeError> {
    let mut lines = Vec::new();
    for_each_line(src, |l| {
        lines.push(l.clone());
        Flow::Next
    })?;
    Ok(lines)
}

/// Where a token's bytes (a [`Tok::Name`]/[`Tok::Op`] slice or a [`Tok::Str`] body, all sliced out
/// of the source by the tokenizer) lie in `src`, the buffer given to [`for_each_line`]: for
/// replacing exactly those bytes. `None` if `part` is not inside `src`.
pub fn span_in(src: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= src.len()).then_some(start..end)
}

fn next_newline(src: &[u8], from: usize) -> usize {
    src[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(src.len(), |p| from + p)
}

impl<'a> Lexer<'a> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    /// Skip one logical line (its newline included) without making tokens: only strings (whose
    /// contents may hold anything), comments, brackets and continuations decide where it ends.
    fn skip_logical_line(&mut self) -> Result<(), TokenizeError> {
        let mut depth = 0usize;
        while let Some(&c) = self.src.get(self.pos) {
            if !SKIP_STOPS[usize::from(c)] {
                self.pos += 1;
                continue;
            }
            match c {
                b'\n' => {
                    self.pos += 1;
                    self.lineno += 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                b'#' => self.pos = next_newline(self.src, self.pos),
                b'\\' => match (self.peek(1), self.peek(2)) {
                    (Some(b'\n'), _) => {
                        self.pos += 2;
                        self.lineno += 1;
                    }
                    (Some(b'\r'), Some(b'\n')) => {
                        self.pos += 3;
                        self.lineno += 1;
                    }
                    _ => self.pos += 1,
                },
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    self.pos += 1;
                }
                b')' | b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    self.pos += 1;
                }
                _ => {
                    // A quote: its prefix is the identifier right before it, if that is one.
                    let mut start = self.pos;
                    while start > 0 && is_name_char(self.src[start - 1]) {
                        start -= 1;
                    }
                    let word = &self.src[start..self.pos];
                    let prefix = if word.len() <= 2 && is_string_prefix(word) {
                        word
                    } else {
                        b""
                    };
                    self.string(prefix)?;
                }
            }
        }
        if depth > 0 {
            return Err(TokenizeError {
                lineno: self.lineno,
                message: "unclosed bracket at end of file".into(),
            });
        }
        Ok(())
    }

    fn token(&mut self) -> Result<Tok<'a>, TokenizeError> {
        let c = self.src[self.pos];
        let start = self.pos;
        if is_name_start(c) {
            while self.pos < self.src.len() && is_name_char(self.src[self.pos]) {
                self.pos += 1;
            }
            let word = &self.src[start..self.pos];
            if word.len() <= 2
                && matches!(self.peek(0), Some(b'\'' | b'"'))
                && is_string_prefix(word)
            {
                return self.string(word);
            }
            return Ok(Tok::Name(word));
        }
        if c == b'\'' || c == b'"' {
            return self.string(b"");
        }
        if c.is_ascii_digit() || (c == b'.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) {
            let hex = self.src[start..].starts_with(b"0x") || self.src[start..].starts_with(b"0X");
            while self.pos < self.src.len() {
                let d = self.src[self.pos];
                let exp_sign = !hex
                    && matches!(d, b'+' | b'-')
                    && matches!(self.src[self.pos - 1], b'e' | b'E');
                if d.is_ascii_alphanumeric() || d == b'.' || d == b'_' || exp_sign {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            return Ok(Tok::Number);
        }
        if !c.is_ascii() {
            // Non-ASCII identifier characters (PEP 3131) or stray bytes: keep them as a name.
            while self.pos < self.src.len()
                && (self.src[self.pos] >= 0x80 || is_name_char(self.src[self.pos]))
            {
                self.pos += 1;
            }
            return Ok(Tok::Name(&self.src[start..self.pos]));
        }
        self.pos += op_len(&self.src[start..]);
        Ok(Tok::Op(&self.src[start..self.pos]))
    }

    /// A string literal starting at the quote, after `prefix`.
    fn string(&mut self, prefix: &[u8]) -> Result<Tok<'a>, TokenizeError> {
        let has = |ch: u8| prefix.iter().any(|p| p.to_ascii_lowercase() == ch);
        let raw = has(b'r');
        let formatted = has(b'f') || has(b't');
        let quote = self.src[self.pos];
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        let qlen = if triple { 3 } else { 1 };
        self.pos += qlen;
        let start_line = self.lineno;
        let body_start = self.pos;
        let unterminated = || TokenizeError {
            lineno: start_line,
            message: "unterminated string literal".into(),
        };
        loop {
            let Some(c) = self.peek(0) else {
                return Err(unterminated());
            };
            match c {
                _ if c == quote
                    && (!triple
                        || (self.peek(1) == Some(quote) && self.peek(2) == Some(quote))) =>
                {
                    let body = &self.src[body_start..self.pos];
                    self.pos += qlen;
                    return Ok(Tok::Str {
                        body,
                        raw,
                        formatted,
                    });
                }
                b'\n' => {
                    if !triple {
                        return Err(unterminated());
                    }
                    self.lineno += 1;
                    self.pos += 1;
                }
                b'{' if formatted => {
                    if self.peek(1) == Some(b'{') {
                        self.pos += 2;
                    } else {
                        self.replacement_field()?;
                    }
                }
                b'\\' => {
                    match self.peek(1) {
                        None => return Err(unterminated()),
                        Some(b'\n') => self.lineno += 1,
                        Some(_) => {}
                    }
                    self.pos += 2;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Skip an f-string `{…}` field: nested brackets and strings (with any quotes) included.
    fn replacement_field(&mut self) -> Result<(), TokenizeError> {
        self.pos += 1;
        let mut depth = 1usize;
        while depth > 0 {
            let Some(c) = self.peek(0) else {
                return Err(TokenizeError {
                    lineno: self.lineno,
                    message: "unterminated f-string".into(),
                });
            };
            match c {
                b'{' | b'(' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b')' | b']' => {
                    depth -= 1;
                    self.pos += 1;
                }
                b'\'' | b'"' => {
                    self.string(b"")?;
                }
                b'\n' => {
                    self.lineno += 1;
                    self.pos += 1;
                }
                _ if is_name_start(c) => {
                    self.token()?;
                }
                _ => self.pos += 1,
            }
        }
        Ok(())
    }
}

/// Length of the operator at the start of `s` (1 to 3 bytes).
fn op_len(s: &[u8]) -> usize {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    match (s[0], at(1), at(2)) {
        (b'*', b'*', b'=')
        | (b'/', b'/', b'=')
        | (b'>', b'>', b'=')
        | (b'<', b'<', b'=')
        | (b'.', b'.', b'.') => 3,
        (b'*', b'*', _)
        | (b'/', b'/', _)
        | (b'<', b'<', _)
        | (b'>', b'>', _)
        | (b'-', b'>', _)
        | (b':', b'=', _) => 2,
        (
            b'<' | b'>' | b'=' | b'!' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^'
            | b'@',
            b'=',
            _,
        ) => 2,
        _ => 1,
    }
}

/// Python's escape sequences in a non-raw string body.
fn decode_escapes(body: &[u8]) -> String {
    if !body.contains(&b'\\') {
        return String::from_utf8_lossy(body).into_owned();
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let push_char = |cp: u32, out: &mut Vec<u8>| {
        let mut buf = [0u8; 4];
        out.extend_from_slice(
            char::from_u32(cp)
                .unwrap_or('\u{fffd}')
                .encode_utf8(&mut buf)
                .as_bytes(),
        );
    };
    let hex = |digits: Option<&[u8]>| -> Option<u32> {
        u32::from_str_radix(std::str::from_utf8(digits?).ok()?, 16).ok()
    };
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c != b'\\' || i + 1 >= body.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = body[i + 1];
        i += 2;
        match next {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(next),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'x' | b'u' | b'U' => {
                let n = match next {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                match hex(body.get(i..i + n)) {
                    Some(v) => {
                        push_char(v, &mut out);
                        i += n;
                    }
                    None => out.extend_from_slice(&[b'\\', next]),
                }
            }
            b'0'..=b'7' => {
                let mut v = u32::from(next - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                push_char(v, &mut out);
            }
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The bytes that matter when skipping a line.
static SKIP_STOPS: [bool; 256] = {
    let mut t = [false; 256];
    let stops = b"\n#\\()[]{}'\"";
    let mut i = 0;
    while i < stops.len() {
        t[stops[i] as usize] = true;
        i += 1;
    }
    t
};

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_string_prefix(word: &[u8]) -> bool {
    let mut lower = [0u8; 2];
    for (l, w) in lower.iter_mut().zip(word) {
        *l = w.to_ascii_lowercase();
    }
    matches!(
        &lower[..word.len()],
        b"r" | b"u" | b"b" | b"f" | b"t" | b"br" | b"rb" | b"fr" | b"rf" | b"tr" | b"rt"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &Line) -> Vec<String> {
        line.tokens
            .iter()
            .map(|t| match t {
                Tok::Name(n) | Tok::Op(n) => String::from_utf8_lossy(n).into_owned(),
                Tok::Str { .. } => format!("{:?}", t.string_value().unwrap_or_default()),
                Tok::Number => "#".into(),
            })
            .collect()
    }

    #[test]
    fn splits_logical_lines_with_indentation() {
        let src = b"x = 1\nif x:\n    y = (1,\n  2)\n\n# c\nz = 'a' \\\n  'b'\n";
        let lines = logical_lines(src).unwrap();
        assert_eq!(lines.len(), 4);
        assert_eq!((lines[0].indent, lines[0].lineno), (0, 1));
        assert_eq!(lines[2].indent, 4);
        assert_eq!(names(&lines[2]), ["y", "=", "(", "#", ",", "#", ")"]);
        assert_eq!(names(&lines[3]), ["z", "=", "\"a\"", "\"b\""]);
        assert_eq!(lines[3].lineno, 7);
    }

    #[test]
    fn strings_of_every_kind() {
        let src = "a = r'\\d' b\"\\x41\" '''x\n'y'''\nb = f\"{d[\"k\"]}-{{\" \nc = '\\u00e9\\n'\n"
            .as_bytes();
        let lines = logical_lines(src).unwrap();
        assert_eq!(lines.len(), 3);
        let value = |l: usize, t: usize| lines[l].tokens[t].string_value();
        assert_eq!(value(0, 2).as_deref(), Some("\\d"));
        assert_eq!(value(0, 3).as_deref(), Some("A"));
        assert_eq!(value(0, 4).as_deref(), Some("x\n'y"));
        assert!(matches!(
            &lines[1].tokens[2],
            Tok::Str {
                formatted: true,
                ..
            }
        ));
        assert_eq!(value(1, 2), None);
        assert_eq!(value(2, 2).as_deref(), Some("é\n"));
    }

    #[test]
    fn operators() {
        let lines = logical_lines(b"a **= b // c -> d := e ... != f\n").unwrap();
        assert_eq!(
            names(&lines[0]),
            ["a", "**=", "b", "//", "c", "->", "d", ":=", "e", "...", "!=", "f"]
        );
    }

    #[test]
    fn survives_non_utf8_and_new_syntax() {
        let mut src =
            b"\"\"\"caf\xe9\"\"\"\ntype X = int\nmatch v:\n    case 1:\n        pass\n".to_vec();
        src.extend_from_slice(b"revision = 'r1'\n");
        let lines = logical_lines(&src).unwrap();
        assert_eq!(lines.len(), 6);
        assert_eq!(names(&lines[5]), ["revision", "=", "\"r1\""]);
    }

    /// The module-level lines seen with bodies skipped, versus with everything tokenized.
    fn top_level(src: &[u8], skip: bool) -> Vec<(usize, Vec<String>)> {
        let mut seen = Vec::new();
        let mut body: Option<usize> = None;
        for_each_line(src, |l| {
            if body.is_some_and(|indent| l.indent > indent) {
                return Flow::Next;
            }
            body = None;
            seen.push((l.lineno, names(l)));
            if l.tokens[0].is_name("def") {
                body = Some(l.indent);
                if skip {
                    return Flow::SkipBlock;
                }
            }
            Flow::Next
        })
        .unwrap();
        seen
    }

    #[test]
    fn skipped_blocks_end_where_python_ends_them() {
        // Body lines that look like module level: inside strings, brackets, continuations and
        // comments at column 0, f-strings nesting quotes, raw strings ending in a backslash-quote.
        let src = br#"def upgrade():
    op.execute("""
revision = 'in a string'
""")
    x = (1,
revision)
    y = f"{d["k"]}" + rb'\'' + 'a#b'
# a comment at column 0
    z = 1 + \
2

    async_ = "not a block end"
revision = 'r1'
def downgrade(): pass
down_revision = ('a',
    'b')
"#;
        let skipped = top_level(src, true);
        assert_eq!(skipped, top_level(src, false));
        let lines: Vec<usize> = skipped.iter().map(|(n, _)| *n).collect();
        assert_eq!(lines, [1, 13, 14, 15]);
        let unclosed = for_each_line(b"def f():\n    x = (1,\n", |_| Flow::SkipBlock);
        assert!(
            unclosed.is_err(),
            "an unclosed bracket in a skipped body is still an error"
        );
        let unterminated = for_each_line(b"def f():\n    x = '''open\n", |_| Flow::SkipBlock);
        assert!(unterminated.is_err());
    }

    #[test]
    fn token_bytes_locate_in_the_source() {
        // The BOM is skipped, yet spans are in the buffer the caller passed.
        let src = "\u{feff}x: T = r'ab' # c\n".as_bytes();
        let lines = logical_lines(src).unwrap();
        let spans: Vec<_> = lines[0]
            .tokens
            .iter()
            .map(|t| match *t {
                Tok::Name(b) | Tok::Op(b) | Tok::Str { body: b, .. } => span_in(src, b),
                Tok::Number => None,
            })
            .collect();
        assert_eq!(
            spans,
            [Some(3..4), Some(4..5), Some(6..7), Some(8..9), Some(12..14)]
        );
        assert_eq!(span_in(src, b"ab"), None, "bytes from elsewhere");
    }

    #[test]
    fn reports_unterminated_strings_and_brackets() {
        assert!(logical_lines(b"x = 'abc\n").is_err());
        assert!(logical_lines(b"x = '''abc\n").is_err());
        assert!(logical_lines(b"x = (1,\n").is_err());
    }
}
