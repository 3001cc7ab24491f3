//! Planning a migration from what the graph and the database say: where a target leads, which
//! revisions the run applies or reverts, and which targets the real run could not follow (refused
//! before anything runs, so a dry run succeeds only for a plan the real run executes).

use crate::failure::{Failure, Kind};
use crate::graph::Unresolved;
use crate::inspect::Inspection;
use crate::remediation::{explain, select_flag, Context};
use crate::state::State;
use crate::target::Target;

/// Which way a migration goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upgrade,
    Downgrade,
}

impl Direction {
    pub fn verb(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

/// The revisions the run will apply or revert, when the graph determines them.
pub fn plan(i: &Inspection, direction: Direction, target: &Target) -> Option<Vec<usize>> {
    if i.state == State::UnknownRevision {
        return None;
    }
    let current = i.current_indices();
    let destination = i.graph.destination(&current, target)?;
    Some(match direction {
        Direction::Upgrade => i.graph.upgrade_plan(&current, &destination),
        Direction::Downgrade => i.graph.downgrade_plan(&current, &destination),
    })
}

/// The database is already where `target` leads.
pub fn at_destination(i: &Inspection, target: &Target) -> bool {
    let current = i.current_indices();
    match i.graph.destination(&current, target) {
        Some(mut dest) => {
            let mut cur = current.clone();
            dest.sort_unstable();
            cur.sort_unstable();
            dest == cur
        }
        None => false,
    }
}

/// Refuse, before anything runs, what the real run cannot do: a relative step across a branch
/// point or a merge (Alembic's "Ambiguous walk") always; under `--dry-run` also every target
/// Alembic would reject, with the words the real run would print, so a dry run succeeds only for
/// a plan the real run executes.
pub fn check_target(
    i: &Inspection,
    direction: Direction,
    target: &Target,
    dry_run: bool,
) -> Result<(), Failure> {
    if i.state == State::UnknownRevision {
        return Ok(());
    }
    let graph = &i.graph;
    let current = i.current_indices();
    let ctx = Context {
        config: &i.config,
        target: Some(target),
        graph: Some(graph),
        offline: false,
    };
    let ids =
        |revs: &[usize]| -> Vec<String> { revs.iter().map(|&r| graph.rev(r).id.clone()).collect() };
    let destination = match graph.resolve(&current, target) {
        Ok(d) => d,
        Err(Unresolved::AmbiguousWalk { from, ways }) => {
            let from = if from.is_empty() {
                "base".to_owned()
            } else {
                ids(&from).join(", ")
            };
            let mut ways = ids(&ways);
            ways.sort();
            let mut failure = Failure::usage(
                Kind::AmbiguousWalk,
                format!(
                    "{target} is ambiguous for {}: the walk reaches {from}, where the history splits ({}); nothing was changed",
                    i.config.label,
                    ways.join(" | ")
                ),
                format!(
                    "name the revision instead of counting steps: db-migrate {} {} {}",
                    direction.verb(),
                    select_flag(&i.config),
                    ways[0]
                ),
            );
            failure.cause = "a relative target (+N/-N) cannot choose between branches; Alembic fails with \"Ambiguous walk\"".to_owned();
            return Err(failure);
        }
        Err(why) if dry_run => {
            return Err(match why {
                Unresolved::NotFound(rev) => explain(Kind::UnknownTarget, &ctx, &[("rev", rev)]),
                Unresolved::AmbiguousPrefix(_) => explain(
                    Kind::UnknownTarget,
                    &ctx,
                    &[(
                        "rev",
                        target.revision_ref().unwrap_or(target.as_str()).to_owned(),
                    )],
                ),
                Unresolved::MultipleHeads(_) => explain(Kind::MultipleHeads, &ctx, &[]),
                Unresolved::Overshoot => explain(Kind::RelativeOvershoot, &ctx, &[]),
                // Alembic resolves these itself; the dry run shows that it does.
                Unresolved::AlembicDecides | Unresolved::AmbiguousWalk { .. } => return Ok(()),
            });
        }
        Err(_) => return Ok(()),
    };
    if dry_run && direction == Direction::Downgrade {
        let applied = graph.ancestors(&current);
        if let Some(&d) = destination.iter().find(|d| !applied.contains(d)) {
            return Err(explain(
                Kind::WrongDirection,
                &ctx,
                &[
                    ("rev", graph.rev(d).id.clone()),
                    ("direction", "downgrade".to_owned()),
                ],
            ));
        }
    }
    Ok(())
}
