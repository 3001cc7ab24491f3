//! The next step for a component: the exact command (or action) for its state, as `status`
//! prints it under `next` and every JSON report carries it as `next`; and the `fix-heads` command
//! for a divergence, said the way the team's policy says it.

use crate::graph::Graph;
use crate::heads::{Fix, Merge, Repoint};
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
        State::Diverged => match i.explanation.as_ref().map(|e| &e.plan) {
            Some(Ok(fix)) => fix_heads_hint(&i.config, &i.graph, fix),
            Some(Err(refusal)) => refusal.next(&i.config),
            // Not explained (a command that does not look at git): fix-heads will.
            None => format!(
                "db-migrate fix-heads {select}   (repoints your own unreleased migration onto the other head when your branch diverged from main, or writes the empty merge migration when every head is released)"
            ),
        },
        State::UnknownRevision if i.syncable().is_some() => {
            let search = i.syncable().expect("checked");
            format!(
                "db-migrate sync {select}   (walks back {} with {} from {}, then upgrades to this checkout's head)",
                search
                    .found
                    .iter()
                    .map(|f| f.revision.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if search.found.len() == 1 {
                    "its own file"
                } else {
                    "their own files"
                },
                crate::sync::sources(&search.found)
            )
        }
        State::UnknownRevision => format!(
            "git pull (or check out the branch that has {}), then db-migrate status {select}",
            i.current.iter().filter(|c| !i.graph.contains(c)).cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The `fix-heads` command for what it will do, said the way the team's policy says it.
pub fn fix_heads_hint(config: &Config, g: &Graph, fix: &Fix) -> String {
    match fix {
        Fix::Repoint(r) => repoint_hint(config, g, r),
        Fix::Merge(m) => merge_hint(config, g, m),
    }
}

fn repoint_hint(config: &Config, g: &Graph, r: &Repoint) -> String {
    format!(
        "db-migrate fix-heads {}   (your branch diverged from main: repoints the down_revision of your unreleased {} from {} onto {}, no merge migration)",
        select_flag(config),
        g.rev(r.revision).id,
        g.rev(r.from).id,
        g.rev(r.onto).id
    )
}

fn merge_hint(config: &Config, g: &Graph, m: &Merge) -> String {
    let heads: Vec<&str> = m.heads.iter().map(|&h| g.rev(h).id.as_str()).collect();
    format!(
        "db-migrate fix-heads {}   (main itself has several heads, all released: writes the empty merge migration of {}, then chain new migrations on top of it)",
        select_flag(config),
        heads.join(", ")
    )
}
