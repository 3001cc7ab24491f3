//! Reading a component's situation through Alembic: `current` and `history --verbose`, run
//! concurrently, turned into a revision graph, the database's revisions and a state.

use std::sync::LazyLock;

use regex::Regex;

use crate::alembic::{self, parse, Stream};
use crate::error::Failure;
use crate::graph::Graph;
use crate::mask;
use crate::remediation::{self, Context};
use crate::state::{self, State};
use crate::workspace::{Config, Workspace};

static UNKNOWN_DB_REVISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Can't locate revision identified by '([^']*)'").expect("valid regex")
});

#[derive(Debug, Clone)]
pub struct Inspection {
    pub config: Config,
    pub graph: Graph,
    pub current: Vec<String>,
    pub state: State,
    /// Graph indices, in apply order.
    pub pending: Vec<usize>,
}

impl Inspection {
    pub fn current_indices(&self) -> Vec<usize> {
        self.current
            .iter()
            .filter_map(|c| self.graph.index_of(c))
            .collect()
    }

    pub fn head_ids(&self) -> Vec<String> {
        self.graph
            .heads()
            .into_iter()
            .map(|i| self.graph.rev(i).id.clone())
            .collect()
    }
}

/// A line printer for `-v`: every Alembic line, masked, on stderr, tagged with its origin.
pub fn relay(verbose: bool, label: &str, command: &str) -> impl FnMut(Stream, &str) {
    let tag = format!("[{label} {command}]");
    move |_, line| {
        if verbose {
            eprintln!("{tag} {}", mask::mask(line));
        }
    }
}

pub async fn inspect(
    ws: &Workspace,
    config: &Config,
    verbose: bool,
) -> Result<Inspection, Failure> {
    let (graph, current) = tokio::join!(
        load_graph(ws, config, verbose),
        read_current(ws, config, verbose)
    );
    let graph = graph?;
    let current = current.map_err(|output| {
        remediation::diagnose(
            "current",
            &output,
            &Context {
                config,
                target: None,
                graph: Some(&graph),
            },
        )
    })?;
    let (state, pending) = state::classify(&graph, &current);
    Ok(Inspection {
        config: config.clone(),
        graph,
        current,
        state,
        pending,
    })
}

/// Re-read only the database side after a run, keeping the graph.
pub async fn refresh(
    ws: &Workspace,
    inspection: &Inspection,
    verbose: bool,
) -> Result<Inspection, Failure> {
    let config = &inspection.config;
    let current = read_current(ws, config, verbose).await.map_err(|output| {
        remediation::diagnose(
            "current",
            &output,
            &Context {
                config,
                target: None,
                graph: Some(&inspection.graph),
            },
        )
    })?;
    let (state, pending) = state::classify(&inspection.graph, &current);
    Ok(Inspection {
        current,
        state,
        pending,
        ..inspection.clone()
    })
}

pub async fn load_graph(ws: &Workspace, config: &Config, verbose: bool) -> Result<Graph, Failure> {
    let output = alembic::run(
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
            &Context {
                config,
                target: None,
                graph: None,
            },
        ));
    }
    Graph::new(parse::history_verbose(&output.stdout)).map_err(|e| {
        Failure::new(
            "bad-revision-graph",
            format!("the {} revision graph is invalid: {e}", config.label),
            "the migration files contradict each other",
            "fix the named files (git pull first if they are not yours)",
        )
    })
}

/// The database's revisions; a revision the scripts don't have is returned, not an error.
/// Any other failure returns Alembic's output for diagnosis.
async fn read_current(
    ws: &Workspace,
    config: &Config,
    verbose: bool,
) -> Result<Vec<String>, alembic::Output> {
    let output = match alembic::run(
        ws,
        config,
        &["current"],
        relay(verbose, &config.label, "current"),
    )
    .await
    {
        Ok(output) => output,
        Err(failure) => {
            return Err(alembic::Output {
                code: Some(1),
                stderr: vec![failure.message],
                ..Default::default()
            });
        }
    };
    if output.success() {
        return Ok(parse::current(&output.stdout));
    }
    if let Some(caps) = parse::failed(&output.stdout)
        .as_deref()
        .and_then(|f| UNKNOWN_DB_REVISION.captures(f).map(|c| c[1].to_owned()))
    {
        return Ok(vec![caps]);
    }
    Err(output)
}
