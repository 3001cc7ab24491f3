//! The domain of `db-migrate check`: one gate, for CI and pre-commit, over every component's
//! migrations. The rules here need no database and no Python: they read the revision graph, the
//! revision files and, when there is one, the same files at a base ref (the merge-base with the
//! upstream branch), so they stay fast enough for a pre-commit hook.
//!
//! Each rule is a file in [`rules`] whose [`Rule`] entry (name, default severity, summary and
//! explanation) is its user documentation, printed by `--explain RULE`. [`ignore`] parses
//! `# db-migrate: ignore[rule] reason` comments once and turns malformed or unused ones into
//! findings of their own; [`config`] reads `[tool.db-migrate.check]` from `pyproject.toml`.
//!
//! The order a caller applies them in: [`static_findings`] per component (reporting the rules
//! that [`needs_base`] as skipped when there is no base), then [`ignore::apply`], then
//! [`config::Config::apply`] (so that disabling a rule also silences the ignores naming it and
//! `bad-ignore` itself can be disabled or downgraded). [`lint`] runs squawk's PostgreSQL rules on
//! the SQL Alembic's offline mode prints for one new revision at a time, and points each finding
//! back at the `op.*` call that produced it.

// the check command (next) uses this
#![allow(dead_code)]

pub mod config;
pub mod ignore;
pub mod lint;
pub mod load;
pub mod rules;

use std::path::{Path, PathBuf};

use crate::failure::{Failure, Kind};
use crate::git::Repo;
use crate::graph::{Graph, Revision};
use crate::revisions::reader::{self, Read};
use crate::workspace::shell;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// Relative to the workspace root.
    pub file: PathBuf,
    /// 1-based; 0 when the finding is about the whole component (or a file that no longer exists).
    pub line: usize,
    pub message: String,
}

/// A rule as data: what `--explain RULE` prints and what configuration may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub default_severity: Severity,
    /// One line.
    pub summary: &'static str,
    /// Why it matters and how to fix it (markdown-ish, wrapped at 100 columns).
    pub explain: &'static str,
}

/// Every rule `check` knows: the static rules, the ignore rules, and the names the lint side
/// reports (see [`rules::squawk`] for SQL rules, which squawk itself explains).
static RULES: &[Rule] = &[
    rules::single_head::RULE,
    rules::no_merge_migration::RULE,
    rules::released_unchanged::RULE,
    rules::linear_on_base::RULE,
    rules::heads_after_merge::RULE,
    rules::part_of_comment::RULE,
    rules::docstring_ids::RULE,
    rules::empty_migration::RULE,
    rules::missing_downgrade::RULE,
    rules::head_file::RULE,
    rules::not_lintable_offline::RULE,
    rules::squawk::RULE,
    ignore::BAD_IGNORE,
    ignore::UNUSED_IGNORE,
    load::COMPONENT_FAULT,
    load::UNLOADABLE_FILE,
];

pub fn rules() -> &'static [Rule] {
    RULES
}

/// The rule named `name` (for `--explain RULE` and for validating configuration).
pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

/// Rules that compare with a base ref; without one the caller reports them as skipped.
pub fn needs_base(rule: &str) -> bool {
    rules::NEEDS_BASE.contains(&rule)
}

/// One component's migrations, as `check` sees them.
pub struct Component<'a> {
    /// `manager`, `accountmgr`, `appproxy`…
    pub name: &'a str,
    /// The workspace root: findings' files are relative to it.
    pub root: &'a Path,
    /// The current revisions (read from the work tree).
    pub graph: &'a Graph,
    /// The same version directories at the base ref; `None` outside git or without a base.
    pub base: Option<&'a BaseView>,
    /// `[tool.db-migrate] head-file = true`: where head.txt must be and the command that
    /// rewrites it; `None` when the setting is off.
    pub head_file: Option<&'a rules::head_file::Setting>,
}

/// The revision files of one component at the base ref.
#[derive(Debug, Clone, Default)]
pub struct BaseView {
    /// The ref (or object id) they were read at.
    pub reference: String,
    /// Every revision file directly in the version directories at the base, relative to the
    /// repository top ([`BaseView::top`]), parsed from the blob with `reader::read_file`.
    pub revisions: Vec<(PathBuf, Revision)>,
    /// The graph they form; `None` when they don't form one (a duplicate id, a missing parent).
    pub graph: Option<Graph>,
    /// The repository top that `revisions` are relative to.
    pub top: PathBuf,
    /// Files at the base that could not be read statically, and why: they take no part in the
    /// comparisons, so the caller should say so.
    pub unread: Vec<(PathBuf, String)>,
}

impl BaseView {
    /// The base revision with this id.
    pub fn by_id(&self, id: &str) -> Option<&(PathBuf, Revision)> {
        self.revisions.iter().find(|(_, r)| r.id == id)
    }
}

/// Read the version directories at `reference`: one `ls-tree` per directory, then one
/// `cat-file --batch` per revision file (spread over a few threads; git has no cheaper call in
/// [`Repo`] today). `version_dirs` are absolute (inside the work tree) or relative to the top.
/// Only files directly in each directory count, as Alembic reads them by default: with
/// `recursive_version_locations`, pass the subdirectories too. `__init__*`, `.#*` and
/// non-`.py` files are skipped, as Alembic skips them.
pub fn base_view(
    repo: &Repo,
    reference: &str,
    version_dirs: &[PathBuf],
) -> Result<BaseView, String> {
    let top = repo.root().to_path_buf();
    let canonical_top = top.canonicalize().unwrap_or_else(|_| top.clone());
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in version_dirs {
        let listed = repo
            .files_at(reference, dir)
            .map_err(|e| format!("cannot list {} at {reference}: {e}", dir.display()))?;
        let rel_dir = relative_to_top(dir, &top, &canonical_top);
        let mut here: Vec<PathBuf> = listed
            .into_iter()
            .filter(|p| p.parent() == Some(rel_dir.as_path()) && is_revision_file(p))
            .collect();
        here.sort();
        for p in here {
            if !files.contains(&p) {
                files.push(p);
            }
        }
    }
    // Files the work tree has as they are at the base are read from disk; only the ones that
    // differ come from git, all in one `cat-file --batch`. (Inflating every blob of a 556-file
    // history costs 60-100 ms; `diff --name-only` a few.)
    let rel_dirs: Vec<PathBuf> = version_dirs
        .iter()
        .map(|d| relative_to_top(d, &top, &canonical_top))
        .collect();
    let changed = repo
        .changed_since(reference, &rel_dirs)
        .map_err(|e| format!("cannot compare with {reference}: {e}"))?;
    let (from_git, from_disk): (Vec<PathBuf>, Vec<PathBuf>) =
        files.iter().cloned().partition(|p| changed.contains(p));
    let contents = repo
        .files_content_at(reference, &from_git)
        .map_err(|e| format!("cannot read the revision files at {reference}: {e}"))?;
    let mut parts: Vec<(PathBuf, Read)> = Vec::with_capacity(files.len());
    for (p, content) in from_git.iter().zip(contents) {
        let bytes = content.ok_or_else(|| format!("{} vanished at {reference}", p.display()))?;
        parts.push((p.clone(), reader::read_file(p, &bytes)));
    }
    for p in &from_disk {
        let bytes =
            std::fs::read(top.join(p)).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        parts.push((p.clone(), reader::read_file(p, &bytes)));
    }
    // The order files were listed in (the rules report in it).
    let rank: std::collections::HashMap<&PathBuf, usize> =
        files.iter().enumerate().map(|(i, p)| (p, i)).collect();
    parts.sort_by_key(|(p, _)| rank.get(p).copied().unwrap_or(usize::MAX));
    let mut view = BaseView {
        reference: reference.to_owned(),
        top,
        ..BaseView::default()
    };
    for (path, read) in parts {
        match read {
            Read::Revision(r) => view.revisions.push((path, r)),
            Read::NotStatic(why) | Read::Invalid(why) => view.unread.push((path, why)),
        }
    }
    view.graph = Graph::new(view.revisions.iter().map(|(_, r)| r.clone()).collect()).ok();
    Ok(view)
}

fn is_revision_file(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.ends_with(".py") && !name.starts_with("__init__") && !name.starts_with(".#")
}

/// `dir` relative to the repository top (as `files_at` lists paths).
fn relative_to_top(dir: &Path, top: &Path, canonical_top: &Path) -> PathBuf {
    if dir.is_relative() {
        return dir.components().collect();
    }
    if let Ok(rel) = dir.strip_prefix(top) {
        return rel.to_path_buf();
    }
    dir.canonicalize()
        .ok()
        .and_then(|c| c.strip_prefix(canonical_top).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| dir.to_path_buf())
}

/// Why `check` (or `verify`) has no base to compare with.
#[derive(Debug)]
pub enum NoBase {
    /// None was asked for and none was found (outside git, no upstream, no `main`): the rules
    /// that need one are skipped, and say why.
    Skipped(String),
    /// `--base REF` cannot be used (git cannot resolve it, or there is no git): a usage error,
    /// never a skip, so a typo cannot turn the base rules and the lint off.
    Failed(Failure),
}

impl std::fmt::Display for NoBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoBase::Skipped(why) => f.write_str(why),
            NoBase::Failed(failure) => f.write_str(&failure.message),
        }
    }
}

/// The base `config`'s revisions are compared with: `asked` (`--base`), else [`default_base`].
/// An asked ref git cannot resolve is [`NoBase::Failed`] (exit 2, naming the ref and how to
/// list refs); no default base is [`NoBase::Skipped`].
pub fn base_for(
    config: &crate::workspace::Config,
    repo: Option<&Repo>,
    asked: Option<&str>,
) -> Result<BaseView, NoBase> {
    if let Some(asked) = asked {
        require_ref(&config.root, repo, asked).map_err(NoBase::Failed)?;
    }
    let Some(repo) = repo else {
        return Err(NoBase::Skipped("not a git work tree".into()));
    };
    let reference = match asked {
        Some(r) => r.to_owned(),
        None => default_base(repo).ok_or_else(|| NoBase::Skipped(
            "no base ref: no upstream default branch or main to take the merge-base with (pass --base REF)".into(),
        ))?,
    };
    let dirs = crate::revisions::locate::locate(&config.ini, &config.root, &[])
        .map_err(|e| NoBase::Skipped(e.to_string()))?
        .dirs;
    base_view(repo, &reference, &dirs).map_err(|why| match asked {
        // The ref exists but its files cannot be read: what was asked for was not checked.
        Some(r) => NoBase::Failed(Failure::new(
            Kind::BaseUnreadable,
            format!("cannot read the migrations at --base {r}: {why}"),
            "git failed to list or read the version directories at that ref",
            format!(
                "check that git -C {} show {r} works, then rerun",
                shell::word(&root_shown(&config.root))
            ),
        )),
        None => NoBase::Skipped(why),
    })
}

/// `--base REF` must name a commit git can resolve: a usage error naming the ref and the command
/// that lists the refs otherwise.
pub fn require_ref(root: &Path, repo: Option<&Repo>, asked: &str) -> Result<(), Failure> {
    let dir = shell::word(&root_shown(root));
    match repo {
        Some(repo) if repo.has_ref(asked) => Ok(()),
        Some(_) => Err(Failure::usage(
            Kind::UnknownBaseRef,
            format!("--base {asked}: git cannot resolve {asked} to a commit, so nothing can be compared with it"),
            format!("list the refs with git -C {dir} branch -a (tags: git -C {dir} tag), then pass one of them to --base, or leave --base out to compare with the merge-base of the upstream branch"),
        )),
        None => Err(Failure::usage(
            Kind::UnknownBaseRef,
            format!("--base {asked}: {} is not in a git work tree, so there is no {asked} to compare with", root_shown(root)),
            "run it inside the git checkout, or leave --base out (the rules that need a base are then skipped, and say so)",
        )),
    }
}

fn root_shown(root: &Path) -> String {
    root.to_string_lossy().into_owned()
}

/// The base to compare with: the merge-base of `HEAD` with the upstream default branch
/// ([`Repo::default_upstream`]), else with `main`. `None` when neither shares history with
/// `HEAD` (or there is no commit yet).
pub fn default_base(repo: &Repo) -> Option<String> {
    let mut candidates: Vec<String> = repo.default_upstream().into_iter().collect();
    if !candidates.iter().any(|c| c == "main") {
        candidates.push("main".to_owned());
    }
    candidates
        .into_iter()
        .filter(|c| repo.has_ref(c))
        .find_map(|c| repo.merge_base("HEAD", &c).ok().flatten())
}

/// Run every static rule on one component. Rules that [`needs_base`] find nothing without a base.
pub fn static_findings(c: &Component) -> Vec<Finding> {
    let cx = rules::Context::new(c);
    let mut findings = Vec::new();
    for check in rules::STATIC {
        findings.extend(check(&cx));
    }
    findings
}

/// The files of the revisions new relative to the base (all of them without a base), relative to
/// the root: the files every static rule examined in full, which is what
/// [`ignore::Checked::files`] wants for reporting unused ignores.
pub fn new_files(c: &Component) -> Vec<PathBuf> {
    let layout = rules::Layout::of(c);
    layout
        .new
        .iter()
        .map(|&i| layout.files[i].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::rules::testing::{file, working, DIR};
    use super::*;
    use crate::git::tests::git;
    use crate::revisions::reader::read_file;

    fn init(dir: &Path) {
        git(dir, &["init", "-q", "-b", "main"]);
        git(dir, &["config", "user.name", "Test"]);
        git(dir, &["config", "user.email", "test@example.com"]);
        git(dir, &["config", "commit.gpgsign", "false"]);
    }

    fn write(root: &Path, name: &str, content: &str) {
        let path = root.join(DIR).join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn commit(root: &Path, message: &str) {
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", message]);
    }

    /// The work tree's graph, read statically like the native engine does.
    fn graph(root: &Path) -> Graph {
        let dir = root.join(DIR);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && is_revision_file(p))
            .collect();
        names.sort();
        let revs = names
            .iter()
            .map(|p| match read_file(p, &std::fs::read(p).unwrap()) {
                Read::Revision(r) => r,
                other => panic!("{other:?}"),
            })
            .collect();
        Graph::new(revs).unwrap()
    }

    #[test]
    fn the_registry_documents_every_rule_once() {
        let mut names: Vec<&str> = rules().iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), rules().len(), "a name is registered twice");
        for r in rules() {
            assert!(!r.summary.contains('\n'), "{}: summary is one line", r.name);
            assert!(
                r.explain.len() > 100,
                "{}: explain says why and how",
                r.name
            );
            assert!(
                r.explain.lines().all(|l| l.len() <= 100),
                "{}: wrapped",
                r.name
            );
        }
        for name in rules::NEEDS_BASE {
            assert!(rule(name).is_some(), "{name}");
        }
        assert_eq!(
            rule("missing-downgrade").unwrap().default_severity,
            Severity::Warning
        );
        assert_eq!(
            rule("not-lintable-offline").unwrap().default_severity,
            Severity::Warning
        );
        assert!(rule("squawk")
            .unwrap()
            .explain
            .contains("https://squawkhq.com/docs/"));
        assert!(rule("nope").is_none());
        assert!(needs_base("linear-on-base") && !needs_base("single-head"));
    }

    #[test]
    fn base_view_reads_the_revision_files_at_the_base_and_default_base_finds_it() {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path();
        init(root);
        write(root, "a_first.py", &working("a", &[]));
        write(root, "b_second.py", &working("b", &["a"]));
        write(root, "__init__.py", "");
        write(root, "notes.txt", "not a revision\n");
        write(root, "old/x_nested.py", &working("x", &[]));
        write(
            root,
            "c_computed.py",
            "revision = 'c'\ndown_revision = make()\n",
        );
        commit(root, "base");
        let fork = git(root, &["rev-parse", "HEAD"]).trim().to_owned();
        git(root, &["checkout", "-q", "-b", "mine"]);
        write(root, "d_mine.py", &working("d", &["b"]));
        commit(root, "mine");

        let repo = Repo::discover(root).unwrap();
        assert_eq!(default_base(&repo).as_deref(), Some(fork.as_str()));
        let view = base_view(&repo, &fork, &[root.join(DIR)]).unwrap();
        let paths: Vec<String> = view
            .revisions
            .iter()
            .map(|(p, r)| format!("{} {}", p.display(), r.id))
            .collect();
        assert_eq!(
            paths,
            vec![
                format!("{DIR}/a_first.py a"),
                format!("{DIR}/b_second.py b")
            ]
        );
        assert_eq!(view.unread.len(), 1, "{:?}", view.unread);
        assert!(view.unread[0].1.contains("computed"), "{:?}", view.unread);
        let base_graph = view.graph.as_ref().unwrap();
        assert_eq!(base_graph.rev(base_graph.heads()[0]).id, "b");
        // Relative directories work too.
        let again = base_view(&repo, &fork, &[PathBuf::from(DIR)]).unwrap();
        assert_eq!(again.revisions.len(), 2);
        assert!(base_view(&repo, "no-such-ref", &[PathBuf::from(DIR)]).is_err());
    }

    #[test]
    fn default_base_is_none_without_shared_history_or_commits() {
        let tmp = TempDir::new().unwrap();
        init(tmp.path());
        let repo = Repo::discover(tmp.path()).unwrap();
        assert_eq!(default_base(&repo), None);
    }

    #[test]
    fn static_findings_compare_the_work_tree_with_the_base() {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path();
        init(root);
        write(root, "a_first.py", &working("a", &[]));
        write(root, "b_second.py", &working("b", &["a"]));
        commit(root, "base");
        git(root, &["checkout", "-q", "-b", "mine"]);
        // Started before b was merged: on a, empty, with a stale docstring.
        write(
            root,
            "c_mine.py",
            &file("c", &["a"], "pass", "pass").replace("Revises: a\n", "Revises: z\n"),
        );
        commit(root, "mine");

        let repo = Repo::discover(root).unwrap();
        let base = default_base(&repo).unwrap();
        let view = base_view(&repo, &base, &[root.join(DIR)]).unwrap();
        let graph = graph(root);
        let c = Component {
            name: "manager",
            root,
            graph: &graph,
            base: Some(&view),
            head_file: None,
        };
        let found: Vec<(&str, String, usize)> = static_findings(&c)
            .into_iter()
            .map(|f| (f.rule, f.file.display().to_string(), f.line))
            .collect();
        let mine = format!("{DIR}/c_mine.py");
        assert_eq!(
            found,
            vec![
                ("single-head", mine.clone(), 14),
                ("linear-on-base", mine.clone(), 14),
                ("docstring-ids", mine.clone(), 4),
                ("empty-migration", mine.clone(), 20),
            ]
        );
        assert_eq!(new_files(&c), vec![PathBuf::from(&mine)]);

        // Without a base every revision is new and the base rules find nothing.
        let offline = Component { base: None, ..c };
        let rules: Vec<&str> = static_findings(&offline).iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            vec!["single-head", "docstring-ids", "empty-migration"]
        );
        assert_eq!(new_files(&offline).len(), 3);
    }
}
