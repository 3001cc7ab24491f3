//! `fix-heads` keeps the head file current (`[tool.db-migrate] head-file = true`): the rewrite
//! of `head.txt` to the new single head is one more edit of the plan, shown as a diff with the
//! repoint or the merge migration, written after the migration file once one head is verified,
//! and read back. With one head already and a stale or missing file (a git conflict in
//! `head.txt` just after `git merge`, the first run after turning the setting on), the file is
//! the only edit ([`rewrite_only`]).

use crate::failure::{Failure, Kind};
use crate::graph::Graph;
use crate::head_file;
use crate::heads::file::{Place, Rewrite};
use crate::inspect::Inspection;
use crate::remediation::select_flag;
use crate::render::json::ComponentReport;
use crate::report::fix_heads::HeadFileReport;
use crate::settings::RunOptions;
use crate::state::State;
use crate::workspace::{shell, Config};

use super::super::steps::{confirm_to, describe_current, detail, Question};
use super::super::App;
use super::Options;

/// Whether the setting is on, read once per run: a value that is not a boolean is a failure, not
/// "off".
pub fn enabled(app: &App) -> Result<bool, Failure> {
    head_file::enabled(&app.ws.root).map_err(|e| {
        Failure::new(
            Kind::HeadFileSetting,
            format!("the head-file setting is invalid: {e}; nothing was changed"),
            "[tool.db-migrate] head-file in pyproject.toml must be true or false",
            "set head-file = true or head-file = false (docs/head-file.md), then retry",
        )
    })
}

/// A rewrite of the head file, planned: the edit and what to report about it.
pub struct Planned {
    pub rewrite: Rewrite,
    pub report: HeadFileReport,
}

impl Planned {
    /// The planned rewrite, the file shown as `shown` (relative to the workspace root).
    pub fn new(rewrite: Rewrite, shown: String) -> Planned {
        let before = rewrite
            .old
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).trim().to_owned());
        let report = HeadFileReport {
            diff: rewrite.diff(&shown),
            file: shown,
            head: rewrite.head.clone(),
            before,
            conflicted: rewrite.conflicted,
            written: false,
        };
        Planned { rewrite, report }
    }

    /// The lines shown before writing: what changes, and the diff.
    pub fn shown(&self) -> String {
        let r = &self.report;
        let before = match (&r.before, r.conflicted) {
            (None, _) => "missing".to_owned(),
            (Some(_), true) => "git's conflict markers".to_owned(),
            (Some(b), false) => b.lines().collect::<Vec<_>>().join(" | "),
        };
        format!("  rewrite  {}: {before} -> {}\n{}", r.file, r.head, r.diff)
    }
}

/// The rewrite that makes the component's head file name `head`, when the setting is `on` and it
/// does not already; `None` otherwise.
pub fn plan(
    on: bool,
    config: &Config,
    graph: &Graph,
    head: &str,
) -> Result<Option<Planned>, Failure> {
    if !on {
        return Ok(None);
    }
    let Some(place) = Place::for_config(config, graph) else {
        return Ok(None);
    };
    let shown = config.shown_path(place.path.to_str());
    let rewrite = Rewrite::plan(&place.path, head).map_err(|e| {
        Failure::new(
            Kind::FixHeadsWrite,
            format!("cannot read {shown}: {e}; nothing was changed"),
            "the head file or its directory is not readable",
            format!(
                "make it readable, then retry db-migrate fix-heads {}",
                select_flag(config)
            ),
        )
        .in_workspace(&config.root, &place.path, None)
    })?;
    Ok(rewrite.map(|rewrite| Planned::new(rewrite, shown)))
}

/// Write the planned file and read it back; `at` is where the database is now, for the failure.
/// Says so, and `git add` next when it resolved a conflict.
pub fn write(
    app: &App,
    run: &RunOptions,
    config: &Config,
    planned: &mut Planned,
    at: &Inspection,
) -> Result<(), Failure> {
    let shown = planned.report.file.clone();
    planned.rewrite.write().map_err(|e| {
        let mut f = Failure::new(
            Kind::FixHeadsWrite,
            format!("cannot write {shown}: {e}"),
            "the head file or its directory is not writable",
            format!(
                "{}printf '%s\\n' {} > {}",
                shell::cd_prefix(&config.root).unwrap_or_default(),
                planned.report.head,
                shell::word(&shown)
            ),
        )
        .in_workspace(&config.root, &planned.rewrite.path, None);
        f.database = Some(format!(
            "at {} ({})",
            describe_current(at),
            at.state.as_str()
        ));
        f
    })?;
    planned.report.written = true;
    detail(run, app, &format!("  rewrote  {shown}\n"));
    if planned.report.conflicted {
        detail(
            run,
            app,
            &format!(
                "  next     {}   (the rewrite resolves the conflict in it)\n",
                git_add(config, &shown)
            ),
        );
    }
    Ok(())
}

/// After a rewrite that resolved a conflict, `next` starts with `git add FILE` (and is only that
/// when the database is up to date: `at`).
pub fn git_add_next(at: &Inspection, report: &mut ComponentReport) {
    let Some(h) = report
        .head_file
        .as_ref()
        .filter(|h| h.conflicted && h.written)
    else {
        return;
    };
    let add = git_add(&at.config, &h.file);
    report.next = Some(match report.next.take() {
        Some(n) if at.state != State::UpToDate => format!("{add}; then {n}"),
        _ => add,
    });
}

/// `git add FILE`, from the workspace root.
pub fn git_add(config: &Config, shown: &str) -> String {
    format!(
        "{}git add {}",
        shell::cd_prefix(&config.root).unwrap_or_default(),
        shell::word(shown)
    )
}

/// One head already: rewrite just the head file when it does not name it, showing the diff
/// first (same `--dry-run`, `--yes` and terminal rules as the other edits). `None` when there is
/// nothing to rewrite.
pub fn rewrite_only(
    app: &App,
    config: &Config,
    run: &RunOptions,
    opts: &Options,
    before: &Inspection,
    on: bool,
) -> Result<Option<ComponentReport>, Failure> {
    let heads = before.head_ids();
    let [head] = heads.as_slice() else {
        return Ok(None);
    };
    let Some(mut planned) = plan(on, config, &before.graph, head)? else {
        return Ok(None);
    };
    let why = match (&planned.report.before, planned.report.conflicted) {
        (None, _) => "there is no head file yet",
        (Some(_), true) => "the head file holds git's conflict markers",
        (Some(_), false) => "the head file does not name it",
    };
    detail(
        run,
        app,
        &format!(
            "{} ({}): one head ({head}); {why}\n{}",
            config.label,
            config.ini_arg,
            planned.shown()
        ),
    );
    let mut report = ComponentReport::from_inspection(before);
    if run.dry_run {
        detail(run, app, "  dry run: nothing was changed\n");
        report.head_file = Some(Box::new(planned.report));
        return Ok(Some(report));
    }
    confirm_to(
        &Question {
            action: "fix-heads",
            why: "fix-heads rewrites the head file",
            prompt: "Rewrite the head file? [y/N] ",
        },
        config,
        &format!("db-migrate fix-heads {}", select_flag(config)),
        opts.yes,
    )?;
    write(app, run, config, &mut planned, before)?;
    report.head_file = Some(Box::new(planned.report));
    git_add_next(before, &mut report);
    Ok(Some(report))
}
