//! One module per subcommand. Each returns the exit code, or a failure for `run` to render.

pub mod check;
pub mod fix_heads;
pub mod migrate;
pub mod report;
mod reports;
pub mod roundtrip;
pub mod status;
mod steps;
pub mod verify;

use crate::cli::Format;
use crate::workspace::Workspace;

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
                if self.format == crate::cli::Format::Text {
                    eprintln!(
                        "{}: waiting up to {}s for the database to accept connections…",
                        config.label,
                        limit.as_secs()
                    );
                }
            })
            .await
            {
                let output = crate::alembic::Output {
                    code: Some(1),
                    stderr: vec![last],
                    ..Default::default()
                };
                let mut failure = crate::failure::remediation::diagnose(
                    "connect",
                    &output,
                    &crate::failure::remediation::Context::of(config),
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
