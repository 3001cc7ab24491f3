//! A Backend.AI-shaped checkout in a temp dir: `./py`, `alembic*.ini`, and per component a
//! models package with an async Alembic environment and generated revision files.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

use super::postgres::postgres;
use super::revision::{Rev, RevStyle};
use super::util::output_text;
use super::venv::venv;

/// A Backend.AI component with its own Alembic history and database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    Manager,
    Accountmgr,
    Appproxy,
}

impl Component {
    pub const ALL: [Component; 3] = [
        Component::Manager,
        Component::Accountmgr,
        Component::Appproxy,
    ];

    /// `manager`, `accountmgr`, `appproxy`.
    pub fn name(self) -> &'static str {
        match self {
            Component::Manager => "manager",
            Component::Accountmgr => "accountmgr",
            Component::Appproxy => "appproxy",
        }
    }

    /// The ini file name at the repo root.
    pub fn ini(self) -> &'static str {
        match self {
            Component::Manager => "alembic.ini",
            Component::Accountmgr => "alembic-accountmgr.ini",
            Component::Appproxy => "alembic-appproxy.ini",
        }
    }

    /// The ini's `script_location` (package resource form).
    pub fn script_location(self) -> &'static str {
        match self {
            Component::Manager => "ai.backend.manager.models:alembic",
            Component::Accountmgr => "ai.backend.account_manager.models:alembic",
            Component::Appproxy => "ai.backend.appproxy.coordinator.models:alembic",
        }
    }

    /// The models package directory, relative to the repo root.
    pub fn package_dir(self) -> &'static str {
        match self {
            Component::Manager => "src/ai/backend/manager/models",
            Component::Accountmgr => "src/ai/backend/account_manager/models",
            Component::Appproxy => "src/ai/backend/appproxy/coordinator/models",
        }
    }

    /// The database role the component's ini connects as.
    pub fn db_user(self) -> &'static str {
        match self {
            Component::Appproxy => "appproxy",
            _ => "postgres",
        }
    }
}

/// What a component's `sqlalchemy.url` says (may be made wrong on purpose by the `set_db_*`s).
#[derive(Clone, Debug)]
struct DbUrl {
    user: String,
    password: String,
    host: String,
    port: u16,
    db: String,
}

impl DbUrl {
    fn render(&self) -> String {
        format!(
            "postgresql+asyncpg://{}:{}@{}:{}/{}",
            self.user, self.password, self.host, self.port, self.db
        )
    }
}

#[derive(Debug)]
struct ComponentState {
    /// The database the harness created for the component (what [`Workspace::sql`] uses).
    db_name: String,
    /// The parts of the ini's URL.
    url: DbUrl,
    /// A verbatim URL from [`Workspace::set_db_url`], overriding `url` until the next `set_db_*`.
    raw_url: Option<String>,
    /// Revision files written so far (drives the Modern/Plain alternation).
    revisions_written: usize,
}

/// A temporary Backend.AI-like repository. See the module docs and `harness_smoke.rs`.
pub struct Workspace {
    dir: tempfile::TempDir,
    root: PathBuf,
    state: Mutex<BTreeMap<Component, ComponentState>>,
    /// Passwords ever written into an ini (for [`assert_no_secret`]).
    secrets: Mutex<Vec<String>>,
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl Workspace {
    /// An empty repo root containing only the `./py` launcher (builds the venv on first use).
    /// Set `DB_MIGRATE_KEEP_WORKSPACE=1` to keep the directory after the test for inspection.
    pub fn new() -> Workspace {
        let venv = venv();
        let dir = tempfile::Builder::new()
            .prefix("db-migrate-ws-")
            .tempdir()
            .expect("create workspace tempdir");
        let root = dir
            .path()
            .canonicalize()
            .unwrap_or_else(|_| dir.path().to_path_buf());
        let ws = Workspace {
            dir,
            root,
            state: Mutex::new(BTreeMap::new()),
            secrets: Mutex::new(Vec::new()),
        };
        ws.write_file(
            "py",
            &format!(
                "#!/usr/bin/env bash\n\
                 PYTHONPATH=\"{root}/src${{PYTHONPATH:+:$PYTHONPATH}}\" exec \"{python}\" \"$@\"\n",
                root = ws.root.display(),
                python = venv.join("bin/python").display()
            ),
        );
        fs::set_permissions(ws.root.join("py"), fs::Permissions::from_mode(0o755))
            .expect("chmod ./py");
        fs::create_dir_all(ws.root.join("src")).expect("mkdir src");
        if std::env::var_os("DB_MIGRATE_KEEP_WORKSPACE").is_some() {
            eprintln!("[harness] keeping workspace {}", ws.root.display());
        }
        ws
    }

    /// Add `component`: a fresh database (owned by the component's role), its ini, the models
    /// package with `alembic/env.py`, `script.py.mako`, and `versions/` holding `revs`
    /// (alternating Modern and Plain style unless a `Rev` forces one).
    pub fn component(self, component: Component, revs: &[Rev]) -> Workspace {
        assert!(
            !self.lock_state().contains_key(&component),
            "component {} added twice",
            component.name()
        );
        let pg = postgres();
        let user = component.db_user();
        let db_name = pg.create_database(user);
        let url = DbUrl {
            user: user.to_string(),
            password: pg.password_of(user).to_string(),
            host: pg.host.to_string(),
            port: pg.port,
            db: db_name.clone(),
        };
        self.remember_secret(&url.password);
        self.lock_state().insert(
            component,
            ComponentState {
                db_name,
                url,
                raw_url: None,
                revisions_written: 0,
            },
        );
        let pkg = component.package_dir();
        self.write_file(
            &format!("{pkg}/__init__.py"),
            &format!(
                "# The {} models package of the test workspace.\n",
                component.name()
            ),
        );
        self.write_file(&format!("{pkg}/alembic/env.py"), ENV_PY);
        self.write_file(&format!("{pkg}/alembic/script.py.mako"), SCRIPT_PY_MAKO);
        fs::create_dir_all(self.versions_dir(component)).expect("mkdir versions");
        self.write_ini(component);
        self.add_revisions(component, revs);
        self
    }

    /// Give `component` models: writes `<package>/tables.py` with `src` (which must define
    /// `metadata`), and makes env.py use it as target_metadata. Called again, it replaces the
    /// models.
    pub fn with_models(&self, component: Component, src: &str) {
        let pkg = component.package_dir();
        let module = component
            .script_location()
            .split_once(':')
            .map_or(component.script_location(), |(package, _)| package);
        let import = format!("from {module}.tables import metadata as target_metadata");
        self.write_file(&format!("{pkg}/tables.py"), src);
        // A rewrite within the same second (and of the same size) could be read from a stale .pyc.
        fs::remove_dir_all(self.root.join(pkg).join("__pycache__")).ok();
        let env_py = format!("{pkg}/alembic/env.py");
        let text = self.read_file(&env_py);
        if text.contains(&import) {
            return;
        }
        let lines: Vec<&str> = text
            .lines()
            .map(|l| {
                if l == "target_metadata = None" {
                    import.as_str()
                } else {
                    l
                }
            })
            .collect();
        assert!(
            lines.contains(&import.as_str()),
            "{env_py} has no `target_metadata = None` line to replace"
        );
        self.write_file(&env_py, &(lines.join("\n") + "\n"));
    }

    /// Write more revision files into `component`'s `versions/` (e.g. "a new migration arrived").
    pub fn add_revisions(&self, component: Component, revs: &[Rev]) {
        let dir = self.versions_dir(component);
        for r in revs {
            let ordinal = {
                let mut state = self.lock_state();
                let st = state.get_mut(&component).expect("component not added");
                st.revisions_written += 1;
                st.revisions_written - 1
            };
            let style = r.forced_style().unwrap_or(if ordinal % 2 == 0 {
                RevStyle::Modern
            } else {
                RevStyle::Plain
            });
            let path = dir.join(r.file_name());
            fs::write(&path, r.render(style, ordinal))
                .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
    }

    /// Delete the revision file(s) of `id` (e.g. "the DB is at a revision the scripts lack").
    pub fn remove_revision(&self, component: Component, id: &str) {
        let dir = self.versions_dir(component);
        let mut removed = false;
        for entry in fs::read_dir(&dir).expect("read versions dir").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{id}_")) || name == format!("{id}.py") {
                fs::remove_file(entry.path()).expect("remove revision file");
                removed = true;
            }
        }
        assert!(removed, "no revision file for {id} in {}", dir.display());
        let pycache = dir.join("__pycache__");
        fs::remove_dir_all(pycache).ok();
    }

    /// Bring `component`'s database to `target` with the real Alembic
    /// (`./py -m alembic -c <ini> upgrade <target>`); panics with Alembic's output on failure.
    pub fn db_at(&self, component: Component, target: &str) {
        self.alembic_ok(component, &["upgrade", target]);
    }

    /// `./py -m alembic -c <ini> <args…>` in the repo root, stdin null; the raw output.
    pub fn alembic(&self, component: Component, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.root.join("py"));
        cmd.current_dir(&self.root)
            .args(["-m", "alembic", "-c", component.ini()])
            .args(args)
            .stdin(Stdio::null())
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .env_remove("VIRTUAL_ENV");
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
    }

    /// Like [`Workspace::alembic`] but panics unless it exits 0; returns stdout.
    pub fn alembic_ok(&self, component: Component, args: &[&str]) -> String {
        let out = self.alembic(component, args);
        if !out.status.success() {
            panic!(
                "`./py -m alembic -c {} {}` failed in {}:\n{}",
                component.ini(),
                args.join(" "),
                self.root.display(),
                output_text(&out)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `psql` into `component`'s database (as superuser, over the socket); stdout trimmed.
    pub fn sql(&self, component: Component, sql: &str) -> String {
        postgres().psql(&self.db_name(component), sql)
    }

    /// Like [`Workspace::sql`] but returns psql's output as `Err` instead of panicking.
    pub fn try_sql(&self, component: Component, sql: &str) -> Result<String, String> {
        postgres().try_psql(&self.db_name(component), sql)
    }

    /// The `alembic_version` rows of `component`'s database, sorted (empty if the table is absent).
    pub fn db_revisions(&self, component: Component) -> Vec<String> {
        let exists = self.sql(
            component,
            "SELECT to_regclass('public.alembic_version') IS NOT NULL",
        );
        if exists != "t" {
            return Vec::new();
        }
        let rows = self.sql(
            component,
            "SELECT version_num FROM alembic_version ORDER BY version_num",
        );
        rows.lines().map(str::to_string).collect()
    }

    /// Whether `table` exists in `component`'s database (`public` schema).
    pub fn has_table(&self, component: Component, table: &str) -> bool {
        self.sql(
            component,
            &format!("SELECT to_regclass('public.\"{table}\"') IS NOT NULL"),
        ) == "t"
    }

    /// The `db-migrate` binary, run in the repo root with `DB_MIGRATE_PYTHON` removed and
    /// `NO_COLOR=1`.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(bin_path());
        cmd.current_dir(&self.root)
            .env_remove("DB_MIGRATE_PYTHON")
            .env_remove("GITHUB_BASE_REF")
            .env_remove("PYTHONPATH")
            .env_remove("VIRTUAL_ENV")
            .env("NO_COLOR", "1");
        cmd
    }

    /// The same as [`Workspace::cmd`] as a `std::process::Command` (for spawn/kill scenarios).
    pub fn std_cmd(&self) -> Command {
        let mut cmd = Command::new(bin_path());
        cmd.current_dir(&self.root)
            .env_remove("DB_MIGRATE_PYTHON")
            .env_remove("GITHUB_BASE_REF")
            .env_remove("PYTHONPATH")
            .env_remove("VIRTUAL_ENV")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    /// The repo root (canonical path).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The password currently in `component`'s ini URL.
    pub fn password(&self, component: Component) -> String {
        self.with_state(component, |st| st.url.password.clone())
    }

    /// The database the harness created for `component` (unaffected by [`Workspace::set_db_name`]).
    pub fn db_name(&self, component: Component) -> String {
        self.with_state(component, |st| st.db_name.clone())
    }

    /// The database role the ini connects as.
    pub fn db_user(&self, component: Component) -> String {
        self.with_state(component, |st| st.url.user.clone())
    }

    /// The `sqlalchemy.url` currently written in `component`'s ini.
    pub fn db_url(&self, component: Component) -> String {
        self.with_state(component, |st| {
            st.raw_url.clone().unwrap_or_else(|| st.url.render())
        })
    }

    /// The port currently in `component`'s ini URL.
    pub fn db_port(&self, component: Component) -> u16 {
        self.with_state(component, |st| st.url.port)
    }

    pub fn ini_path(&self, component: Component) -> PathBuf {
        self.root.join(component.ini())
    }

    /// `<package dir>/alembic/versions`.
    pub fn versions_dir(&self, component: Component) -> PathBuf {
        self.root
            .join(component.package_dir())
            .join("alembic/versions")
    }

    /// Write `contents` at `relpath` under the root (parents created).
    pub fn write_file(&self, relpath: &str, contents: &str) {
        let path = self.root.join(relpath);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Read a file under the root.
    pub fn read_file(&self, relpath: &str) -> String {
        let path = self.root.join(relpath);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Point the ini's URL at another port (e.g. [`dead_port`](super::dead_port)).
    pub fn set_db_port(&self, component: Component, port: u16) {
        self.edit_url(component, |u| u.port = port);
    }

    /// Put another (e.g. wrong) password into the ini's URL.
    pub fn set_db_password(&self, component: Component, password: &str) {
        self.remember_secret(password);
        self.edit_url(component, |u| u.password = password.to_string());
    }

    /// Point the ini's URL at another database name (e.g. one that does not exist).
    pub fn set_db_name(&self, component: Component, db: &str) {
        self.edit_url(component, |u| u.db = db.to_string());
    }

    /// Point the ini's URL at another host (e.g. an unresolvable one).
    pub fn set_db_host(&self, component: Component, host: &str) {
        self.edit_url(component, |u| u.host = host.to_string());
    }

    /// Connect as another role; the password follows if the harness knows the role.
    pub fn set_db_user(&self, component: Component, user: &str) {
        let known = match user {
            "postgres" | "appproxy" => Some(postgres().password_of(user).to_string()),
            _ => None,
        };
        self.edit_url(component, |u| {
            u.user = user.to_string();
            if let Some(pw) = known {
                u.password = pw;
            }
        });
    }

    /// Write `url` verbatim as `sqlalchemy.url` (`%` is escaped for configparser).
    pub fn set_db_url(&self, component: Component, url: &str) {
        self.with_state_mut(component, |st| st.raw_url = Some(url.to_string()));
        self.write_ini(component);
    }

    /// All passwords this workspace has put into an ini, plus the cluster's two.
    pub fn secrets(&self) -> Vec<String> {
        let pg = postgres();
        let mut all = vec![pg.password.clone(), pg.appproxy_password.clone()];
        for s in self
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            if !all.contains(s) {
                all.push(s.clone());
            }
        }
        all
    }

    /// Every port any component's ini mentions, plus the cluster's.
    pub fn ports(&self) -> Vec<u16> {
        let mut ports = vec![postgres().port];
        for st in self.lock_state().values() {
            if !ports.contains(&st.url.port) {
                ports.push(st.url.port);
            }
        }
        ports
    }

    /// The underlying temp dir (removed on drop).
    pub fn temp_dir(&self) -> &tempfile::TempDir {
        &self.dir
    }

    fn remember_secret(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_string());
        }
    }

    fn edit_url(&self, component: Component, edit: impl FnOnce(&mut DbUrl)) {
        self.with_state_mut(component, |st| {
            st.raw_url = None;
            edit(&mut st.url);
        });
        self.write_ini(component);
    }

    fn write_ini(&self, component: Component) {
        let url = self.db_url(component);
        self.write_file(
            component.ini(),
            &render_ini(component.script_location(), &url.replace('%', "%%")),
        );
    }

    fn lock_state(&self) -> MutexGuard<'_, BTreeMap<Component, ComponentState>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_state<T>(&self, component: Component, f: impl FnOnce(&ComponentState) -> T) -> T {
        let state = self.lock_state();
        let st = state.get(&component).unwrap_or_else(|| {
            panic!(
                "component {} is not part of this workspace",
                component.name()
            )
        });
        f(st)
    }

    fn with_state_mut<T>(
        &self,
        component: Component,
        f: impl FnOnce(&mut ComponentState) -> T,
    ) -> T {
        let mut state = self.lock_state();
        let st = state.get_mut(&component).unwrap_or_else(|| {
            panic!(
                "component {} is not part of this workspace",
                component.name()
            )
        });
        f(st)
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if std::env::var_os("DB_MIGRATE_KEEP_WORKSPACE").is_some() {
            self.dir.disable_cleanup(true);
        }
    }
}

/// The `db-migrate` executable cargo built for this test.
pub fn bin_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_db-migrate"))
}

/// Replace the workspace root with `[ROOT]`, the venv with `[VENV]` and the cluster's (and the
/// inis') ports with `[PORT]`.
pub fn filter_output(s: &str, ws: &Workspace) -> String {
    let mut out = s.to_string();
    let mut paths = vec![ws.root.to_string_lossy().into_owned()];
    let raw = ws.dir.path().to_string_lossy().into_owned();
    if !paths.contains(&raw) {
        paths.push(raw);
    }
    for p in paths {
        out = out.replace(&p, "[ROOT]");
    }
    let venv = venv().to_string_lossy().into_owned();
    out = out.replace(&venv, "[VENV]");
    for port in ws.ports() {
        let re = regex::Regex::new(&format!(r"\b{port}\b")).expect("port regex");
        out = re.replace_all(&out, "[PORT]").into_owned();
    }
    out
}

/// The workspace's (and the cluster's) passwords that occur in `output`.
pub fn leaked_secrets(output: &str, ws: &Workspace) -> Vec<String> {
    ws.secrets()
        .into_iter()
        .filter(|s| output.contains(s.as_str()))
        .collect()
}

/// Panic if any password of the workspace (or the cluster) appears in `output`; the panic
/// message shows the output with each occurrence replaced by `[SECRET]`.
pub fn assert_no_secret(output: &str, ws: &Workspace) {
    let leaked = leaked_secrets(output, ws);
    if !leaked.is_empty() {
        let mut shown = output.to_string();
        for s in &leaked {
            shown = shown.replace(s.as_str(), "[SECRET]");
        }
        panic!(
            "{} password(s) leaked into the output (shown as [SECRET]):\n{shown}",
            leaked.len()
        );
    }
}

fn render_ini(script_location: &str, url: &str) -> String {
    format!(
        "# A generic, single database configuration.\n\
         \n\
         [alembic]\n\
         # path to migration scripts\n\
         script_location = {script_location}\n\
         \n\
         # template used to generate migration file names\n\
         # file_template = %%(rev)s_%%(slug)s\n\
         \n\
         # timezone to use when rendering the date within the migration file\n\
         # timezone =\n\
         \n\
         sqlalchemy.url = {url}\n\
         \n\
         \n\
         [post_write_hooks]\n\
         \n\
         # Logging configuration\n\
         [loggers]\n\
         keys = root,sqlalchemy,alembic\n\
         \n\
         [handlers]\n\
         keys = console\n\
         \n\
         [formatters]\n\
         keys = generic\n\
         \n\
         [logger_root]\n\
         level = WARN\n\
         handlers = console\n\
         qualname =\n\
         \n\
         [logger_sqlalchemy]\n\
         level = WARN\n\
         handlers =\n\
         qualname = sqlalchemy.engine\n\
         \n\
         [logger_alembic]\n\
         level = INFO\n\
         handlers =\n\
         qualname = alembic\n\
         \n\
         [handler_console]\n\
         class = StreamHandler\n\
         args = (sys.stderr,)\n\
         level = NOTSET\n\
         formatter = generic\n\
         \n\
         [formatter_generic]\n\
         format = %(levelname)-5.5s [%(name)s] %(message)s\n\
         datefmt = %H:%M:%S\n"
    )
}

/// Alembic's `init -t async` env.py (as shipped with alembic 1.13).
const ENV_PY: &str = r#"import asyncio
from logging.config import fileConfig

from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

# add your model's MetaData object here
# for 'autogenerate' support
target_metadata = None


def run_migrations_offline() -> None:
    """Run migrations in 'offline' mode."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )

    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)

    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    connectable = async_engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )

    async with connectable.connect() as connection:
        await connection.run_sync(do_run_migrations)

    await connectable.dispose()


def run_migrations_online() -> None:
    """Run migrations in 'online' mode."""

    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"#;

/// Alembic's `script.py.mako` (as shipped with alembic 1.13).
const SCRIPT_PY_MAKO: &str = r#""""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
"#;
