//! The static rules, one per file. Each file holds the rule's [`Rule`] entry (its user
//! documentation, printed by `--explain`) next to the `check` function that fires it, and tests
//! that fire on a constructed case and stay quiet on the clean one.
//!
//! The rules share one [`Context`]: which revisions are new relative to the base, where their
//! files are, and facts about each new file gathered in one tokenizer pass ([`Facts`]).

pub mod docstring_ids;
pub mod empty_migration;
pub mod head_file;
pub mod heads_after_merge;
pub mod insertion;
pub mod linear_on_base;
pub mod missing_downgrade;
pub mod no_merge_migration;
pub mod not_lintable_offline;
pub mod part_of_comment;
pub mod released_unchanged;
pub mod single_head;
pub mod squawk;

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{BaseView, Component, Finding, Rule};
use crate::graph::Graph;
use crate::revisions::tokenize::{for_each_line, span_in, Flow, Line, Tok};

/// The static rules, in the order their findings are listed.
pub(super) static STATIC: &[fn(&Context) -> Vec<Finding>] = &[
    single_head::check,
    no_merge_migration::check,
    released_unchanged::check,
    linear_on_base::check,
    part_of_comment::check,
    docstring_ids::check,
    empty_migration::check,
    missing_downgrade::check,
    head_file::check,
];

/// The rules that compare with a base ref.
pub(super) const NEEDS_BASE: &[&str] = &[
    no_merge_migration::RULE.name,
    released_unchanged::RULE.name,
    linear_on_base::RULE.name,
    heads_after_merge::RULE.name,
];

/// What every rule may ask about a component.
pub struct Context<'a> {
    pub component: &'a Component<'a>,
    pub graph: &'a Graph,
    pub base: Option<&'a BaseView>,
    /// Graph indices of the revisions whose id the base does not have (all without a base),
    /// newest first.
    pub new: Vec<usize>,
    /// Whether each graph index is in `new`.
    is_new: Vec<bool>,
    /// Each graph revision's file, relative to the root.
    files: Vec<PathBuf>,
    /// The source of each new revision (by position in `new`), read once; `None` if unreadable.
    sources: Vec<Option<Source>>,
    /// The root with symlinks resolved, for paths spelled another way.
    canonical_root: Option<PathBuf>,
}

/// A new revision's file: its bytes and what one tokenizer pass learnt about them.
pub struct Source {
    pub bytes: Vec<u8>,
    pub facts: Facts,
}

impl<'a> Context<'a> {
    pub fn new(c: &'a Component<'a>) -> Context<'a> {
        let graph = c.graph;
        let Layout {
            new,
            files,
            canonical_root,
        } = Layout::of(c);
        let count = files.len();
        let mut is_new = vec![false; count];
        for &i in &new {
            is_new[i] = true;
        }
        let sources = new
            .iter()
            .map(|&i| {
                let abs = c.root.join(&files[i]);
                std::fs::read(abs).ok().map(|bytes| {
                    let facts = Facts::of(&bytes);
                    Source { bytes, facts }
                })
            })
            .collect();
        Context {
            component: c,
            graph,
            base: c.base,
            new,
            is_new,
            files,
            sources,
            canonical_root,
        }
    }

    pub fn is_new(&self, i: usize) -> bool {
        self.is_new.get(i).copied().unwrap_or(false)
    }

    /// The file of graph revision `i`, relative to the root.
    pub fn file(&self, i: usize) -> &Path {
        &self.files[i]
    }

    /// The source of graph revision `i` when it is new and readable.
    pub fn source(&self, i: usize) -> Option<&Source> {
        let at = self.new.iter().position(|&n| n == i)?;
        self.sources[at].as_ref()
    }

    /// The new revisions with their readable sources.
    pub fn new_sources(&self) -> impl Iterator<Item = (usize, &Source)> {
        self.new
            .iter()
            .zip(&self.sources)
            .filter_map(|(&i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// The bytes of revision `i`'s file: the new ones as read once, the others from disk.
    pub fn bytes(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        if let Some(s) = self.source(i) {
            return Some(Cow::Borrowed(&s.bytes));
        }
        if self.is_new(i) {
            return None;
        }
        std::fs::read(self.component.root.join(&self.files[i]))
            .ok()
            .map(Cow::Owned)
    }

    /// Whether revision `i`'s `# Part of:` comment says `(backport)`.
    pub fn marked_backport(&self, i: usize) -> bool {
        self.bytes(i).is_some_and(|b| is_backport(&b))
    }

    /// The ids of the base's heads, in the base graph's order; `None` without a base graph.
    pub fn base_heads(&self) -> Option<Vec<&str>> {
        let g = self.base?.graph.as_ref()?;
        Some(
            g.heads()
                .into_iter()
                .map(|h| g.rev(h).id.as_str())
                .collect(),
        )
    }

    /// The base ref's name (`main`, a commit id), empty without a base.
    pub fn base_ref(&self) -> &str {
        self.base.map_or("", |b| b.reference.as_str())
    }

    /// The line of `field`'s assignment in revision `i` (1 when not known).
    pub fn line_of(&self, i: usize, field: &str) -> usize {
        self.source_line(i, field).unwrap_or(1)
    }

    /// The line of `field`'s assignment in revision `i`, reading the file if it is not new.
    pub fn source_line(&self, i: usize, field: &str) -> Option<usize> {
        if let Some(s) = self.source(i) {
            return s.facts.line_of(field);
        }
        let bytes = std::fs::read(self.component.root.join(&self.files[i])).ok()?;
        Facts::of(&bytes).line_of(field)
    }

    /// How many revisions the graph has (graph indices are `0..revision_count`).
    pub fn revision_count(&self) -> usize {
        self.files.len()
    }

    /// A base path (relative to the repository top) made relative to the root.
    pub fn base_file(&self, base: &BaseView, path: &Path) -> PathBuf {
        relative(
            self.component.root,
            self.canonical_root.as_deref(),
            &base.top.join(path),
        )
    }

    pub fn finding(&self, rule: &Rule, i: usize, line: usize, message: String) -> Finding {
        Finding {
            rule: rule.name,
            severity: rule.default_severity,
            file: self.files[i].clone(),
            line,
            message,
        }
    }
}

/// Which revisions are new and where every revision's file is: what [`Context`] starts from,
/// without reading any file.
pub(super) struct Layout {
    pub new: Vec<usize>,
    pub files: Vec<PathBuf>,
    pub canonical_root: Option<PathBuf>,
}

impl Layout {
    pub fn of(c: &Component) -> Layout {
        let graph = c.graph;
        let count = graph.lineage(&graph.heads()).len();
        let canonical_root = c.root.canonicalize().ok();
        let files: Vec<PathBuf> = (0..count)
            .map(|i| {
                graph.rev(i).path.as_deref().map_or_else(
                    || PathBuf::from(format!("<{}>", graph.rev(i).id)),
                    |p| relative(c.root, canonical_root.as_deref(), Path::new(p)),
                )
            })
            .collect();
        let base_ids: Option<HashSet<&str>> = c
            .base
            .map(|b| b.revisions.iter().map(|(_, r)| r.id.as_str()).collect());
        let new: Vec<usize> = graph
            .history_order()
            .into_iter()
            .filter(|&i| {
                base_ids
                    .as_ref()
                    .is_none_or(|ids| !ids.contains(graph.rev(i).id.as_str()))
            })
            .collect();
        Layout {
            new,
            files,
            canonical_root,
        }
    }
}

/// `path` relative to `root`: stripped of the root as spelled, else as resolved; a relative path
/// is taken to be relative to the root already.
fn relative(root: &Path, canonical_root: Option<&Path>, path: &Path) -> PathBuf {
    if path.is_relative() {
        return path.to_path_buf();
    }
    if let Ok(rel) = path.strip_prefix(root) {
        return rel.to_path_buf();
    }
    if let (Some(croot), Ok(cpath)) = (canonical_root, path.canonicalize()) {
        if let Ok(rel) = cpath.strip_prefix(croot) {
            return rel.to_path_buf();
        }
    }
    path.to_path_buf()
}

/// A module-level function's body, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Body {
    /// The `def` line.
    pub line: usize,
    /// Only `pass`, `...`, string expressions (docstrings) and comments.
    pub empty: bool,
}

/// What the rules read from a revision file, gathered in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The line of the last module-level assignment of each field (`revision`, `down_revision`,
    /// `branch_labels`, `depends_on`).
    assignments: Vec<(&'static str, usize)>,
    /// The module docstring's string literals: raw body byte range in the source.
    pub docstring: Vec<std::ops::Range<usize>>,
    pub upgrade: Option<Body>,
    pub downgrade: Option<Body>,
    /// The tokenizer gave up here (the file is not Python Alembic could import).
    pub unreadable: Option<String>,
}

const FIELDS: [&str; 4] = ["revision", "down_revision", "branch_labels", "depends_on"];

impl Facts {
    pub fn of(src: &[u8]) -> Facts {
        let mut facts = Facts::default();
        let mut first = true;
        // The function whose body is being read: (name, def indent).
        let mut open: Option<(&'static str, usize)> = None;
        let result = for_each_line(src, |line| {
            if first {
                first = false;
                if line.tokens.iter().all(|t| matches!(t, Tok::Str { .. })) {
                    facts.docstring = line
                        .tokens
                        .iter()
                        .filter_map(|t| match t {
                            Tok::Str { body, .. } => span_in(src, body),
                            _ => None,
                        })
                        .collect();
                    return Flow::Next;
                }
            }
            if let Some((name, indent)) = open {
                if line.indent > indent {
                    if !trivial(&line.tokens) {
                        facts.body_mut(name).expect("opened").empty = false;
                        // The rest of this statement's block cannot make the body empty again.
                        return Flow::SkipBlock;
                    }
                    return Flow::Next;
                }
                open = None;
            }
            if line.indent > 0 {
                return Flow::Next;
            }
            if let Some((name, rest)) = def_header(line) {
                let body = Body {
                    line: line.lineno,
                    empty: true,
                };
                let Some(name) = ["upgrade", "downgrade"]
                    .into_iter()
                    .find(|n| n.as_bytes() == name)
                else {
                    return Flow::SkipBlock;
                };
                *facts.slot(name) = Some(body);
                if rest.is_empty() {
                    open = Some((name, line.indent));
                } else if !trivial(rest) {
                    facts.body_mut(name).expect("set").empty = false;
                }
                return Flow::Next;
            }
            let t = &line.tokens;
            if t.last().is_some_and(|t| t.is_op(":")) {
                return Flow::SkipBlock;
            }
            if let Some(Tok::Name(n)) = t.first() {
                if let Some(field) = FIELDS.iter().find(|f| f.as_bytes() == *n) {
                    if t.iter().any(|t| t.is_op("=")) {
                        facts.assignments.retain(|(f, _)| f != field);
                        facts.assignments.push((field, line.lineno));
                    }
                }
            }
            Flow::Next
        });
        if let Err(e) = result {
            facts.unreadable = Some(format!("line {}: {}", e.lineno, e.message));
        }
        facts
    }

    pub fn line_of(&self, field: &str) -> Option<usize> {
        self.assignments
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, l)| *l)
    }

    fn slot(&mut self, name: &str) -> &mut Option<Body> {
        if name == "upgrade" {
            &mut self.upgrade
        } else {
            &mut self.downgrade
        }
    }

    fn body_mut(&mut self, name: &str) -> Option<&mut Body> {
        self.slot(name).as_mut()
    }
}

/// `def NAME(…) -> T:` or `async def …`: the name and the tokens after the header's colon (a
/// one-line body).
fn def_header<'t, 'a>(line: &'t Line<'a>) -> Option<(&'a [u8], &'t [Tok<'a>])> {
    let t = &line.tokens;
    let at = match t.as_slice() {
        [first, ..] if first.is_name("def") => 1,
        [first, second, ..] if first.is_name("async") && second.is_name("def") => 2,
        _ => return None,
    };
    let Some(Tok::Name(name)) = t.get(at) else {
        return None;
    };
    let mut depth = 0i32;
    for (i, tok) in t.iter().enumerate().skip(at + 1) {
        if let Tok::Op(op) = tok {
            match *op {
                b"(" | b"[" | b"{" => depth += 1,
                b")" | b"]" | b"}" => depth -= 1,
                b":" if depth == 0 => return Some((name, &t[i + 1..])),
                _ => {}
            }
        }
    }
    Some((name, &[]))
}

/// Statements that do nothing: `pass`, `...`, a string expression; `;`-separated lists of them.
fn trivial(tokens: &[Tok]) -> bool {
    tokens
        .split(|t| t.is_op(";"))
        .filter(|s| !s.is_empty())
        .all(|s| match s {
            [t] if t.is_name("pass") || t.is_op("...") => true,
            strings => strings.iter().all(|t| matches!(t, Tok::Str { .. })),
        })
}

/// The 1-based line of byte `offset` in `src`.
pub fn line_at(src: &[u8], offset: usize) -> usize {
    1 + src[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// `# Part of: 26.4.8 (backport), 26.8.0 (main)`: the file says it is a backport (the README's
/// `d` inserted below released history, or its idempotent duplicate `d'` on top).
pub fn is_backport(src: &[u8]) -> bool {
    src.split(|&b| b == b'\n').any(|line| {
        let line = String::from_utf8_lossy(line);
        let Some(at) = line.find('#') else {
            return false;
        };
        let comment = line[at + 1..].trim_start();
        comment.starts_with("Part of:") && comment.contains("(backport)")
    })
}

/// Comma- or space-separated ids (`Revises: a, b`), `None`/empty meaning none.
pub fn id_list(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|s| s.trim_matches(|c| c == '(' || c == ')' || c == '\'' || c == '"'))
        .filter(|s| !s.is_empty() && *s != "None")
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids
}

/// Sorted copy, for order-insensitive comparisons of id lists.
pub fn sorted(ids: &[String]) -> Vec<String> {
    let mut v = ids.to_vec();
    v.sort();
    v
}

#[cfg(test)]
pub(crate) mod testing {
    //! Components on disk for the rules' tests: revision files in a tempdir, read back with the
    //! static reader into a graph.

    use std::path::{Path, PathBuf};

    use tempfile::TempDir;

    use crate::check::{BaseView, Component, Finding};
    use crate::graph::{Graph, Revision};
    use crate::revisions::reader::{read_file, Read};

    pub const DIR: &str = "src/ai/backend/manager/models/alembic/versions";

    /// A conventional revision file.
    pub fn file(id: &str, down: &[&str], upgrade: &str, downgrade: &str) -> String {
        let down_value = match down {
            [] => "None".to_owned(),
            [one] => format!("\"{one}\""),
            many => format!(
                "({})",
                many.iter()
                    .map(|d| format!("\"{d}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!(
            "\"\"\"change {id}\n\nRevision ID: {id}\nRevises: {}\nCreate Date: 2025-01-01 00:00:00\n\n\"\"\"\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision = \"{id}\"\ndown_revision = {down_value}\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    {upgrade}\n\n\ndef downgrade() -> None:\n    {downgrade}\n",
            down.join(", ")
        )
    }

    /// A file that adds a column and drops it again.
    pub fn working(id: &str, down: &[&str]) -> String {
        file(
            id,
            down,
            "op.add_column(\"t\", sa.Column(\"c\", sa.Integer()))",
            "op.drop_column(\"t\", \"c\")",
        )
    }

    pub struct Workspace {
        pub tmp: TempDir,
        pub graph: Graph,
        pub base: Option<BaseView>,
        pub name: &'static str,
    }

    impl Workspace {
        /// Write `files` (name → content) into the manager's versions directory and read them.
        pub fn new(files: &[(&str, String)]) -> Workspace {
            let tmp = TempDir::new().unwrap();
            let dir = tmp.path().join(DIR);
            std::fs::create_dir_all(&dir).unwrap();
            let mut revs = Vec::new();
            for (name, content) in files {
                let path = dir.join(name);
                std::fs::write(&path, content).unwrap();
                match read_file(&path, content.as_bytes()) {
                    Read::Revision(r) => revs.push(r),
                    other => panic!("{name}: {other:?}"),
                }
            }
            Workspace {
                graph: Graph::new(revs).unwrap(),
                tmp,
                base: None,
                name: "manager",
            }
        }

        /// Set the base to these files (name → content), as they were at `main`.
        pub fn with_base(mut self, files: &[(&str, String)]) -> Workspace {
            let revisions: Vec<(PathBuf, Revision)> = files
                .iter()
                .map(|(name, content)| {
                    let rel = Path::new(DIR).join(name);
                    match read_file(&rel, content.as_bytes()) {
                        Read::Revision(r) => (rel, r),
                        other => panic!("{name}: {other:?}"),
                    }
                })
                .collect();
            self.base = Some(BaseView {
                reference: "main".into(),
                graph: Graph::new(revisions.iter().map(|(_, r)| r.clone()).collect()).ok(),
                revisions,
                top: self.tmp.path().to_path_buf(),
                unread: Vec::new(),
            });
            self
        }

        pub fn component(&self) -> Component<'_> {
            Component {
                name: self.name,
                root: self.tmp.path(),
                graph: &self.graph,
                base: self.base.as_ref(),
                head_file: None,
            }
        }

        /// The findings of one rule.
        pub fn run(&self, check: fn(&super::Context) -> Vec<Finding>) -> Vec<Finding> {
            let c = self.component();
            let cx = super::Context::new(&c);
            check(&cx)
        }
    }

    pub fn path(name: &str) -> PathBuf {
        Path::new(DIR).join(name)
    }
}
