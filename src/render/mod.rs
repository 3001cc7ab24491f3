//! Everything db-migrate prints goes through here: text for people, JSON for CI. Every string is
//! masked on the way out.

pub mod events;
pub mod github;
pub mod json;
pub mod progress;
#[cfg(test)]
pub(crate) mod snapshot_tests;
pub mod stdout;
pub mod text;

use crate::failure::remediation::select_flag;
use crate::failure::Failure;
use crate::graph::Graph;
use crate::heads::{Fix, Merge, Repoint};
use crate::inspect::Inspection;
use crate::state::State;
use crate::workspace::Config;

/// How a run speaks: text for people, one JSON document for CI, or GitHub Actions annotations
/// (`check` and `verify`) with the text beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Github,
}

/// A failure of the whole run, in `format`; returns its exit code. Text goes to stderr, JSON to
/// stdout (one document), GitHub to both (the text on stderr, one `::error` on stdout).
pub fn failure(format: Format, failure: &Failure) -> u8 {
    worded_failure(format, failure, &text::failure(failure))
}

/// [`failure`], with the text for people already worded: clap's usage errors keep clap's
/// wording (usage line, tips) on stderr. The one place that decides where a failure goes.
pub fn worded_failure(format: Format, failure: &Failure, text: &str) -> u8 {
    match format {
        Format::Json => outln!("{}", json::failure(failure)),
        Format::Text => eprint!("{text}"),
        Format::Github => {
            eprint!("{text}");
            outln!("{}", github::failure(failure));
        }
    }
    failure.kind.code()
}

/// A bug that unwound to `main`: the panic hook has printed the message on stderr; a JSON reader
/// still gets one document (unless one was already written), and the exit code stays one of the
/// documented ones.
pub fn panicked(format: Format, failure: &Failure) -> u8 {
    if format == Format::Json && !crate::render::stdout::written() {
        self::failure(Format::Json, failure);
    }
    crate::exit_code::FAILED
}

/// clap's own answer: `--help` and `--version` on stdout (exit 0), a usage error for people on
/// stderr (exit 2), in clap's words and colours.
pub fn clap(e: &clap::Error) -> u8 {
    if let Err(io) = e.print() {
        if !e.use_stderr() {
            crate::render::stdout::record(&io);
        }
    }
    if e.use_stderr() {
        crate::exit_code::USAGE
    } else {
        crate::exit_code::OK
    }
}

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
