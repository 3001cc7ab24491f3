//! Command-line syntax: clap derive structs, validated input only.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::component::Component;
use crate::exit_code::HELP_TABLE;
use crate::failure::Failure;
use crate::inspect::Engine;
use crate::plan::Direction;
use crate::render::Format;
use crate::target::Target;
use crate::workspace::Selection;

#[derive(Debug, Parser)]
#[command(
    name = "db-migrate",
    version = env!("DB_MIGRATE_VERSION"),
    about = "Inspect and apply Backend.AI's Alembic schema migrations",
    long_about = "Inspect and apply Backend.AI's Alembic schema migrations.\n\n\
        db-migrate finds the workspace root (the nearest directory holding alembic.ini, \
        alembic-accountmgr.ini or alembic-appproxy.ini), runs `<launcher> -m alembic -c <config> …` \
        there, classifies each component as up-to-date, behind, diverged, no-revision or \
        unknown-revision, and turns known failures into a cause and a next step.",
    after_help = HELP_TABLE,
    after_long_help = HELP_TABLE
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Workspace root (default: nearest directory upward holding an alembic*.ini).
    #[arg(short = 'C', long = "workdir", value_name = "DIR", global = true)]
    pub workdir: Option<PathBuf>,
    /// Python launcher used when the root has no executable ./py (default: python3 on PATH).
    #[arg(long, value_name = "CMD", env = "DB_MIGRATE_PYTHON", global = true)]
    pub python: Option<String>,
    /// Output format (default text; `check` and `verify` default to github when
    /// GITHUB_ACTIONS=true).
    #[arg(long, value_enum, global = true)]
    pub format: Option<FormatArg>,
    /// Show Alembic's full (masked) output, tracebacks included.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Wait up to SECS for each database to accept connections before doing anything (CI right
    /// after a container start).
    #[arg(long, value_name = "SECS", global = true)]
    pub wait: Option<u64>,
    /// Kill a read-only Alembic call (current, history, --sql) that takes longer than SECS and
    /// report it; upgrades and downgrades are never cut.
    #[arg(long, value_name = "SECS", global = true,
          default_value_t = crate::workspace::DEFAULT_ALEMBIC_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub alembic_timeout: u64,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Print the plan and exit without touching the database.
    #[arg(long)]
    pub dry_run: bool,
    /// Print only errors and the final state.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the SQL of the plan (Alembic's offline mode) instead of running it; stdout carries
    /// only the SQL, the plan goes to stderr.
    #[arg(long, conflicts_with = "dry_run")]
    pub sql: bool,
    /// pg_dump -Fc the database first (`--backup=PATH`, or .db-migrate/backups/<component>-<revision>-<time>.dump);
    /// a failed backup stops the run before anything changes.
    #[arg(long, value_name = "PATH", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub backup: Option<String>,
    /// Give up after SECS when another db-migrate holds this database's migration lock.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub lock_timeout: u64,
    /// With --all: after a component fails, still try the ones after it (default: stop, and
    /// report them as skipped).
    #[arg(long, requires = "all")]
    pub keep_going: bool,
    /// Give Alembic this terminal as stdin, so a migration that asks a question (input()) can be
    /// answered here; needs a terminal on stdin (Ctrl-C still stops it and reports where the
    /// database is).
    #[arg(long, conflicts_with_all = ["sql", "dry_run"])]
    pub interactive: bool,
}

/// `hooks install | uninstall`.
#[derive(Debug, Subcommand)]
pub enum HooksAction {
    /// Install the post-checkout and post-merge hooks (an existing hook is kept and runs first).
    Install {
        /// Also run `sync --yes` when a database only needs walking back and forward and the walk
        /// back destroys no data (otherwise only warn).
        #[arg(long)]
        auto: bool,
    },
    /// Remove the hooks, restoring the ones they chained.
    Uninstall,
    /// What the installed hooks run.
    #[command(hide = true)]
    Run {
        /// `post-checkout` or `post-merge`.
        hook: String,
        #[arg(long)]
        auto: bool,
    },
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    /// GitHub Actions annotations (`check` and `verify`).
    Github,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Github => Format::Github,
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// How to read the state: native (files + alembic_version), alembic, or auto (native unless
    /// something is not understood statically).
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,
}

#[derive(Debug, Args, Clone)]
pub struct UpstreamArgs {
    /// The ref that holds the released migrations, for diverged heads (default: the remote's
    /// default branch, e.g. origin/main, else main). A ref that does not exist is refused (exit
    /// 2). Outside git, or with neither default, `# Part of:` comments decide.
    #[arg(long, value_name = "REF")]
    pub upstream: Option<String>,
}

impl ComponentArgs {
    /// The configs these flags name, as the workspace takes them.
    pub fn selection(&self) -> Selection {
        match (&self.config, self.all) {
            (Some(path), _) => Selection::Config(path.clone()),
            (None, true) => Selection::All,
            (None, false) => Selection::Component(self.component.into()),
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct ComponentArgs {
    /// Component to act on.
    #[arg(long, value_enum, default_value_t = ComponentArg::Manager, conflicts_with_all = ["all", "config"])]
    pub component: ComponentArg,
    /// Act on every component whose config exists.
    #[arg(long, conflicts_with = "config")]
    pub all: bool,
    /// Any Alembic ini file, instead of a component.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify each component: up-to-date, behind, diverged, no-revision, unknown-revision; with
    /// the next step (for diverged: what fix-heads would do, or what to do by hand).
    Status {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        engine: EngineArgs,
        #[command(flatten)]
        upstream: UpstreamArgs,
        /// Exit 3 unless every component is up-to-date.
        #[arg(long)]
        check: bool,
    },
    /// Upgrade to TARGET (default: head).
    #[command(allow_negative_numbers = true)]
    Upgrade {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        run: RunArgs,
        /// head, heads, base, a revision id or unique prefix, +N, REV+N, BRANCH@head.
        #[arg(value_name = "TARGET", default_value = "head", value_parser = Target::parse_arg)]
        target: Target,
    },
    /// Downgrade to TARGET (default: -1). Asks for confirmation; needs --yes without a TTY.
    #[command(allow_negative_numbers = true)]
    Downgrade {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        run: RunArgs,
        /// base, a revision id or unique prefix, -N, REV-N, BRANCH@-N.
        #[arg(value_name = "TARGET", default_value = "-1", value_parser = Target::parse_arg)]
        target: Target,
        /// Do not ask; required when stdin is not a terminal.
        #[arg(short, long)]
        yes: bool,
    },
    /// Upgrade or downgrade, with direction and target as options.
    #[command(allow_negative_numbers = true)]
    Migrate {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        run: RunArgs,
        #[arg(long, value_enum, default_value_t = DirectionArg::Upgrade)]
        direction: DirectionArg,
        #[arg(long, default_value = "head", allow_hyphen_values = true, value_parser = Target::parse_arg)]
        target: Target,
        /// Do not ask before a downgrade; required when stdin is not a terminal.
        #[arg(short, long)]
        yes: bool,
    },
    /// After a branch switch: walk back what this checkout lacks, then upgrade to its head.
    ///
    /// The revisions the database is at that this checkout lacks are found in git (the branches
    /// most recently checked out, other local and remote branches, then the reflog), and walked
    /// back with their own files, run from a temporary copy, never written into the work tree.
    /// Shows the plan and what the walk back destroys; needs --yes without a TTY.
    Sync {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        run: RunArgs,
        /// Do not ask before the walk back; required when stdin is not a terminal.
        #[arg(short, long)]
        yes: bool,
    },
    /// Git hooks that say, right after a checkout or merge, when a database no longer matches.
    ///
    /// post-checkout and post-merge run the native status (no Python) and print one line per
    /// component that is behind, at revisions this checkout lacks, or diverged, with the command
    /// to run. They never fail, block or prompt; an existing hook is chained, never overwritten.
    Hooks {
        #[command(subcommand)]
        action: HooksAction,
    },
    /// Check that a migration's downgrade undoes its upgrade: upgrade to REVISION, snapshot the
    /// schema (pg_dump --schema-only), downgrade one step, upgrade again, snapshot again, and fail
    /// with a diff when the snapshots differ. Needs --yes without a TTY, like any downgrade.
    Roundtrip {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        run: RunArgs,
        /// The revision to test: an id or unique prefix, head, BRANCH@head (default: the head).
        #[arg(value_name = "REVISION", default_value = "head", value_parser = Target::parse_arg)]
        revision: Target,
        /// Do not ask before the downgrade step; required when stdin is not a terminal.
        #[arg(short, long)]
        yes: bool,
    },
    /// Make diverged heads one again, as the team's policy (AGENTS.md) says. Your branch diverged
    /// from main: repoint the down_revision of your own unreleased migration onto the other head,
    /// no merge migration (when the database has applied your branch, downgrade to the fork point
    /// first and upgrade to the new head after). Main itself has several heads, all released:
    /// write the empty merge migration of them (upgrade/downgrade = pass, `# Part of:
    /// NEXT_RELEASE_VERSION`). Shows the diff first, and runs a repoint's new order on a scratch
    /// copy of the database before writing it; needs --yes without a TTY.
    FixHeads {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        upstream: UpstreamArgs,
        /// Do not ask; required when stdin is not a terminal.
        #[arg(short, long)]
        yes: bool,
        /// Edit the migration file even when it has uncommitted changes.
        #[arg(long)]
        allow_dirty: bool,
        /// Put your diverged branch first: repoint the other branch's first migration onto your
        /// head instead (when your migration must run before theirs). Only while none of the
        /// other branch is in a release (`# Part of: NEXT_RELEASE_VERSION`).
        #[arg(long)]
        mine_first: bool,
    },
    /// One CI and pre-commit gate for the migrations of every component: one head, history
    /// intact against the base ref, conventions, and squawk's PostgreSQL lock and downtime rules on
    /// the SQL of each new revision. Exit 1 on any error (--strict: warnings too).
    Check {
        /// Component to check (default: every component whose config exists).
        #[arg(long, value_enum, conflicts_with_all = ["all", "config"])]
        component: Option<ComponentArg>,
        /// Every component whose config exists (the default).
        #[arg(long, conflicts_with = "config")]
        all: bool,
        /// Any Alembic ini file, instead of a component.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// The ref to compare with (default: the merge-base with the remote's default branch,
        /// else with main). Revisions not on it are new: they are linted, the others must not change.
        #[arg(long, value_name = "REF")]
        base: Option<String>,
        /// The upstream branch, as last fetched (never fetched by check), that merging this
        /// branch into must leave one head (default: the remote's default branch, e.g.
        /// origin/main, else main); its merge-base with HEAD is then the default --base.
        #[arg(long, value_name = "REF")]
        upstream: Option<String>,
        /// Fail on warnings too.
        #[arg(long)]
        strict: bool,
        /// The static rules only: no Alembic, no SQL lint (what the pre-commit hook runs).
        #[arg(long)]
        no_lint: bool,
        /// Print RULE's documentation and exit.
        #[arg(long, value_name = "RULE")]
        explain: Option<String>,
    },
    /// Prove the branch's new migrations on a scratch copy of the database (never the database
    /// itself): round trip each revision new relative to the base, run backports twice, and
    /// compare the models with the migrated schema (Alembic's autogenerate). The scratch
    /// database is dropped at the end, also on failure and Ctrl-C, unless --keep.
    Verify {
        #[command(flatten)]
        components: ComponentArgs,
        /// The ref to compare with (default: the merge-base with the remote's default branch,
        /// else with main). Revisions not on it are new, and proved.
        #[arg(long, value_name = "REF")]
        base: Option<String>,
        /// Leave the scratch database in place and print how to connect to it.
        #[arg(long)]
        keep: bool,
        /// Start from an empty database upgraded to the base's head, instead of a copy of the
        /// configured database.
        #[arg(long)]
        from_empty: bool,
        /// Also run REV twice (stamp back to its parent, upgrade again), as backports are;
        /// repeatable.
        #[arg(long, value_name = "REV")]
        idempotent: Vec<String>,
    },
    /// Write the next migration on the single head, the team's way (refused while the heads are
    /// diverged: run fix-heads first).
    ///
    /// Alembic's own `revision` writes the file (the repository's script.py.mako and
    /// post_write_hooks), on the single head; db-migrate adds `# Part of: NEXT_RELEASE_VERSION`
    /// below down_revision (manager), makes the docstring ids agree, reads the file back and
    /// checks it, and keeps head.txt current when `[tool.db-migrate] head-file = true`.
    New {
        /// The revision's message (Alembic's `-m`): what the migration does.
        #[arg(short, long, value_name = "MESSAGE")]
        message: String,
        /// Component to add the migration to.
        #[arg(long, value_enum, default_value_t = ComponentArg::Manager, conflicts_with = "config")]
        component: ComponentArg,
        /// Any Alembic ini file, instead of a component.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// Let Alembic write the operations: compare the models with a scratch copy of the
        /// database upgraded to head (never the database itself), dropped afterwards.
        /// PostgreSQL only.
        #[arg(long)]
        autogenerate: bool,
    },
    /// Print a shell completion script: `source <(db-migrate completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `db-migrate man > db-migrate.1`.
    Man,
    /// Print the JSON Schema of every `--format json` document: `db-migrate schema > s.json`.
    Schema,
    /// Print the coding-agent skill (SKILL.md), made from this binary.
    ///
    /// Which command for which situation, the JSON to parse and its stable fields, the exit
    /// codes, the team's migration policy and the safety rules, with YAML front matter (name,
    /// description, tags): `db-migrate skill > .claude/skills/db-migrate/SKILL.md`.
    Skill,
    /// The revision(s) the database is at.
    Current {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// The head revision(s) of the migration scripts, in the order `alembic heads` prints them;
    /// with several, each head's branch back to the fork point, which of its migrations are
    /// released, and what fix-heads would do.
    Heads {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        engine: EngineArgs,
        #[command(flatten)]
        upstream: UpstreamArgs,
    },
    /// Every revision, newest first, with parents and messages.
    History {
        #[command(flatten)]
        components: ComponentArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

/// `migrate --direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    Upgrade,
    Downgrade,
}

impl From<DirectionArg> for Direction {
    fn from(d: DirectionArg) -> Direction {
        match d {
            DirectionArg::Upgrade => Direction::Upgrade,
            DirectionArg::Downgrade => Direction::Downgrade,
        }
    }
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// Native unless something is not understood statically, then Alembic.
    Auto,
    /// Read revision files and alembic_version directly; fail if that is not possible.
    Native,
    /// Run `alembic current` and `alembic history --verbose`.
    Alembic,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Engine {
        match e {
            EngineArg::Auto => Engine::Auto,
            EngineArg::Native => Engine::Native,
            EngineArg::Alembic => Engine::Alembic,
        }
    }
}

/// `--component`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ComponentArg {
    Manager,
    Accountmgr,
    Appproxy,
}

impl From<ComponentArg> for Component {
    fn from(c: ComponentArg) -> Component {
        match c {
            ComponentArg::Manager => Component::Manager,
            ComponentArg::Accountmgr => Component::Accountmgr,
            ComponentArg::Appproxy => Component::Appproxy,
        }
    }
}

/// `completions SHELL`: the script, generated from these definitions.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "db-migrate", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// `man`: the page (roff), generated from these definitions.
pub fn man() -> Result<String, Failure> {
    let mut page = Vec::new();
    match clap_mangen::Man::new(Cli::command()).render(&mut page) {
        Ok(()) => Ok(String::from_utf8_lossy(&page).into_owned()),
        Err(e) => Err(Failure::new(
            crate::failure::Kind::InternalError,
            format!("cannot render the man page: {e}"),
            "a bug in db-migrate: writing the page to memory cannot fail otherwise",
            "report the message above as a bug",
        )),
    }
}
