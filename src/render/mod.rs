//! Everything db-migrate prints goes through here: text for people, JSON for CI. Every string is
//! masked on the way out.

pub mod github;
pub mod json;
pub mod progress;
pub mod text;

use crate::graph::Graph;
use crate::heads::Repoint;
use crate::inspect::Inspection;
use crate::remediation::select_flag;
use crate::state::State;
use crate::workspace::Config;

/// The exact next command (or action) for a component in its state.
pub fn next_step(i: &Inspection) -> String {
    let select = select_flag(&i.config);
    match i.state {
        State::UpToDate => "nothing to do".to_owned(),
        State::Behind => format!("db-migrate upgrade {select}"),
        State::NoRevision
            if i.config.component == Some(crate::component::Component::Manager)
                && i.config.root.join("backend.ai").is_file() =>
        {
            // Backend.AI installs the manager's schema from the models; its migrations do not
            // start from an empty database.
            format!(
                "./backend.ai mgr schema oneshot   (creates the schema from the models and stamps head; the manager's migrations are not meant to run from an empty database), or db-migrate upgrade {select}"
            )
        }
        State::NoRevision => {
            let oneshot = if i.config.component == Some(crate::component::Component::Manager) {
                " (or `./backend.ai mgr schema oneshot`, which creates the schema from the models and stamps head)"
            } else {
                ""
            };
            format!("db-migrate upgrade {select}{oneshot}")
        }
        State::Diverged if i.explanation.as_ref().is_some_and(|e| e.plan.is_ok()) => {
            let e = i.explanation.as_ref().expect("checked");
            fix_heads_hint(&i.config, &i.graph, e.plan.as_ref().expect("checked"))
        }
        State::Diverged => format!(
            "set the down_revision of YOUR unreleased migration to the other head (never add a merge migration, never edit a released one), then db-migrate upgrade {select}"
        ),
        State::UnknownRevision => format!(
            "git pull (or check out the branch that has {}), then db-migrate status {select}",
            i.current.iter().filter(|c| !i.graph.contains(c)).cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The `fix-heads` command for a repoint it can make, with what it will change.
pub fn fix_heads_hint(config: &Config, g: &Graph, r: &Repoint) -> String {
    format!(
        "db-migrate fix-heads {}   (repoints the down_revision of your unreleased {} from {} onto {}; never a merge migration)",
        select_flag(config),
        g.rev(r.revision).id,
        g.rev(r.from).id,
        g.rev(r.onto).id
    )
}
