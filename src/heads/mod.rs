//! Diverged heads, the Backend.AI way: every head's branch back to the fork point, which of its
//! migrations are released, and (in `fix-heads`) the one change the team's policy (the alembic
//! directory's AGENTS.md) prescribes. A branch that diverged from main: repoint the developer's
//! own unreleased migration onto the other head, no merge migration. Main itself has several
//! heads (every head released): one empty merge migration of all of them ([`merge`]). Never edit
//! the `revision`/`down_revision` of a released migration.

pub mod file;
pub mod merge;
pub mod released;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::graph::Graph;
use crate::remediation::select_flag;
use crate::revisions::edit;
use crate::workspace::Config;

/// The shape of a diverged history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The newest revision every head descends from (through `down_revision`); `None` when the
    /// heads share no ancestor (two bases).
    pub fork: Option<usize>,
    /// One per head, in the graph's head order.
    pub branches: Vec<Branch>,
    /// Several newest common ancestors (a criss-cross of merges): no single fork point.
    pub several_fork_points: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub head: usize,
    /// The branch's own revisions, from just above the fork point up to the head.
    pub revisions: Vec<usize>,
}

impl Branch {
    /// Merges or `depends_on` inside the branch make "the other head" ambiguous for a repoint.
    pub fn is_plain_chain(&self, graph: &Graph) -> bool {
        self.revisions.iter().all(|&r| {
            let rev = graph.rev(r);
            rev.parents.len() <= 1 && rev.depends_on.is_empty()
        })
    }

    /// The branch's first revision: the one whose `down_revision` names the fork point.
    pub fn first(&self) -> Option<usize> {
        self.revisions.first().copied()
    }
}

/// What `fix-heads` would do: repoint `revision` (the first migration of the only unreleased
/// branch) from `from` (the fork point) onto `onto` (the other head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repoint {
    /// Index into `Divergence::branches` of the branch that moves.
    pub branch: usize,
    pub revision: usize,
    pub from: usize,
    pub onto: usize,
}

/// Every head is released (main itself has several heads): one empty merge migration whose
/// `down_revision` is the tuple of `heads`, in Alembic's head order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    pub heads: Vec<usize>,
}

/// What `fix-heads` does about a divergence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    Repoint(Repoint),
    Merge(Merge),
}

/// Why `fix-heads` leaves a divergence to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Three or more heads: which one goes onto which is a decision, not a repoint.
    ManyHeads(usize),
    /// Merges, `depends_on` or several fork points: "the other head" is ambiguous.
    Ambiguous(String),
    /// The heads share no ancestor: there is no `down_revision` to repoint.
    NoForkPoint,
    /// Released-ness of these revisions cannot be told (no git ref, no `# Part of:`).
    Unknown(Vec<usize>),
    /// More than one branch holds unreleased migrations (the heads of those branches).
    SeveralUnreleased(Vec<usize>),
    /// The unreleased branch sits on a released migration of its own branch (listed).
    ReleasedBelow(Vec<usize>),
    /// The file to edit cannot be edited safely (its `down_revision` is not a plain literal…).
    File(String),
    /// `--mine-first` would move these migrations of the other branch, which are in a release
    /// (their `# Part of:` names a version, or is missing).
    InRelease(Vec<usize>),
    /// `--mine-first` asked where there is no branch of the developer's to put first.
    NothingToPutFirst,
}

impl Refusal {
    pub fn describe(&self, graph: &Graph) -> String {
        let ids = |revs: &[usize]| -> String {
            revs.iter()
                .map(|&r| graph.rev(r).id.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Refusal::ManyHeads(n) => format!(
                "{n} heads: fix-heads repoints one branch onto one other head; with more, decide the order and repoint by hand"
            ),
            Refusal::Ambiguous(why) => format!("{why}, so \"the other head\" is ambiguous"),
            Refusal::NoForkPoint => {
                "the heads share no ancestor (two base revisions): there is no down_revision to repoint".to_owned()
            }
            Refusal::Unknown(revs) => format!(
                "cannot tell whether {} are released: no git upstream ref, and no `# Part of:` comment in their files",
                ids(revs)
            ),
            Refusal::SeveralUnreleased(heads) => format!(
                "the branches of {} all hold unreleased migrations: only their authors know which goes first",
                ids(heads)
            ),
            Refusal::ReleasedBelow(revs) => format!(
                "the unreleased branch starts on released migrations ({}), which must not be edited",
                ids(revs)
            ),
            Refusal::File(why) => why.clone(),
            Refusal::InRelease(revs) => format!(
                "--mine-first would edit the down_revision of {}, which {} in a release (its `# Part of:` does not say {})",
                ids(revs),
                if revs.len() == 1 { "is" } else { "are" },
                released::PLACEHOLDER
            ),
            Refusal::NothingToPutFirst => {
                "--mine-first puts your diverged branch before the other one, and every head here is released".to_owned()
            }
        }
    }

    /// What to do instead: the one next step `status` prints and `fix-heads` gives as its fix.
    pub fn next(&self, config: &Config) -> String {
        let select = select_flag(config);
        match self {
            Refusal::SeveralUnreleased(_) | Refusal::ManyHeads(_) | Refusal::Ambiguous(_) => format!(
                "agree with the other authors which migration goes first, then set the down_revision of the later branch's first unreleased migration to the other head by hand (a branch that diverged is repointed, no merge migration), then db-migrate upgrade {select}"
            ),
            Refusal::Unknown(_) => format!(
                "name the branch releases are cut from (db-migrate fix-heads {select} --upstream origin/main), or mark your migration with `# Part of: {}`, so fix-heads can tell your diverged migration (repointed) from main's own heads (an empty merge)",
                released::PLACEHOLDER
            ),
            Refusal::ReleasedBelow(_) => format!(
                "main itself has several heads: its released heads get the empty merge migration first (db-migrate fix-heads {select} on main writes it), then set your unreleased migration's down_revision to that merge by hand, then db-migrate upgrade {select}"
            ),
            Refusal::NoForkPoint | Refusal::File(_) => format!(
                "repoint by hand: set the down_revision of your first unreleased migration to the other head, then db-migrate upgrade {select}"
            ),
            Refusal::InRelease(_) => format!(
                "a released migration keeps its place: change your migration so that it works after them, then db-migrate fix-heads {select}"
            ),
            Refusal::NothingToPutFirst => format!("drop --mine-first: db-migrate fix-heads {select}"),
        }
    }
}

/// Decide the fix from the branches and their released-ness alone (files and git status are the
/// command's to check). Released-ness first: when every head's branch is released, main itself
/// has several heads, whatever their number or shape, and they get one empty merge.
pub fn plan(graph: &Graph, d: &Divergence, releases: &released::Releases) -> Result<Fix, Refusal> {
    use released::Released;
    let all_released = d.branches.iter().all(|b| {
        b.revisions
            .iter()
            .all(|&r| releases.get(r) == Released::Yes)
    });
    if all_released {
        return Ok(Fix::Merge(Merge {
            heads: d.branches.iter().map(|b| b.head).collect(),
        }));
    }
    if d.branches.len() > 2 {
        return Err(Refusal::ManyHeads(d.branches.len()));
    }
    if d.several_fork_points {
        return Err(Refusal::Ambiguous(
            "the heads have several newest common ancestors (merges across the branches)".into(),
        ));
    }
    if let Some(b) = d.branches.iter().find(|b| !b.is_plain_chain(graph)) {
        return Err(Refusal::Ambiguous(format!(
            "the branch of {} holds a merge or a depends_on",
            graph.rev(b.head).id
        )));
    }
    let Some(fork) = d.fork else {
        return Err(Refusal::NoForkPoint);
    };
    let unknown: Vec<usize> = d
        .branches
        .iter()
        .flat_map(|b| b.revisions.iter().copied())
        .filter(|&r| releases.get(r) == Released::Unknown)
        .collect();
    if !unknown.is_empty() {
        return Err(Refusal::Unknown(unknown));
    }
    let unreleased: Vec<usize> = (0..d.branches.len())
        .filter(|&b| {
            d.branches[b]
                .revisions
                .iter()
                .any(|&r| releases.get(r) == Released::No)
        })
        .collect();
    let moved = match unreleased.as_slice() {
        [one] => *one,
        many => {
            return Err(Refusal::SeveralUnreleased(
                many.iter().map(|&b| d.branches[b].head).collect(),
            ))
        }
    };
    let branch = &d.branches[moved];
    let released_below: Vec<usize> = branch
        .revisions
        .iter()
        .copied()
        .filter(|&r| releases.get(r) == Released::Yes)
        .collect();
    if !released_below.is_empty() {
        return Err(Refusal::ReleasedBelow(released_below));
    }
    let other = &d.branches[1 - moved];
    Ok(Fix::Repoint(Repoint {
        branch: moved,
        revision: branch.first().expect("a branch has a revision"),
        from: fork,
        onto: other.head,
    }))
}

/// `--mine-first`: instead of `r` (the developer's branch onto the other head), the other
/// branch's first migration onto the head of the developer's branch, so theirs runs first. The
/// other branch's migrations must all be outside a release by their own `# Part of:` comment
/// (being on main is not enough to keep them in place; being in a release is).
pub fn mine_first(graph: &Graph, d: &Divergence, r: &Repoint) -> Result<Repoint, Refusal> {
    let other = 1 - r.branch;
    let theirs = &d.branches[other];
    let in_release: Vec<usize> = theirs
        .revisions
        .iter()
        .copied()
        .filter(|&rev| {
            graph
                .rev(rev)
                .path
                .as_deref()
                .and_then(|p| std::fs::read(p).ok())
                .map_or(released::Released::Unknown, |src| released::part_of(&src))
                != released::Released::No
        })
        .collect();
    if !in_release.is_empty() {
        return Err(Refusal::InRelease(in_release));
    }
    let swapped = Repoint {
        branch: other,
        revision: theirs.first().expect("a branch has a revision"),
        from: r.from,
        onto: d.branches[r.branch].head,
    };
    edited(graph, &swapped).map_err(Refusal::File)?;
    Ok(swapped)
}

/// A diverged component, explained: its branches, their released-ness, and what `fix-heads`
/// would do (or why it would not).
#[derive(Debug, Clone)]
pub struct Explanation {
    pub divergence: Divergence,
    pub releases: released::Releases,
    pub plan: Result<Fix, Refusal>,
}

/// Explain a graph with several heads (`None` with one head). Asks git once per versions
/// directory, so it is for diverged components only.
pub fn explain(root: &Path, graph: &Graph, upstream: Option<&str>) -> Option<Explanation> {
    let divergence = divergence(graph)?;
    let revs: Vec<usize> = divergence
        .branches
        .iter()
        .flat_map(|b| b.revisions.iter().copied())
        .collect();
    let releases = released::classify(root, graph, &revs, upstream);
    let plan = plan(graph, &divergence, &releases).and_then(|fix| match fix {
        Fix::Repoint(r) => edited(graph, &r)
            .map(|_| Fix::Repoint(r))
            .map_err(Refusal::File),
        merge @ Fix::Merge(_) => Ok(merge),
    });
    Some(Explanation {
        divergence,
        releases,
        plan,
    })
}

/// The repointed file: (path, bytes before, bytes after), or why it cannot be edited.
pub fn edited(graph: &Graph, r: &Repoint) -> Result<(PathBuf, Vec<u8>, Vec<u8>), String> {
    let rev = graph.rev(r.revision);
    let path = PathBuf::from(rev.path.as_deref().ok_or("the revision has no file")?);
    let before =
        std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (from, onto) = (&graph.rev(r.from).id, &graph.rev(r.onto).id);
    let after = edit::repoint(&before, from, onto).map_err(|e| {
        format!(
            "{}: {e}; repoint it by hand (down_revision = \"{onto}\")",
            path.display()
        )
    })?;
    Ok((path, before, after))
}

/// The heads in the order `alembic heads` prints them (and `alembic merge heads` writes them into
/// `down_revision`): the order the revision files are loaded in.
pub fn alembic_heads(graph: &Graph) -> Vec<usize> {
    let heads = graph.heads();
    graph.alembic_order(heads.iter().copied().collect(), &heads)
}

/// The branches of a graph with two or more heads (`None` for one head or none), in Alembic's
/// head order.
pub fn divergence(graph: &Graph) -> Option<Divergence> {
    let heads = alembic_heads(graph);
    if heads.len() < 2 {
        return None;
    }
    let lineages: Vec<HashSet<usize>> = heads.iter().map(|&h| graph.lineage(&[h])).collect();
    let mut common = lineages[0].clone();
    for other in &lineages[1..] {
        common.retain(|r| other.contains(r));
    }
    let tips = graph.heads_of(&common);
    let branches = heads
        .iter()
        .zip(&lineages)
        .map(|(&head, lineage)| {
            let own: HashSet<usize> = lineage.difference(&common).copied().collect();
            Branch {
                head,
                revisions: graph.apply_order(&own),
            }
        })
        .collect();
    Some(Divergence {
        fork: (tips.len() == 1).then(|| tips[0]),
        branches,
        several_fork_points: tips.len() > 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Graph {
        Graph::from_edges(edges)
    }

    fn ids(g: &Graph, revs: &[usize]) -> Vec<String> {
        revs.iter().map(|&r| g.rev(r).id.clone()).collect()
    }

    #[test]
    fn each_head_gets_its_branch_back_to_the_fork_point() {
        // a - b - (c1 - c2) | (d1)
        let g = graph(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c1", &["b"]),
            ("c2", &["c1"]),
            ("d1", &["b"]),
        ]);
        let d = divergence(&g).unwrap();
        assert_eq!(d.fork.map(|f| g.rev(f).id.clone()), Some("b".into()));
        let mut branches: Vec<Vec<String>> =
            d.branches.iter().map(|b| ids(&g, &b.revisions)).collect();
        branches.sort();
        assert_eq!(branches, vec![vec!["c1", "c2"], vec!["d1"]]);
        assert!(d.branches.iter().all(|b| b.is_plain_chain(&g)));
        assert!(!d.several_fork_points);
    }

    #[test]
    fn one_head_is_no_divergence_and_two_bases_have_no_fork_point() {
        assert_eq!(divergence(&graph(&[("a", &[]), ("b", &["a"])])), None);
        let two_bases = graph(&[("a", &[]), ("x", &[])]);
        let d = divergence(&two_bases).unwrap();
        assert_eq!(d.fork, None);
        assert!(!d.several_fork_points);
    }

    fn releases(g: &Graph, released: &[&str], unreleased: &[&str]) -> released::Releases {
        let mut of = std::collections::HashMap::new();
        for (ids, r) in [
            (released, released::Released::Yes),
            (unreleased, released::Released::No),
        ] {
            for id in ids {
                of.insert(g.index_of(id).unwrap(), r);
            }
        }
        released::Releases {
            evidence: released::Evidence::PartOf { why: "test".into() },
            of,
        }
    }

    #[test]
    fn every_head_released_is_one_merge_of_all_heads_whatever_their_shape() {
        // a - (b1, b2 -> m) | c | d: three heads, one of them a merge, all released.
        let g = graph(&[
            ("a", &[]),
            ("b1", &["a"]),
            ("b2", &["a"]),
            ("m", &["b1", "b2"]),
            ("c", &["a"]),
            ("d", &["a"]),
        ]);
        let d = divergence(&g).unwrap();
        let all = releases(&g, &["b1", "b2", "m", "c", "d"], &[]);
        let Ok(Fix::Merge(merge)) = plan(&g, &d, &all) else {
            panic!("a merge: {:?}", plan(&g, &d, &all));
        };
        assert_eq!(ids(&g, &merge.heads), ids(&g, &alembic_heads(&g)));
        assert_eq!(merge.heads.len(), 3);

        // One unreleased migration among them: not main's own heads, so no merge.
        let one_new = releases(&g, &["b1", "b2", "m", "c"], &["d"]);
        assert_eq!(plan(&g, &d, &one_new), Err(Refusal::ManyHeads(3)));
    }

    #[test]
    fn a_diverged_unreleased_branch_is_repointed_onto_the_other_head() {
        let g = graph(&[("a", &[]), ("m", &["a"]), ("f", &["a"])]);
        let d = divergence(&g).unwrap();
        let Ok(Fix::Repoint(r)) = plan(&g, &d, &releases(&g, &["m"], &["f"])) else {
            panic!("a repoint");
        };
        assert_eq!(ids(&g, &[r.revision, r.from, r.onto]), vec!["f", "a", "m"]);
    }

    #[test]
    fn a_merge_inside_a_branch_is_not_a_plain_chain() {
        // a - (b1, b2 -> m) | c
        let g = graph(&[
            ("a", &[]),
            ("b1", &["a"]),
            ("b2", &["a"]),
            ("m", &["b1", "b2"]),
            ("c", &["a"]),
        ]);
        let d = divergence(&g).unwrap();
        let merged = d.branches.iter().find(|b| g.rev(b.head).id == "m").unwrap();
        assert!(!merged.is_plain_chain(&g));
    }
}
