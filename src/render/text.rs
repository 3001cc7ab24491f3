//! Human-readable output.

use std::fmt::Write;

use crate::failure::Failure;
use crate::graph::Graph;
use crate::heads::released::Released;
use crate::heads::Explanation;
use crate::inspect::Inspection;
use crate::mask;
use crate::next_step::next_step;
use crate::remediation::select_flag;
use crate::state::State;
use crate::workspace::Config;

/// Pending revisions listed in a status block; the rest are counted (JSON lists them all).
const PENDING_SHOWN: usize = 10;

/// One status block for a component.
pub fn status(i: &Inspection) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}): {}",
        i.config.label,
        i.config.ini_arg,
        i.state.as_str()
    );
    let current = if i.current.is_empty() {
        "(none: no alembic_version row)".to_owned()
    } else {
        i.current.join(", ")
    };
    let _ = writeln!(out, "  current  {current}");
    let heads = crate::heads::alembic_heads(&i.graph);
    let label = if heads.len() > 1 { "heads" } else { "head " };
    if i.state == State::Diverged {
        let _ = writeln!(out, "  {label}");
        for &h in &heads {
            let r = i.graph.rev(h);
            let _ = writeln!(
                out,
                "           {}  {}  ({})",
                r.id,
                r.message,
                r.path.as_deref().unwrap_or("?")
            );
        }
    } else {
        let _ = writeln!(out, "  {label}    {}", i.head_ids().join(", "));
    }
    if let Some(e) = &i.explanation {
        write_divergence(&mut out, &i.config, &i.graph, e);
    }
    if let Some(search) = i.syncable() {
        for (n, f) in search.found.iter().enumerate() {
            let label = if n == 0 { "in git" } else { "" };
            let _ = writeln!(
                out,
                "  {label:<8} {}  {}  ({})",
                f.revision.id,
                f.revision.message,
                f.source.describe()
            );
        }
    }
    if i.state != State::UnknownRevision {
        let _ = writeln!(out, "  pending  {}", i.pending.len());
        let shown = i.pending.len().min(PENDING_SHOWN);
        write_revisions(&mut out, &i.graph, &i.pending[..shown], "           ");
        if shown < i.pending.len() {
            let _ = writeln!(
                out,
                "           … {} more (--format json, or db-migrate history {}, lists them all)",
                i.pending.len() - shown,
                select_flag(&i.config)
            );
        }
    }
    let _ = writeln!(out, "  next     {}", next_step(i));
    mask::mask(&out).into_owned()
}

/// Each head's branch back to the fork point, with released-ness, and how it was told.
pub fn write_divergence(out: &mut String, config: &Config, graph: &Graph, e: &Explanation) {
    let d = &e.divergence;
    match d.fork {
        Some(f) => {
            let r = graph.rev(f);
            let _ = writeln!(out, "  fork     {}  {}", r.id, r.message);
        }
        None => {
            let _ = writeln!(out, "  fork     (none: the heads share no ancestor)");
        }
    }
    for branch in &d.branches {
        for (n, &r) in branch.revisions.iter().enumerate() {
            let rev = graph.rev(r);
            let label = if n == 0 { "branch" } else { "" };
            let _ = writeln!(
                out,
                "  {label:<8} {}  {}  {}  {}",
                rev.id,
                rev.message,
                config.shown_path(rev.path.as_deref()),
                released_word(e.releases.get(r))
            );
        }
    }
    let _ = writeln!(out, "  released when {}", e.releases.evidence.describe());
    if let Err(refusal) = &e.plan {
        let _ = writeln!(out, "  fix-heads cannot act: {}", refusal.describe(graph));
    }
}

fn released_word(r: Released) -> &'static str {
    match r {
        Released::Yes => "released",
        Released::No => "unreleased",
        Released::Unknown => "released?",
    }
}

pub fn write_revisions(out: &mut String, graph: &Graph, revs: &[usize], indent: &str) {
    for &p in revs {
        let r = graph.rev(p);
        let _ = writeln!(out, "{indent}{}  {}", r.id, r.message);
    }
}

/// The one place a failure becomes text (on stderr).
pub fn failure(f: &Failure) -> String {
    let mut out = format!("error: {}\n", f.message);
    if let Some(line) = &f.alembic_line {
        let _ = writeln!(out, "  alembic: {line}");
    }
    let _ = writeln!(out, "cause: {}", f.cause);
    let _ = writeln!(out, "fix: {}", f.fix);
    if let Some(db) = &f.database {
        let _ = writeln!(out, "database: {db}");
    }
    mask::mask(&out).into_owned()
}

/// A 40-hex merge-base shows as its first 12 characters.
pub fn short_ref(reference: &str) -> &str {
    if reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        &reference[..12]
    } else {
        reference
    }
}
