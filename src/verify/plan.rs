//! Which revisions `verify` proves, in what order, and where the scratch database starts: the
//! revisions new relative to the base (plus any named with `--idempotent`), in apply order,
//! starting from the newest revisions below them.

use std::collections::HashSet;

use crate::check::rules::Facts;
use crate::graph::Graph;

/// One revision to prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub rev: usize,
    /// Run it twice (stamp back to its parent, upgrade again): a backport, or `--idempotent`.
    pub idempotent: Option<Idempotent>,
    /// Its `downgrade()` is only `pass` (or docstrings, comments). For a backport that is the
    /// team's rule ("if the downgrade is handled by another migration in the chain, use
    /// pass"), so its round trip is not held against it.
    pub downgrade_empty: bool,
}

/// Why a revision must be idempotent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotent {
    /// Its `# Part of:` comment says `(backport)`.
    Backport,
    /// `--idempotent REV`.
    Asked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// In apply order.
    pub subjects: Vec<Subject>,
    /// Where the scratch database must be before the first subject: its parents (empty: base,
    /// no revision). Later subjects may have older revisions between them (an `--idempotent`
    /// one far back); the proof upgrades to each subject's parent before its round trip.
    pub start: Vec<usize>,
}

/// Plan the proof of `new` ∪ `asked` (graph indices). `source(i)` is a revision's file.
pub fn plan(
    graph: &Graph,
    new: &HashSet<usize>,
    asked: &[usize],
    source: impl Fn(usize) -> Option<Vec<u8>>,
) -> Plan {
    let mut all: HashSet<usize> = new.clone();
    all.extend(asked);
    let subjects: Vec<Subject> = graph
        .apply_order(&all)
        .into_iter()
        .map(|rev| {
            let src = source(rev).unwrap_or_default();
            Subject {
                rev,
                idempotent: if asked.contains(&rev) {
                    Some(Idempotent::Asked)
                } else if is_backport(&src) {
                    Some(Idempotent::Backport)
                } else {
                    None
                },
                downgrade_empty: Facts::of(&src).downgrade.is_some_and(|b| b.empty),
            }
        })
        .collect();
    // Just below the first: its parents (each subject's own parent is reached before it).
    let start = subjects.first().map_or_else(Vec::new, |first: &Subject| {
        graph
            .rev(first.rev)
            .parents
            .iter()
            .filter_map(|p| graph.index_of(p))
            .collect()
    });
    Plan { subjects, start }
}

/// `# Part of: 26.4.8 (backport), 26.8.0 (main)`: the file says it is a backport (`check`'s
/// backport rules read it the same way).
pub use crate::check::rules::is_backport;

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(graph: &Graph, revs: &[usize]) -> Vec<String> {
        revs.iter().map(|&r| graph.rev(r).id.clone()).collect()
    }

    #[test]
    fn new_revisions_in_apply_order_start_from_the_newest_old_one() {
        let g = Graph::from_edges(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("d", &["c"])]);
        let new: HashSet<usize> = ["d", "c"].iter().map(|i| g.index_of(i).unwrap()).collect();
        let p = plan(&g, &new, &[], |_| None);
        let order: Vec<usize> = p.subjects.iter().map(|s| s.rev).collect();
        assert_eq!(ids(&g, &order), ["c", "d"]);
        assert_eq!(ids(&g, &p.start), ["b"]);
        assert!(p.subjects.iter().all(|s| s.idempotent.is_none()));
    }

    #[test]
    fn asked_and_backported_revisions_are_run_twice() {
        let g = Graph::from_edges(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]);
        let (a, c) = (g.index_of("a").unwrap(), g.index_of("c").unwrap());
        let new: HashSet<usize> = [c].into();
        let backport = b"# Part of: 26.4.8 (backport), 26.8.0 (main)\ndef upgrade():\n    op.execute('x')\n\n\ndef downgrade():\n    pass\n";
        let p = plan(&g, &new, &[a], |r| (r == c).then(|| backport.to_vec()));
        let order: Vec<usize> = p.subjects.iter().map(|s| s.rev).collect();
        assert_eq!(ids(&g, &order), ["a", "c"]);
        assert_eq!(p.subjects[0].idempotent, Some(Idempotent::Asked));
        assert_eq!(p.subjects[1].idempotent, Some(Idempotent::Backport));
        assert!(p.subjects[1].downgrade_empty);
        assert!(!p.subjects[0].downgrade_empty);
        // `a` is a base revision: the proof starts from an empty schema.
        assert!(p.start.is_empty());
    }

    #[test]
    fn backports_are_told_by_their_part_of_comment() {
        assert!(is_backport(
            b"down_revision = 'a'\n# Part of: 26.4.8 (backport), 26.8.0 (main)\n"
        ));
        assert!(!is_backport(b"# Part of: 26.8.0\n"));
        assert!(!is_backport(b"# Part of: NEXT_RELEASE_VERSION\n"));
        assert!(!is_backport(b"x = '(backport)'\n"));
    }
}
