//! What unit tests borrow from the integration harness: the pinned Alembic virtualenv, built on
//! first use (the same one `tests/` uses), so a unit test that needs a real Alembic builds it
//! rather than skipping when no integration test has run yet.

#[allow(dead_code)]
#[path = "../../tests/harness/util.rs"]
mod util;

#[allow(dead_code)]
#[path = "../../tests/harness/venv.rs"]
mod venv;

/// The interpreter of the test virtualenv (built, under a file lock, when missing).
pub fn venv_python() -> std::path::PathBuf {
    venv::venv_python()
}
