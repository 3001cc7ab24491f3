//! `check`: one CI and pre-commit gate over every component's migrations. The static rules
//! (heads, history integrity against a base ref, conventions) need no database and no Python;
//! the SQL lint renders each revision new relative to the base with Alembic's offline mode, one
//! at a time, and runs squawk's PostgreSQL rules on it. Findings are filtered through ignore
//! comments and `[tool.db-migrate.check]`; the report goes to [`crate::render::check`], which
//! prints it as text, JSON or GitHub annotations.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use crate::alembic;
use crate::check::{
    self, config::Config, ignore, lint, load, rules, BaseView, Finding, NoBase, Severity,
};
use crate::exit_code;
use crate::failure::{Failure, Kind};
use crate::git::Repo;
use crate::graph::Graph;
use crate::inspect::{self, relay};
use crate::mask;
use crate::remediation::select_flag;
use crate::render;
use crate::report::check::{ComponentReport, Report, Skipped, Upstream};
use crate::settings::CheckOptions as Options;
use crate::workspace::Config as Ini;

use super::App;

/// `check --explain RULE`: the rule's documentation.
pub fn explain(name: &str) -> Result<u8, Failure> {
    match check::rule(name) {
        Some(rule) => {
            render::check::explain(rule);
            Ok(exit_code::OK)
        }
        None if lint::is_squawk_rule(name) => {
            render::check::explain_squawk(name, check::rule("squawk"));
            Ok(exit_code::OK)
        }
        None => Err(Failure::usage(
            Kind::UnknownRule,
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

pub async fn run(app: &App, opts: &Options) -> Result<u8, Failure> {
    let configs = &app.ws.configs(&opts.selection)?;
    let settings = check::config::load(&app.ws.root).map_err(|e| {
        Failure::new(
            Kind::CheckConfig,
            format!("the check configuration is invalid: {e}"),
            "[tool.db-migrate.check] in pyproject.toml has a key or value db-migrate does not know",
            "fix it (db-migrate check --explain RULE describes each rule), then retry",
        )
    })?;
    let head_file = crate::head_file::enabled(&app.ws.root).map_err(|e| {
        Failure::new(
            Kind::CheckConfig,
            format!("the head-file setting is invalid: {e}"),
            "[tool.db-migrate] head-file in pyproject.toml must be true or false",
            "fix it (docs/head-file.md describes the setting), then retry",
        )
    })?;
    let repo = Repo::discover(&app.ws.root);
    if let Some(asked) = opts.base.as_deref() {
        check::require_ref(&app.ws.root, repo.as_ref(), asked)?;
    }
    if let Some(asked) = opts.upstream.as_deref() {
        require_upstream(&app.ws.root, repo.as_ref(), asked)?;
    }
    let mut reports = Vec::new();
    for config in configs {
        reports.push(check_one(app, config, &settings, head_file, repo.as_ref(), opts).await?);
    }
    let count = |s: Severity| {
        reports
            .iter()
            .flat_map(|r| &r.findings)
            .filter(|f| f.severity == s.into())
            .count()
    };
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let failed_by_warnings = opts.strict && errors == 0 && warnings > 0;
    let report = Report {
        components: reports,
        errors,
        warnings,
        strict: opts.strict,
        failed_by_warnings,
    };
    render::check::report(app.format, &report);
    Ok(if errors > 0 || failed_by_warnings {
        exit_code::FAILED
    } else {
        exit_code::OK
    })
}

/// One component's report. Whatever stops it from being checked (its revisions do not form a
/// graph, its lint could not run) is a finding of this component only; only a usage error
/// (`--base` naming nothing) stops the whole run.
async fn check_one(
    app: &App,
    config: &Ini,
    settings: &Config,
    head_file: bool,
    repo: Option<&Repo>,
    opts: &Options,
) -> Result<ComponentReport, Failure> {
    let mut skipped = Vec::new();
    let base = match base_for(config, repo, opts) {
        Ok(view) => Some(view),
        Err(NoBase::Failed(failure)) if failure.kind.code() == exit_code::USAGE => {
            return Err(failure)
        }
        Err(NoBase::Failed(failure)) => {
            return Ok(faulty(app, config, &failure, None, skipped));
        }
        Err(NoBase::Skipped(why)) => {
            for rule in check::rules().iter().filter(|r| check::needs_base(r.name)) {
                skipped.push(Skipped {
                    rule: rule.name.to_owned(),
                    why: why.clone(),
                });
            }
            None
        }
    };
    let graph = match inspect::load_graph(&app.ws, config, inspect::Engine::Auto, app.verbose).await
    {
        Ok((graph, _)) => graph,
        Err(failure) if failure.kind == Kind::Interrupted => return Err(failure),
        Err(failure) => return Ok(faulty(app, config, &failure, base.as_ref(), skipped)),
    };
    let head_file = head_file
        .then(|| crate::heads::file::Place::for_config(config, &graph))
        .flatten()
        .map(|place| check::rules::head_file::Setting {
            place,
            fix: format!(
                "db-migrate fix-heads {}",
                crate::remediation::select_flag(config)
            ),
        });
    let component = check::Component {
        name: &config.label,
        root: &app.ws.root,
        graph: &graph,
        base: base.as_ref(),
        head_file: head_file.as_ref(),
    };
    let mut findings = check::static_findings(&component);
    let upstream = match (&base, repo) {
        (Some(base), Some(repo)) => heads_after_merge(config, repo, base, &component, opts)
            .map_err(|why| {
                skipped.push(Skipped {
                    rule: rules::heads_after_merge::RULE.name.into(),
                    why,
                })
            })
            .ok()
            .map(|(found, report)| {
                findings.extend(found);
                report
            }),
        _ => None,
    };
    let unloadable = load::not_utf8(&app.ws.root, &graph);
    let mut faults = Vec::new();
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
            let skip: HashSet<&Path> = unloadable.iter().map(|f| f.file.as_path()).collect();
            // One Alembic worker renders every new revision's SQL (issue 21).
            let lint = lint_new(app, config, &graph, base, settings, &skip);
            match crate::alembic::pool::scoped(app.verbose, lint).await {
                Ok(Linted { found, unloadable }) => {
                    findings.extend(found);
                    faults.extend(unloadable);
                    linted = true;
                }
                Err(failure) if failure.kind == Kind::Interrupted => return Err(failure),
                Err(failure) if failure.kind == Kind::CheckConfig => return Err(failure),
                Err(failure) => {
                    faults.push(load::fault(&app.ws.root, config, &failure));
                    skipped.push(Skipped {
                        rule: "squawk".into(),
                        why: "the lint could not run (see the component-fault finding)".into(),
                    });
                }
            }
        }
    }
    faults.extend(unloadable);
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
    // What could not be read is added last: no ignore comment or setting silences it.
    findings.extend(faults);
    findings.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    Ok(ComponentReport {
        component: config.label.clone(),
        config: config.ini_arg.clone(),
        base: base.map(|b| b.reference),
        skipped,
        findings: findings.into_iter().map(Into::into).collect(),
        upstream,
    })
}

/// The base to compare with: `--base`, else the merge-base with `--upstream`, else
/// [`check::base_for`]'s default.
fn base_for(config: &Ini, repo: Option<&Repo>, opts: &Options) -> Result<BaseView, NoBase> {
    match (opts.base.as_deref(), opts.upstream.as_deref(), repo) {
        (None, Some(upstream), Some(git)) => match git.merge_base("HEAD", upstream) {
            Ok(Some(merge_base)) => check::base_for(config, repo, Some(&merge_base)),
            Ok(None) => Err(NoBase::Skipped(format!(
                "HEAD shares no history with {upstream} (pass --base REF)"
            ))),
            Err(e) => Err(NoBase::Skipped(e.to_string())),
        },
        (asked, _, _) => check::base_for(config, repo, asked),
    }
}

/// `--upstream REF` must name a commit: a usage error naming the ref otherwise.
fn require_upstream(root: &Path, repo: Option<&Repo>, asked: &str) -> Result<(), Failure> {
    let dir = crate::workspace::shell::word(&root.to_string_lossy());
    match repo {
        Some(repo) if repo.has_ref(asked) => Ok(()),
        Some(_) => Err(Failure::usage(
            Kind::UpstreamMissing,
            format!("--upstream {asked}: git cannot resolve {asked} to a commit, so merging into it cannot be checked"),
            format!("list the refs with git -C {dir} branch -a (run git fetch first if the remote branch is new), then pass one of them to --upstream, or leave --upstream out to use the remote's default branch (else main)"),
        )),
        None => Err(Failure::usage(
            Kind::UpstreamMissing,
            format!("--upstream {asked}: {} is not in a git work tree, so there is no {asked} to merge into", root.display()),
            "run it inside the git checkout, or leave --upstream out (the rules that need git are then skipped, and say so)",
        )),
    }
}

/// The merge-time heads check ([`rules::heads_after_merge`]) of one component: its findings and
/// what the JSON report says about the upstream, or why it could not run.
fn heads_after_merge(
    config: &Ini,
    repo: &Repo,
    base: &BaseView,
    component: &check::Component,
    opts: &Options,
) -> Result<(Vec<Finding>, Upstream), String> {
    let reference = opts
        .upstream
        .clone()
        .or_else(|| repo.default_upstream())
        .ok_or("no upstream ref: no remote default branch (e.g. origin/HEAD) and no main (pass --upstream REF)")?;
    let dirs = crate::revisions::locate::locate(&config.ini, &config.root, &[])
        .map_err(|e| e.to_string())?
        .dirs;
    let up = rules::heads_after_merge::gather(repo, &reference, &dirs, Some(base))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let merged = |paths: &[PathBuf]| {
        repo.first_parent_additions(&up.merge_base, &up.tip, paths)
            .unwrap_or_default()
    };
    let cx = rules::Context::new(component);
    let outcome = rules::heads_after_merge::check(&cx, &up, &merged, &select_flag(config), now);
    let report = Upstream::new(&up, &outcome, now);
    Ok((outcome.findings, report))
}

/// A component that could not be checked: its fault is its one finding, and every rule is
/// reported as skipped because of it.
fn faulty(
    app: &App,
    config: &Ini,
    failure: &Failure,
    base: Option<&BaseView>,
    mut skipped: Vec<Skipped>,
) -> ComponentReport {
    skipped.retain(|s| !check::needs_base(&s.rule));
    skipped.push(Skipped {
        rule: "every rule".into(),
        why: format!(
            "{} could not be read (see the component-fault finding)",
            config.label
        ),
    });
    ComponentReport {
        component: config.label.clone(),
        config: config.ini_arg.clone(),
        base: base.map(|b| b.reference.clone()),
        skipped,
        findings: vec![load::fault(&app.ws.root, config, failure).into()],
        upstream: None,
    }
}

/// What the lint found: squawk's findings (ignorable), and files Alembic could not load
/// ([`load::UNLOADABLE_FILE`], not ignorable).
struct Linted {
    found: Vec<Finding>,
    unloadable: Vec<Finding>,
}

/// squawk on each revision new relative to the base, one revision's SQL at a time.
async fn lint_new(
    app: &App,
    config: &Ini,
    graph: &Graph,
    base: &BaseView,
    settings: &Config,
    unloadable: &HashSet<&Path>,
) -> Result<Linted, Failure> {
    let lint_settings = lint::LintSettings {
        pg_version: Some(settings.squawk.pg_version.clone()),
        excluded_rules: settings.squawk.exclude.clone(),
        assume_in_transaction: true,
    };
    let new: HashSet<usize> = (0..graph.len())
        .filter(|&i| base.by_id(&graph.rev(i).id).is_none())
        .collect();
    let mut findings = Vec::new();
    let mut broken = Vec::new();
    for i in graph.apply_order(&new) {
        let rev = graph.rev(i);
        if rev.parents.len() > 1 {
            continue; // a merge has no SQL of its own; no-merge-migration reports it
        }
        let file = relative(&app.ws.root, rev.path.as_deref());
        if unloadable.contains(file.as_path()) {
            continue; // reported already: Python cannot import it
        }
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
            if let Some(line) = cannot_import(&output.stderr, rev.path.as_deref()) {
                broken.push(Finding {
                    rule: load::UNLOADABLE_FILE.name,
                    severity: Severity::Error,
                    file: file.clone(),
                    line,
                    message: format!(
                        "Python cannot import {} ({}), so every Alembic command fails",
                        rev.id,
                        mask::mask(&why)
                    ),
                });
                continue;
            }
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
        if !rendered(&output.stdout, &rev.id) {
            return Err(not_rendered(app, config, &range, &rev.id));
        }
        let (sql, statements) = lint::revision_sql(&output.stdout.join("\n"));
        let sql_findings = lint::lint(&sql, &lint_settings).map_err(|e| {
            Failure::new(
                Kind::CheckConfig,
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
    Ok(Linted {
        found: findings,
        unloadable: broken,
    })
}

/// Whether Alembic's offline output shows that it rendered `id`: it prints
/// `-- Running upgrade PARENT -> ID` (`-- Running upgrade  -> ID` from base) before the SQL.
fn rendered(stdout: &[String], id: &str) -> bool {
    let marker = format!("-> {id}");
    stdout
        .iter()
        .any(|l| l.starts_with("-- Running upgrade ") && l.trim_end().ends_with(&marker))
}

/// The launcher exited 0 and Alembic printed no render of the revision: nothing was linted, and
/// saying "no findings" would pass what was never checked.
fn not_rendered(app: &App, config: &Ini, range: &str, id: &str) -> Failure {
    let launcher = alembic::runner::launcher_shown(&app.ws);
    let cd = crate::workspace::shell::cd_prefix(&app.ws.root).unwrap_or_default();
    Failure::new(
        Kind::LintNotRendered,
        format!(
            "{launcher} exited 0 but Alembic rendered no SQL for {id} of {}: the lint did not run",
            config.label
        ),
        format!("Alembic's offline mode prints `-- Running upgrade … -> {id}` before a revision's SQL, and that line is missing: the launcher ({launcher}) did not run Alembic"),
        format!(
            "{cd}{launcher} -m alembic -c {} upgrade {range} --sql   (fix the launcher until this prints the SQL, then rerun check)",
            crate::workspace::shell::word(&config.ini_arg)
        ),
    )
}

/// The line of the revision file where Python failed to import it (a `SyntaxError`, a NUL byte,
/// an undecodable byte), when the traceback ends there.
fn cannot_import(stderr: &[String], path: Option<&str>) -> Option<usize> {
    let last = alembic::parse::exception(stderr)?;
    let import_error = [
        "SyntaxError",
        "IndentationError",
        "TabError",
        "UnicodeDecodeError",
    ]
    .iter()
    .any(|e| last.starts_with(e))
        || last.contains("cannot contain null bytes");
    if !import_error {
        return None;
    }
    let path = path?;
    let quoted = format!("File \"{path}\", line ");
    let line = stderr
        .iter()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix(&quoted))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    Some(line.unwrap_or(1))
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

#[cfg(test)]
mod snapshot_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_render_shows_alembic_s_marker_for_the_revision() {
        // As alembic 1.13.3 prints it, from a parent and from base (two spaces).
        let out = lines("BEGIN;\n\n-- Running upgrade a1 -> b2\n\nCREATE TABLE t (id INT);\n");
        assert!(rendered(&out, "b2"));
        assert!(!rendered(&out, "a1"));
        assert!(rendered(&lines("-- Running upgrade  -> a1\n"), "a1"));
        // A launcher that printed nothing, or its own chatter.
        assert!(!rendered(&[], "b2"));
        assert!(!rendered(&lines("ok -> b2\n"), "b2"));
    }

    #[test]
    fn an_import_error_is_located_in_the_revision_file() {
        let path = "/w/versions/c3_broken.py";
        let stderr = lines(
            "Traceback (most recent call last):\n  File \"<frozen importlib._bootstrap>\", line 241, in _call_with_frames_removed\n  File \"/w/versions/c3_broken.py\", line 21\n    owner = = 1\n            ^\nSyntaxError: invalid syntax\n",
        );
        assert_eq!(cannot_import(&stderr, Some(path)), Some(21));
        let nul = lines("  File \"<frozen importlib._bootstrap>\", line 241\nSyntaxError: source code string cannot contain null bytes\n");
        assert_eq!(cannot_import(&nul, Some(path)), Some(1));
        // Reading the database offline is not an import error.
        let offline = lines("  File \"/w/versions/c3_broken.py\", line 20, in upgrade\nAttributeError: 'NoneType' object has no attribute 'fetchall'\n");
        assert_eq!(cannot_import(&offline, Some(path)), None);
    }
}
