//! Every kind of failure db-migrate reports, one variant each: the stable `kind` string of the JSON
//! output (kebab-case), the exit code it leads to, and a sentence saying what it means (the
//! generated `docs/failures.md` lists them all).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::exit_code::{FAILED, INTERRUPTED, USAGE};

/// One list, so that the name, the exit code and the description of a kind cannot drift apart:
/// `Variant = "name" (EXIT_CODE) "description"`.
macro_rules! kinds {
    ($($variant:ident = $name:literal ($code:ident) $description:literal,)*) => {
        /// What went wrong, as a stable identifier (the `kind` of a JSON failure).
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            JsonSchema,
        )]
        #[serde(rename_all = "kebab-case")]
        pub enum Kind {
            $(
                #[doc = $description]
                $variant,
            )*
        }

        impl Kind {
            /// Every kind, in the order of the generated reference page.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            /// The identifier as it appears in JSON and in `::error title=db-migrate …`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            /// The exit code a failure of this kind ends db-migrate with (see `exit_code`).
            pub fn code(self) -> u8 {
                match self {
                    $(Kind::$variant => $code,)*
                }
            }

            /// One sentence: what this failure means.
            pub fn description(self) -> &'static str {
                match self {
                    $(Kind::$variant => $description,)*
                }
            }
        }
    };
}

kinds! {
    AlembicFailed = "alembic-failed" (FAILED)
        "Alembic (or a script db-migrate ran in its Python) failed in a way no remediation row recognises; the `alembic:` line shows its last words.",
    AlembicMissing = "alembic-missing" (FAILED)
        "The Python that db-migrate ran cannot import Alembic.",
    AlembicTimeout = "alembic-timeout" (FAILED)
        "An Alembic call did not finish within its time limit, and db-migrate stopped it.",
    AmbiguousRevision = "ambiguous-revision" (USAGE)
        "A revision prefix given on the command line matches several revisions.",
    AmbiguousWalk = "ambiguous-walk" (USAGE)
        "A relative target walks through a point where the history splits, so it names no single revision.",
    AuthFailed = "auth-failed" (FAILED)
        "PostgreSQL rejected the user or password of the config's `sqlalchemy.url`.",
    BackupFailed = "backup-failed" (FAILED)
        "`pg_dump` failed while taking the `--backup`, so the migration did not run.",
    BackupPath = "backup-path" (FAILED)
        "The `--backup` file cannot be written.",
    BackupUnsupported = "backup-unsupported" (FAILED)
        "`--backup` was asked for a database that is not PostgreSQL.",
    BadHost = "bad-host" (FAILED)
        "The PostgreSQL host name in the config cannot be resolved.",
    BadRange = "bad-range" (FAILED)
        "The two ends of a revision range are not ancestor and descendant.",
    BadRevisionFile = "bad-revision-file" (FAILED)
        "A revision file cannot be read as an Alembic revision (its `revision`/`down_revision` are missing or malformed).",
    BadRevisionGraph = "bad-revision-graph" (FAILED)
        "The revision graph is inconsistent: a migration names a parent or dependency that does not exist.",
    BadTarget = "bad-target" (USAGE)
        "The target cannot be used with this command (wrong direction, or not a revision it can act on).",
    BaseUnreadable = "base-unreadable" (FAILED)
        "The migrations at the `--base` ref cannot be read.",
    Cancelled = "cancelled" (FAILED)
        "The confirmation prompt was answered no; nothing was changed.",
    CheckConfig = "check-config" (FAILED)
        "The configuration of `check` (its rules or squawk settings) is invalid.",
    ConfigBadUrl = "config-bad-url" (FAILED)
        "The config's `sqlalchemy.url` cannot be parsed.",
    ConfigMissing = "config-missing" (FAILED)
        "The Alembic config (ini) of the component does not exist.",
    ConfigNotAFile = "config-not-a-file" (FAILED)
        "The path given as the Alembic config is a directory or another non-file.",
    ConfigNotText = "config-not-text" (FAILED)
        "The Alembic config is not a text file.",
    ConfigUnreadable = "config-unreadable" (FAILED)
        "The Alembic config cannot be read (permissions or an I/O error).",
    ConfirmationRequired = "confirmation-required" (USAGE)
        "A change needs confirmation and stdin is not a terminal: pass `--yes`.",
    ConnectionRefused = "connection-refused" (FAILED)
        "Nothing listens at the PostgreSQL host and port of the config.",
    ConnectionTimeout = "connection-timeout" (FAILED)
        "Connecting to PostgreSQL timed out: the host is unreachable or still starting.",
    DatabaseMissing = "database-missing" (FAILED)
        "The database named in the config does not exist on the server.",
    DatabaseMoved = "database-moved" (FAILED)
        "The database moved to another revision after the plan was made; nothing was changed.",
    DowngradeAll = "downgrade-all" (USAGE)
        "`downgrade --all` was asked for, which is not supported.",
    DuplicateRevision = "duplicate-revision" (FAILED)
        "Two revision files define the same revision id.",
    FixHeadsDirty = "fix-heads-dirty" (FAILED)
        "`fix-heads` would edit a migration file that has uncommitted changes.",
    FixHeadsOrderFails = "fix-heads-order-fails" (FAILED)
        "With the repointed order, the upgrade fails on a scratch copy of the database; nothing was written.",
    FixHeadsRefused = "fix-heads-refused" (FAILED)
        "`fix-heads` refuses the change: the heads policy does not allow it here (for instance a released migration would be rewritten).",
    FixHeadsRestore = "fix-heads-restore" (FAILED)
        "A migration file could not be restored after the proof on a scratch copy.",
    FixHeadsSql = "fix-heads-sql" (USAGE)
        "`fix-heads` was asked for with `--sql`; it has no offline mode.",
    FixHeadsUnsupported = "fix-heads-unsupported" (USAGE)
        "The database is not PostgreSQL, so `fix-heads` cannot prove the new order on a scratch copy.",
    FixHeadsUnverified = "fix-heads-unverified" (FAILED)
        "After the repoint, the component still does not have exactly one head.",
    FixHeadsWrite = "fix-heads-write" (FAILED)
        "`fix-heads` cannot write a migration file.",
    ForeignKeyViolation = "foreign-key-violation" (FAILED)
        "A migration failed because rows already in the database violate a foreign key.",
    FormatGithub = "format-github" (USAGE)
        "`--format github` was given to a command other than `check` and `verify`.",
    GreenletMissing = "greenlet-missing" (FAILED)
        "The Python environment lacks greenlet, which SQLAlchemy's asyncio support needs.",
    HeadFileSetting = "head-file-setting" (FAILED)
        "`[tool.db-migrate] head-file` in pyproject.toml is not true or false, or pyproject.toml is not TOML.",
    HooksInstall = "hooks-install" (FAILED)
        "`hooks install` or `hooks uninstall` cannot find or write the repository's git hooks.",
    InteractiveNeedsTerminal = "interactive-needs-terminal" (USAGE)
        "`--interactive` was given while stdin is not a terminal.",
    InternalError = "internal-error" (FAILED)
        "A bug in db-migrate: it failed unexpectedly.",
    Interrupted = "interrupted" (INTERRUPTED)
        "db-migrate received SIGINT or SIGTERM and stopped.",
    LauncherFailed = "launcher-failed" (FAILED)
        "The launcher (`./py` or `--python`) failed before Alembic started.",
    LintNotRendered = "lint-not-rendered" (FAILED)
        "Alembic rendered no SQL for a revision, so `check` could not lint it.",
    LockTimeout = "lock-timeout" (FAILED)
        "Another db-migrate still holds the component's migration lock.",
    LoggingConfigMissing = "logging-config-missing" (FAILED)
        "The Alembic config has no logging sections, which `env.py` needs.",
    MigrationAsksInput = "migration-asks-input" (FAILED)
        "A migration asked a question (`input()`) and got no answer.",
    MigrationSyntaxError = "migration-syntax-error" (FAILED)
        "A migration file does not parse as Python.",
    MissingDownRevision = "missing-down-revision" (FAILED)
        "Alembic reports that a migration names a parent that does not exist.",
    ModuleMissing = "module-missing" (FAILED)
        "A Python module that `env.py` or a migration imports is missing.",
    MultipleHeads = "multiple-heads" (FAILED)
        "The component's migrations have diverged into several heads.",
    NativeUnsupported = "native-unsupported" (FAILED)
        "The native engine cannot read this component (with `--engine native`).",
    NewAutogenerateUnsupported = "new-autogenerate-unsupported" (USAGE)
        "`new --autogenerate` was asked for a database that is not PostgreSQL: it compares the models with a scratch PostgreSQL copy.",
    NewHeadFile = "new-head-file" (FAILED)
        "`new` wrote the revision but cannot read the head-file setting or write `head.txt`.",
    NewNotWritten = "new-not-written" (FAILED)
        "Alembic's `revision` ended without one new file in the versions directory.",
    NewOnDivergedHeads = "new-on-diverged-heads" (FAILED)
        "`new` was refused because the component has several heads; nothing was written.",
    NewUnverified = "new-unverified" (FAILED)
        "The revision `new` wrote does not read back as asked (id, parent, `# Part of:`, docstring ids, one head).",
    NoMigrationScripts = "no-migration-scripts" (FAILED)
        "No migration scripts were found where the config's `script_location` points.",
    NoPython = "no-python" (FAILED)
        "There is no Python to run Alembic with: no executable `./py` and no `python3` on PATH.",
    NoWorkspace = "no-workspace" (FAILED)
        "No Backend.AI workspace was found at the current directory or above.",
    OfflineJson = "offline-json" (USAGE)
        "`--sql` was combined with `--format json`; it prints SQL.",
    OfflineNeedsDatabase = "offline-needs-database" (FAILED)
        "A migration reads from the database, so `--sql` (offline mode) cannot render it.",
    OfflineRange = "offline-range" (USAGE)
        "`--sql` cannot build the revision range for this target.",
    OutcomeMismatch = "outcome-mismatch" (FAILED)
        "Alembic reported success, but the database is not where the plan leads.",
    OverlappingVersions = "overlapping-versions" (FAILED)
        "The `alembic_version` table holds two revisions on the same branch.",
    PermissionDenied = "permission-denied" (FAILED)
        "The database user lacks privileges on the tables a migration uses.",
    PgDumpMissing = "pg-dump-missing" (FAILED)
        "The PostgreSQL client tools (`pg_dump`, `pg_restore`) are missing or cannot be started.",
    PyVirtualenvMissing = "py-virtualenv-missing" (FAILED)
        "Backend.AI's `./py` cannot start because the exported virtualenv does not exist.",
    RelativeOvershoot = "relative-overshoot" (FAILED)
        "A relative target moves more steps than the history has.",
    RevisionCycle = "revision-cycle" (FAILED)
        "Following the revisions' `down_revision` leads back to the start: a cycle.",
    RevisionHookFailed = "revision-hook-failed" (FAILED)
        "A post-write hook of Alembic's `revision` (`[post_write_hooks]`, e.g. ruff) failed after the file was written.",
    RevisionNotInGit = "revision-not-in-git" (FAILED)
        "`sync` cannot walk the database back: a revision it is at (or one below it) is in no branch, remote branch or reflog entry of the repository.",
    RevisionTemplateFailed = "revision-template-failed" (FAILED)
        "Alembic's `revision` could not render the repository's `script.py.mako`; nothing was written.",
    RoundtripAll = "roundtrip-all" (USAGE)
        "`roundtrip --all` was asked for, which is not supported.",
    RoundtripMerge = "roundtrip-merge" (USAGE)
        "`roundtrip` was asked for a merge revision, whose downgrade has no single destination.",
    RoundtripMismatch = "roundtrip-mismatch" (FAILED)
        "After downgrade and upgrade again, the schema differs from the one after the first upgrade.",
    RoundtripNotLast = "roundtrip-not-last" (USAGE)
        "`roundtrip` was asked for a revision whose downgrade would also revert others.",
    RoundtripSql = "roundtrip-sql" (USAGE)
        "`roundtrip` was asked for with `--sql`; it has no offline mode.",
    RoundtripTarget = "roundtrip-target" (USAGE)
        "The revision given to `roundtrip` cannot be round-tripped.",
    RoundtripUnknownRevision = "roundtrip-unknown-revision" (FAILED)
        "The database is at a revision the migration files do not have, so `roundtrip` cannot start.",
    RoundtripUnsupported = "roundtrip-unsupported" (USAGE)
        "`roundtrip` compares PostgreSQL schemas and the database is not PostgreSQL.",
    Runtime = "runtime" (FAILED)
        "The async runtime could not start (threads, file descriptors or epoll refused).",
    SchemaAhead = "schema-ahead" (FAILED)
        "A migration creates something that already exists: the schema is ahead of `alembic_version`.",
    ScriptLocationMissing = "script-location-missing" (FAILED)
        "The component's migration scripts are missing from the checkout.",
    ScriptLocationUnset = "script-location-unset" (FAILED)
        "The Alembic config has no `script_location`.",
    SnapshotFailed = "snapshot-failed" (FAILED)
        "`pg_dump --schema-only` failed while taking a schema snapshot.",
    SyncScratch = "sync-scratch" (FAILED)
        "`sync` cannot write the revision files found in git, or the config copy that lists them, to a temporary directory.",
    SyncUnsupported = "sync-unsupported" (FAILED)
        "`sync` cannot plan the walk back: the workspace is not a git work tree, or the database's revisions lead back to several revisions of this checkout.",
    UndefinedObject = "undefined-object" (FAILED)
        "A migration uses a table, column, type… that does not exist at that point of the chain.",
    UnknownBaseRef = "unknown-base-ref" (USAGE)
        "The `--base` ref cannot be resolved by git.",
    UnknownDbRevision = "unknown-db-revision" (FAILED)
        "The database is at a revision the component's scripts do not have.",
    UnknownRevision = "unknown-revision" (USAGE)
        "A revision given on the command line does not exist.",
    UnknownRule = "unknown-rule" (USAGE)
        "`check` was asked about a rule that does not exist.",
    UnknownTarget = "unknown-target" (FAILED)
        "The target is not a revision of the component.",
    UpstreamMissing = "upstream-missing" (USAGE)
        "The `--upstream` ref does not exist or cannot be read.",
    Usage = "usage" (USAGE)
        "The command line cannot be parsed (a bad flag or value).",
    VerifyCannotCreate = "verify-cannot-create" (FAILED)
        "`verify` cannot create its scratch database.",
    VerifyConfig = "verify-config" (FAILED)
        "`verify` cannot point a copy of the config at its scratch database.",
    VerifyCopyFailed = "verify-copy-failed" (FAILED)
        "Copying the database into the scratch database failed.",
    VerifyDropFailed = "verify-drop-failed" (FAILED)
        "The scratch database could not be dropped.",
    VerifyEnvIgnoresUrl = "verify-env-ignores-url" (FAILED)
        "The component's `env.py` does not connect to the database its ini names, so `verify` cannot redirect it.",
    VerifyNoBase = "verify-no-base" (USAGE)
        "`verify` found no base ref to tell the new revisions from the old.",
    VerifyNoDatabase = "verify-no-database" (FAILED)
        "The database to copy into the scratch database does not exist.",
    VerifyNoServer = "verify-no-server" (FAILED)
        "`verify` cannot connect to the server's maintenance database (postgres or template1).",
    VerifyStart = "verify-start" (FAILED)
        "The new revisions rest on several older branches, and `verify` starts from one revision.",
    VerifyUnknownRevision = "verify-unknown-revision" (FAILED)
        "The copy of the database is at a revision the migration files do not have.",
    VerifyUnsupported = "verify-unsupported" (USAGE)
        "`verify` needs a PostgreSQL database it can connect to natively.",
    WorkdirMissing = "workdir-missing" (USAGE)
        "The directory given with `-C` does not exist.",
    Workspace = "workspace" (FAILED)
        "The current directory cannot be read.",
    WrongDirection = "wrong-direction" (FAILED)
        "The target lies on the other side of the current revision for this direction.",
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_name_and_display_are_the_same_string() {
        for &kind in Kind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), kind);
        }
    }

    #[test]
    fn every_kind_is_listed_once_in_order() {
        let mut sorted = Kind::ALL.to_vec();
        sorted.sort_by_key(|k| k.name());
        sorted.dedup();
        assert_eq!(sorted, Kind::ALL);
    }

    #[test]
    fn exit_codes_are_the_documented_ones() {
        assert_eq!(Kind::Interrupted.code(), INTERRUPTED);
        assert_eq!(Kind::BadTarget.code(), USAGE);
        assert_eq!(Kind::AlembicFailed.code(), FAILED);
        for &kind in Kind::ALL {
            assert!(
                matches!(kind.code(), FAILED | USAGE | INTERRUPTED),
                "{kind}"
            );
            assert!(kind.description().ends_with('.'), "{kind}");
        }
    }
}
