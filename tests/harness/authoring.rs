//! Helpers for the authoring scenarios (`new`): released revisions in the team's shape, a
//! workspace committed on main in a real git repository, the revision files that appeared, a
//! post-write hook, and what must not change (the developer's database, no scratch database left).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use super::git::{commit_all, git};
use super::postgres::{find_pg_bin_dir, postgres};
use super::revision::{rev, Rev};
use super::util::output_text;
use super::venv::venv_python;
use super::workspace::{Component, Workspace};

/// A released revision in Backend.AI's shape (`# Part of: 26.8.0` below down_revision) creating
/// `table` (id, name).
pub fn released_table(id: &str, down: Option<&str>, table: &str) -> Rev {
    let down_py = down.map_or("None".to_owned(), |d| format!("\"{d}\""));
    let message = format!("create {table}");
    rev(id, down, &message).raw(&format!(
        "\"\"\"{message}\n\nRevision ID: {id}\nRevises: {}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\n\
         import sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\n\
         revision = \"{id}\"\ndown_revision = {down_py}\n# Part of: 26.8.0\nbranch_labels = None\ndepends_on = None\n\n\n\
         def upgrade() -> None:\n    op.create_table(\"{table}\", sa.Column(\"id\", sa.Integer(), primary_key=True), sa.Column(\"name\", sa.String(64)))\n\n\n\
         def downgrade() -> None:\n    op.drop_table(\"{table}\")\n",
        down.unwrap_or("")
    ))
}

/// `component` with `revs`, committed on `main` of a new git repository.
pub fn committed_on_main(component: Component, revs: &[Rev]) -> Workspace {
    let ws = Workspace::new().component(component, revs);
    ws.write_file(".gitignore", "__pycache__/\n.db-migrate/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "main");
    ws
}

/// The `.py` files in `component`'s versions directory.
pub fn revision_files(ws: &Workspace, component: Component) -> BTreeSet<PathBuf> {
    std::fs::read_dir(ws.versions_dir(component))
        .expect("read the versions directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect()
}

/// The one revision file that is in the directory now and was not in `before`.
pub fn the_new_file(ws: &Workspace, component: Component, before: &BTreeSet<PathBuf>) -> PathBuf {
    let now = revision_files(ws, component);
    let new: Vec<&PathBuf> = now.difference(before).collect();
    assert_eq!(new.len(), 1, "one new revision file, not {new:?}");
    new[0].clone()
}

/// Configure an `exec` post-write hook in `component`'s ini: the venv's Python runs a script that
/// appends `marker` to the file Alembic wrote.
pub fn post_write_hook_appending(ws: &Workspace, component: Component, marker: &str) {
    ws.write_file(
        "hook_append.py",
        &format!(
            "import sys\nwith open(sys.argv[1], 'a') as f:\n    f.write({marker:?} + '\\n')\n"
        ),
    );
    let ini = ws.read_file(component.ini());
    let hook = format!(
        "[post_write_hooks]\nhooks = marker\nmarker.type = exec\nmarker.executable = {}\nmarker.options = {} REVISION_SCRIPT_FILENAME\n",
        venv_python().display(),
        ws.root().join("hook_append.py").display()
    );
    assert!(
        ini.contains("[post_write_hooks]\n"),
        "the ini has a [post_write_hooks] section"
    );
    ws.write_file(
        component.ini(),
        &ini.replacen("[post_write_hooks]\n", &hook, 1),
    );
}

/// Scratch databases left on the server from `component`'s database.
pub fn scratch_databases_of(ws: &Workspace, component: Component) -> Vec<String> {
    let like = format!("{}\\_verify\\_%", ws.db_name(component));
    postgres()
        .psql(
            "postgres",
            &format!("SELECT datname FROM pg_database WHERE datname LIKE '{like}' ORDER BY 1"),
        )
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `component`'s database as `pg_dump --schema-only` prints it (its random `\restrict` key
/// aside), followed by the alembic_version rows.
pub fn schema_and_version(ws: &Workspace, component: Component) -> String {
    let pg = postgres();
    let out = Command::new(find_pg_bin_dir().join("pg_dump"))
        .args(["-h", pg.host, "-p", &pg.port.to_string(), "-U", "postgres"])
        .args(["--schema-only", "-d", &ws.db_name(component)])
        .env("PGPASSWORD", pg.password_of("postgres"))
        .output()
        .expect("pg_dump runs");
    assert!(out.status.success(), "{}", output_text(&out));
    let schema: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .map(str::to_owned)
        .collect();
    format!(
        "{}\n-- alembic_version: {:?}",
        schema.join("\n"),
        ws.db_revisions(component)
    )
}
