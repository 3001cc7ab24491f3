//! The README's backport insertion, as `released-unchanged` and `linear-on-base` recognise it.
//!
//! On main `a --> b --> c`, backport `d` is inserted `a --> d --> b --> c --> d'`: `d` keeps
//! `down_revision = a` (the revision id it has on the release branch), released `b`'s
//! `down_revision` moves from `a` to `d` in the same change, and `d'` is an idempotent duplicate
//! on top of `c`. Editing a released `down_revision` is allowed for that and nothing else, so an
//! insertion is accepted only when walking down from `b`'s new `down_revision` through inserted
//! revisions (new relative to the base, or marked `(backport)` in their `# Part of:` line) ends
//! exactly at `b`'s old `down_revision`: no released revision is skipped, reordered or dropped.

use std::collections::HashSet;

use super::{sorted, Context};
use crate::graph::Revision;

/// What the change did below released revision `b`, whose `down_revision` moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// The README's insertion: these revisions (graph indices) now sit between `b` and its old
    /// parents.
    Insertion(Vec<usize>),
    /// `b` now follows an inserted revision (new or marked backport) whose chain does not come
    /// down to `b`'s old parents: the insertion is misplaced. `reached` is where it comes down.
    Misplaced {
        inserted: Vec<usize>,
        reached: Vec<String>,
    },
    /// `b` now follows other released revisions: not a backport insertion.
    Other,
}

/// Classify released `b`'s `down_revision` change: `old` is `b` at the base, `i` its graph index.
pub fn moved(cx: &Context, i: usize, old: &Revision) -> Moved {
    let was: HashSet<&str> = old.parents.iter().map(String::as_str).collect();
    let mut frontier: Vec<String> = cx.graph.rev(i).parents.clone();
    let mut inserted: Vec<usize> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    loop {
        let next = frontier.iter().position(|p| {
            !was.contains(p.as_str())
                && cx
                    .graph
                    .index_of(p)
                    .is_some_and(|x| !seen.contains(&x) && insertable(cx, x))
        });
        let Some(at) = next else { break };
        let x = cx.graph.index_of(&frontier[at]).expect("checked");
        seen.insert(x);
        inserted.push(x);
        let parents = cx.graph.rev(x).parents.clone();
        frontier.splice(at..=at, parents);
    }
    if inserted.is_empty() {
        return Moved::Other;
    }
    let mut reached = frontier.clone();
    reached.sort();
    reached.dedup();
    if reached == sorted(&old.parents) {
        Moved::Insertion(inserted)
    } else {
        Moved::Misplaced { inserted, reached }
    }
}

/// A revision that may be inserted below released history: new in this change, or marked as a
/// backport (inserted by an earlier change).
fn insertable(cx: &Context, x: usize) -> bool {
    cx.is_new(x) || cx.marked_backport(x)
}

/// The new revisions the README's insertion put below released revisions (accepted by
/// `linear-on-base` although they do not descend from the base's head).
pub fn inserted(cx: &Context) -> HashSet<usize> {
    let Some(base) = cx.base else {
        return HashSet::new();
    };
    let mut all = HashSet::new();
    for (_, old) in &base.revisions {
        let Some(i) = cx.graph.index_of(&old.id) else {
            continue;
        };
        if cx.is_new(i) || sorted(&cx.graph.rev(i).parents) == sorted(&old.parents) {
            continue;
        }
        if let Moved::Insertion(revs) = moved(cx, i, old) {
            all.extend(revs);
        }
    }
    all
}

/// What the README prescribes for a backport, for messages (never `fix-heads`: it repoints
/// unreleased migrations onto the head, the opposite of an insertion).
pub fn procedure(d: &str, a: &str, b: &str) -> String {
    format!(
        "the README's backport procedure inserts {d} right below released {b}: {d} keeps \
         down_revision = {a} (its id on the release branch), {b}'s down_revision moves from {a} to \
         {d} in the same change, and an idempotent duplicate of {d} goes on top of the head"
    )
}

/// What to tell about new revision `d`, marked `(backport)` but not inserted: the README's
/// procedure, naming the released revision that follows `d`'s parent at the base.
pub fn advice(cx: &Context, d: usize) -> String {
    let rev = cx.graph.rev(d);
    let a = rev.parents.join(", ");
    let b = cx
        .base
        .iter()
        .flat_map(|b| &b.revisions)
        .find(|(_, r)| r.parents.iter().any(|p| rev.parents.contains(p)))
        .map_or_else(
            || "<the revision after it>".to_owned(),
            |(_, r)| r.id.clone(),
        );
    format!(
        "{} is marked (backport): {}",
        rev.id,
        procedure(&rev.id, &a, &b)
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{working, Workspace};
    use super::*;

    fn base() -> Vec<(&'static str, String)> {
        vec![
            ("a_first.py", working("a", &[])),
            ("b_second.py", working("b", &["a"])),
            ("c_third.py", working("c", &["b"])),
        ]
    }

    fn run(files: &[(&str, String)], b: &str) -> (Moved, Vec<String>) {
        let ws = Workspace::new(files).with_base(&base());
        let c = ws.component();
        let cx = Context::new(&c);
        let old = ws.base.as_ref().unwrap().by_id(b).unwrap().1.clone();
        let i = cx.graph.index_of(b).unwrap();
        let ids = |revs: &[usize]| {
            let mut v: Vec<String> = revs.iter().map(|&r| cx.graph.rev(r).id.clone()).collect();
            v.sort();
            v
        };
        let mut all: Vec<usize> = inserted(&cx).into_iter().collect();
        all.sort();
        (moved(&cx, i, &old), ids(&all))
    }

    #[test]
    fn the_readme_insertion_is_recognised_with_one_or_two_inserted_revisions() {
        let mut files = base();
        files[1] = ("b_second.py", working("b", &["d"]));
        files.push(("d_backport.py", working("d", &["a"])));
        files.push(("e_duplicate.py", working("e", &["c"])));
        let (m, all) = run(&files, "b");
        assert!(
            matches!(m, Moved::Insertion(ref v) if v.len() == 1),
            "{m:?}"
        );
        assert_eq!(all, ["d"]);

        files[1] = ("b_second.py", working("b", &["d2"]));
        files.push(("d2_backport.py", working("d2", &["d"])));
        let (m, all) = run(&files, "b");
        assert!(
            matches!(m, Moved::Insertion(ref v) if v.len() == 2),
            "{m:?}"
        );
        assert_eq!(all, ["d", "d2"]);
    }

    #[test]
    fn a_misplaced_insertion_and_a_move_to_released_history_are_not_insertions() {
        // d (on a new root z) does not come down to b's old parent a: a would be skipped.
        let mut files = base();
        files[1] = ("b_second.py", working("b", &["d"]));
        files.push(("d_backport.py", working("d", &["z"])));
        files.push(("z_root.py", working("z", &[])));
        let (m, all) = run(&files, "b");
        assert!(
            matches!(m, Moved::Misplaced { ref inserted, ref reached } if inserted.len() == 2 && reached.is_empty()),
            "{m:?}"
        );
        assert!(all.is_empty());

        // b moved onto released c's sibling: no inserted revision at all.
        let files = vec![
            ("a_first.py", working("a", &[])),
            ("b_second.py", working("b", &[])),
            ("c_third.py", working("c", &["b"])),
        ];
        let (m, all) = run(&files, "b");
        assert_eq!(m, Moved::Other);
        assert!(all.is_empty());
    }

    #[test]
    fn a_revision_marked_backport_counts_as_inserted_even_when_not_new() {
        // d is on the base already (an earlier change), marked (backport); b moves onto it now.
        let marked = working("d", &["a"]).replace(
            "# Part of: NEXT_RELEASE_VERSION",
            "# Part of: 26.4.8 (backport), 26.8.0 (main)",
        );
        let mut with_d = base();
        with_d.push(("d_backport.py", marked.clone()));
        let mut files = with_d.clone();
        files[1] = ("b_second.py", working("b", &["d"]));
        let ws = Workspace::new(&files).with_base(&with_d);
        let c = ws.component();
        let cx = Context::new(&c);
        let old = ws.base.as_ref().unwrap().by_id("b").unwrap().1.clone();
        let m = moved(&cx, cx.graph.index_of("b").unwrap(), &old);
        assert!(matches!(m, Moved::Insertion(_)), "{m:?}");

        // The same without the mark is a move onto released history.
        let mut with_d = base();
        with_d.push(("d_backport.py", working("d", &["a"])));
        let mut files = with_d.clone();
        files[1] = ("b_second.py", working("b", &["d"]));
        let ws = Workspace::new(&files).with_base(&with_d);
        let c = ws.component();
        let cx = Context::new(&c);
        let m = moved(&cx, cx.graph.index_of("b").unwrap(), &old);
        assert_eq!(m, Moved::Other);
    }
}
