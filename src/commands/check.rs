//! `check`: one CI and pre-commit gate over every component's migrations. The static rules
//! (heads, history integrity against a base ref, conventions) need no database and no Python;
//! the SQL lint renders each revision new relative to the base with Alembic's offline mode, one
//! at a time, and runs squawk's PostgreSQL rules on it. Findings are filtered through ignore
//! comments and `[tool.db-migrate.check]`, then printed as text, JSON or GitHub annotations.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use serde::Serialize;

use crate::alembic;
use crate::check::{self, config::Config, ignore, lint, BaseView, Finding, Severity};
use crate::error::Failure;
use crate::exit_code;
use crate::git::Repo;
use crate::graph::Graph;
use crate::inspect::{self, relay};
use crate::mask;
use crate::workspace::Config as Ini;

use super::App;

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
    /// `::error file=…,line=…,title=…::message` workflow commands.
    Github,
}

pub struct Options<'a> {
    pub base: Option<&'a str>,
    pub output: Output,
    pub strict: bool,
    /// Skip the SQL lint (the static rules only: what the pre-commit hook runs).
    pub no_lint: bool,
}

#[derive(Serialize)]
struct Report {
    components: Vec<ComponentReport>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct ComponentReport {
    component: String,
    config: String,
    /// The base ref compared with, when there is one.
    base: Option<String>,
    /// Rules that did not run, with why (no base, lint not asked for).
    skipped: Vec<Skipped>,
    findings: Vec<Finding>,
}

#[derive(Serialize)]
struct Skipped {
    rule: String,
    why: String,
}

/// `check --explain RULE`: the rule's documentation.
pub fn explain(name: &str) -> Result<u8, Failure> {
    match check::rule(name) {
        Some(rule) => {
            outln!(
                "{} ({})\n\n{}\n\n{}",
                rule.name,
                rule.default_severity,
                rule.summary,
                rule.explain
            );
            Ok(exit_code::OK)
        }
        None if lint::is_squawk_rule(name) => {
            outln!(
                "{name} is a squawk rule: https://squawkhq.com/docs/{name}\n\n{}",
                check::rule("squawk").map_or("", |r| r.explain)
            );
            Ok(exit_code::OK)
        }
        None => Err(Failure::usage(
            "unknown-rule",
            format!("no rule named {name}"),
            format!(
                "one of: {} (or a squawk rule name)",
                check::rules()
                    .iter()
                    .map(|r| r.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

pub async fn run(app: &App, configs: &[Ini], opts: &Options<'_>) -> Result<u8, Failure> {
    let settings = check::config::load(&app.ws.root).map_err(|e| {
        Failure::new(
            "check-config",
            format!("the check configuration is invalid: {e}"),
            "[tool.db-migrate.check] in pyproject.toml has a key or value db-migrate does not know",
            "fix it (db-migrate check --explain RULE describes each rule), then retry",
        )
    })?;
    let repo = Repo::discover(&app.ws.root);
    let mut reports = Vec::new();
    for config in configs {
        reports.push(check_one(app, config, &settings, repo.as_ref(), opts).await?);
    }
    let count = |s: Severity| {
        reports
            .iter()
            .flat_map(|r| &r.findings)
            .filter(|f| f.severity == s)
            .count()
    };
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    match opts.output {
        Output::Text => out!("{}", render_text(&reports, errors, warnings)),
        Output::Github => out!("{}", render_github(&reports)),
        Output::Json => outln!(
            "{}",
            crate::render::json::to_string(&Report {
                components: reports,
                errors,
                warnings,
            })
        ),
    }
    Ok(if errors > 0 || (opts.strict && warnings > 0) {
        exit_code::FAILED
    } else {
        exit_code::OK
    })
}

async fn check_one(
    app: &App,
    config: &Ini,
    settings: &Config,
    repo: Option<&Repo>,
    opts: &Options<'_>,
) -> Result<ComponentReport, Failure> {
    let (graph, _) =
        inspect::load_graph(&app.ws, config, inspect::Engine::Auto, app.verbose).await?;
    let mut skipped = Vec::new();
    let base = match check::base_for(config, repo, opts.base) {
        Ok(view) => Some(view),
        Err(why) => {
            for rule in check::rules().iter().filter(|r| check::needs_base(r.name)) {
                skipped.push(Skipped {
                    rule: rule.name.to_owned(),
                    why: why.clone(),
                });
            }
            None
        }
    };
    let component = check::Component {
        name: &config.label,
        root: &app.ws.root,
        graph: &graph,
        base: base.as_ref(),
    };
    let mut findings = check::static_findings(&component);
    let mut linted = false;
    match (&base, opts.no_lint) {
        (_, true) => skipped.push(Skipped {
            rule: "squawk".into(),
            why: "--no-lint".into(),
        }),
        (None, false) => skipped.push(Skipped {
            rule: "squawk".into(),
            why: "no base ref to tell new revisions from released ones (pass --base REF)".into(),
        }),
        (Some(base), false) => {
            findings.extend(lint_new(app, config, &graph, base, settings).await?);
            linted = true;
        }
    }
    let new_files = check::new_files(&component);
    let ran = |rule: &str| {
        let skipped_rule = skipped.iter().any(|s| s.rule == rule);
        let squawk = lint::is_squawk_rule(rule) || rule == "not-lintable-offline";
        !skipped_rule && (!squawk || linted) && settings.enabled(rule)
    };
    let root = app.ws.root.clone();
    let findings = ignore::apply_in(
        findings,
        Some(ignore::Checked {
            files: &new_files,
            ran: &ran,
        }),
        |p: &Path| std::fs::read(root.join(p)).ok(),
        |r: &str| check::rule(r).is_some() || lint::is_squawk_rule(r),
    );
    let mut findings = settings.apply(findings);
    findings.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    Ok(ComponentReport {
        component: config.label.clone(),
        config: config.ini_arg.clone(),
        base: base.map(|b| b.reference),
        skipped,
        findings,
    })
}

/// squawk on each revision new relative to the base, one revision's SQL at a time.
async fn lint_new(
    app: &App,
    config: &Ini,
    graph: &Graph,
    base: &BaseView,
    settings: &Config,
) -> Result<Vec<Finding>, Failure> {
    let lint_settings = lint::LintSettings {
        pg_version: Some(settings.squawk.pg_version.clone()),
        excluded_rules: settings.squawk.exclude.clone(),
        assume_in_transaction: true,
    };
    let new: HashSet<usize> = (0..graph.len())
        .filter(|&i| base.by_id(&graph.rev(i).id).is_none())
        .collect();
    let mut findings = Vec::new();
    for i in graph.apply_order(&new) {
        let rev = graph.rev(i);
        if rev.parents.len() > 1 {
            continue; // a merge has no SQL of its own; no-merge-migration reports it
        }
        let file = relative(&app.ws.root, rev.path.as_deref());
        let src = rev
            .path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .unwrap_or_default();
        let range = match rev.parents.first() {
            Some(parent) => format!("{parent}:{}", rev.id),
            None => rev.id.clone(),
        };
        let output = alembic::read_only(
            &app.ws,
            config,
            &["upgrade", &range, "--sql"],
            relay(app.verbose, &config.label, "upgrade --sql"),
        )
        .await?;
        if !output.success() {
            let why = alembic::parse::exception(&output.stderr)
                .or_else(|| alembic::parse::failed(&output.stdout))
                .unwrap_or_else(|| "Alembic's offline mode failed".to_owned());
            findings.push(Finding {
                rule: "not-lintable-offline",
                severity: Severity::Warning,
                file: file.clone(),
                line: 1,
                message: format!(
                    "{} cannot be rendered to SQL offline ({}), so its SQL was not linted",
                    rev.id,
                    mask::mask(&why)
                ),
            });
            continue;
        }
        let (sql, statements) = lint::revision_sql(&output.stdout.join("\n"));
        let sql_findings = lint::lint(&sql, &lint_settings).map_err(|e| {
            Failure::new(
                "check-config",
                format!("the squawk settings are invalid: {e}"),
                "[tool.db-migrate.check.squawk] names a rule or version squawk does not know",
                "fix pyproject.toml, then retry",
            )
        })?;
        let calls = lint::op_call_lines(&src);
        for f in sql_findings {
            let statement = statements
                .iter()
                .position(|r| r.start <= f.range.start && f.range.start < r.end.max(r.start + 1));
            let line = statement
                .and_then(|n| calls.get(n).copied())
                .or_else(|| calls.last().copied())
                .unwrap_or(1);
            let text = statement.map_or_else(String::new, |n| {
                let r = &statements[n];
                sql[r.clone()]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            let mut message = format!("{} ({})", f.message, short(&text));
            if let Some(help) = f.help {
                message.push_str(&format!(": {help}"));
            }
            let severity = if check::config::SQUAWK_WARNINGS.contains(&f.rule.as_str()) {
                Severity::Warning
            } else {
                Severity::Error
            };
            findings.push(Finding {
                rule: intern(f.rule),
                severity,
                file: file.clone(),
                line,
                message,
            });
        }
    }
    Ok(findings)
}

fn short(sql: &str) -> String {
    let cut: String = sql.chars().take(80).collect();
    if cut.len() < sql.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// squawk's rule names, as the `&'static str` findings carry (a small, fixed set).
fn intern(name: String) -> &'static str {
    static NAMES: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Default::default);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

fn relative(root: &Path, path: Option<&str>) -> PathBuf {
    let path = PathBuf::from(path.unwrap_or("?"));
    path.strip_prefix(root)
        .map_or(path.clone(), Path::to_path_buf)
}

fn render_text(reports: &[ComponentReport], errors: usize, warnings: usize) -> String {
    let mut out = String::new();
    for r in reports {
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
            out.push_str(&format!(
                "    {}:{}  {:<7} {}  {}\n",
                f.file
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                f.line,
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
        "{errors} error{}, {warnings} warning{}\n",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    ));
    mask::mask(&out).into_owned()
}

/// GitHub workflow commands; properties and messages escaped as the runner expects.
fn render_github(reports: &[ComponentReport]) -> String {
    use crate::render::github::{data as escape_data, property as escape_prop};
    let mut out = String::new();
    for r in reports {
        for f in &r.findings {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
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
    mask::mask(&out).into_owned()
}
