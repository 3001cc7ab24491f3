//! What `check` prints: one function per format over the report the command built (ruff's
//! emitters), and `check --explain`'s rule page. Every string is masked on the way out.

use std::collections::HashSet;
use std::path::Path;

use crate::check::Rule;
use crate::mask;
use crate::render::{json, Format};
use crate::report::check::Report;

/// The report, in `format`, on stdout.
pub fn report(format: Format, report: &Report) {
    match format {
        Format::Text => out!("{}", text(report)),
        Format::Github => out!("{}", github(report)),
        Format::Json => outln!("{}", json::to_string(report)),
    }
}

/// `check --explain RULE`: the rule's documentation.
pub fn explain(rule: &Rule) {
    outln!(
        "{} ({})\n\n{}\n\n{}",
        rule.name,
        rule.default_severity,
        rule.summary,
        rule.explain
    );
}

/// `check --explain NAME` for one of squawk's rules: where squawk documents it, and how check
/// runs squawk (the `squawk` entry's text, when there is one).
pub fn explain_squawk(name: &str, squawk: Option<&Rule>) {
    outln!(
        "{name} is a squawk rule: https://squawkhq.com/docs/{name}\n\n{}",
        squawk.map_or("", |r| r.explain)
    );
}

pub fn text(report: &Report) -> String {
    let (errors, warnings) = (report.errors, report.warnings);
    let mut out = String::new();
    for r in &report.components {
        let base = r.base.as_deref().map_or_else(
            || "no base".to_owned(),
            |b| format!("base {}", crate::render::text::short_ref(b)),
        );
        out.push_str(&format!("{} ({}): {base}\n", r.component, r.config));
        let mut file: Option<&Path> = None;
        for f in &r.findings {
            if file != Some(f.file.as_path()) {
                out.push_str(&format!("  {}\n", f.file.display()));
                file = Some(f.file.as_path());
            }
            let name = f
                .file
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            // Line 0: the finding is about the whole file (or a file that is not there).
            let at = match f.line {
                0 => name,
                line => format!("{name}:{line}"),
            };
            out.push_str(&format!(
                "    {at}  {:<7} {}  {}\n",
                f.severity.as_str(),
                f.rule,
                f.message
            ));
        }
        let mut seen = HashSet::new();
        for s in &r.skipped {
            if seen.insert(&s.why) {
                let rules: Vec<&str> = r
                    .skipped
                    .iter()
                    .filter(|t| t.why == s.why)
                    .map(|t| t.rule.as_str())
                    .collect();
                out.push_str(&format!("  skipped {}: {}\n", rules.join(", "), s.why));
            }
        }
        if r.findings.is_empty() {
            out.push_str("  ok\n");
        }
    }
    out.push_str(&format!(
        "{errors} error{}, {warnings} warning{}{}\n",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        if report.failed_by_warnings {
            " (--strict: the warnings fail this run)"
        } else {
            ""
        }
    ));
    mask::mask(&out).into_owned()
}

/// GitHub workflow commands; properties and messages escaped as the runner expects.
pub fn github(report: &Report) -> String {
    use crate::render::github::{data as escape_data, property as escape_prop};
    let mut out = String::new();
    for r in &report.components {
        for f in &r.findings {
            let level = f.severity.as_str();
            out.push_str(&format!(
                "::{level} file={},line={},title={}::{}\n",
                escape_prop(&f.file.to_string_lossy()),
                f.line.max(1),
                escape_prop(&format!("db-migrate {}", f.rule)),
                escape_data(&f.message)
            ));
        }
        for s in &r.skipped {
            out.push_str(&format!(
                "::notice title={}::{} skipped {}: {}\n",
                escape_prop("db-migrate check"),
                r.component,
                s.rule,
                escape_data(&s.why)
            ));
        }
    }
    if report.failed_by_warnings {
        out.push_str(&format!(
            "::notice title={}::--strict made this run fail: {} warning{} and no error\n",
            escape_prop("db-migrate check"),
            report.warnings,
            if report.warnings == 1 { "" } else { "s" }
        ));
    }
    mask::mask(&out).into_owned()
}
