//! Revision-file specs (`Rev`) and the two file styles Backend.AI's versions directories contain.

use super::util::fnv1a64;

/// Which of the two revision-file layouts to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevStyle {
    /// Today's `alembic revision` output: type annotations, double quotes, and Backend.AI's
    /// `# Part of: 25.1.0` comment after `revision`.
    Modern,
    /// Old-style: `revision = 'abc'`, single quotes, no annotations, `def upgrade():`.
    Plain,
}

/// One revision file to write into a component's `versions/` directory.
#[derive(Clone, Debug)]
pub struct Rev {
    id: String,
    down: Vec<String>,
    message: String,
    depends_on: Vec<String>,
    branch_labels: Vec<String>,
    upgrade: Option<String>,
    downgrade: Option<String>,
    raw: Option<String>,
    style: Option<RevStyle>,
    file_name: Option<String>,
}

/// A revision `id` on top of `down` (`None`: a root revision).
pub fn rev(id: &str, down: Option<&str>, message: &str) -> Rev {
    Rev {
        id: id.to_string(),
        down: down.map(str::to_string).into_iter().collect(),
        message: message.to_string(),
        depends_on: Vec::new(),
        branch_labels: Vec::new(),
        upgrade: None,
        downgrade: None,
        raw: None,
        style: None,
        file_name: None,
    }
}

/// A merge revision: `down_revision` is the tuple of `parents`.
pub fn merge(id: &str, parents: &[&str], message: &str) -> Rev {
    let mut r = rev(id, None, message);
    r.down = parents.iter().map(|p| p.to_string()).collect();
    r
}

impl Rev {
    /// `depends_on = …` (cross-branch dependencies).
    pub fn depends_on(mut self, revs: &[&str]) -> Self {
        self.depends_on = revs.iter().map(|s| s.to_string()).collect();
        self
    }

    /// `branch_labels = …`.
    pub fn branch_labels(mut self, labels: &[&str]) -> Self {
        self.branch_labels = labels.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Python statements for `upgrade()` (unindented; the harness indents them). Default:
    /// `op.create_table("t_<id>", sa.Column("id", sa.Integer(), primary_key=True))`.
    pub fn upgrade_body(mut self, python_src: &str) -> Self {
        self.upgrade = Some(python_src.to_string());
        self
    }

    /// Python statements for `downgrade()`. Default: `op.drop_table("t_<id>")`.
    pub fn downgrade_body(mut self, python_src: &str) -> Self {
        self.downgrade = Some(python_src.to_string());
        self
    }

    /// Write exactly `text` as the file (e.g. a syntax error); the file name stays `<id>_<slug>.py`.
    pub fn raw(mut self, text: &str) -> Self {
        self.raw = Some(text.to_string());
        self
    }

    /// Force a file style (by default the workspace alternates Modern, Plain, Modern, …).
    pub fn style(mut self, style: RevStyle) -> Self {
        self.style = Some(style);
        self
    }

    /// Use this file name instead of `<id>_<slug>.py`.
    pub fn file_name_override(mut self, name: &str) -> Self {
        self.file_name = Some(name.to_string());
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `down_revision` ids (empty for a root, several for a merge).
    pub fn down_revisions(&self) -> &[String] {
        &self.down
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The table the default bodies create and drop: `t_<id>`.
    pub fn table(&self) -> String {
        format!("t_{}", self.id)
    }

    /// The explicitly chosen style, if any.
    pub fn forced_style(&self) -> Option<RevStyle> {
        self.style
    }

    /// `<id>_<slug of message>.py`, like `alembic revision` names files.
    pub fn file_name(&self) -> String {
        self.file_name
            .clone()
            .unwrap_or_else(|| format!("{}_{}.py", self.id, slug(&self.message)))
    }

    /// The file's text in `style`; `ordinal` only varies the `Create Date`.
    pub fn render(&self, style: RevStyle, ordinal: usize) -> String {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let create_date = format!(
            "2024-01-{:02} {:02}:00:00.000000",
            1 + (ordinal / 24) % 28,
            ordinal % 24
        );
        let upgrade = indent(self.upgrade.clone().unwrap_or_else(|| {
            format!(
                "op.create_table(\"{}\", sa.Column(\"id\", sa.Integer(), primary_key=True))",
                self.table()
            )
        }));
        let downgrade = indent(
            self.downgrade
                .clone()
                .unwrap_or_else(|| format!("op.drop_table(\"{}\")", self.table())),
        );
        let header = format!(
            "\"\"\"{}\n\nRevision ID: {}\nRevises: {}\nCreate Date: {create_date}\n\n\"\"\"\n",
            self.message,
            self.id,
            self.down.join(", ")
        );
        match style {
            RevStyle::Modern => {
                let q = '"';
                let down_type = if self.down.len() > 1 {
                    "Union[str, Sequence[str], None]"
                } else {
                    "Union[str, None]"
                };
                format!(
                    "{header}from typing import Sequence, Union\n\n\
                     import sqlalchemy as sa\n\
                     from alembic import op\n\n\
                     # revision identifiers, used by Alembic.\n\
                     revision: str = \"{id}\"  # Part of: 25.1.0\n\
                     down_revision: {down_type} = {down}\n\
                     branch_labels: Union[str, Sequence[str], None] = {labels}\n\
                     depends_on: Union[str, Sequence[str], None] = {deps}\n\n\n\
                     def upgrade() -> None:\n{upgrade}\n\n\n\
                     def downgrade() -> None:\n{downgrade}\n",
                    id = self.id,
                    down = py_value(&self.down, q, true),
                    labels = py_value(&self.branch_labels, q, false),
                    deps = py_value(&self.depends_on, q, true),
                )
            }
            RevStyle::Plain => {
                let q = '\'';
                format!(
                    "{header}from alembic import op\n\
                     import sqlalchemy as sa\n\n\n\
                     # revision identifiers, used by Alembic.\n\
                     revision = '{id}'\n\
                     down_revision = {down}\n\
                     branch_labels = {labels}\n\
                     depends_on = {deps}\n\n\n\
                     def upgrade():\n{upgrade}\n\n\n\
                     def downgrade():\n{downgrade}\n",
                    id = self.id,
                    down = py_value(&self.down, q, true),
                    labels = py_value(&self.branch_labels, q, false),
                    deps = py_value(&self.depends_on, q, true),
                )
            }
        }
    }
}

/// `None`, `'a'` or a tuple `('a', 'b')` (`single_as_str`), else `('a',)` for one element.
fn py_value(items: &[String], quote: char, single_as_str: bool) -> String {
    match items {
        [] => "None".to_string(),
        [one] if single_as_str => format!("{quote}{one}{quote}"),
        [one] => format!("({quote}{one}{quote},)"),
        many => {
            let inner: Vec<String> = many.iter().map(|s| format!("{quote}{s}{quote}")).collect();
            format!("({})", inner.join(", "))
        }
    }
}

fn indent(body: String) -> String {
    if body.trim().is_empty() {
        return "    pass".to_string();
    }
    body.lines()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Alembic-like slug: lowercase words joined by `_`, at most 40 characters.
pub fn slug(message: &str) -> String {
    let mut out = String::new();
    for word in message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let candidate = if out.is_empty() {
            word.to_ascii_lowercase()
        } else {
            format!("{out}_{}", word.to_ascii_lowercase())
        };
        if candidate.len() > 40 && !out.is_empty() {
            break;
        }
        out = candidate.chars().take(40).collect();
    }
    if out.is_empty() {
        out.push_str("rev");
    }
    out
}

/// `n` revisions, each on the previous one, with 12-character ids `<prefix><hex counter>`
/// (`linear_chain("ap", 3)` → `ap0000000001`, `ap0000000002`, `ap0000000003`) and messages
/// `"<prefix> step <k>"`.
pub fn linear_chain(prefix: &str, n: usize) -> Vec<Rev> {
    assert!(
        !prefix.is_empty()
            && prefix.len() < 12
            && prefix.chars().all(|c| c.is_ascii_alphanumeric()),
        "linear_chain prefix must be 1..=11 ASCII alphanumerics, got {prefix:?}"
    );
    let width = 12 - prefix.len();
    chain(n, prefix, |k| format!("{prefix}{k:0width$x}"))
}

/// Like [`linear_chain`] but with ids that look like real Alembic ones and are *not* hex, e.g.
/// `7h4m7ygnaao1` (deterministic per `seed`, see [`rev_id`]).
pub fn base36_chain(seed: &str, n: usize) -> Vec<Rev> {
    chain(n, seed, |k| rev_id(&format!("{seed}-{k}")))
}

fn chain(n: usize, label: &str, id_of: impl Fn(usize) -> String) -> Vec<Rev> {
    let mut out: Vec<Rev> = Vec::with_capacity(n);
    for k in 1..=n {
        let down = out.last().map(|r| r.id.clone());
        out.push(rev(
            &id_of(k),
            down.as_deref(),
            &format!("{label} step {k}"),
        ));
    }
    out
}

/// A deterministic 12-character `[0-9a-z]` revision id for `seed`, always containing at least
/// one letter beyond `f` (so code that assumes hex ids is caught), like `7h4m7ygnaao1`.
pub fn rev_id(seed: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut h = fnv1a64(seed.as_bytes());
    let mut id = String::with_capacity(12);
    for i in 0..12 {
        if i % 6 == 0 {
            h = fnv1a64(&h.to_le_bytes()) ^ fnv1a64(format!("{seed}/{i}").as_bytes());
        }
        id.push(ALPHABET[(h % 36) as usize] as char);
        h /= 36;
    }
    if id.bytes().all(|b| b.is_ascii_hexdigit()) {
        let pos = (fnv1a64(seed.as_bytes()) % 11) as usize + 1;
        id.replace_range(pos..pos + 1, "h");
    }
    id
}

/// The ids of `revs`, in order.
pub fn ids(revs: &[Rev]) -> Vec<String> {
    revs.iter().map(|r| r.id.clone()).collect()
}
