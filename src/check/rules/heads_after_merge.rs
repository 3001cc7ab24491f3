//! `heads-after-merge`: merging the branch into the upstream tip (as last fetched) would leave
//! one head.
//!
//! The other rules compare the work tree with the merge-base, the main the branch started from.
//! Two PRs that each add a migration on the same parent both pass that way, and main gets two
//! heads once both are merged. This rule reads the version directories at the upstream tip too:
//! main's new revisions (at the tip, not at the merge-base) joined with the work tree's revisions
//! form the graph a merge would give, and that graph must have one head.
//!
//! It needs more than [`Context`] (the tip and the ref's age come from git), so `check` gathers an
//! [`Upstream`] with [`gather`] and runs [`check`] after the static rules. It never fetches: the
//! ref is what the last `git fetch` left, and the finding says how old that is.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::Context;
use crate::check::{base_view, BaseView, Finding, Rule, Severity};
use crate::git::{Addition, AgeSource, RefAge, Repo};
use crate::graph::{Graph, Revision};
use crate::workspace::shell;

pub const RULE: Rule = Rule {
    name: "heads-after-merge",
    default_severity: Severity::Error,
    summary: "Merging the branch into the upstream tip (as last fetched) leaves one head.",
    explain: "\
## What it checks
That merging this branch into the tip of the upstream branch (`--upstream REF`, default the
remote's default branch such as `origin/main`, as last fetched) would leave one head. main's new
revisions (at the tip, not at the merge-base of HEAD and the tip) are joined with the work tree's
revisions; if that graph has two or more heads while the work tree alone has one, the finding is
reported on the branch's new revision whose `down_revision` attaches to the old history, and
names main's new revisions, when they were merged (the first-parent commit on the tip that added
each file), the ref and how old it is. check never runs `git fetch`: the ref is what the last
fetch left (its age: the last fetch that brought it, else its reflog, else the tip's commit date).

## Why it matters
Two pull requests that each add a migration on the same parent both pass CI, because each was
checked against the main it branched from; once both are merged, main has two heads and every
`alembic upgrade head` stops until someone adds a merge migration. Here the second one is caught
before it is merged.

## How to fix
Bring the branch up to date, then repoint your own unmerged migration onto main's new head (no
merge migration): `git merge REF` (or rebase onto it), then `db-migrate fix-heads --upstream REF`,
which shows the diff first. `fix-heads` reads the heads from the work tree, so it needs the merge
first. When the ref is older than a day, run `git fetch` and check again.

In GitHub Actions on `pull_request` the checkout already is the merge commit, so there
`single-head` is the check and this rule stays quiet. Quiet, too, when main did not move on, when
the branch adds no migration, or when it already contains main's new revisions. Needs a base ref
and an upstream ref: without them the rule is skipped, and says why.",
};

/// The upstream ref as last fetched, for one component's version directories.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// As given with `--upstream` or found (`origin/main`).
    pub reference: String,
    /// The tip's commit id.
    pub tip: String,
    /// The merge-base of HEAD and the tip.
    pub merge_base: String,
    pub age: RefAge,
    /// The version directories at the tip and at the merge-base; `None` when main did not change
    /// them after the branch started.
    pub moved: Option<Moved>,
}

#[derive(Debug, Clone)]
pub struct Moved {
    pub tip: BaseView,
    pub merge_base: BaseView,
}

/// Read `reference`'s tip and the merge-base of HEAD with it, for the version directories
/// `dirs`. `base` is reused when it is the merge-base's view already. `Err` says why the rule
/// cannot run (the caller reports it skipped).
pub fn gather(
    repo: &Repo,
    reference: &str,
    dirs: &[PathBuf],
    base: Option<&BaseView>,
) -> Result<Upstream, String> {
    let tip = repo
        .commit_of(reference)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{reference} names no commit"))?;
    let merge_base = repo
        .merge_base("HEAD", &tip)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("HEAD shares no history with {reference}"))?;
    let age = repo.ref_age(reference).map_err(|e| e.to_string())?;
    let mut up = Upstream {
        reference: reference.to_owned(),
        tip,
        merge_base,
        age,
        moved: None,
    };
    if up.tip == up.merge_base {
        return Ok(up);
    }
    // The same directory trees at both commits: main did not touch these migrations.
    let commits = [up.merge_base.clone(), up.tip.clone()];
    let mut same = true;
    for dir in dirs {
        let trees = repo.trees_at(&commits, dir).map_err(|e| e.to_string())?;
        same &= trees[0] == trees[1];
    }
    if same {
        return Ok(up);
    }
    let at_tip = base_view(repo, &up.tip, dirs)?;
    let at_merge_base = match base {
        Some(b) if b.reference == up.merge_base => b.clone(),
        _ => base_view(repo, &up.merge_base, dirs)?,
    };
    up.moved = Some(Moved {
        tip: at_tip,
        merge_base: at_merge_base,
    });
    Ok(up)
}

/// One of main's new revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainRevision {
    pub id: String,
    /// Relative to the workspace root.
    pub file: PathBuf,
    /// The first-parent commit on the tip that added the file, when git could tell.
    pub merged: Option<Addition>,
}

/// What the rule learnt, for the report: main's new revisions and the heads a merge would have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// main's revisions that the branch lacks (empty when main did not move on).
    pub main_new: Vec<MainRevision>,
    /// The heads of the merged graph (empty when nothing was merged in).
    pub heads: Vec<String>,
}

/// Would merging into `up`'s tip leave more than one head? `merged` tells when main's new files
/// reached the tip (`git log --first-parent --diff-filter=A`), asked only when there is a
/// finding; `select` is the `--component`/`--config` flag that selects this component again,
/// `now` the time in Unix seconds.
pub fn check(
    cx: &Context,
    up: &Upstream,
    merged: &dyn Fn(&[PathBuf]) -> Vec<Addition>,
    select: &str,
    now: i64,
) -> Outcome {
    let mut outcome = Outcome {
        findings: Vec::new(),
        main_new: Vec::new(),
        heads: Vec::new(),
    };
    let Some(moved) = &up.moved else {
        return outcome;
    };
    let graph = cx.graph;
    let revisions: Vec<&Revision> = (0..graph.len()).map(|i| graph.rev(i)).collect();
    let work: HashMap<&str, &Revision> = revisions.iter().map(|r| (r.id.as_str(), *r)).collect();
    let at_base: HashMap<&str, &Revision> = moved
        .merge_base
        .revisions
        .iter()
        .map(|(_, r)| (r.id.as_str(), r))
        .collect();
    let at_tip: HashMap<&str, &Revision> = moved
        .tip
        .revisions
        .iter()
        .map(|(_, r)| (r.id.as_str(), r))
        .collect();
    // main's new revisions the branch does not have yet.
    let main_new: Vec<&(PathBuf, Revision)> = moved
        .tip
        .revisions
        .iter()
        .filter(|(_, r)| !at_base.contains_key(r.id.as_str()) && !work.contains_key(r.id.as_str()))
        .collect();
    outcome.main_new = main_new
        .iter()
        .map(|(path, r)| MainRevision {
            id: r.id.clone(),
            file: cx.base_file(&moved.tip, path),
            merged: None,
        })
        .collect();
    // The branch's own new revisions (not at the merge-base, not on main either).
    let branch_new: HashSet<&str> = revisions
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !at_base.contains_key(id) && !at_tip.contains_key(id))
        .collect();
    if main_new.is_empty() || branch_new.is_empty() || graph.heads().len() != 1 {
        return outcome;
    }
    // The merge, revision by revision: a revision both sides have takes main's declarations
    // when only main changed them (a three-way merge of `down_revision`).
    let mut union: Vec<Revision> = revisions
        .iter()
        .map(|&r| {
            let id = r.id.as_str();
            match (at_base.get(id), at_tip.get(id)) {
                (Some(b), Some(t)) if same_links(r, b) && !same_links(t, b) => {
                    let mut merged = r.clone();
                    merged.parents = t.parents.clone();
                    merged.depends_on = t.depends_on.clone();
                    merged
                }
                _ => r.clone(),
            }
        })
        .collect();
    union.extend(main_new.iter().map(|(_, r)| r.clone()));
    let Ok(merged_graph) = Graph::new(union) else {
        return outcome; // not a graph (a missing parent, a duplicate): other rules say so
    };
    let heads = merged_graph.heads();
    outcome.heads = heads
        .iter()
        .map(|&h| merged_graph.rev(h).id.clone())
        .collect();
    if heads.len() < 2 {
        return outcome;
    }
    let Some(mine) = heads
        .iter()
        .map(|&h| merged_graph.rev(h).id.as_str())
        .find(|id| branch_new.contains(id))
        .and_then(|id| graph.index_of(id))
    else {
        return outcome; // the extra heads are main's own: not this branch's to fix
    };
    // Reported where the branch attaches to the old history: the down_revision to repoint.
    let lineage = graph.lineage(&[mine]);
    let attach = graph
        .history_order()
        .into_iter()
        .rev()
        .filter(|i| lineage.contains(i) && branch_new.contains(graph.rev(*i).id.as_str()))
        .find(|&i| {
            let parents = &graph.rev(i).parents;
            parents.is_empty() || parents.iter().any(|p| !branch_new.contains(p.as_str()))
        })
        .unwrap_or(mine);

    let paths: Vec<PathBuf> = main_new.iter().map(|(p, _)| p.clone()).collect();
    let additions = merged(&paths);
    for (m, (path, _)) in outcome.main_new.iter_mut().zip(&main_new) {
        m.merged = additions.iter().find(|a| &a.path == path).cloned();
    }
    let reference = up.reference.as_str();
    let ours = graph.rev(attach);
    let listed: Vec<String> = outcome
        .main_new
        .iter()
        .map(|m| {
            let when = m.merged.as_ref().map_or_else(String::new, |a| {
                format!(
                    ", merged {} in {} \"{}\"",
                    a.date,
                    &a.commit[..a.commit.len().min(12)],
                    a.subject
                )
            });
            format!("{} ({}{when})", m.id, m.file.display())
        })
        .collect();
    let from = if ours.parents.is_empty() {
        "starts a new history".to_owned()
    } else {
        format!("follows {}", ours.parents.join(", "))
    };
    let stale = if now - up.age.unix > 86_400 {
        "; it is more than a day old: run git fetch and check again"
    } else {
        ""
    };
    let word = shell::word(reference);
    let message = format!(
        "merging this branch into {reference} ({}{stale}) would leave {} heads ({}): {reference} \
         gained {} after this branch started, and this branch's {} {from}; bring the branch up \
         to date, then repoint your own unmerged migration (no merge migration): \
         git merge {word}, then db-migrate fix-heads {select}{}--upstream {word}",
        describe_age(reference, &up.age, now),
        heads.len(),
        outcome.heads.join(", "),
        listed.join(", "),
        ours.id,
        if select.is_empty() { "" } else { " " },
    );
    outcome
        .findings
        .push(cx.finding(&RULE, attach, cx.line_of(attach, "down_revision"), message));
    outcome
}

/// Whether two copies of a revision declare the same parents and dependencies.
fn same_links(a: &Revision, b: &Revision) -> bool {
    a.parents == b.parents && a.depends_on == b.depends_on
}

/// `origin/main as fetched 3 h ago`, `main as updated 2 days ago`, `v1 whose tip was committed …`.
pub fn describe_age(reference: &str, age: &RefAge, now: i64) -> String {
    let ago = ago(now - age.unix);
    match age.source {
        AgeSource::Fetch => format!("{reference} as fetched {ago}"),
        AgeSource::Reflog => format!("{reference} as last updated {ago}"),
        AgeSource::Commit => format!("{reference}, whose tip was committed {ago}"),
    }
}

/// `less than a minute ago`, `5 min ago`, `3 h ago`, `2 days ago`.
pub fn ago(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 60 => "less than a minute ago".to_owned(),
        s if s < 3_600 => format!("{} min ago", s / 60),
        s if s < 2 * 86_400 => format!("{} h ago", s / 3_600),
        s => format!("{} days ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::testing::{path, working, Workspace, DIR};
    use super::*;
    use crate::revisions::reader::{read_file, Read};

    const NOW: i64 = 1_800_000_000;

    /// `files` as the version directory at a commit.
    fn view(ws: &Workspace, reference: &str, files: &[(&str, String)]) -> BaseView {
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
        BaseView {
            reference: reference.into(),
            graph: Graph::new(revisions.iter().map(|(_, r)| r.clone()).collect()).ok(),
            revisions,
            top: ws.tmp.path().to_path_buf(),
            unread: Vec::new(),
        }
    }

    fn upstream(ws: &Workspace, tip: &[(&str, String)], age: i64) -> Upstream {
        Upstream {
            reference: "origin/main".into(),
            tip: "t".repeat(40),
            merge_base: "b".repeat(40),
            age: RefAge {
                unix: NOW - age,
                source: AgeSource::Fetch,
            },
            moved: Some(Moved {
                tip: view(ws, "tip", tip),
                merge_base: ws.base.clone().unwrap(),
            }),
        }
    }

    fn run(ws: &Workspace, up: &Upstream) -> Outcome {
        let c = ws.component();
        let cx = Context::new(&c);
        let merged = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|p| Addition {
                    path: p.clone(),
                    commit: "9a8b7c6d5e4f".repeat(3),
                    date: "2026-12-03T04:00:00+00:00".into(),
                    subject: "Merge pull request #4242".into(),
                })
                .collect()
        };
        check(&cx, up, &merged, "--component manager", NOW)
    }

    fn base() -> Vec<(&'static str, String)> {
        vec![("a_first.py", working("a", &[]))]
    }

    fn tip() -> Vec<(&'static str, String)> {
        let mut files = base();
        files.push(("b_theirs.py", working("b", &["a"])));
        files
    }

    #[test]
    fn main_gaining_a_migration_on_the_same_parent_is_one_finding_naming_it() {
        let mut files = base();
        files.push(("c_mine.py", working("c", &["a"])));
        files.push(("d_mine_too.py", working("d", &["c"])));
        let ws = Workspace::new(&files).with_base(&base());
        let out = run(&ws, &upstream(&ws, &tip(), 3 * 3600));
        assert_eq!(out.findings.len(), 1, "{out:?}");
        let f = &out.findings[0];
        assert_eq!((f.rule, f.severity), ("heads-after-merge", Severity::Error));
        // Where the branch attaches to the old history: the down_revision to repoint.
        assert_eq!((f.file.clone(), f.line), (path("c_mine.py"), 14));
        let m = &f.message;
        for part in [
            "merging this branch into origin/main (origin/main as fetched 3 h ago) would leave 2 heads (",
            "origin/main gained b (",
            "b_theirs.py, merged 2026-12-03T04:00:00+00:00 in 9a8b7c6d5e4f \"Merge pull request #4242\")",
            "this branch's c follows a",
            "git merge origin/main, then db-migrate fix-heads --component manager --upstream origin/main",
        ] {
            assert!(m.contains(part), "{part:?} not in {m}");
        }
        assert!(!m.contains("git fetch"), "{m}");
        assert_eq!(out.main_new.len(), 1);
        assert_eq!(out.main_new[0].id, "b");
        assert_eq!(out.main_new[0].file, path("b_theirs.py"));
        assert!(out.main_new[0].merged.is_some());
        let mut heads = out.heads.clone();
        heads.sort();
        assert_eq!(heads, ["b", "d"]);
    }

    #[test]
    fn a_ref_older_than_a_day_says_to_fetch() {
        let mut files = base();
        files.push(("c_mine.py", working("c", &["a"])));
        let ws = Workspace::new(&files).with_base(&base());
        let out = run(&ws, &upstream(&ws, &tip(), 3 * 86_400));
        let m = &out.findings[0].message;
        assert!(
            m.contains("origin/main as fetched 3 days ago; it is more than a day old: run git fetch and check again"),
            "{m}"
        );
    }

    #[test]
    fn quiet_when_main_did_not_move_on_or_the_branch_adds_nothing_or_already_has_main() {
        // main did not change the migrations.
        let mut files = base();
        files.push(("c_mine.py", working("c", &["a"])));
        let ws = Workspace::new(&files).with_base(&base());
        let mut up = upstream(&ws, &tip(), 60);
        up.moved = None;
        let out = run(&ws, &up);
        assert!(
            out.findings.is_empty() && out.main_new.is_empty(),
            "{out:?}"
        );

        // main moved on, the branch adds no migration.
        let ws = Workspace::new(&base()).with_base(&base());
        let out = run(&ws, &upstream(&ws, &tip(), 60));
        assert!(out.findings.is_empty(), "{out:?}");
        assert_eq!(
            out.main_new.len(),
            1,
            "main's new revision is still reported"
        );

        // The branch merged main and repointed its migration onto b.
        let mut files = tip();
        files.push(("c_mine.py", working("c", &["b"])));
        let ws = Workspace::new(&files).with_base(&base());
        let out = run(&ws, &upstream(&ws, &tip(), 60));
        assert!(
            out.findings.is_empty() && out.main_new.is_empty(),
            "{out:?}"
        );

        // main's new revision extends the branch's (it was merged there already): one head.
        let mut files = base();
        files.push(("c_mine.py", working("c", &["a"])));
        let mut main = files.clone();
        main.push(("e_after.py", working("e", &["c"])));
        let ws = Workspace::new(&files).with_base(&base());
        let out = run(&ws, &upstream(&ws, &main, 60));
        assert!(out.findings.is_empty(), "{out:?}");
    }

    #[test]
    fn two_heads_in_the_work_tree_are_single_head_s_to_report() {
        let mut files = tip();
        files.push(("c_mine.py", working("c", &["a"])));
        let ws = Workspace::new(&files).with_base(&base());
        let mut main = tip();
        main.push(("e_more.py", working("e", &["b"])));
        let out = run(&ws, &upstream(&ws, &main, 60));
        assert!(out.findings.is_empty(), "{out:?}");
    }

    #[test]
    fn a_repoint_made_on_main_is_merged_not_doubled() {
        // main repointed c (the branch's, already merged there) onto b: the merge takes main's
        // down_revision for c, since the branch left it as it was at the merge-base.
        let mut at_base = base();
        at_base.push(("c_shared.py", working("c", &["a"])));
        let mut main = base();
        main.push(("b_theirs.py", working("b", &["a"])));
        main.push(("c_shared.py", working("c", &["b"])));
        let mut files = at_base.clone();
        files.push(("d_mine.py", working("d", &["c"])));
        let ws = Workspace::new(&files).with_base(&at_base);
        let out = run(&ws, &upstream(&ws, &main, 60));
        assert!(out.findings.is_empty(), "{out:?}");
        assert_eq!(out.heads, ["d"]);
    }

    #[test]
    fn ages_read_like_people_say_them() {
        assert_eq!(ago(5), "less than a minute ago");
        assert_eq!(ago(-5), "less than a minute ago");
        assert_eq!(ago(150), "2 min ago");
        assert_eq!(ago(3 * 3600 + 5), "3 h ago");
        assert_eq!(ago(30 * 3600), "30 h ago");
        assert_eq!(ago(5 * 86_400), "5 days ago");
        let age = |source| RefAge {
            unix: NOW - 7200,
            source,
        };
        assert_eq!(
            describe_age("origin/main", &age(AgeSource::Fetch), NOW),
            "origin/main as fetched 2 h ago"
        );
        assert_eq!(
            describe_age("main", &age(AgeSource::Reflog), NOW),
            "main as last updated 2 h ago"
        );
        assert_eq!(
            describe_age("v1", &age(AgeSource::Commit), NOW),
            "v1, whose tip was committed 2 h ago"
        );
    }
}
