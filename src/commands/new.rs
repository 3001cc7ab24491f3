//! `new`: write the next revision the team's way. Alembic's own `revision` writes the file (so the
//! repository's `script.py.mako` and `[post_write_hooks]` apply exactly as Alembic applies them),
//! on the single head; db-migrate then adds only what the team's shape asks for (`# Part of:
//! NEXT_RELEASE_VERSION` below down_revision, docstring ids that agree), reads the file back and
//! checks it (id, parent, one head, check's `part-of-comment` and `docstring-ids` rules), and
//! keeps `head.txt` current when the head file is on.
//!
//! `--autogenerate` never looks at the developer's database: the models are compared with a
//! scratch database upgraded to head (verify's machinery), dropped at the end, also on failure
//! and Ctrl-C.
//!
//! Order, and where a failure leaves things: refusals (diverged heads, a bad setting, no
//! PostgreSQL for `--autogenerate`) → nothing written; Alembic fails → nothing written (Alembic
//! writes the file last); the shape or the check fails → the file stays, and the failure names
//! it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::alembic::{self, Input, Output};
use crate::check::rules::{docstring_ids, part_of_comment, Context};
use crate::check::Component;
use crate::commands::steps::probe_follows_url;
use crate::exit_code;
use crate::failure::{Failure, Kind};
use crate::graph::Graph;
use crate::head_file;
use crate::heads::file::{Place, Rewrite};
use crate::inspect::{self, relay, Engine};
use crate::new::shape;
use crate::postgres::scratch::{create, name_for, Made, Source};
use crate::postgres::snapshot;
use crate::remediation::{diagnose, select_flag};
use crate::render;
use crate::report::new::{Autogenerate, Report};
use crate::revisions::{edit, locate, reader};
use crate::settings::NewOptions as Options;
use crate::state::State;
use crate::workspace::scratch::pointed_at;
use crate::workspace::shell;
use crate::workspace::Config;

use super::steps::say;
use super::App;

/// The component that keeps the `# Part of:` convention (as check's `part-of-comment` rule).
const PART_OF_COMPONENT: &str = "manager";

pub async fn run(app: &App, opts: &Options) -> Result<u8, Failure> {
    let configs = app.ws.configs(&opts.selection)?;
    let Some(config) = configs.first() else {
        return Ok(exit_code::OK);
    };
    let select = select_flag(config);
    // A typo in the setting fails before anything is written.
    let head_file_on = head_file::enabled(&config.root).map_err(|e| {
        Failure::new(
            Kind::NewHeadFile,
            format!("cannot read the head-file setting: {e}; nothing was written"),
            "[tool.db-migrate] head-file in pyproject.toml must be true or false",
            "fix pyproject.toml (head-file = true or false), then rerun",
        )
    })?;
    let dirs = versions_dirs(config);
    let rerun = format!(
        "db-migrate new {select} -m {}{}",
        shell::word(&opts.message),
        if opts.autogenerate {
            " --autogenerate"
        } else {
            ""
        }
    );
    let head = single_head(app, config, &dirs, &select, &rerun).await?;
    let url = if opts.autogenerate {
        Some(postgres_url(config, &select)?)
    } else {
        None
    };
    app.wait_for_databases(std::slice::from_ref(config)).await?;

    let before = revision_files(&dirs);
    let mut args = vec!["revision", "-m", opts.message.as_str()];
    if let Some(head) = head.as_deref() {
        args.extend(["--head", head]);
    }
    let (output, autogenerate) = match url {
        Some(url) => {
            args.push("--autogenerate");
            let work = autogenerate(app, config, url, &args);
            let (output, report) = alembic::pool::scoped(app.verbose, work).await?;
            (output, Some(report))
        }
        None => (revision(app, config, config, &args).await?, None),
    };
    if !output.success() {
        return Err(alembic_failed(config, &dirs, &before, &output));
    }
    let path = written_file(config, &dirs, &before, &output)?;
    let shown = config.shown_path(path.to_str());

    let written = std::fs::read(&path)
        .map_err(|e| unverified(config, &path, format!("cannot read it back: {e}")))?;
    let Some((id, parents)) = ids_of(&path, &written) else {
        return Err(unverified(
            config,
            &path,
            "its revision and down_revision cannot be read statically".to_owned(),
        ));
    };
    let part_of = config.label == PART_OF_COMPONENT;
    let shaped = shape::shape(&written, &id, &parents, part_of)
        .map_err(|why| unverified(config, &path, why))?;
    if shaped.bytes != written {
        edit::write_atomically(&path, &shaped.bytes).map_err(|e| {
            Failure::new(
                Kind::NewUnverified,
                format!("Alembic wrote {shown}, and db-migrate cannot add the team's lines to it: {e}"),
                "the file or its directory is not writable",
                format!("add `# Part of: NEXT_RELEASE_VERSION` below down_revision in {shown} by hand, then db-migrate check {select}"),
            )
            .in_workspace(&config.root, &path, None)
        })?;
    }
    let expected_parent = head.clone();
    let graph = check_written(app, config, &path, &id, expected_parent.as_deref(), part_of).await?;

    let head_file = if head_file_on {
        Some(write_head_file(config, &graph, &id)?)
    } else {
        None
    };
    let file_word = shell::word(&shown);
    let report = Report {
        component: config.label.clone(),
        config: config.ini_arg.clone(),
        revision: id,
        down_revision: head,
        file: shown,
        message: opts.message.clone(),
        added: shaped.changes.iter().map(shape::Change::describe).collect(),
        head_file,
        autogenerate,
        next: vec![
            format!("$EDITOR {file_word}"),
            format!("db-migrate upgrade {select}"),
            format!("db-migrate verify {select}"),
            format!("db-migrate check {select}"),
        ],
    };
    render::new::report(app.format, &report);
    Ok(exit_code::OK)
}

/// The versions directories of `config` (Alembic writes a new revision into the first). Empty
/// when they cannot be found statically (a package only the launcher's Python knows): the new
/// file is then found from Alembic's own line.
fn versions_dirs(config: &Config) -> Vec<PathBuf> {
    locate::locate(&config.ini, &config.root, &[])
        .map(|l| l.dirs)
        .unwrap_or_default()
}

/// The head to write the revision on: `None` for a component without revisions yet. Several
/// heads: refused before anything is written.
async fn single_head(
    app: &App,
    config: &Config,
    dirs: &[PathBuf],
    select: &str,
    rerun: &str,
) -> Result<Option<String>, Failure> {
    let graph = match inspect::load_graph(&app.ws, config, Engine::Auto, app.verbose).await {
        Ok((graph, _)) => graph,
        // An empty versions directory: the first revision.
        Err(f)
            if f.kind == Kind::NoMigrationScripts && dirs.first().is_some_and(|d| d.is_dir()) =>
        {
            return Ok(None)
        }
        Err(f) => return Err(f),
    };
    let heads = graph.heads();
    match heads.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(graph.rev(*one).id.clone())),
        _ => Err(diverged(config, &graph, select, rerun)),
    }
}

fn diverged(config: &Config, graph: &Graph, select: &str, rerun: &str) -> Failure {
    let heads: Vec<String> = graph
        .heads()
        .iter()
        .map(|&h| {
            let r = graph.rev(h);
            format!("{} ({})", r.id, config.shown_path(r.path.as_deref()))
        })
        .collect();
    Failure::new(
        Kind::NewOnDivergedHeads,
        format!(
            "{} has {} heads ({}); new writes a revision on the single head, so nothing was written",
            config.label,
            heads.len(),
            heads.join(", ")
        ),
        "two migrations name the same down_revision: a branch that added one diverged from main, or main itself has several heads; a revision on one of them would leave the others diverged",
        format!("db-migrate fix-heads {select}, then {rerun}   (fix-heads makes one head again, the team's way)"),
    )
}

/// `--autogenerate`'s database: PostgreSQL only (a scratch copy is made on its server).
fn postgres_url<'a>(
    config: &'a Config,
    select: &str,
) -> Result<&'a crate::workspace::ini::DbUrl, Failure> {
    config
        .url
        .as_ref()
        .filter(|u| u.is_postgres())
        .ok_or_else(|| {
            Failure::usage(
                Kind::NewAutogenerateUnsupported,
                format!(
                    "new --autogenerate compares the models with a scratch PostgreSQL database, and {} is not a PostgreSQL database; nothing was written",
                    config.ini_arg
                ),
                format!("write the operations by hand: db-migrate new {select} -m MESSAGE (without --autogenerate)"),
            )
        })
}

/// `alembic revision …` with `ini`'s config (the component's, or the scratch copy of it), its
/// output whatever the outcome. Not a call the worker serves; like a migration, it is never cut
/// by the read-only time limit.
async fn revision(
    app: &App,
    config: &Config,
    ini: &Config,
    args: &[&str],
) -> Result<Output, Failure> {
    alembic::migration(
        &app.ws,
        ini,
        Input::Closed,
        args,
        relay(app.verbose, &config.label, "revision"),
    )
    .await
}

/// `alembic revision` failed: what Alembic said, and whether it left a file (a post-write hook
/// fails after the file is written, and Alembic keeps it).
fn alembic_failed(
    config: &Config,
    dirs: &[PathBuf],
    before: &BTreeSet<PathBuf>,
    output: &Output,
) -> Failure {
    let mut f = diagnose("revision", output, &crate::remediation::Context::of(config));
    let appeared: Vec<PathBuf> = revision_files(dirs).difference(before).cloned().collect();
    let Some(file) = appeared.first() else {
        if !f.message.contains("nothing was written") {
            f.message = format!(
                "alembic revision failed, nothing was written: {}",
                f.message
            );
        }
        return f;
    };
    let shown = config.shown_path(file.to_str());
    // Alembic names the file by its absolute path: people read it relative to the root.
    for said in output.stdout.iter().filter_map(|l| generated_path(l)) {
        let said = said.to_string_lossy().into_owned();
        let relative = config.shown_path(Some(&said));
        f.message = f.message.replace(&said, &relative);
        f.fix = f.fix.replace(&said, &relative);
    }
    if f.file.is_none() {
        f = f.in_workspace(&config.root, file, None);
    }
    if !f.message.contains(&shown) {
        f.message = format!(
            "alembic revision failed after writing {shown} (the file is kept): {}",
            f.message
        );
    }
    f
}

/// Upgrade a scratch database to head and run `revision --autogenerate` against it; the scratch
/// database is dropped whatever happens (and by the cleanup job on Ctrl-C).
async fn autogenerate(
    app: &App,
    config: &Config,
    url: &crate::workspace::ini::DbUrl,
    args: &[&str],
) -> Result<(Output, Autogenerate), Failure> {
    let pg_dump = snapshot::tool(
        config,
        "new --autogenerate",
        Kind::NewAutogenerateUnsupported,
    )?;
    let source_db = url
        .database
        .as_deref()
        .map(crate::mask::percent_decode)
        .unwrap_or_else(|| "postgres".to_owned());
    // A copy when the database is on this history (faster than the whole history from empty,
    // and the same schema at head); otherwise (no database, no revision, a revision of another
    // branch) an empty database upgraded to head. Either way the models meet the schema the
    // migrations make, not the developer's database.
    let source = match inspect::inspect(&app.ws, config, Engine::Auto, app.verbose).await {
        Ok(i) if matches!(i.state, State::UpToDate | State::Behind) => Source::Copy,
        _ => Source::Empty,
    };
    let name = name_for(&source_db);
    let scratch_config = pointed_at(config, &name)?;
    probe_follows_url(app, &scratch_config, &name, "new --autogenerate").await?;
    let scratch = create(url, &name, source, &pg_dump).await?;
    let from = match scratch.made {
        Made::Empty => "an empty database".to_owned(),
        _ => format!("a copy of {source_db}"),
    };
    say(
        app,
        &format!(
            "{}: scratch database {name} ({from}); upgrading it to head, then alembic revision --autogenerate\n",
            config.label
        ),
    );
    let made = scratch.made.as_str();
    let result = async {
        let upgrade = alembic::migration(
            &app.ws,
            &scratch_config.config,
            Input::Closed,
            &["upgrade", "head"],
            relay(app.verbose, &config.label, "upgrade (scratch)"),
        )
        .await?;
        if !upgrade.success() {
            let mut f = diagnose(
                "upgrade",
                &upgrade,
                &crate::remediation::Context::of(&scratch_config.config),
            );
            f.message = format!(
                "upgrading the scratch database {name} to head failed, nothing was written: {}",
                f.message
            );
            f.database = Some(format!(
                "the scratch database {name} (dropped); {source_db} itself was not touched"
            ));
            return Err(f);
        }
        revision(app, config, &scratch_config.config, args).await
    }
    .await;
    let dropped = match scratch.drop().await {
        Ok(()) => true,
        Err(e) => {
            let failure = Failure::new(
                Kind::VerifyDropFailed,
                format!("the scratch database {name} could not be dropped: {e}"),
                "the server refused DROP DATABASE or stopped answering",
                format!(
                    "drop it by hand: psql {} -c 'DROP DATABASE \"{name}\" WITH (FORCE)'",
                    pg_dump.with_database("postgres").connection_args()
                ),
            );
            // Said on the side: an earlier failure is the one to report, and a revision Alembic
            // wrote must still get its shape and check (the report says `dropped: false`).
            crate::render::events::Reporter::process()
                .emit(crate::render::events::Event::FailureAside(&failure));
            false
        }
    };
    let output = result?;
    Ok((
        output,
        Autogenerate {
            database: name,
            made,
            from: (made != Made::Empty.as_str()).then_some(source_db),
            dropped,
        },
    ))
}

/// Every `.py` file directly in the versions directories.
fn revision_files(dirs: &[PathBuf]) -> BTreeSet<PathBuf> {
    dirs.iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect()
}

/// The file Alembic wrote: the one new file in the versions directories; without known
/// directories, the path of Alembic's `Generating <path> ...  done` line.
fn written_file(
    config: &Config,
    dirs: &[PathBuf],
    before: &BTreeSet<PathBuf>,
    output: &Output,
) -> Result<PathBuf, Failure> {
    let generating: Vec<PathBuf> = output
        .stdout
        .iter()
        .filter_map(|l| generated_path(l))
        .collect();
    let new: Vec<PathBuf> = if dirs.is_empty() {
        generating
    } else {
        revision_files(dirs).difference(before).cloned().collect()
    };
    match new.as_slice() {
        [one] => Ok(config.root.join(one)),
        _ => Err(Failure::new(
            Kind::NewNotWritten,
            format!(
                "alembic revision succeeded, but {} new revision files appeared{}",
                new.len(),
                if new.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        new.iter()
                            .map(|p| config.shown_path(p.to_str()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
            "Alembic wrote its file somewhere else than the versions directory db-migrate reads (version_locations, a template without `revision`), or something else changed the directory meanwhile",
            format!(
                "look at what Alembic said (rerun with -v), then db-migrate heads {}",
                select_flag(config)
            ),
        )),
    }
}

/// `Generating /path/to/versions/abc_msg.py ...  done` → the path.
fn generated_path(line: &str) -> Option<PathBuf> {
    let rest = line.trim().strip_prefix("Generating ")?;
    let path = rest.strip_suffix("done")?.trim_end().strip_suffix("...")?;
    Some(PathBuf::from(path.trim_end()))
}

/// The file's revision and down_revision, read statically.
fn ids_of(path: &Path, src: &[u8]) -> Option<(String, Vec<String>)> {
    match reader::read_file(path, src) {
        reader::Read::Revision(r) => Some((r.id, r.parents)),
        _ => None,
    }
}

/// The file as written: the revision on `parent`, the only head, and check's
/// `part-of-comment` and `docstring-ids` rules quiet on it.
async fn check_written(
    app: &App,
    config: &Config,
    path: &Path,
    id: &str,
    parent: Option<&str>,
    part_of: bool,
) -> Result<Graph, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| unverified(config, path, format!("cannot read it back: {e}")))?;
    let Some((read_id, parents)) = ids_of(path, &bytes) else {
        return Err(unverified(
            config,
            path,
            "its revision and down_revision no longer read statically".to_owned(),
        ));
    };
    let wanted: Vec<String> = parent.map(str::to_owned).into_iter().collect();
    if read_id != id || parents != wanted {
        return Err(unverified(
            config,
            path,
            format!(
                "it says revision {read_id} on {}, not {id} on {}",
                if parents.is_empty() {
                    "None".to_owned()
                } else {
                    parents.join(", ")
                },
                parent.unwrap_or("None")
            ),
        ));
    }
    if part_of
        && crate::heads::released::part_of(&bytes) == crate::heads::released::Released::Unknown
    {
        return Err(unverified(
            config,
            path,
            "it has no `# Part of:` line".to_owned(),
        ));
    }
    let (graph, _) = inspect::load_graph(&app.ws, config, Engine::Auto, app.verbose).await?;
    let heads: Vec<&str> = graph
        .heads()
        .iter()
        .map(|&h| graph.rev(h).id.as_str())
        .collect();
    if heads != [id] {
        return Err(unverified(
            config,
            path,
            format!("the heads are now {}, not {id} alone", heads.join(", ")),
        ));
    }
    let component = Component {
        name: &config.label,
        root: &config.root,
        graph: &graph,
        base: None,
        head_file: None,
    };
    let cx = Context::new(&component);
    let relative = path.strip_prefix(&config.root).unwrap_or(path);
    let findings: Vec<String> = [part_of_comment::check(&cx), docstring_ids::check(&cx)]
        .into_iter()
        .flatten()
        .filter(|f| f.file == relative)
        .map(|f| {
            format!(
                "{}:{}: {} ({})",
                f.file.display(),
                f.line,
                f.message,
                f.rule
            )
        })
        .collect();
    if !findings.is_empty() {
        return Err(unverified(config, path, findings.join("; ")));
    }
    Ok(graph)
}

fn unverified(config: &Config, path: &Path, why: String) -> Failure {
    let shown = config.shown_path(path.to_str());
    Failure::new(
        Kind::NewUnverified,
        format!("Alembic wrote {shown}, but it is not what was asked: {why}"),
        "the template (script.py.mako), a post-write hook or a change meanwhile made the file differ from the revision db-migrate asked Alembic for",
        format!(
            "fix {shown} by hand (or delete it and rerun db-migrate new), then db-migrate check {}",
            select_flag(config)
        ),
    )
    .in_workspace(&config.root, path, None)
}

/// Write `id` to the component's `head.txt` (where check's `head-file` rule looks for it) and
/// read it back; returns its path relative to the root.
fn write_head_file(config: &Config, graph: &Graph, id: &str) -> Result<String, Failure> {
    let cannot = |why: String| {
        Failure::new(
            Kind::NewHeadFile,
            format!("the revision {id} was written, but head.txt was not: {why}"),
            "[tool.db-migrate] head-file = true asks for the head's id in head.txt in the versions directory",
            format!(
                "write {id} into head.txt in the versions directory by hand, then db-migrate check {}",
                select_flag(config)
            ),
        )
    };
    let place = Place::for_config(config, graph)
        .ok_or_else(|| cannot("db-migrate cannot tell the versions directory".to_owned()))?;
    let shown = config.shown_path(place.path.to_str());
    if let Some(rewrite) =
        Rewrite::plan(&place.path, id).map_err(|e| cannot(format!("{shown}: {e}")))?
    {
        rewrite
            .write()
            .map_err(|e| cannot(format!("{shown}: {e}")))?;
    }
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alembic_generating_line_names_the_file() {
        assert_eq!(
            generated_path("Generating /tmp/x/al/versions/cddf2ada4749_first_one.py ...  done"),
            Some(PathBuf::from(
                "/tmp/x/al/versions/cddf2ada4749_first_one.py"
            ))
        );
        assert_eq!(generated_path("INFO  [alembic] something"), None);
    }
}
