//! The one shape every failure takes: what happened, the Alembic line that showed it, the cause and
//! the next step, plus the exit code (from the kind). Rendered in one place (`render`).

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Serialize;

mod kind;

pub use kind::Kind;

#[derive(Debug, Clone, Serialize, JsonSchema, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// Stable identifier, e.g. `multiple-heads`, `connection-refused`, `config-missing`.
    pub kind: Kind,
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
    /// The revision the failure is about, when one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The file the failure is about (a migration, a config), relative to the workspace root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The line of `file` the failure points at (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The database server, as `host:port` (never with a password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

impl Failure {
    pub fn new(
        kind: Kind,
        message: impl Into<String>,
        cause: impl Into<String>,
        fix: impl Into<String>,
    ) -> Failure {
        Failure {
            kind,
            message: message.into(),
            alembic_line: None,
            cause: cause.into(),
            fix: fix.into(),
            database: None,
            revision: None,
            file: None,
            line: None,
            server: None,
        }
    }

    /// A failure of the command line itself (a usage kind: exit 2).
    pub fn usage(kind: Kind, message: impl Into<String>, fix: impl Into<String>) -> Failure {
        debug_assert_eq!(
            kind.code(),
            crate::exit_code::USAGE,
            "{kind} is not a usage kind"
        );
        Failure::new(kind, message, "invalid command line", fix)
    }

    pub fn with_alembic_line(mut self, line: Option<String>) -> Failure {
        self.alembic_line = line;
        self
    }

    /// The file (relative to the workspace root) and line the failure points at.
    pub fn at_file(mut self, file: impl Into<PathBuf>, line: Option<usize>) -> Failure {
        self.file = Some(file.into());
        self.line = line;
        self
    }

    /// As `at_file`, for a path that may be absolute: made relative to the workspace `root`, and
    /// left out when it lies outside the workspace.
    pub fn in_workspace(self, root: &Path, path: &Path, line: Option<usize>) -> Failure {
        match relative(root, path) {
            Some(file) => self.at_file(file, line),
            None => self,
        }
    }

    /// The server the failure is about, as `host:port` (never with a password).
    pub fn on_server(mut self, host_port: String) -> Failure {
        self.server = Some(host_port);
        self
    }

    /// The revision the failure is about.
    pub fn about(mut self, revision: impl Into<String>) -> Failure {
        self.revision = Some(revision.into());
        self
    }
}

/// `path` relative to the workspace `root` (a relative path is taken as one already); `None` for
/// a file outside the workspace.
pub fn relative(root: &Path, path: &Path) -> Option<PathBuf> {
    if path.is_relative() {
        return Some(path.to_path_buf());
    }
    path.strip_prefix(root).ok().map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields_are_in_json_only_when_known_and_masked() {
        let bare = Failure::new(Kind::ConnectionRefused, "m", "c", "f");
        let json: serde_json::Value =
            serde_json::from_str(&crate::render::json::failure(&bare)).unwrap();
        let fields: Vec<&String> = json["error"].as_object().unwrap().keys().collect();
        assert_eq!(fields, ["cause", "fix", "kind", "message"]);
        assert_eq!(json["error"]["kind"], "connection-refused");

        let mut known = bare.at_file("versions/postgresql://u:hunter2@h/a.py", Some(3));
        known.revision = Some("a1".into());
        known.server = Some("localhost:8100".into());
        let text = crate::render::json::failure(&known);
        assert!(!text.contains("hunter2"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["error"]["revision"], "a1");
        assert_eq!(json["error"]["file"], "versions/postgresql://u:***@h/a.py");
        assert_eq!(json["error"]["line"], 3);
        assert_eq!(json["error"]["server"], "localhost:8100");
    }

    #[test]
    fn the_schema_lists_every_kind() {
        let schema = serde_json::to_string(&schemars::schema_for!(Failure)).unwrap();
        for kind in Kind::ALL {
            assert!(schema.contains(&format!("\"{kind}\"")), "{kind}");
        }
    }
}
