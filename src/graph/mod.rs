//! The revision graph: heads, ancestors, pending revisions and migration plans.
//!
//! Built once per component from `alembic history --verbose` (and later from the revision files
//! themselves). Semantics follow Alembic's RevisionMap: a head is a revision no other revision
//! names as `down_revision` (`depends_on` does not make a head); ancestry, and so what
//! `upgrade heads` runs, follows both `down_revision` and `depends_on`; a `depends_on` entry names a
//! revision id or a branch label (resolved to the revision that declares it).

use std::collections::{HashMap, HashSet};

use crate::target::Target;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revision {
    pub id: String,
    /// `down_revision`: empty for a base, several for a merge point.
    pub parents: Vec<String>,
    pub depends_on: Vec<String>,
    pub branch_labels: Vec<String>,
    pub path: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("revision {id} is defined more than once ({})", paths.join(", "))]
    Duplicate { id: String, paths: Vec<String> },
    #[error("revision {id} ({path}) names {missing} as its parent or dependency, but no revision {missing} exists")]
    Missing {
        id: String,
        path: String,
        missing: String,
    },
    #[error("the revisions {} form a cycle", ids.join(", "))]
    Cycle { ids: Vec<String> },
}

fn add_labels(have: &mut Vec<String>, more: &[String]) {
    for label in more {
        if !have.contains(label) {
            have.push(label.clone());
        }
    }
    have.sort();
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(usize),
    NotFound,
    Ambiguous(Vec<String>),
}

/// Why a target's destination cannot be worked out from the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// No revision or branch label is (or starts with) this.
    NotFound(String),
    /// A prefix of several revision ids.
    AmbiguousPrefix(Vec<String>),
    /// `head` where the scripts (or the branch) have several heads.
    MultipleHeads(Vec<usize>),
    /// A relative step runs past base or past the last revision.
    Overshoot,
    /// A relative step crosses a branch point or a merge (Alembic: "Ambiguous walk"): from
    /// `from` (empty: base) it could go to any of `ways`.
    AmbiguousWalk { from: Vec<usize>, ways: Vec<usize> },
    /// Alembic's own resolution applies (`BRANCH@base`, a step from several current heads).
    AlembicDecides,
}

#[derive(Debug, Default, Clone)]
pub struct Graph {
    revs: Vec<Revision>,
    index: HashMap<String, usize>,
    labels: HashMap<String, usize>,
    /// Resolved `down_revision` + `depends_on`, per revision.
    down: Vec<Vec<usize>>,
    /// Revisions naming this one as `down_revision`.
    children: Vec<Vec<usize>>,
    /// Position in Alembic's revision map (files in path order), which breaks ties in its
    /// topological sort.
    load_rank: Vec<usize>,
}

impl Graph {
    /// Build the graph. The revisions are put in one canonical order (newest first; a topological
    /// order with ties broken by id), so the graph is the same whichever engine listed them, and
    /// branch labels are extended to the revisions Alembic extends them to.
    pub fn new(revs: Vec<Revision>) -> Result<Graph, GraphError> {
        let graph = Graph::build(revs)?;
        let order = graph.canonical_order()?;
        let mut slots: Vec<Option<Revision>> = graph.revs.into_iter().map(Some).collect();
        let revs: Vec<Revision> = order
            .into_iter()
            .map(|i| slots[i].take().expect("each index once"))
            .collect();
        let mut graph = Graph::build(revs)?;
        graph.inherit_branch_labels();
        Ok(graph)
    }

    fn build(revs: Vec<Revision>) -> Result<Graph, GraphError> {
        let mut index = HashMap::with_capacity(revs.len());
        for (i, rev) in revs.iter().enumerate() {
            if let Some(&first) = index.get(&rev.id) {
                let path = |r: &Revision| r.path.clone().unwrap_or_else(|| r.id.clone());
                return Err(GraphError::Duplicate {
                    id: rev.id.clone(),
                    paths: vec![path(&revs[first]), path(rev)],
                });
            }
            index.insert(rev.id.clone(), i);
        }
        // A label names the revision that carries it and none of whose parents does: the declaring
        // revision when read from the files, the oldest carrier when Alembic listed inherited labels.
        let mut labels = HashMap::new();
        for (i, rev) in revs.iter().enumerate() {
            for label in &rev.branch_labels {
                let parent_has = rev
                    .parents
                    .iter()
                    .filter_map(|p| index.get(p))
                    .any(|&p| revs[p].branch_labels.contains(label));
                if !parent_has {
                    labels.entry(label.clone()).or_insert(i);
                }
            }
        }
        let mut down = vec![Vec::new(); revs.len()];
        let mut children = vec![Vec::new(); revs.len()];
        for (i, rev) in revs.iter().enumerate() {
            let resolve = |name: &String, labels_too: bool| {
                index
                    .get(name)
                    .or(if labels_too { labels.get(name) } else { None })
                    .copied()
                    .ok_or_else(|| GraphError::Missing {
                        id: rev.id.clone(),
                        path: rev.path.clone().unwrap_or_default(),
                        missing: name.clone(),
                    })
            };
            for parent in &rev.parents {
                let p = resolve(parent, false)?;
                children[p].push(i);
                down[i].push(p);
            }
            for dep in &rev.depends_on {
                let d = resolve(dep, true)?;
                if !down[i].contains(&d) {
                    down[i].push(d);
                }
            }
        }
        let mut by_path: Vec<usize> = (0..revs.len()).collect();
        by_path.sort_by(|&a, &b| (&revs[a].path, &revs[a].id).cmp(&(&revs[b].path, &revs[b].id)));
        let mut load_rank = vec![0; revs.len()];
        for (rank, i) in by_path.into_iter().enumerate() {
            load_rank[i] = rank;
        }
        Ok(Graph {
            revs,
            index,
            labels,
            down,
            children,
            load_rank,
        })
    }

    /// Newest first: the reverse of Kahn's algorithm over parent and dependency edges, taking the
    /// smallest id among the ready revisions each time. Whatever never becomes ready is a cycle.
    fn canonical_order(&self) -> Result<Vec<usize>, GraphError> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let n = self.revs.len();
        let mut remaining: Vec<usize> = self.down.iter().map(Vec::len).collect();
        let mut dependents = vec![Vec::new(); n];
        for (i, downs) in self.down.iter().enumerate() {
            for &d in downs {
                dependents[d].push(i);
            }
        }
        let mut ready: BinaryHeap<Reverse<(&str, usize)>> = (0..n)
            .filter(|&i| remaining[i] == 0)
            .map(|i| Reverse((self.revs[i].id.as_str(), i)))
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse((_, i))) = ready.pop() {
            order.push(i);
            for &c in &dependents[i] {
                remaining[c] -= 1;
                if remaining[c] == 0 {
                    ready.push(Reverse((self.revs[c].id.as_str(), c)));
                }
            }
        }
        if order.len() < n {
            let mut ids: Vec<String> = (0..n)
                .filter(|&i| remaining[i] > 0)
                .map(|i| self.revs[i].id.clone())
                .collect();
            ids.sort();
            return Err(GraphError::Cycle { ids });
        }
        order.reverse();
        Ok(order)
    }

    /// Alembic's RevisionMap._add_branches: a label reaches every descendant of the revision that
    /// declares it and, when those descendants form one line, the ancestors below it down to the
    /// first branch point or merge point. (When the descendants branch, Alembic's choice of where
    /// to start that walk depends on set iteration order; every start then stops at the branch
    /// point inside the descendants, so no ancestor gets the label — which is what this does.)
    fn inherit_branch_labels(&mut self) {
        let n = self.revs.len();
        let mut next_all = vec![0usize; n];
        for downs in &self.down {
            for &d in downs {
                next_all[d] += 1;
            }
        }
        let declared: Vec<(usize, Vec<String>)> = (0..n)
            .filter(|&i| !self.revs[i].branch_labels.is_empty())
            .map(|i| (i, self.revs[i].branch_labels.clone()))
            .collect();
        for (start, labels) in declared {
            let desc = self.descendants(start);
            for &d in &desc {
                add_labels(&mut self.revs[d].branch_labels, &labels);
            }
            if desc.iter().any(|&d| self.children[d].len() > 1) {
                continue;
            }
            let mut tip = start;
            while let [child] = self.children[tip].as_slice() {
                tip = *child;
            }
            let mut node = tip;
            loop {
                if next_all[node] > 1 || self.revs[node].parents.len() > 1 {
                    break;
                }
                add_labels(&mut self.revs[node].branch_labels, &labels);
                match self.revs[node]
                    .parents
                    .first()
                    .and_then(|p| self.index.get(p))
                {
                    Some(&p) => node = p,
                    None => break,
                }
            }
        }
    }

    pub fn rev(&self, i: usize) -> &Revision {
        &self.revs[i]
    }

    #[cfg(test)]
    pub fn revisions(&self) -> &[Revision] {
        &self.revs
    }

    /// A graph from `(id, parents)` pairs, for tests.
    #[cfg(test)]
    pub fn from_edges(edges: &[(&str, &[&str])]) -> Graph {
        Graph::new(
            edges
                .iter()
                .map(|(id, p)| Revision {
                    id: id.to_string(),
                    parents: p.iter().map(|s| s.to_string()).collect(),
                    ..Revision::default()
                })
                .collect(),
        )
        .expect("a valid graph")
    }

    pub fn is_empty(&self) -> bool {
        self.revs.is_empty()
    }

    /// How many revisions; indices run from 0 to this.
    pub fn len(&self) -> usize {
        self.revs.len()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Heads in the order Alembic lists revisions (newest first).
    pub fn heads(&self) -> Vec<usize> {
        (0..self.revs.len())
            .filter(|&i| self.children[i].is_empty())
            .collect()
    }

    /// The members of an applied set that no member has as its parent: the rows alembic_version
    /// holds for that set (a dependency stays a row of its own).
    pub fn heads_of(&self, set: &HashSet<usize>) -> Vec<usize> {
        let mut heads: Vec<usize> = set
            .iter()
            .copied()
            .filter(|&i| !self.children[i].iter().any(|c| set.contains(c)))
            .collect();
        heads.sort_unstable();
        heads
    }

    /// An id, a branch label, or a unique prefix of an id.
    pub fn lookup(&self, ident: &str) -> Lookup {
        if let Some(&i) = self.index.get(ident).or_else(|| self.labels.get(ident)) {
            return Lookup::Found(i);
        }
        let matches: Vec<usize> = (0..self.revs.len())
            .filter(|&i| self.revs[i].id.starts_with(ident))
            .collect();
        match matches.as_slice() {
            [] => Lookup::NotFound,
            [one] => Lookup::Found(*one),
            many => {
                let mut ids: Vec<String> = many.iter().map(|&i| self.revs[i].id.clone()).collect();
                ids.sort();
                Lookup::Ambiguous(ids)
            }
        }
    }

    /// The given revisions and all their ancestors (through `down_revision` and `depends_on`).
    pub fn ancestors(&self, starts: &[usize]) -> HashSet<usize> {
        let mut seen: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = starts.to_vec();
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(self.down[i].iter().copied().filter(|d| !seen.contains(d)));
            }
        }
        seen
    }

    /// The given revisions and their ancestors through `down_revision` only (a revision's
    /// lineage; `depends_on` targets are not part of it).
    pub fn lineage(&self, starts: &[usize]) -> HashSet<usize> {
        let mut seen: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = starts.to_vec();
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(
                    self.revs[i]
                        .parents
                        .iter()
                        .filter_map(|p| self.index_of(p))
                        .filter(|p| !seen.contains(p)),
                );
            }
        }
        seen
    }

    /// `set` in an order Alembic could apply it: every revision after its parents and dependencies.
    pub fn apply_order(&self, set: &HashSet<usize>) -> Vec<usize> {
        let mut order = Vec::with_capacity(set.len());
        let mut done: HashSet<usize> = HashSet::with_capacity(set.len());
        // Start from the oldest so that independent branches come out in file-listing order.
        let mut roots: Vec<usize> = set.iter().copied().collect();
        roots.sort_unstable_by(|a, b| b.cmp(a));
        for root in roots {
            if done.contains(&root) {
                continue;
            }
            // Iterative post-order DFS (graphs can be 10,000 revisions deep).
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            while let Some((node, next)) = stack.pop() {
                if done.contains(&node) {
                    continue;
                }
                let downs = &self.down[node];
                if let Some(&d) = downs.get(next) {
                    stack.push((node, next + 1));
                    if set.contains(&d) && !done.contains(&d) {
                        stack.push((d, 0));
                    }
                } else {
                    done.insert(node);
                    order.push(node);
                }
            }
        }
        order
    }

    /// What `upgrade heads` would run from `current`: every ancestor of the heads that is neither
    /// current nor an ancestor of a current revision, in apply order.
    pub fn pending(&self, current: &[usize]) -> Vec<usize> {
        let applied = self.ancestors(current);
        let wanted: HashSet<usize> = self
            .ancestors(&self.heads())
            .into_iter()
            .filter(|i| !applied.contains(i))
            .collect();
        self.alembic_order(wanted, &self.heads())
            .into_iter()
            .rev()
            .collect()
    }

    /// Every revision in the order `alembic history` lists them (its `walk_revisions`: the
    /// topological sort from all heads), newest first.
    pub fn history_order(&self) -> Vec<usize> {
        self.alembic_order((0..self.revs.len()).collect(), &self.heads())
    }

    /// The order Alembic itself walks `todo` in (RevisionMap._topological_sort): newest first,
    /// from `heads` down, one line at a time, switching to another head whenever the candidate is
    /// still needed by it; ties follow the revision map's (file) order. Upgrades run it reversed.
    pub fn alembic_order(&self, mut todo: HashSet<usize>, heads: &[usize]) -> Vec<usize> {
        let mut current_heads: Vec<usize> = Vec::new();
        for &h in heads {
            if todo.contains(&h) && !current_heads.contains(&h) {
                current_heads.push(h);
            }
        }
        current_heads.sort_by_key(|&h| self.load_rank[h]);
        let mut ancestors_by_idx: Vec<HashSet<usize>> = current_heads
            .iter()
            .map(|&h| self.ancestors(&[h]))
            .collect();
        let mut output = Vec::with_capacity(todo.len());
        let mut idx = 0usize;
        while !current_heads.is_empty() {
            let candidate = current_heads[idx];
            if let Some(other) = (0..ancestors_by_idx.len())
                .find(|&j| j != idx && ancestors_by_idx[j].contains(&candidate))
            {
                // Another head still descends from the candidate: walk that one first.
                idx = other;
                continue;
            }
            if todo.remove(&candidate) {
                output.push(candidate);
            }
            let down = self.normalized_down(candidate);
            let to_add: Vec<usize> = down
                .iter()
                .copied()
                .filter(|r| todo.contains(r) && !current_heads.contains(r))
                .collect();
            if to_add.is_empty() {
                current_heads.remove(idx);
                ancestors_by_idx.remove(idx);
                idx = idx.saturating_sub(1);
            } else if self.revs[candidate].parents.len() == 1 && down.len() == 1 {
                current_heads[idx] = to_add[0];
                ancestors_by_idx[idx].remove(&candidate);
            } else {
                // Alembic keeps the first down revision in place and appends the others.
                current_heads[idx] = to_add[0];
                ancestors_by_idx[idx] = self.ancestors(&[to_add[0]]);
                for &r in &to_add[1..] {
                    current_heads.push(r);
                    ancestors_by_idx.push(self.ancestors(&[r]));
                }
            }
        }
        if !todo.is_empty() {
            // Not reachable from the heads given (cannot happen for the callers here); keep it valid.
            let mut rest = self.apply_order(&todo);
            rest.reverse();
            output.extend(rest);
        }
        output
    }

    /// Alembic's `_normalized_down_revisions`: the parents, then the dependencies that no
    /// ancestor (through parents) already declares.
    fn normalized_down(&self, i: usize) -> Vec<usize> {
        let parents: Vec<usize> = self.revs[i]
            .parents
            .iter()
            .filter_map(|p| self.index_of(p))
            .collect();
        let deps: Vec<usize> = self.down[i]
            .iter()
            .copied()
            .filter(|d| !parents.contains(d))
            .collect();
        if deps.is_empty() {
            return parents;
        }
        let mut inherited: HashSet<usize> = HashSet::new();
        let mut stack = parents.clone();
        let mut seen = HashSet::new();
        while let Some(a) = stack.pop() {
            if seen.insert(a) {
                let a_parents: Vec<usize> = self.revs[a]
                    .parents
                    .iter()
                    .filter_map(|p| self.index_of(p))
                    .collect();
                inherited.extend(
                    self.down[a]
                        .iter()
                        .copied()
                        .filter(|d| !a_parents.contains(d)),
                );
                stack.extend(a_parents);
            }
        }
        let mut out = parents;
        out.extend(deps.into_iter().filter(|d| !inherited.contains(d)));
        out
    }

    /// The revisions the database would be at after moving to `target`, when that can be worked out
    /// without ambiguity (otherwise `None`, and Alembic decides).
    pub fn destination(&self, current: &[usize], target: &Target) -> Option<Vec<usize>> {
        self.resolve(current, target).ok()
    }

    /// Where `target` leads from `current`, or why it cannot be worked out here.
    pub fn resolve(&self, current: &[usize], target: &Target) -> Result<Vec<usize>, Unresolved> {
        let scope: Option<HashSet<usize>> = match &target.branch {
            Some(label) => match self.lookup(label) {
                Lookup::Found(i) => Some(
                    self.descendants(i)
                        .union(&self.ancestors(&[i]))
                        .copied()
                        .collect(),
                ),
                Lookup::NotFound => return Err(Unresolved::NotFound(label.clone())),
                Lookup::Ambiguous(ids) => return Err(Unresolved::AmbiguousPrefix(ids)),
            },
            None => None,
        };
        let in_scope = |i: &usize| scope.as_ref().is_none_or(|s| s.contains(i));
        let mut at: Vec<usize> = match target.symbol.as_deref() {
            None => current.iter().copied().filter(in_scope).collect(),
            Some("heads") => self.heads(),
            Some("head") => {
                let heads: Vec<usize> = self.heads().into_iter().filter(in_scope).collect();
                if heads.len() != 1 {
                    return Err(Unresolved::MultipleHeads(heads));
                }
                heads
            }
            Some("base") => Vec::new(),
            Some(ident) => match self.lookup(ident) {
                Lookup::Found(i) => vec![i],
                Lookup::NotFound => return Err(Unresolved::NotFound(ident.to_owned())),
                Lookup::Ambiguous(ids) => return Err(Unresolved::AmbiguousPrefix(ids)),
            },
        };
        if let Some(steps) = target.relative {
            let applied = self.ancestors(current);
            for _ in 0..steps.unsigned_abs() {
                let from = at.clone();
                let next: Vec<usize> = match (steps > 0, at.as_slice()) {
                    // Nothing applied (on this branch): the revisions whose parents are all applied.
                    (true, []) => (0..self.revs.len())
                        .filter(in_scope)
                        .filter(|i| {
                            !applied.contains(i)
                                && self.down[*i].iter().all(|p| applied.contains(p))
                        })
                        .collect(),
                    (true, [one]) => self.children[*one]
                        .iter()
                        .copied()
                        .filter(in_scope)
                        .collect(),
                    (false, [one]) => {
                        let parents: Vec<usize> = self.revs[*one]
                            .parents
                            .iter()
                            .filter_map(|p| self.index_of(p))
                            .collect();
                        if parents.is_empty() {
                            at = Vec::new();
                            continue;
                        }
                        parents
                    }
                    (false, []) => return Err(Unresolved::Overshoot),
                    // Several revisions at once (two applied heads): Alembic picks its own way.
                    _ => return Err(Unresolved::AlembicDecides),
                };
                match next.as_slice() {
                    [] => return Err(Unresolved::Overshoot),
                    [one] => at = vec![*one],
                    _ => return Err(Unresolved::AmbiguousWalk { from, ways: next }),
                }
            }
        }
        if target.branch.is_some() && at.is_empty() {
            // `BRANCH@base` / walking a branch off its base: leave the details to Alembic.
            return Err(Unresolved::AlembicDecides);
        }
        Ok(at)
    }

    /// Revisions an upgrade from `current` to `destination` applies, in order.
    pub fn upgrade_plan(&self, current: &[usize], destination: &[usize]) -> Vec<usize> {
        let applied = self.ancestors(current);
        let wanted: HashSet<usize> = self
            .ancestors(destination)
            .into_iter()
            .filter(|i| !applied.contains(i))
            .collect();
        self.alembic_order(wanted, destination)
            .into_iter()
            .rev()
            .collect()
    }

    /// Revisions a downgrade from `current` to `destination` reverts, newest first: the applied
    /// descendants of the destination (through parents and dependencies), as Alembic removes them;
    /// every applied revision for `base`.
    pub fn downgrade_plan(&self, current: &[usize], destination: &[usize]) -> Vec<usize> {
        let applied = self.ancestors(current);
        let revert: HashSet<usize> = if destination.is_empty() {
            applied
        } else {
            let keep: HashSet<usize> = destination.iter().copied().collect();
            let mut below = HashSet::new();
            // Alembic drops the destination's down_revision children and whatever descends from
            // or depends on them; a revision that only depends_on the destination stays.
            for &d in destination {
                for &child in &self.children[d] {
                    below.extend(self.dependents_closure(child));
                }
            }
            below
                .into_iter()
                .filter(|i| applied.contains(i) && !keep.contains(i))
                .collect()
        };
        self.alembic_order(revert, current)
    }

    /// `start` and every revision that descends from it through parents or dependencies.
    fn dependents_closure(&self, start: usize) -> HashSet<usize> {
        let mut dependents = vec![Vec::new(); self.revs.len()];
        for (i, downs) in self.down.iter().enumerate() {
            for &d in downs {
                dependents[d].push(i);
            }
        }
        let mut seen = HashSet::new();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(dependents[i].iter().copied());
            }
        }
        seen
    }

    fn descendants(&self, start: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(self.children[i].iter().copied());
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(id: &str, parents: &[&str]) -> Revision {
        Revision {
            id: id.into(),
            parents: parents.iter().map(|s| s.to_string()).collect(),
            ..Revision::default()
        }
    }

    fn ids(g: &Graph, v: &[usize]) -> Vec<String> {
        v.iter().map(|&i| g.rev(i).id.clone()).collect()
    }

    fn target(s: &str) -> Target {
        Target::parse(s).unwrap()
    }

    #[test]
    fn linear_chain_pending_and_plans() {
        let g = Graph::new(vec![rev("c", &["b"]), rev("b", &["a"]), rev("a", &[])]).unwrap();
        assert_eq!(ids(&g, &g.heads()), ["c"]);
        let a = g.index_of("a").unwrap();
        assert_eq!(ids(&g, &g.pending(&[a])), ["b", "c"]);
        assert_eq!(ids(&g, &g.pending(&[])), ["a", "b", "c"]);
        let c = g.index_of("c").unwrap();
        let dest = g.destination(&[c], &target("-2")).unwrap();
        assert_eq!(ids(&g, &dest), ["a"]);
        assert_eq!(ids(&g, &g.downgrade_plan(&[c], &dest)), ["c", "b"]);
        assert_eq!(
            g.destination(&[c], &target("-3")).unwrap(),
            Vec::<usize>::new()
        );
        assert_eq!(g.destination(&[c], &target("-4")), None);
        assert_eq!(ids(&g, &g.destination(&[], &target("+2")).unwrap()), ["b"]);
    }

    #[test]
    fn pending_includes_the_other_side_of_a_later_merge() {
        // a -> b -> d(merge of b, c); a -> c. DB at b: pending is c and d, not only d.
        let g = Graph::new(vec![
            rev("d", &["b", "c"]),
            rev("c", &["a"]),
            rev("b", &["a"]),
            rev("a", &[]),
        ])
        .unwrap();
        let b = g.index_of("b").unwrap();
        assert_eq!(ids(&g, &g.pending(&[b])), ["c", "d"]);
    }

    #[test]
    fn depends_on_counts_for_ancestry_not_heads() {
        let mut x = rev("x", &[]);
        x.branch_labels = vec!["other".into()];
        let mut y = rev("y", &["a"]);
        y.depends_on = vec!["other".into()];
        let g = Graph::new(vec![y, x, rev("a", &[])]).unwrap();
        assert_eq!(ids(&g, &g.heads()), ["y", "x"]);
        let order = ids(&g, &g.pending(&[]));
        assert!(order.iter().position(|r| r == "x") < order.iter().position(|r| r == "y"));
    }

    #[test]
    fn prefixes_labels_and_errors() {
        let g = Graph::new(vec![rev("abc1", &["abd2"]), rev("abd2", &[])]).unwrap();
        assert_eq!(g.lookup("abc"), Lookup::Found(0));
        assert_eq!(
            g.lookup("ab"),
            Lookup::Ambiguous(vec!["abc1".into(), "abd2".into()])
        );
        assert_eq!(g.lookup("zz"), Lookup::NotFound);
        assert!(matches!(
            Graph::new(vec![rev("a", &["nope"])]),
            Err(GraphError::Missing { .. })
        ));
        assert!(matches!(
            Graph::new(vec![rev("a", &[]), rev("a", &[])]),
            Err(GraphError::Duplicate { .. })
        ));
        assert!(matches!(
            Graph::new(vec![rev("a", &["b"]), rev("b", &["a"])]),
            Err(GraphError::Cycle { .. })
        ));
    }
}

#[cfg(test)]
mod canonical_tests {
    use super::*;

    fn rev(id: &str, parents: &[&str], labels: &[&str]) -> Revision {
        Revision {
            id: id.into(),
            parents: parents.iter().map(|s| s.to_string()).collect(),
            branch_labels: labels.iter().map(|s| s.to_string()).collect(),
            ..Revision::default()
        }
    }

    #[test]
    fn order_does_not_depend_on_input_order() {
        let a = vec![
            rev("c", &["a"], &[]),
            rev("b", &["a"], &[]),
            rev("a", &[], &[]),
        ];
        let mut b = a.clone();
        b.reverse();
        let ga = Graph::new(a).unwrap();
        let gb = Graph::new(b).unwrap();
        assert_eq!(ga.revisions(), gb.revisions());
        assert_eq!(ga.revisions()[2].id, "a");
    }

    #[test]
    fn labels_spread_like_alembic() {
        // base -> x -> y(lbl) -> z : all four carry lbl (the line has no branch point).
        let g = Graph::new(vec![
            rev("z", &["y"], &[]),
            rev("y", &["x"], &["lbl"]),
            rev("x", &["base"], &[]),
            rev("base", &[], &[]),
        ])
        .unwrap();
        assert!(g.revisions().iter().all(|r| r.branch_labels == ["lbl"]));
        // base -> a, base -> b(lbl): base is a branch point, a keeps no label.
        let g = Graph::new(vec![
            rev("a", &["base"], &[]),
            rev("b", &["base"], &["lbl"]),
            rev("base", &[], &[]),
        ])
        .unwrap();
        let labels = |id: &str| g.rev(g.index_of(id).unwrap()).branch_labels.clone();
        assert_eq!(labels("b"), ["lbl"]);
        assert!(labels("a").is_empty() && labels("base").is_empty());
        assert_eq!(g.lookup("lbl"), Lookup::Found(g.index_of("b").unwrap()));
    }
}

#[cfg(test)]
mod alembic_order_tests {
    use super::*;

    #[test]
    fn diamond_upgrade_order_matches_alembic() {
        // Alembic 1.13.3 ran: a, c, b, d, e (the later-listed parent of the merge first).
        let rev = |id: &str, parents: &[&str]| Revision {
            id: id.into(),
            parents: parents.iter().map(|s| s.to_string()).collect(),
            path: Some(format!("/v/{id}.py")),
            ..Revision::default()
        };
        let g = Graph::new(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c", &["a"]),
            rev("d", &["b", "c"]),
            rev("e", &["d"]),
        ])
        .unwrap();
        let order: Vec<&str> = g
            .pending(&[])
            .into_iter()
            .map(|i| g.rev(i).id.as_str())
            .collect();
        assert_eq!(order, ["a", "c", "b", "d", "e"]);
        let e = g.index_of("e").unwrap();
        let a = g.index_of("a").unwrap();
        let down: Vec<&str> = g
            .downgrade_plan(&[e], &[a])
            .into_iter()
            .map(|i| g.rev(i).id.as_str())
            .collect();
        assert_eq!(down, ["e", "d", "b", "c"]);
    }
}

#[cfg(test)]
mod alembic_fixtures;
