//! One module per subcommand, each taking its resolved options ([`crate::settings`]) and
//! returning the exit code, or a failure for `main` to render.

pub mod check;
pub mod fix_heads;
pub mod hooks;
pub mod migrate;
pub mod new;
pub mod report;
pub mod roundtrip;
pub mod skill;
pub mod status;
mod steps;
pub mod sync;
pub mod verify;

use crate::exit_code;
use crate::failure::Failure;
use crate::render::Format;
use crate::settings::{Settings, Task};
use crate::workspace::Workspace;

/// Do what `settings` ask: the answers that need no workspace first, then discover the workspace
/// and run the command.
pub async fn run(settings: &Settings) -> Result<u8, Failure> {
    match &settings.task {
        Task::Completions(shell) => {
            crate::render::page(&crate::cli::completions(*shell));
            return Ok(exit_code::OK);
        }
        Task::Man => {
            crate::render::page(&crate::cli::man()?);
            return Ok(exit_code::OK);
        }
        Task::Schema => {
            crate::render::page(&crate::report::schema());
            return Ok(exit_code::OK);
        }
        Task::Explain(rule) => return check::explain(rule),
        Task::Skill => return Ok(skill::run()),
        _ => {}
    }
    let ws = Workspace::discover(
        settings.workdir.as_deref(),
        settings.task.config(),
        settings.python.as_deref(),
    )?;
    let app = App {
        ws: Workspace {
            alembic_timeout: settings.alembic_timeout,
            ..ws
        },
        format: settings.format,
        verbose: settings.verbose,
        wait: settings.wait,
    };
    match &settings.task {
        Task::Status(opts) => status::run(&app, opts).await,
        Task::Migrate(opts) => migrate::run(&app, opts).await,
        Task::Roundtrip(opts) => roundtrip::run(&app, opts).await,
        Task::FixHeads(opts) => fix_heads::run(&app, opts).await,
        Task::Sync(opts) => sync::run(&app, opts).await,
        Task::Hooks(task) => hooks::run(&app, *task).await,
        Task::Check(opts) => check::run(&app, opts).await,
        Task::Verify(opts) => verify::run(&app, opts).await,
        Task::New(opts) => new::run(&app, opts).await,
        Task::Report(opts) => report::run(&app, opts).await,
        // Answered before a workspace is looked for.
        Task::Completions(_) | Task::Man | Task::Schema | Task::Explain(_) => Ok(exit_code::OK),
        Task::Skill => Ok(exit_code::OK),
    }
}

/// The async runtime: one thread, because children are spawned from the main thread, which lives
/// as long as the process, so the parent-death signal fires only when db-migrate itself dies.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                crate::failure::Kind::Runtime,
                format!("cannot start the async runtime: {e}"),
                "the system refused db-migrate a resource it needs at start (threads, file descriptors or an epoll instance)",
                "check ulimit -n and ulimit -u, then rerun",
            )
        })
}

/// A bug that unwound to `main`, as a failure (the panic hook has printed where on stderr).
pub fn panicked(panic: &(dyn std::any::Any + Send)) -> Failure {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Failure::new(
        crate::failure::Kind::InternalError,
        format!(
            "db-migrate failed unexpectedly: {}",
            crate::mask::mask(&what)
        ),
        "a bug in db-migrate (the message above on stderr says where)",
        "rerun with RUST_BACKTRACE=1 DB_MIGRATE_LOG=debug and report the output as a bug",
    )
}

/// What every command needs.
pub struct App {
    pub ws: Workspace,
    pub format: Format,
    pub verbose: bool,
    /// `--wait`: how long to wait for each database to accept connections.
    pub wait: Option<std::time::Duration>,
}

impl App {
    /// `--wait`: block until every PostgreSQL database among `configs` accepts connections.
    pub async fn wait_for_databases(
        &self,
        configs: &[crate::workspace::Config],
    ) -> Result<(), crate::failure::Failure> {
        let Some(limit) = self.wait else {
            return Ok(());
        };
        for config in configs {
            let Some(pg) = config
                .url
                .as_ref()
                .and_then(|u| crate::postgres::connect_config(u).ok())
            else {
                continue;
            };
            if let Err(last) = crate::postgres::wait_until_ready(&pg, limit, || {
                crate::render::events::Reporter::new(self.format, false).emit(
                    crate::render::events::Event::WaitingForDatabase {
                        component: &config.label,
                        limit_secs: limit.as_secs(),
                    },
                );
            })
            .await
            {
                let output = crate::alembic::Output {
                    code: Some(1),
                    stderr: vec![last],
                    ..Default::default()
                };
                let mut failure = crate::remediation::diagnose(
                    "connect",
                    &output,
                    &crate::remediation::Context::of(config),
                );
                failure.message = format!(
                    "{} did not accept connections within {}s: {}",
                    config.label,
                    limit.as_secs(),
                    failure.message
                );
                return Err(failure);
            }
        }
        Ok(())
    }
}
