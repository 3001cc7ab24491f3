//! Classify a component into exactly one of the five states.

use crate::graph::Graph;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The database is at the single head.
    UpToDate,
    /// The database is at an ancestor of the head; `pending` lists what `upgrade heads` would run.
    Behind,
    /// The scripts have two or more heads (takes precedence: `upgrade head` cannot work).
    Diverged,
    /// The database has no alembic_version row (fresh database).
    NoRevision,
    /// The database holds a revision the scripts don't have.
    UnknownRevision,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::UpToDate => "up-to-date",
            State::Behind => "behind",
            State::Diverged => "diverged",
            State::NoRevision => "no-revision",
            State::UnknownRevision => "unknown-revision",
        }
    }
}

/// The state, and the pending revisions (indices into the graph, in apply order).
pub fn classify(graph: &Graph, current: &[String]) -> (State, Vec<usize>) {
    let known: Vec<usize> = current.iter().filter_map(|c| graph.index_of(c)).collect();
    let state = if graph.heads().len() > 1 {
        State::Diverged
    } else if current.is_empty() {
        State::NoRevision
    } else if known.len() < current.len() {
        return (State::UnknownRevision, Vec::new());
    } else {
        State::Behind
    };
    let pending = graph.pending(&known);
    match state {
        State::Behind if pending.is_empty() => (State::UpToDate, pending),
        _ => (state, pending),
    }
}

/// Rows of `alembic_version` that lie on one branch (one an ancestor of another): the newest such
/// row and the older rows under it. Alembic refuses to migrate from there, and its `current`
/// shows only the newest row, so this is a corrupt table, not a state.
pub fn overlapping(graph: &Graph, current: &[String]) -> Option<(String, Vec<String>)> {
    let known: Vec<usize> = current.iter().filter_map(|c| graph.index_of(c)).collect();
    known.iter().find_map(|&newer| {
        // Through down_revision only: a depends_on target stays a row of its own (Alembic
        // writes and accepts such rows).
        let below = graph.lineage(&[newer]);
        let older: Vec<String> = known
            .iter()
            .filter(|&&o| o != newer && below.contains(&o))
            .map(|&o| graph.rev(o).id.clone())
            .collect();
        (!older.is_empty()).then(|| (graph.rev(newer).id.clone(), older))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Revision;

    fn graph(edges: &[(&str, &[&str])]) -> Graph {
        Graph::from_edges(edges)
    }

    #[test]
    fn every_state() {
        let g = graph(&[("b", &["a"]), ("a", &[])]);
        assert_eq!(classify(&g, &["b".into()]).0, State::UpToDate);
        assert_eq!(classify(&g, &["a".into()]), (State::Behind, vec![0]));
        assert_eq!(classify(&g, &[]).0, State::NoRevision);
        assert_eq!(classify(&g, &["zz".into()]).0, State::UnknownRevision);
        let d = graph(&[("c", &["a"]), ("b", &["a"]), ("a", &[])]);
        assert_eq!(classify(&d, &["b".into()]).0, State::Diverged);
        assert_eq!(classify(&d, &[]).0, State::Diverged);
    }

    #[test]
    fn overlapping_rows_name_the_newest_and_the_ones_below() {
        let g = graph(&[("c", &["b"]), ("b", &["a"]), ("a", &[])]);
        assert_eq!(
            overlapping(&g, &["a".into(), "c".into()]),
            Some(("c".into(), vec!["a".into()]))
        );
        assert_eq!(overlapping(&g, &["c".into()]), None);
        let d = graph(&[("c", &["a"]), ("b", &["a"]), ("a", &[])]);
        assert_eq!(overlapping(&d, &["b".into(), "c".into()]), None);
        // b2 depends_on a1 on another branch: both stay rows, as Alembic writes them.
        let mut revs = vec![
            Revision {
                id: "b2".into(),
                parents: vec!["b1".into()],
                depends_on: vec!["a1".into()],
                ..Revision::default()
            },
            Revision {
                id: "b1".into(),
                ..Revision::default()
            },
        ];
        revs.push(Revision {
            id: "a1".into(),
            ..Revision::default()
        });
        let g = Graph::new(revs).unwrap();
        assert_eq!(overlapping(&g, &["a1".into(), "b2".into()]), None);
    }
}
