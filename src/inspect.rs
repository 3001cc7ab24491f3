//! Reading a component's situation: the revision graph, the database's revisions and the state.
//!
//! Two engines give the same answer. The native engine reads the revision files statically and
//! `alembic_version` over tokio-postgres, in milliseconds. The Alembic engine runs `current` and
//! `history --verbose` concurrently. `auto` uses the native engine unless something is not
//! understood statically (a computed value, a dialect or URL option it does not speak), then Alembic.

use std::sync::LazyLock;

use regex::Regex;

use crate::alembic::{self, parse, Stream};
use crate::event::{self, Event, Note};
use crate::failure::{Failure, Kind};
use crate::graph::{Graph, GraphError};
use crate::remediation::{self, Context};
use crate::revisions::{self, ReadError};
use crate::state::{self, State};
use crate::workspace::{site_packages, Config, Workspace};
use crate::{postgres, sqlite};

static DUPLICATE_WARNING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"UserWarning: Revision (\S+) is present more than once").expect("valid regex")
});
static UNKNOWN_DB_REVISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Can't locate revision identified by '([^']*)'").expect("valid regex")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Native unless something is not understood statically, then Alembic.
    Auto,
    /// Read revision files and alembic_version directly; fail if that is not possible.
    Native,
    /// Run `alembic current` and `alembic history --verbose`.
    Alembic,
}

#[derive(Debug, Clone)]
pub struct Inspection {
    pub config: Config,
    pub graph: Graph,
    pub current: Vec<String>,
    pub state: State,
    /// Graph indices, in apply order.
    pub pending: Vec<usize>,
    /// The engine that produced this: `Native` or `Alembic`.
    pub engine: Engine,
    /// For a diverged component, its branches explained (filled in by the commands that show it).
    pub explanation: Option<Box<crate::heads::Explanation>>,
    /// In the unknown-revision state, where git still holds the revisions this checkout lacks
    /// (filled in by the commands that show it).
    pub found_in_git: Option<Box<crate::sync::find::Search>>,
}

impl Inspection {
    /// Explain the branches of a diverged component (asks git; nothing to do otherwise).
    pub fn explain_divergence(&mut self, upstream: Option<&str>) {
        if self.state == State::Diverged {
            self.explanation =
                crate::heads::explain(&self.config.root, &self.graph, upstream).map(Box::new);
        }
    }

    /// In the unknown-revision state, look in git (branches, reflog) for the revisions this
    /// checkout lacks; nothing to do otherwise. A repository that cannot be asked is no answer.
    pub fn find_in_git(&mut self) {
        if self.state != State::UnknownRevision || self.found_in_git.is_some() {
            return;
        }
        match crate::sync::search(&self.config, &self.graph, &self.current) {
            Ok(search) => self.found_in_git = Some(Box::new(search)),
            Err(why) => tracing::debug!("no git search for {}: {why}", self.config.label),
        }
    }

    /// The revisions this checkout lacks were all found in git: `sync` can walk them back.
    pub fn syncable(&self) -> Option<&crate::sync::find::Search> {
        self.found_in_git
            .as_deref()
            .filter(|s| s.missing.is_empty() && !s.found.is_empty())
    }

    pub fn current_indices(&self) -> Vec<usize> {
        self.current
            .iter()
            .filter_map(|c| self.graph.index_of(c))
            .collect()
    }

    /// The heads, in the order `alembic heads` prints them.
    pub fn head_ids(&self) -> Vec<String> {
        crate::heads::alembic_heads(&self.graph)
            .into_iter()
            .map(|i| self.graph.rev(i).id.clone())
            .collect()
    }
}

/// A line printer for `-v`: every Alembic line, masked, on stderr, tagged with its origin.
pub fn relay(verbose: bool, label: &str, command: &str) -> impl FnMut(Stream, &str) {
    let (label, command) = (label.to_owned(), command.to_owned());
    move |_, line| {
        event::emit_verbose(
            verbose,
            Event::Relayed {
                component: &label,
                command: &command,
                line,
            },
        );
    }
}

/// Why the native engine stepped aside.
enum Native<T> {
    Done(T),
    Fallback(String),
}

pub async fn inspect(
    ws: &Workspace,
    config: &Config,
    engine: Engine,
    verbose: bool,
) -> Result<Inspection, Failure> {
    if engine != Engine::Alembic {
        match inspect_native(ws, config).await {
            Ok(Native::Done(i)) => return Ok(i),
            Ok(Native::Fallback(why)) => fallback(config, engine, &why)?,
            Err(failure) => retry_with_alembic(config, engine, verbose, failure)?,
        }
    }
    let (graph, current) = tokio::join!(
        graph_alembic(ws, config, verbose),
        current_alembic(ws, config, verbose)
    );
    let graph = graph?;
    require_scripts(config, &graph)?;
    let current = current?.map_err(|output| diagnose_current(config, &graph, &output))?;
    Ok(classified(config, graph, current, Engine::Alembic))
}

/// What is still known about a component after a failure, for reports.
pub enum Known {
    Nothing,
    /// The revision files, but not the database.
    Graph(Graph),
    Inspection(Box<Inspection>),
}

/// Read what can be read after a failure: natively only (no Python), the database for at most a
/// second, so a report of an unreachable server does not wait twice.
pub async fn known(ws: &Workspace, config: &Config) -> Known {
    let limit = std::time::Duration::from_secs(1);
    if let Ok(Ok(Native::Done(i))) = tokio::time::timeout(limit, inspect_native(ws, config)).await {
        return Known::Inspection(Box::new(i));
    }
    match graph_native(ws, config).await {
        Ok(Native::Done(graph)) => Known::Graph(graph),
        _ => Known::Nothing,
    }
}

/// Faults the revision files show for certain, whichever engine reads them.
const FILE_FAULTS: [Kind; 4] = [
    Kind::BadRevisionFile,
    Kind::DuplicateRevision,
    Kind::NoMigrationScripts,
    Kind::RevisionCycle,
];

/// With `auto`, a native failure (database unreachable, an inconsistent graph) is asked again
/// through Alembic, so that the report rests on what the real tool says; `native` reports it.
fn retry_with_alembic(
    config: &Config,
    engine: Engine,
    verbose: bool,
    failure: Failure,
) -> Result<(), Failure> {
    // A server that never answered within 5 s would keep Alembic waiting a minute: report it.
    // What the files say for certain (Alembic only warns about a duplicate id) is reported too.
    if engine == Engine::Native
        || failure.kind == Kind::ConnectionTimeout
        || FILE_FAULTS.contains(&failure.kind)
    {
        return Err(failure);
    }
    // The run fails either way, and the failure is reported: the retry is said under -v only.
    event::emit_verbose(
        verbose,
        Event::Note(Note::NativeRetry {
            component: &config.label,
            message: &failure.message,
        }),
    );
    Ok(())
}

/// The revision graph alone (`heads`, `history`): no database needed.
pub async fn load_graph(
    ws: &Workspace,
    config: &Config,
    engine: Engine,
    verbose: bool,
) -> Result<(Graph, Engine), Failure> {
    if engine != Engine::Alembic {
        match graph_native(ws, config).await {
            Ok(Native::Done(g)) => {
                require_scripts(config, &g)?;
                return Ok((g, Engine::Native));
            }
            Ok(Native::Fallback(why)) => fallback(config, engine, &why)?,
            // The graph alone needs no database: a missing parent the files show is certain
            // (the migrating commands still ask Alembic, for its own line about it).
            Err(failure) if failure.kind == Kind::BadRevisionGraph => return Err(failure),
            Err(failure) => retry_with_alembic(config, engine, verbose, failure)?,
        }
    }
    let graph = graph_alembic(ws, config, verbose).await?;
    require_scripts(config, &graph)?;
    Ok((graph, Engine::Alembic))
}

/// Re-read only the database side after a run, keeping the graph and the engine.
pub async fn refresh(
    ws: &Workspace,
    inspection: &Inspection,
    verbose: bool,
) -> Result<Inspection, Failure> {
    let config = &inspection.config;
    let graph = inspection.graph.clone();
    let native = match inspection.engine {
        Engine::Native => current_native(config).await?,
        _ => Native::Fallback(String::new()),
    };
    let current = match native {
        Native::Done(current) => current,
        Native::Fallback(_) => current_alembic(ws, config, verbose)
            .await?
            .map_err(|output| diagnose_current(config, &graph, &output))?,
    };
    Ok(classified(config, graph, current, inspection.engine))
}

fn diagnose_current(config: &Config, graph: &Graph, output: &alembic::Output) -> Failure {
    remediation::diagnose(
        "current",
        output,
        &Context {
            config,
            target: None,
            graph: Some(graph),
            offline: false,
        },
    )
}

fn classified(
    config: &Config,
    graph: Graph,
    mut current: Vec<String>,
    engine: Engine,
) -> Inspection {
    // alembic_version has no order; neither does the report.
    current.sort();
    let (state, pending) = state::classify(&graph, &current);
    Inspection {
        config: config.clone(),
        graph,
        current,
        state,
        pending,
        engine,
        explanation: None,
        found_in_git: None,
    }
}

fn fallback(config: &Config, engine: Engine, why: &str) -> Result<(), Failure> {
    if engine == Engine::Native {
        return Err(Failure::new(
            Kind::NativeUnsupported,
            format!("the native engine cannot read {}: {why}", config.label),
            "--engine native reads revision files and alembic_version without Python, and this needs Python",
            "use --engine auto (the default) or --engine alembic",
        ));
    }
    // Always said: the Alembic engine costs seconds where the native one costs milliseconds.
    event::emit(Event::Note(Note::AlembicEngine {
        component: &config.label,
        why,
    }));
    Ok(())
}

async fn inspect_native(ws: &Workspace, config: &Config) -> Result<Native<Inspection>, Failure> {
    // The database round trip overlaps with reading the files.
    let (current, graph) = tokio::join!(current_native(config), graph_native(ws, config));
    let graph = match graph? {
        Native::Done(g) => g,
        Native::Fallback(why) => return Ok(Native::Fallback(why)),
    };
    require_scripts(config, &graph)?;
    match current {
        Ok(Native::Done(current)) => Ok(Native::Done(classified(
            config,
            graph,
            current,
            Engine::Native,
        ))),
        Ok(Native::Fallback(why)) => Ok(Native::Fallback(why)),
        Err(mut failure) => {
            // Same remediation as the Alembic path; the graph explains nothing here.
            failure.database = None;
            Err(failure)
        }
    }
}

/// Files are read on a blocking thread, so the database round trip and other components proceed.
async fn graph_native(ws: &Workspace, config: &Config) -> Result<Native<Graph>, Failure> {
    let (ini, ws_owned) = (config.ini.clone(), ws.clone());
    let started = std::time::Instant::now();
    let read = tokio::task::spawn_blocking(move || {
        let root = &ws_owned.root;
        match revisions::read_all(&ini, root, &[]) {
            // Installed into site-packages (a wheel, an editable install): ask the launcher's
            // Python once where it imports the package from, then read the files natively.
            Err(ReadError::PackageNotFound(package)) => {
                match site_packages::import_base(&ws_owned, &package) {
                    Ok(base) => revisions::read_all(&ini, root, &[base]),
                    Err(why) => Err(ReadError::NotStatic(format!(
                        "the script package {package} is not in the checkout, and {why}"
                    ))),
                }
            }
            other => other,
        }
    })
    .await
    .unwrap_or_else(|e| Err(ReadError::NotStatic(format!("the file reader failed: {e}"))));
    tracing::debug!(component = %config.label, elapsed = ?started.elapsed(), "read revision files");
    match read {
        Ok(revs) => match Graph::new(revs) {
            Ok(graph) => Ok(Native::Done(graph)),
            Err(GraphError::Duplicate { id, paths }) => Err(duplicate(config, &id, &paths)),
            Err(GraphError::Cycle { ids }) => Err(cycle(config, &ids)),
            Err(GraphError::Missing { id, path, missing }) => {
                Err(missing_parent(config, &id, &path, &missing))
            }
        },
        Err(ReadError::NotStatic(why)) => Ok(Native::Fallback(why)),
        Err(ReadError::PackageNotFound(package)) => Ok(Native::Fallback(format!(
            "the script package {package} is not in the checkout"
        ))),
        Err(ReadError::Invalid(why)) => Err(Failure::new(
            Kind::BadRevisionFile,
            format!(
                "a {} revision file is invalid: {}",
                config.label,
                shown_path(config, &why)
            ),
            "Alembic imports every revision file and cannot load this one, so every command fails",
            "fix the file at the line named above (git pull first if it is not yours)",
        )),
    }
}

async fn current_native(config: &Config) -> Result<Native<Vec<String>>, Failure> {
    let Some(url) = &config.url else {
        return Ok(Native::Fallback(
            "the ini has no sqlalchemy.url (env.py may build it)".into(),
        ));
    };
    let started = std::time::Instant::now();
    let result = match postgres::connect_config(url) {
        Ok(pg) => postgres::current(&pg).await,
        Err(pg_why) => match sqlite::database_path(url, &config.root) {
            Ok(path) => sqlite::current(&path),
            Err(_) if url.is_postgres() => return Ok(Native::Fallback(pg_why)),
            Err(lite_why) => return Ok(Native::Fallback(lite_why)),
        },
    };
    tracing::debug!(component = %config.label, elapsed = ?started.elapsed(), "read alembic_version");
    match result {
        Ok(current) => Ok(Native::Done(current)),
        Err(text) => {
            let output = alembic::Output {
                code: Some(1),
                stderr: vec![text],
                ..Default::default()
            };
            Err(remediation::diagnose(
                "current",
                &output,
                &Context::of(config),
            ))
        }
    }
}

/// A down_revision (or depends_on) naming a revision no file defines. The kind stays
/// `bad-revision-graph`: the migrating commands ask Alembic for its own line about it.
fn missing_parent(config: &Config, id: &str, path: &str, missing: &str) -> Failure {
    Failure::new(
        Kind::BadRevisionGraph,
        format!(
            "{} migration {id} ({}) names {missing} as its parent or dependency, but no such migration exists",
            config.label,
            shown_path(config, path)
        ),
        "code not fully pulled, or a migration file was deleted or renamed on this branch",
        format!("git pull; if {missing} was yours and removed on purpose, repoint the down_revision (or depends_on) of {id}"),
    )
    .about(id)
    .in_workspace(&config.root, std::path::Path::new(path), None)
}

/// Revisions whose down_revisions lead back to themselves: Alembic refuses every command.
fn cycle(config: &Config, ids: &[String]) -> Failure {
    Failure::new(
        Kind::RevisionCycle,
        format!(
            "the {} revisions {} form a cycle: following their down_revisions leads back to the start",
            config.label,
            ids.join(", ")
        ),
        "a down_revision was pointed at a revision that descends from it (Alembic fails every command with \"Cycle is detected\")",
        "set the down_revision of the one you changed back to a revision outside the cycle (git log -p on these files shows which edit closed it)",
    )
}

/// The same id in two files: Alembic only warns and keeps one of them, silently.
fn duplicate(config: &Config, id: &str, paths: &[String]) -> Failure {
    let files: Vec<String> = paths.iter().map(|p| shown_path(config, p)).collect();
    Failure::new(
        Kind::DuplicateRevision,
        format!(
            "revision {id} of {} is defined in {} files: {}",
            config.label,
            files.len(),
            files.join(", ")
        ),
        "two migration files carry the same revision id (a copied file, or a rename that left the old file behind); Alembic keeps only one of them and warns",
        "delete the stray copy, or give your own migration a new id (and fix the down_revision that names it)",
    )
    .about(id)
}

/// Paths in messages relative to the workspace root, as a developer would type them.
fn shown_path(config: &Config, text: &str) -> String {
    let root = format!("{}/", config.root.display());
    text.replace(&root, "")
}

/// A config whose versions directories hold no revision at all: `upgrade` would have nothing to
/// run, and `status` would say `no-revision` forever.
fn require_scripts(config: &Config, graph: &Graph) -> Result<(), Failure> {
    if !graph.is_empty() {
        return Ok(());
    }
    let dirs = revisions::locate::locate(&config.ini, &config.root, &[])
        .map(|l| {
            l.dirs
                .iter()
                .map(|d| shown_path(config, &d.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|_| {
            format!(
                "the versions directory of {}",
                config.ini.get("alembic", "script_location").unwrap_or("?")
            )
        });
    Err(Failure::new(
        Kind::NoMigrationScripts,
        format!("no migration scripts were found for {} in {dirs}", config.label),
        "the versions directory is empty or missing: a branch without this component's migrations, or a script_location/version_locations pointing elsewhere",
        format!(
            "git pull (or check out the branch with the migrations), and check script_location in {}",
            config.ini_arg
        ),
    ))
}

fn bad_graph(config: &Config, why: &str) -> Failure {
    Failure::new(
        Kind::BadRevisionGraph,
        format!("the {} revision graph is invalid: {why}", config.label),
        "the migration files contradict each other",
        "fix the named files (git pull first if they are not yours)",
    )
}

async fn graph_alembic(ws: &Workspace, config: &Config, verbose: bool) -> Result<Graph, Failure> {
    let output = alembic::read_only(
        ws,
        config,
        &["history", "--verbose"],
        relay(verbose, &config.label, "history"),
    )
    .await?;
    if !output.success() {
        return Err(remediation::diagnose(
            "history",
            &output,
            &Context::of(config),
        ));
    }
    if let Some(id) = output
        .stderr
        .iter()
        .find_map(|l| DUPLICATE_WARNING.captures(l).map(|c| c[1].to_owned()))
    {
        let paths = revisions::files_defining(&config.ini, &ws.root, &id);
        return Err(duplicate(config, &id, &paths));
    }
    Graph::new(parse::history_verbose(&output.stdout))
        .map_err(|e| bad_graph(config, &e.to_string()))
}

/// The database's revisions; a revision the scripts don't have is returned, not an error.
/// Any other failure of Alembic returns its output for diagnosis (inner `Err`); a call that timed
/// out or was interrupted is already explained (outer `Err`).
async fn current_alembic(
    ws: &Workspace,
    config: &Config,
    verbose: bool,
) -> Result<Result<Vec<String>, alembic::Output>, Failure> {
    let output = match alembic::read_only(
        ws,
        config,
        &["current"],
        relay(verbose, &config.label, "current"),
    )
    .await
    {
        Ok(output) => output,
        Err(failure) if failure.kind == Kind::LauncherFailed => {
            return Ok(Err(alembic::Output {
                code: Some(1),
                stderr: vec![failure.message],
                ..Default::default()
            }))
        }
        Err(failure) => return Err(failure),
    };
    if output.success() {
        return Ok(Ok(parse::current(&output.stdout)));
    }
    if let Some(rev) = parse::failed(&output.stdout)
        .as_deref()
        .and_then(|f| UNKNOWN_DB_REVISION.captures(f).map(|c| c[1].to_owned()))
    {
        return Ok(Ok(vec![rev]));
    }
    Ok(Err(output))
}
