//! What `verify` prints, from what the command hands over: the proof as it goes
//! ([`crate::event::Verify`] events, shown on stdout in text and GitHub, not in JSON, whose
//! stdout is one document) and, at the end, one function per format over the report (ruff's
//! emitters): the JSON document, GitHub annotations, nothing more in text (it was said as the
//! proof went). Texts with something from outside (Alembic's errors, diffs) are masked.

use crate::event::Verify;
use crate::mask;
use crate::render::{json, Format};
use crate::report::verify::{ComponentReport, DriftReport, Report, RevisionReport, Timed};

/// The end of the run, in `format`, on stdout.
pub fn report(format: Format, report: &Report) {
    match format {
        Format::Json => outln!("{}", json::to_string(report)),
        Format::Github => out!("{}", github(&report.components)),
        Format::Text => {}
    }
}

/// A step of the proof as people read it (with its line ending), or `None` when it says
/// nothing (no revision left unproved, no step timed).
pub fn progress(event: &Verify<'_>) -> Option<String> {
    let text = match *event {
        Verify::Started { component, config } => format!("{component} ({config}): verify\n"),
        Verify::Planned { revisions, base } => {
            let base = base.map_or_else(
                || "no base".to_owned(),
                |b| format!("base {}", crate::render::text::short_ref(b)),
            );
            format!(
                "  {revisions} revision{} to prove ({base})\n",
                if revisions == 1 { "" } else { "s" }
            )
        }
        // The steps pay the start only when each runs in a process of its own.
        Verify::AlembicStartup {
            seconds: startup,
            shared: true,
        } => format!(
            "  alembic   started in {} (once: env.py checked to follow the ini's URL; the steps below run in that process)\n",
            seconds(startup)
        ),
        Verify::AlembicStartup {
            seconds: startup,
            shared: false,
        } => format!(
            "  alembic   starts in {} (env.py checked to follow the ini's URL; each step below runs in a new process, and its time includes this)\n",
            seconds(startup)
        ),
        Verify::ScratchMade { scratch, why_dump } => {
            let from = scratch.from.as_deref().unwrap_or("");
            let made = match scratch.made {
                "template" => format!("a copy of {from} (CREATE DATABASE … TEMPLATE)"),
                "dump-restore" => format!(
                    "a copy of {from} (pg_dump | pg_restore: {})",
                    why_dump.unwrap_or("it could not be a template")
                ),
                _ => "empty (--from-empty)".to_owned(),
            };
            format!(
                "  scratch   {}, {made}, in {}\n",
                scratch.database,
                seconds(scratch.seconds)
            )
        }
        Verify::Prepared(t) => format!("  prepare   {}\n", timed(t)),
        Verify::WentToHead(t) => format!("  then      {}\n", timed(t)),
        Verify::Revision(r) => revision_text(r),
        Verify::NotProved(ids) => {
            if ids.is_empty() {
                return None;
            }
            format!(
                "  not proved (nothing to continue from): {}\n",
                ids.join(", ")
            )
        }
        Verify::Drift(d) => drift_text(d),
        Verify::DriftOnFreshCopy {
            name,
            stopped_at,
            dropped,
        } => format!(
            "  drift     measured on a fresh copy ({name}) upgraded straight to head, since the proof stopped at {stopped_at}{}\n",
            if dropped { "; dropped" } else { "" }
        ),
        Verify::Slowest(slowest) => {
            if slowest.is_empty() {
                return None;
            }
            let shown: Vec<String> = slowest
                .iter()
                .map(|s| format!("{} {} {}", s.revision, s.step, seconds(s.seconds)))
                .collect();
            format!("  slowest   {}\n", shown.join(", "))
        }
        Verify::ScratchKept { name, connect } => {
            format!("  scratch   {name} kept (--keep): {connect}\n")
        }
        Verify::ScratchDropped { name } => format!("  scratch   {name} dropped\n"),
        Verify::Finished(c) => format!("{}\n", summary(c)),
    };
    Some(text)
}

pub fn seconds(s: f64) -> String {
    format!("{s:.2}s")
}

fn timed(t: &Timed) -> String {
    format!("{} {} ({})", t.step, t.target, seconds(t.seconds))
}

/// A component's last line: verified, its problems, or not verified.
pub fn summary(r: &ComponentReport) -> String {
    if r.error.is_some() {
        return format!("{}: not verified (see the error above)", r.component);
    }
    if r.problems == 0 {
        return format!(
            "{}: verified ({} revision{}, drift {})",
            r.component,
            r.revisions.len(),
            if r.revisions.len() == 1 { "" } else { "s" },
            r.drift.state
        );
    }
    let mut what: Vec<String> = r
        .revisions
        .iter()
        .filter(|v| v.failed())
        .map(|v| v.revision.clone())
        .collect();
    if r.drift.failed() {
        what.push("drift".to_owned());
    }
    format!(
        "{}: {} problem{}: {}",
        r.component,
        r.problems,
        if r.problems == 1 { "" } else { "s" },
        what.join(", ")
    )
}

/// One revision's lines.
pub fn revision_text(r: &RevisionReport) -> String {
    let mut out = format!("  {}  {}", r.revision, r.message);
    if let Some(because) = r.idempotent_because {
        out.push_str(&format!("  ({because}: run twice)"));
    }
    out.push('\n');
    let steps: Vec<String> = r
        .steps
        .iter()
        .map(|t| {
            format!(
                "{} {} {}{}",
                t.step,
                t.target,
                seconds(t.seconds),
                if t.ok { "" } else { " FAILED" }
            )
        })
        .collect();
    if !steps.is_empty() {
        out.push_str(&format!("      {}\n", steps.join(", ")));
    }
    let verdict = match r.roundtrip {
        "ok" => "ok: downgrade and upgrade again leave the schema unchanged".to_owned(),
        "differs" => {
            "DIFFERS: downgrade (then upgrade again) does not give back the same schema:".to_owned()
        }
        "failed" => match r.failed_step() {
            Some(t) => format!("FAILED at {} {} (the error is below)", t.step, t.target),
            None => "FAILED".to_owned(),
        },
        "skipped" => format!("skipped ({})", r.why.as_deref().unwrap_or("")),
        _ => "not run".to_owned(),
    };
    out.push_str(&format!("      roundtrip   {verdict}\n"));
    if let Some(diff) = &r.roundtrip_diff {
        out.push_str(&indent(diff, 8));
    }
    if let Some(idempotent) = r.idempotent {
        let verdict = match idempotent {
            "ok" => "ok: stamped back to its parent and upgraded again, the schema is unchanged",
            "differs" => "DIFFERS: running it a second time changed the schema (- after the first run, + after the second)",
            "failed" => "FAILED: running it a second time failed; a backport must be able to run twice",
            _ => "not run",
        };
        out.push_str(&format!("      idempotent  {verdict}\n"));
        if let Some(diff) = &r.idempotent_diff {
            out.push_str(&indent(diff, 8));
        }
    }
    if let Some(e) = &r.error {
        out.push_str(&indent(&crate::render::text::failure(e), 6));
    }
    if let Some(fix) = &r.fix {
        out.push_str(&format!("      fix: {fix}\n"));
    }
    mask::mask(&out).into_owned()
}

pub fn drift_text(d: &DriftReport) -> String {
    let mut out = String::new();
    let took = d
        .seconds
        .map_or_else(String::new, |s| format!(" ({})", seconds(s)));
    match d.state {
        "clean" => out.push_str(&format!(
            "  drift     none: the models match the migrated schema{took}\n"
        )),
        "differs" => {
            out.push_str(&format!(
                "  drift     {} difference{} between the models and the migrated schema{took}; + only in the models, - only in the database, ~ in both, differently:\n",
                d.differences.len(),
                if d.differences.len() == 1 { "" } else { "s" }
            ));
            for diff in &d.differences {
                out.push_str(&format!("      {}\n", diff.line()));
            }
        }
        "no-metadata" => out.push_str(&format!(
            "  drift     not checked: {}\n",
            d.why
                .as_deref()
                .unwrap_or("env.py gives no target_metadata")
        )),
        "failed" => out.push_str(&format!(
            "  drift     FAILED: {}\n",
            d.why.as_deref().unwrap_or("")
        )),
        _ => out.push_str(&format!(
            "  drift     not checked: {}\n",
            d.why.as_deref().unwrap_or("")
        )),
    }
    if let Some(fix) = d.fix.as_deref().filter(|_| d.failed()) {
        out.push_str(&format!("      fix: {fix}\n"));
    }
    mask::mask(&out).into_owned()
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// GitHub workflow commands: one error per failed revision (on its file) and per difference.
pub fn github(reports: &[ComponentReport]) -> String {
    use crate::render::github::{data, property as prop};
    let mut out = String::new();
    for c in reports {
        for r in c.revisions.iter().filter(|r| r.failed()) {
            let what = match (r.roundtrip, r.idempotent, r.failed_step()) {
                ("differs", _, _) => {
                    "its downgrade does not undo its upgrade (roundtrip differs)".to_owned()
                }
                (_, Some("differs" | "failed"), _) => {
                    "it cannot run twice (a backport must)".to_owned()
                }
                (_, _, Some(t)) => format!("its {} step failed on the scratch database", t.step),
                _ => "a migration step failed on the scratch database".to_owned(),
            };
            let detail = r
                .error
                .as_ref()
                .map_or_else(String::new, |e| format!(": {}", e.message));
            out.push_str(&format!(
                "::error file={},line=1,title={}::{} {what}{detail}\n",
                prop(&r.file),
                prop("db-migrate verify"),
                data(&r.revision)
            ));
        }
        for d in &c.drift.differences {
            let side = match d.sign {
                '-' => "only in the database: add it to the models",
                '+' => "only in the models: add a migration (revision --autogenerate)",
                _ => "in both, differently: change the side that is wrong",
            };
            out.push_str(&format!(
                "::error title={}::{}: the models differ from the migrations: {} ({side})\n",
                prop("db-migrate verify drift"),
                data(&c.component),
                data(&d.line())
            ));
        }
        if c.drift.state == "failed" {
            out.push_str(&format!(
                "::error title={}::{}: the drift comparison failed: {} ({})\n",
                prop("db-migrate verify drift"),
                data(&c.component),
                data(c.drift.why.as_deref().unwrap_or("")),
                data(c.drift.fix.as_deref().unwrap_or(""))
            ));
        }
        if let Some(e) = &c.error {
            out.push_str(&format!(
                "::error title={}::{}: {} ({})\n",
                prop("db-migrate verify"),
                data(&c.component),
                data(&e.message),
                data(&e.fix)
            ));
        }
    }
    mask::mask(&out).into_owned()
}
