//! Integration-test harness: a cached Python venv with the pinned Alembic, a throwaway
//! PostgreSQL cluster per test process, and Backend.AI-shaped workspaces with generated
//! revision files.
//!
//! ```ignore
//! mod harness;
//! use harness::*;
//!
//! let ws = Workspace::new()
//!     .component(Component::Manager, &[rev("a1b2c3d4e5f6", None, "create account")])
//!     .component(Component::Appproxy, &linear_chain("ap", 3));
//! ws.db_at(Component::Manager, "a1b2c3d4e5f6");
//! ws.cmd().arg("status").assert().success();
//! ```
#![allow(dead_code, unused_imports)]

mod authoring;
mod git;
mod head_file;
mod postgres;
mod revision;
mod run;
mod terminal;
mod upstream;
mod util;
mod venv;
mod workspace;

pub use authoring::{
    committed_on_main, post_write_hook_appending, released_table, revision_files,
    schema_and_version, scratch_databases_of, the_new_file,
};
pub use git::{commit_all, git};
pub use head_file::{enable_head_file, git_may_fail, head_txt, read_head_txt, write_head_txt};
pub use postgres::{dead_port, find_pg_bin_dir, postgres, slow_pg_dump, Postgres};
pub use revision::{base36_chain, ids, linear_chain, merge, rev, rev_id, slug, Rev, RevStyle};
pub use run::{component_json, db_migrate, file_of, run, strings, Run};
pub use terminal::{on_terminal, on_terminal_with, terminal_command, Terminal};
pub use upstream::{fetch_long_ago, Origin};
pub use util::{output_text, random_alnum, stderr_of, stdout_of};
pub use venv::{requirements_file, target_dir, venv, venv_python};
pub use workspace::{
    assert_no_secret, bin_path, filter_output, leaked_secrets, Component, Workspace,
};
