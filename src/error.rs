//! The one shape every failure takes: what happened, the Alembic line that showed it, the cause and
//! the next step, plus the exit code. Rendered in one place (`render`).

use serde::Serialize;

use crate::exit_code;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// Stable identifier, e.g. `multiple-heads`, `connection-refused`, `config-missing`.
    pub kind: String,
    /// The headline after `error: `.
    pub message: String,
    /// The Alembic output line that identified the failure (masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alembic_line: Option<String>,
    pub cause: String,
    pub fix: String,
    /// Where the database was left, when it could be checked after a failed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip)]
    pub exit: u8,
}

impl Failure {
    pub fn new(
        kind: &str,
        message: impl Into<String>,
        cause: impl Into<String>,
        fix: impl Into<String>,
    ) -> Failure {
        Failure {
            kind: kind.to_owned(),
            message: message.into(),
            alembic_line: None,
            cause: cause.into(),
            fix: fix.into(),
            database: None,
            exit: exit_code::FAILED,
        }
    }

    pub fn usage(kind: &str, message: impl Into<String>, fix: impl Into<String>) -> Failure {
        Failure {
            exit: exit_code::USAGE,
            ..Failure::new(kind, message, "invalid command line", fix)
        }
    }

    pub fn with_alembic_line(mut self, line: Option<String>) -> Failure {
        self.alembic_line = line;
        self
    }
}
