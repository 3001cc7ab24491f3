//! What a revision's `downgrade()` destroys, found statically with the tokenizer: dropped tables,
//! columns, indexes and constraints (also through `batch_alter_table`), type changes of columns,
//! and `op.execute` of DROP / DELETE / TRUNCATE. Shown before a downgrade asks for confirmation.
//!
//! Arguments are matched to Alembic's parameters by position or keyword. A table or column named
//! by a module-level string constant (`_TABLE = "users"`, wherever it is in the file) is shown by
//! its value, and a `for table in _TABLES:` loop over string constants gives one finding per value;
//! anything else is shown as written (`drops column Users.__tablename__.permission`).

use std::collections::HashMap;
use std::path::Path;

use super::tokenize::{for_each_line, Flow, Line, Tok};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line in the revision file.
    pub line: usize,
    /// What it does, e.g. `drops table sessions`.
    pub operation: String,
}

/// Findings in the body of `def downgrade` (any indentation of its statements).
pub fn in_downgrade(src: &[u8]) -> Vec<Finding> {
    let consts = module_constants(src);
    let mut findings = Vec::new();
    let mut body_of: Option<usize> = None;
    // `with op.batch_alter_table(T) as batch_op:` → batch_op refers to table T.
    let mut batch: Vec<Batch> = Vec::new();
    // `for table in _TABLES:` → table takes each value in turn.
    let mut loops: Vec<Loop> = Vec::new();
    let _ = for_each_line(src, |line| {
        if let Some(indent) = body_of {
            if line.indent <= indent {
                body_of = None;
            }
        }
        if body_of.is_none() {
            if starts_def(line) && line.tokens.iter().any(|t| t.is_name("downgrade")) {
                body_of = Some(line.indent);
                batch.clear();
                loops.clear();
                return Flow::Next;
            }
            // Other functions (upgrade) and classes: nothing to report there.
            let opens_block =
                starts_def(line) || line.tokens.first().is_some_and(|t| t.is_name("class"));
            return if opens_block {
                Flow::SkipBlock
            } else {
                Flow::Next
            };
        }
        batch.retain(|b| line.indent > b.indent);
        loops.retain(|l| line.indent > l.indent);
        // Pushed before scanning the line, so one-line bodies (`for t in T: op.…`) see them.
        if let Some(l) = for_loop(line, &consts) {
            loops.push(l);
        }
        if let Some(b) = batch_alias(src, line) {
            batch.push(b);
        }
        let scope = Scope {
            src,
            consts: &consts,
            batch: &batch,
            loops: &loops,
        };
        findings.extend(scope.scan(line).into_iter().map(|operation| Finding {
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

fn starts_def(line: &Line) -> bool {
    let t = &line.tokens;
    t.first().is_some_and(|t| t.is_name("def"))
        || (t.first().is_some_and(|t| t.is_name("async"))
            && t.get(1).is_some_and(|t| t.is_name("def")))
}

/// A module-level constant: a string, or a tuple/list of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Str(String),
    Seq(Vec<String>),
}

type Consts<'a> = HashMap<&'a [u8], Value>;

/// The string constants assigned at module level (indent 0, outside def and class bodies), as
/// they stand once the module has run: `downgrade()` runs after the whole file was loaded, so a
/// constant defined below it counts, and the last assignment wins.
fn module_constants(src: &[u8]) -> Consts<'_> {
    let mut consts = Consts::new();
    let _ = for_each_line(src, |line| {
        if line.indent > 0 {
            return Flow::Next;
        }
        let t = &line.tokens;
        if t.last().is_some_and(|t| t.is_op(":")) {
            // def, class, if, for, try…: module level only, so not their bodies.
            return Flow::SkipBlock;
        }
        if t[0].is_name("import") || t[0].is_name("from") || t[0].is_name("del") {
            // `from m import _TABLE`, `del _TABLE`: no longer a constant known here.
            for tok in t {
                if let Tok::Name(n) = tok {
                    consts.remove(n);
                }
            }
            return Flow::Next;
        }
        let eqs = top_level(t, |tok| tok.is_op("="));
        let Some(&last) = eqs.last() else {
            // `_TABLE += "_v2"`
            if let [Tok::Name(n), Tok::Op(o), ..] = t.as_slice() {
                if o.len() >= 2 && o.ends_with(b"=") && !matches!(*o, b"==" | b"!=" | b"<=" | b">=")
                {
                    consts.remove(n);
                }
            }
            return Flow::Next;
        };
        let value = parse_value(&t[last + 1..], &consts);
        let mut start = 0;
        for &eq in &eqs {
            match &t[start..eq] {
                [Tok::Name(n)] => set(&mut consts, n, value.clone()),
                [Tok::Name(n), colon, ..] if colon.is_op(":") && start == 0 => {
                    set(&mut consts, n, value.clone());
                }
                // `a, b = …`, `x.y = …`: any plain name among the targets is unknown now.
                target => {
                    for (k, tok) in target.iter().enumerate() {
                        if let Tok::Name(n) = tok {
                            if k == 0 || !target[k - 1].is_op(".") {
                                consts.remove(n);
                            }
                        }
                    }
                }
            }
            start = eq + 1;
        }
        Flow::Next
    });
    consts
}

fn set<'a>(consts: &mut Consts<'a>, name: &'a [u8], value: Option<Value>) {
    match value {
        Some(v) => {
            consts.insert(name, v);
        }
        None => {
            consts.remove(name);
        }
    }
}

/// A string (adjacent literals, a constant, parenthesised), or a tuple/list of such strings.
fn parse_value(t: &[Tok], consts: &Consts) -> Option<Value> {
    if let [Tok::Name(n)] = t {
        return consts.get(n).cloned();
    }
    let lookup = |n: &[u8]| match consts.get(n) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    };
    if let Some(s) = string_expr(t, &lookup) {
        return Some(Value::Str(s));
    }
    let items = match t {
        [open, inner @ .., close]
            if ((open.is_op("(") && close.is_op(")")) || (open.is_op("[") && close.is_op("]")))
                && matching(t, 0) == t.len() - 1 =>
        {
            inner
        }
        _ if !top_level(t, |tok| tok.is_op(",")).is_empty() => t,
        _ => return None,
    };
    let mut values = Vec::new();
    let mut start = 0;
    let commas = top_level(items, |tok| tok.is_op(","));
    for end in commas.iter().copied().chain([items.len()]) {
        let item = &items[start..end];
        start = end + 1;
        if item.is_empty() && end == items.len() {
            break; // trailing comma
        }
        values.push(string_expr(item, &lookup)?);
    }
    Some(Value::Seq(values))
}

/// The value of a string expression: adjacent (non-f) literals, a name `lookup` knows, either in
/// parentheses.
fn string_expr(t: &[Tok], lookup: &dyn Fn(&[u8]) -> Option<String>) -> Option<String> {
    match t {
        [] => None,
        [Tok::Name(n)] => lookup(n),
        [open, inner @ .., close]
            if open.is_op("(") && close.is_op(")") && matching(t, 0) == t.len() - 1 =>
        {
            string_expr(inner, lookup)
        }
        _ => t.iter().map(Tok::string_value).collect(),
    }
}

/// Indexes of the tokens at bracket depth 0 that `pick` selects.
fn top_level(t: &[Tok], pick: impl Fn(&Tok) -> bool) -> Vec<usize> {
    let mut depth = 0usize;
    let mut found = Vec::new();
    for (i, tok) in t.iter().enumerate() {
        match tok {
            Tok::Op(b"(" | b"[" | b"{") => depth += 1,
            Tok::Op(b")" | b"]" | b"}") => depth = depth.saturating_sub(1),
            _ if depth == 0 && pick(tok) => found.push(i),
            _ => {}
        }
    }
    found
}

/// The index of the bracket closing the one at `open`, or `t.len()` if none does.
fn matching(t: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, tok) in t.iter().enumerate().skip(open) {
        match tok {
            Tok::Op(b"(" | b"[" | b"{") => depth += 1,
            Tok::Op(b")" | b"]" | b"}") => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    t.len()
}

/// One argument of a call: its keyword if any, its tokens, and its source text.
#[derive(Debug, Clone)]
struct Arg<'a> {
    keyword: Option<&'a [u8]>,
    value: Vec<Tok<'a>>,
    /// As written, comments dropped and whitespace normalised.
    text: String,
}

/// The arguments of the call whose `(` is `t[open]` and `)` is `t[close]`, split at top-level
/// commas. `*args` and `**kw` are left out: what they hold is not known.
fn split_args<'a>(src: &[u8], t: &[Tok<'a>], open: usize, close: usize) -> Vec<Arg<'a>> {
    let inner = &t[open + 1..close];
    let delims: Vec<usize> = std::iter::once(open)
        .chain(
            top_level(inner, |tok| tok.is_op(","))
                .into_iter()
                .map(|c| open + 1 + c),
        )
        .chain([close])
        .collect();
    let mut args = Vec::new();
    for w in delims.windows(2) {
        let (before, after) = (w[0], w[1]);
        let seg = &t[before + 1..after];
        let (keyword, value_at) = match seg {
            [] => continue,
            [Tok::Op(b"*" | b"**"), ..] => continue,
            [Tok::Name(k), eq, ..] if eq.is_op("=") => (Some(*k), before + 3),
            _ => (None, before + 1),
        };
        let value = t[value_at..after].to_vec();
        let text = source_text(src, &t[value_at - 1], &t[after], &value);
        args.push(Arg {
            keyword,
            value,
            text,
        });
    }
    args
}

/// The argument at `pos` among the positional ones, or given by one of the keywords `names`.
fn pick<'r, 'a>(args: &'r [Arg<'a>], pos: usize, names: &[&str]) -> Option<&'r Arg<'a>> {
    args.iter()
        .find(|a| {
            a.keyword
                .is_some_and(|k| names.iter().any(|n| k == n.as_bytes()))
        })
        .or_else(|| args.iter().filter(|a| a.keyword.is_none()).nth(pos))
}

/// Where `part` (a token's bytes, which the tokenizer slices out of `src`) starts in `src`.
fn offset(src: &[u8], part: &[u8]) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    (at + part.len() <= src.len()).then_some(at)
}

/// The source between the delimiters `after` and `before` (operators, e.g. `(` and `,`): comments
/// and line continuations dropped, whitespace runs made one space, none just inside brackets or
/// before a comma. `value` (the tokens in between) tells which bytes are inside strings.
fn source_text(src: &[u8], after: &Tok, before: &Tok, value: &[Tok]) -> String {
    let (Tok::Op(a), Tok::Op(b)) = (after, before) else {
        return "?".into();
    };
    let (Some(a), Some(b)) = (offset(src, a), offset(src, b)) else {
        return "?".into();
    };
    let (start, end) = (a + 1, b);
    let strings: Vec<(usize, usize)> = value
        .iter()
        .filter_map(|tok| match tok {
            Tok::Str { body, .. } => offset(src, body).map(|s| (s, s + body.len())),
            _ => None,
        })
        .collect();
    let mut out: Vec<u8> = Vec::new();
    let mut space = false;
    let mut k = start;
    while k < end {
        let c = src[k];
        let in_string = strings.iter().any(|&(s, e)| (s..e).contains(&k));
        k += 1;
        match c {
            b'#' if !in_string => {
                while k < end && src[k] != b'\n' {
                    k += 1;
                }
            }
            b'\\' if !in_string && matches!(src.get(k), Some(b'\n' | b'\r')) => space = true,
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => space = true,
            _ => {
                let tight = !in_string
                    && (matches!(c, b')' | b']' | b'}' | b',')
                        || out.last().is_some_and(|l| matches!(l, b'(' | b'[' | b'{')));
                if space && !out.is_empty() && !tight {
                    out.push(b' ');
                }
                space = false;
                out.push(c);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `with op.batch_alter_table(T) as batch_op:`.
struct Batch<'a> {
    alias: &'a [u8],
    table: Option<Arg<'a>>,
    indent: usize,
}

fn batch_alias<'a>(src: &[u8], line: &Line<'a>) -> Option<Batch<'a>> {
    let t = &line.tokens;
    if !t.first()?.is_name("with") {
        return None;
    }
    let at = t.windows(4).position(|w| {
        w[0].is_name("op")
            && w[1].is_op(".")
            && w[2].is_name("batch_alter_table")
            && w[3].is_op("(")
    })?;
    let open = at + 3;
    let close = matching(t, open);
    if close >= t.len() || !t.get(close + 1)?.is_name("as") {
        return None;
    }
    let Tok::Name(alias) = *t.get(close + 2)? else {
        return None;
    };
    let args = split_args(src, t, open, close);
    Some(Batch {
        alias,
        table: pick(&args, 0, &["table_name"]).cloned(),
        indent: line.indent,
    })
}

/// `for table in _TABLES:` in downgrade().
struct Loop<'a> {
    targets: Vec<&'a [u8]>,
    /// The values of a single target over a known tuple/list; `None`: not known.
    values: Option<Vec<String>>,
    indent: usize,
}

fn for_loop<'a>(line: &Line<'a>, consts: &Consts) -> Option<Loop<'a>> {
    let t = &line.tokens;
    let start = match t.as_slice() {
        [f, ..] if f.is_name("for") => 1,
        [a, f, ..] if a.is_name("async") && f.is_name("for") => 2,
        _ => return None,
    };
    let rest = &t[start..];
    let in_at = *top_level(rest, |tok| tok.is_name("in")).first()?;
    let colon = *top_level(rest, |tok| tok.is_op(":"))
        .iter()
        .find(|&&c| c > in_at)?;
    let target = &rest[..in_at];
    let targets = target
        .iter()
        .filter_map(|tok| match tok {
            Tok::Name(n) => Some(*n),
            _ => None,
        })
        .collect();
    let values = match (target, parse_value(&rest[in_at + 1..colon], consts)) {
        ([Tok::Name(_)], Some(Value::Seq(values))) => Some(values),
        _ => None,
    };
    Some(Loop {
        targets,
        values,
        indent: line.indent,
    })
}

/// More combinations of loop values than this in one call: shown as written instead.
const MAX_COMBINATIONS: usize = 256;

/// Loop variables bound to one value each (`None`: unknown, shadowing any constant).
type Env<'s> = Vec<(&'s [u8], Option<&'s str>)>;

/// What is known where a downgrade() line is.
struct Scope<'s, 'a> {
    src: &'a [u8],
    consts: &'s Consts<'a>,
    batch: &'s [Batch<'a>],
    loops: &'s [Loop<'a>],
}

impl<'s, 'a> Scope<'s, 'a> {
    fn scan(&self, line: &Line<'a>) -> Vec<String> {
        let t = &line.tokens;
        let mut found = Vec::new();
        for i in 0..t.len().saturating_sub(3) {
            let (Tok::Name(receiver), Tok::Name(method)) = (t[i], t[i + 2]) else {
                continue;
            };
            if !t[i + 1].is_op(".") || !t[i + 3].is_op("(") || (i > 0 && t[i - 1].is_op(".")) {
                continue;
            }
            let batch = self.batch.iter().rev().find(|b| b.alias == receiver);
            if receiver != b"op" && batch.is_none() {
                continue;
            }
            let close = matching(t, i + 3);
            if close >= t.len() {
                continue;
            }
            let args = split_args(self.src, t, i + 3, close);
            let table = batch.map(|b| b.table.as_ref());
            // The loop variables this call uses, directly or through its batch's table.
            let mentioned = |n: &[u8]| {
                let mut toks = t[i + 4..close]
                    .iter()
                    .chain(table.flatten().map_or(&[][..], |a| &a.value[..]));
                toks.any(|tok| matches!(tok, Tok::Name(m) if *m == n))
            };
            let mut ops: Vec<String> = Vec::new();
            for env in self.bindings(mentioned) {
                let Some(op) = self.describe(method, &args, table, &t[i + 4..close], &env) else {
                    continue;
                };
                if !ops.contains(&op) {
                    ops.push(op);
                }
            }
            found.extend(ops);
        }
        found
    }

    /// Every combination of values of the loops whose variables `mentioned` says are used,
    /// outer loops first.
    fn bindings(&self, mentioned: impl Fn(&[u8]) -> bool) -> Vec<Env<'s>> {
        let mut envs: Vec<Env<'s>> = vec![Vec::new()];
        for l in self.loops {
            if !l.targets.iter().any(|n| mentioned(n)) {
                continue;
            }
            match (&l.targets[..], &l.values) {
                ([target], Some(values)) if envs.len() * values.len() <= MAX_COMBINATIONS => {
                    envs = envs
                        .iter()
                        .flat_map(|env| {
                            values.iter().map(move |v| {
                                let mut env = env.clone();
                                env.push((*target, Some(v.as_str())));
                                env
                            })
                        })
                        .collect();
                }
                _ => {
                    for env in &mut envs {
                        env.extend(l.targets.iter().map(|n| (*n, None)));
                    }
                }
            }
        }
        envs
    }

    /// The string an argument evaluates to, if known.
    fn resolve(&self, t: &[Tok], env: &Env) -> Option<String> {
        // `op.f("ix_a")`: a name the naming convention leaves as it is.
        if let [Tok::Name(r), dot, f, open, inner @ .., close] = t {
            let receiver_ok = *r == b"op" || self.batch.iter().any(|b| b.alias == *r);
            if receiver_ok
                && dot.is_op(".")
                && f.is_name("f")
                && open.is_op("(")
                && close.is_op(")")
                && matching(t, 3) == t.len() - 1
            {
                let inner = inner.strip_suffix(&[Tok::Op(b",")]).unwrap_or(inner);
                let inner = match inner {
                    [Tok::Name(_), eq, rest @ ..] if eq.is_op("=") => rest,
                    _ => inner,
                };
                if !top_level(inner, |tok| tok.is_op(",")).is_empty() {
                    return None;
                }
                return self.resolve(inner, env);
            }
        }
        let lookup = |n: &[u8]| {
            if let Some((_, v)) = env.iter().rev().find(|(k, _)| *k == n) {
                return v.map(str::to_owned);
            }
            match self.consts.get(n) {
                Some(Value::Str(s)) => Some(s.clone()),
                _ => None,
            }
        };
        string_expr(t, &lookup)
    }

    /// An argument's value, else its text; `?` when it is missing.
    fn show(&self, arg: Option<&Arg>, env: &Env) -> String {
        arg.map_or_else(
            || "?".into(),
            |a| {
                self.resolve(&a.value, env)
                    .unwrap_or_else(|| a.text.clone())
            },
        )
    }

    /// What the call `<receiver>.<method>(args)` destroys; `table` is the batch's table when the
    /// receiver is a `batch_alter_table` alias (its inner `Option`: the table argument).
    fn describe(
        &self,
        method: &[u8],
        args: &[Arg],
        table: Option<Option<&Arg>>,
        inner: &[Tok],
        env: &Env,
    ) -> Option<String> {
        let show = |arg: Option<&Arg>| self.show(arg, env);
        // Batch operations take the table from the batch, so their arguments start one earlier.
        let (table, first) = match table {
            Some(batch_table) => (show(batch_table), 0),
            None => (show(pick(args, 0, &["table_name"])), 1),
        };
        let column = || show(pick(args, first, &["column_name"]));
        match method {
            b"drop_table" => Some(format!(
                "drops table {}",
                show(pick(args, 0, &["table_name", "name"]))
            )),
            b"drop_column" => Some(format!("drops column {table}.{}", column())),
            b"alter_column" if args.iter().any(|a| a.keyword == Some(b"type_")) => Some(format!(
                "changes the type of column {table}.{} (narrowing loses data)",
                column()
            )),
            b"drop_index" => {
                let name = show(pick(args, 0, &["index_name", "name"]));
                let on = match (first, pick(args, 1, &["table_name"])) {
                    (0, _) => format!(" on {table}"),
                    (_, Some(t)) => format!(" on {}", show(Some(t))),
                    (_, None) => String::new(),
                };
                Some(format!("drops index {name}{on}"))
            }
            b"drop_constraint" => {
                let name = show(pick(args, 0, &["constraint_name", "name"]));
                let on = match first {
                    0 => table,
                    _ => show(pick(args, 1, &["table_name"])),
                };
                Some(format!("drops constraint {name} on {on}"))
            }
            b"execute" => {
                let sql = pick(args, 0, &["sqltext"])
                    .and_then(|a| self.resolve(&a.value, env))
                    .unwrap_or_else(|| inner.iter().filter_map(Tok::string_value).collect());
                let upper = sql.to_uppercase();
                if !["DROP ", "DELETE ", "TRUNCATE "]
                    .iter()
                    .any(|k| upper.contains(k))
                {
                    return None;
                }
                let short: String = sql
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(70)
                    .collect();
                Some(format!("executes {short}"))
            }
            _ => None,
        }
    }
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
                (16, "drops index ix_a"),
                (17, "drops table keypairs"),
            ]
        );
    }

    fn ops(src: &str) -> Vec<(usize, String)> {
        in_downgrade(src.as_bytes())
            .into_iter()
            .map(|f| (f.line, f.operation))
            .collect()
    }

    fn expect(src: &str, expected: &[(usize, &str)]) {
        let expected: Vec<(usize, String)> =
            expected.iter().map(|(l, o)| (*l, o.to_string())).collect();
        assert_eq!(ops(src), expected);
    }

    #[test]
    fn arguments_by_position_or_keyword_and_constants_anywhere_in_the_module() {
        let src = r#"from typing import Final

_TABLE = "users"


def upgrade():
    op.drop_column(_TABLE, "not_in_downgrade")


def downgrade() -> None:
    op.drop_column(_TABLE, "permission")
    op.drop_column("t", column_name="c")
    op.drop_column(table_name=_LATER, column_name="c2")
    op.drop_column(
        _ANNOTATED,  # the table, with a comma
        "perm",
    )
    op.alter_column(_FINAL, "c", type_=sa.String(8))
    op.alter_column(_TABLE, "c", nullable=True)
    op.alter_column(table_name=_TABLE, column_name="d", existing_type=sa.Text(), type_=sa.String(4))
    op.drop_table(_TABLE)
    op.drop_table(table_name=_FINAL)


_LATER = "later"
_ANNOTATED: str = "annotated"
_FINAL: Final = 'final'
"#;
        expect(
            src,
            &[
                (11, "drops column users.permission"),
                (12, "drops column t.c"),
                (13, "drops column later.c2"),
                (14, "drops column annotated.perm"),
                (
                    18,
                    "changes the type of column final.c (narrowing loses data)",
                ),
                (
                    20,
                    "changes the type of column users.d (narrowing loses data)",
                ),
                (21, "drops table users"),
                (22, "drops table final"),
            ],
        );
    }

    #[test]
    fn what_is_not_a_known_constant_is_shown_as_written() {
        let src = r#"_TABLES = ("a", "b")
_REASSIGNED = "old"
_REASSIGNED = make_name()
_CHANGED = "x"
_CHANGED += "_v2"


def downgrade():
    op.drop_column(Users.__tablename__, "permission")
    op.drop_column(get_table(
        "x",   # which one
    ), "c")
    op.drop_column(_UNKNOWN, "c")
    op.drop_column(_TABLES, "c")
    op.drop_column(_REASSIGNED, _CHANGED)
    op.drop_column(f"{prefix}_users", "c")
    op.drop_column("only_a_table")
    op.drop_column(_LOCAL, _IN_CLASS)
    op.drop_table(_INDENTED)


def helper():
    _LOCAL = "local"


class Model:
    _IN_CLASS = "in_class"


if True:
    _INDENTED = "indented"
"#;
        expect(
            src,
            &[
                (9, "drops column Users.__tablename__.permission"),
                (10, "drops column get_table(\"x\",).c"),
                (13, "drops column _UNKNOWN.c"),
                (14, "drops column _TABLES.c"),
                (15, "drops column _REASSIGNED._CHANGED"),
                (16, "drops column f\"{prefix}_users\".c"),
                (17, "drops column only_a_table.?"),
                // Only module-level constants count.
                (18, "drops column _LOCAL._IN_CLASS"),
                (19, "drops table _INDENTED"),
            ],
        );
    }

    #[test]
    fn loops_over_constant_tuples_give_one_finding_per_value() {
        let src = r#"_TABLES = ["a", "b"]
_B = "b"
_PAIR = _B, "c"


def downgrade():
    for table in _TABLES:
        op.drop_column(table, "permission")
    for table in ("x", _B):
        op.alter_column(table, "c", type_=sa.Text())
    for table in get_tables():
        op.drop_column(table, "p")
    for t in _PAIR:
        for c in ("x", "y"):
            op.drop_column(t, c)
            op.drop_table(t)
    for t in _TABLES:
        with op.batch_alter_table(t) as batch_op:
            batch_op.drop_column("p")
    for t in "a", "b": op.drop_index("ix", table_name=t)
    for t, c in [("a", "x")]:
        op.drop_column(t, c)
    op.drop_column(table, "after_the_loop")
"#;
        expect(
            src,
            &[
                (8, "drops column a.permission"),
                (8, "drops column b.permission"),
                (10, "changes the type of column x.c (narrowing loses data)"),
                (10, "changes the type of column b.c (narrowing loses data)"),
                (12, "drops column table.p"),
                (15, "drops column b.x"),
                (15, "drops column b.y"),
                (15, "drops column c.x"),
                (15, "drops column c.y"),
                (16, "drops table b"),
                (16, "drops table c"),
                (19, "drops column a.p"),
                (19, "drops column b.p"),
                (20, "drops index ix on a"),
                (20, "drops index ix on b"),
                (22, "drops column t.c"),
                (23, "drops column table.after_the_loop"),
            ],
        );
    }

    #[test]
    fn batch_tables_indexes_and_constraints() {
        let src = r#"def downgrade():
    with op.batch_alter_table(_TABLE) as batch_op:
        batch_op.drop_column("c")
        batch_op.drop_index("ix_c")
        batch_op.drop_constraint("fk_c", type_="foreignkey")
        batch_op.alter_column("d", type_=sa.Integer())
    with op.batch_alter_table(table_name="kw", schema=None) as b:
        b.drop_column(column_name="e")
        b.drop_index(b.f("ix_e"))
    op.drop_index("ix_a")
    op.drop_index(op.f("ix_b"), table_name="users")
    op.drop_index("ix_c", "users")
    op.drop_index(index_name="ix_d", table_name=_TABLE)
    op.drop_constraint("fk_a", "users", type_="foreignkey")
    op.drop_constraint(op.f("uq_b"), table_name=_TABLE)
    op.drop_constraint(constraint_name="ck_c", table_name=_MISSING)
    op.drop_constraint("ck_d")


_TABLE: str = "accounts"
"#;
        expect(
            src,
            &[
                (3, "drops column accounts.c"),
                (4, "drops index ix_c on accounts"),
                (5, "drops constraint fk_c on accounts"),
                (
                    6,
                    "changes the type of column accounts.d (narrowing loses data)",
                ),
                (8, "drops column kw.e"),
                (9, "drops index ix_e on kw"),
                (10, "drops index ix_a"),
                (11, "drops index ix_b on users"),
                (12, "drops index ix_c on users"),
                (13, "drops index ix_d on accounts"),
                (14, "drops constraint fk_a on users"),
                (15, "drops constraint uq_b on accounts"),
                (16, "drops constraint ck_c on _MISSING"),
                (17, "drops constraint ck_d on ?"),
            ],
        );
    }

    #[test]
    fn execute_reads_its_sql_from_a_constant_too() {
        let src = r#"_SQL = "DROP TABLE legacy"


def downgrade():
    op.execute(_SQL)
    op.execute(sa.text("TRUNCATE audit"))
    op.execute("SELECT 1")
    other.op.drop_table("not_alembic")
"#;
        expect(
            src,
            &[
                (5, "executes DROP TABLE legacy"),
                (6, "executes TRUNCATE audit"),
            ],
        );
    }
}
