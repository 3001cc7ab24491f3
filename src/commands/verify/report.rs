//! What `verify` found, per component: the scratch database, each revision's steps with their
//! timings and verdicts, the drift between models and migrations, and the slowest steps; as
//! text (printed as the proof goes), one JSON document, or GitHub annotations.

use crate::mask;

// The report's types are the JSON contract: they live with the others in `crate::report`.
pub use crate::report::verify::{
    ComponentReport, DriftReport, Report, RevisionReport, ScratchReport, Slow, Timed,
};

pub fn seconds(s: f64) -> String {
    format!("{s:.2}s")
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
