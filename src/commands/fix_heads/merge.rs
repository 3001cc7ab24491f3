//! `fix-heads` when main itself has several heads, all released (AGENTS.md: "add an empty merge
//! migration whose down_revision is the tuple of the heads"): write that migration, shown as a
//! new file first (`--dry-run` stops there), verify one head natively and by Alembic's own
//! `heads`, and, when the database is at one of the heads it joins, upgrade it to the merge.

use crate::failure::{Failure, Kind};
use crate::heads::{self, Merge, Refusal};
use crate::inspect::Inspection;
use crate::plan::Direction;
use crate::remediation::select_flag;
use crate::render::json::{ComponentReport, MergeReport};
use crate::render::text;
use crate::revisions::edit;
use crate::settings::RunOptions;
use crate::target::Target;
use crate::workspace::Config;

use super::super::steps::{
    backup_if_asked, confirm_to, describe_current, detail, execute, lock, say, Question,
};
use super::super::App;
use super::{head_file, refused, still_where_it_was, verify_one_head, Options};

pub async fn write(
    app: &App,
    config: &Config,
    run: &RunOptions,
    opts: &Options,
    before: &Inspection,
    merge: &Merge,
    head_file_on: bool,
) -> Result<ComponentReport, Failure> {
    let graph = &before.graph;
    let file =
        heads::merge::file(graph, merge).map_err(|why| refused(before, &Refusal::File(why)))?;
    let shown = config.shown_path(file.path.to_str());
    let ids: Vec<String> = merge
        .heads
        .iter()
        .map(|&h| graph.rev(h).id.clone())
        .collect();
    let select = select_flag(config);
    let diff = edit::new_file_diff(&shown, &file.text);
    let current = before.current_indices();
    let at_a_head = !current.is_empty() && current.iter().all(|c| merge.heads.contains(c));
    let mut header = format!(
        "  merge    {} ({shown}): the empty merge migration of {} (main itself has several heads, all released)\n{diff}",
        file.id,
        ids.join(", ")
    );
    let mut head_file = head_file::plan(head_file_on, config, graph, &file.id)?;
    if let Some(planned) = &head_file {
        header.push_str(&planned.shown());
    }
    header.push_str(&if at_a_head {
        format!(
            "  database at {} (a head it joins): 1. write the file, 2. upgrade to the new single head {}\n",
            describe_current(before),
            file.id
        )
    } else {
        format!(
            "  database at {}: only the file is written (db-migrate upgrade {select} applies it)\n",
            describe_current(before)
        )
    });
    detail(run, app, &header);
    let mut report = ComponentReport::from_inspection(before);
    report.merge = Some(Box::new(MergeReport {
        revision: file.id.clone(),
        file: shown.clone(),
        heads: ids,
        diff,
        written: false,
    }));
    report.head_file = head_file.as_ref().map(|p| Box::new(p.report.clone()));
    if run.dry_run {
        detail(run, app, "  dry run: nothing was changed\n");
        return Ok(report);
    }
    let rerun = format!("db-migrate fix-heads {select}");
    confirm_to(
        &Question {
            action: "fix-heads",
            why: "fix-heads writes a migration file and may upgrade the database",
            prompt: if at_a_head {
                "Write the merge migration and upgrade? [y/N] "
            } else {
                "Write the merge migration? [y/N] "
            },
        },
        config,
        &rerun,
        opts.yes,
    )?;
    let _lock = if at_a_head {
        let held = lock(app, config, run).await?;
        still_where_it_was(app, config, before, &rerun).await?;
        backup_if_asked(app, run, before).await?;
        held
    } else {
        None
    };

    edit::write_new(&file.path, file.text.as_bytes()).map_err(|e| {
        let mut f = Failure::new(
            Kind::FixHeadsWrite,
            format!("cannot write {shown}: {e}"),
            "the versions directory is not writable, or the file appeared meanwhile",
            format!("write it by hand (the file shown above), then db-migrate upgrade {select}"),
        )
        .in_workspace(&config.root, &file.path, None);
        f.database = Some(format!(
            "at {} ({}); no file was written",
            describe_current(before),
            before.state.as_str()
        ));
        f
    })?;
    detail(run, app, &format!("  wrote    {shown}\n"));
    if let Some(m) = report.merge.as_mut() {
        m.written = true;
    }

    let mut fixed = verify_one_head(app, config, &file.id).await?;
    if let Some(planned) = head_file.as_mut() {
        head_file::write(app, run, config, planned, &fixed)?;
    }
    let mut applied = Vec::new();
    if at_a_head {
        let head = Target::parse("head").expect("valid target");
        let (steps, after) = execute(app, run, &fixed, Direction::Upgrade, &head)
            .await
            .map_err(|mut f| {
                f.fix = format!(
                    "{}; {shown} is written (keep it), so after fixing this run db-migrate upgrade {select}",
                    f.fix
                );
                f
            })?;
        applied = steps;
        fixed = after;
    }
    say(app, &text::status(&fixed));
    let merge_report = report.merge.take();
    let mut report = ComponentReport::from_inspection(&fixed);
    report.merge = merge_report;
    report.head_file = head_file.map(|p| Box::new(p.report));
    head_file::git_add_next(&fixed, &mut report);
    report.applied = applied;
    Ok(report)
}
