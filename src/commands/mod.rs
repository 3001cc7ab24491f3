//! One module per subcommand. Each returns the exit code, or a failure for `run` to render.

pub mod migrate;
pub mod report;
pub mod status;

use crate::cli::Format;
use crate::workspace::Workspace;

/// What every command needs.
pub struct App {
    pub ws: Workspace,
    pub format: Format,
    pub verbose: bool,
}
