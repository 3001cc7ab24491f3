//! The skill's words as data: which command for which situation, the usual sequences, the
//! team's policy, the safety rules, and the JSON fields to branch on. [`super::document`] lays
//! them out; the tests beside it hold each table to the binary (every subcommand has a row,
//! every field is a stable one in the schema).

/// A situation an agent meets, and the command for it.
pub struct Situation {
    /// The subcommand, as typed; a row whose subcommand this binary lacks is left out.
    pub command: &'static str,
    /// When to reach for it (markdown).
    pub when: &'static str,
    /// What to run, in order (each shown as code).
    pub run: &'static [&'static str],
}

/// Every subcommand, most used first.
pub static SITUATIONS: &[Situation] = &[
    Situation {
        command: "status",
        when: "Where is each database, and what should run next? Start here: the state is \
               `up-to-date`, `behind`, `diverged`, `no-revision` or `unknown-revision`.",
        run: &["db-migrate status --all --format json"],
    },
    Situation {
        command: "upgrade",
        when: "Migrations are pending (`behind`, e.g. after a pull), or the database is new \
               (`no-revision`).",
        run: &[
            "db-migrate upgrade --all --dry-run",
            "db-migrate upgrade --all",
        ],
    },
    Situation {
        command: "downgrade",
        when: "Revert the newest migration(s). Destroys what they added: read the plan first.",
        run: &[
            "db-migrate downgrade -1 --dry-run",
            "db-migrate downgrade -1 --yes",
        ],
    },
    Situation {
        command: "migrate",
        when: "A script that takes the direction and the target as options.",
        run: &["db-migrate migrate --direction downgrade --target REV --dry-run"],
    },
    Situation {
        command: "sync",
        when: "After a branch switch the database is at revisions this checkout lacks \
               (`unknown-revision`): walk them back with their own files from git, then upgrade.",
        run: &["db-migrate sync --dry-run", "db-migrate sync --yes"],
    },
    Situation {
        command: "hooks",
        when: "Be told right after every checkout or merge when a database no longer matches \
               the checkout.",
        run: &["db-migrate hooks install"],
    },
    Situation {
        command: "fix-heads",
        when: "Two or more heads (`diverged`; Alembic says \"Multiple head revisions are \
               present\"): repoint your own unmerged migration, or merge main's released heads.",
        run: &[
            "db-migrate fix-heads --dry-run",
            "db-migrate fix-heads --yes",
        ],
    },
    Situation {
        command: "new",
        when: "Write a new migration the team's way: on the single head, with \
               `# Part of: NEXT_RELEASE_VERSION`; `--autogenerate` compares the models with a \
               scratch copy upgraded to head, never your database.",
        run: &["db-migrate new -m \"add users.totp_secret\" --autogenerate"],
    },
    Situation {
        command: "check",
        when: "Before committing and in CI: one head, released migrations unchanged, the team's \
               conventions, PostgreSQL lock rules on the new SQL (`--no-lint`: the static rules \
               only, no database or Python).",
        run: &["db-migrate check --format json"],
    },
    Situation {
        command: "verify",
        when: "Before review: prove the branch's new migrations on a scratch copy of the \
               database (each round trip, backports twice, the models against the migrated \
               schema). Your database is never touched.",
        run: &["db-migrate verify --format json"],
    },
    Situation {
        command: "roundtrip",
        when: "Does one migration's downgrade undo its upgrade? Runs on the database itself.",
        run: &[
            "db-migrate roundtrip REV --dry-run",
            "db-migrate roundtrip REV --yes",
        ],
    },
    Situation {
        command: "current",
        when: "Only the revision(s) the database is at.",
        run: &["db-migrate current --all --format json"],
    },
    Situation {
        command: "heads",
        when: "The heads of the migration scripts; with several, each branch back to the fork \
               point, which of its revisions are released, and what `fix-heads` would do.",
        run: &["db-migrate heads --format json"],
    },
    Situation {
        command: "history",
        when: "Every revision, newest first, with its parents and message.",
        run: &["db-migrate history --format json"],
    },
    Situation {
        command: "schema",
        when: "The JSON Schema of every `--format json` document, for the version you run.",
        run: &["db-migrate schema"],
    },
    Situation {
        command: "skill",
        when: "Refresh this skill after upgrading db-migrate.",
        run: &["db-migrate skill > .claude/skills/db-migrate/SKILL.md"],
    },
    Situation {
        command: "completions",
        when: "Shell completion, for a person's shell.",
        run: &["source <(db-migrate completions bash)"],
    },
    Situation {
        command: "man",
        when: "The man page.",
        run: &["db-migrate man > db-migrate.1"],
    },
];

/// A sequence of steps for a common task.
pub struct Workflow {
    pub title: &'static str,
    pub steps: &'static [Step],
}

/// One step; left out when it names a subcommand this binary lacks.
pub struct Step {
    /// The subcommand the step runs, or "" for a step that runs none.
    pub command: &'static str,
    pub text: &'static str,
}

pub static WORKFLOWS: &[Workflow] = &[
    Workflow {
        title: "After a pull, a merge or a branch switch",
        steps: &[
            Step {
                command: "status",
                text: "`db-migrate status --all --format json`: read each component's `state`.",
            },
            Step {
                command: "upgrade",
                text: "`behind` or `no-revision`: `db-migrate upgrade --all`.",
            },
            Step {
                command: "sync",
                text: "`unknown-revision` (the database ran migrations of another branch): \
                       `db-migrate sync --dry-run`, read what the walk back destroys, then \
                       `db-migrate sync --yes` if the user agrees.",
            },
            Step {
                command: "fix-heads",
                text: "`diverged`: the scripts have several heads; see *Diverged heads* below.",
            },
        ],
    },
    Workflow {
        title: "Writing a migration",
        steps: &[
            Step {
                command: "new",
                text: "`db-migrate new -m MESSAGE [--component C] [--autogenerate]` writes the \
                       file on the single head and prints its path; edit it (review what \
                       autogenerate wrote).",
            },
            Step {
                command: "check",
                text: "`db-migrate check`: fix every error finding (`db-migrate check --explain \
                       RULE` says why and how).",
            },
            Step {
                command: "verify",
                text: "`db-migrate verify`: round trip, backports run twice, the models against \
                       the migrated schema, on a scratch copy.",
            },
            Step {
                command: "",
                text: "Commit the migration with the change that needs it.",
            },
        ],
    },
    Workflow {
        title: "Diverged heads",
        steps: &[
            Step {
                command: "heads",
                text: "`db-migrate heads --format json`: each branch back to the fork point, \
                       which revisions are released, and `divergence.fix.action` (`repoint` or \
                       `merge`).",
            },
            Step {
                command: "fix-heads",
                text: "`db-migrate fix-heads --dry-run` shows the diff; `db-migrate fix-heads \
                       --yes` writes it (a repoint is proved on a scratch copy first).",
            },
            Step {
                command: "check",
                text: "`db-migrate check` again: one head, nothing released changed.",
            },
        ],
    },
];

/// The team's policy (the alembic directory's `AGENTS.md` and `README.md`), in the order an
/// author meets it. The diverged-heads rule is `single-head`'s own "How to fix" and comes after
/// the first line.
pub static POLICY: &[&str] = &[
    "One head per component, and a linear chain: a new migration's `down_revision` is the \
     current head.",
    "Never edit `revision` or `down_revision` of a released migration (one that is on main or in \
     a release). The only exception is the README's backport insertion, `a --> d --> b --> c --> \
     d'`: `d` keeps `down_revision = a`, `b` moves from `a` to `d`, and `d'` repeats `d` on top \
     of the head.",
    "Backports are fixes only, and both `d` and `d'` are idempotent (`IF NOT EXISTS`, \
     `IF EXISTS`, inspector checks): databases may already have the change. `db-migrate verify` \
     runs backports twice.",
    "Every manager migration carries `# Part of: NEXT_RELEASE_VERSION` right below \
     `down_revision`, never a version number: the release freezes the placeholder.",
    "A data migration (casts, backfills, joins across tables) is proved against a database, not \
     only linted: `db-migrate verify` does it on a scratch copy.",
    "Where a versions directory holds `head.txt` (`[tool.db-migrate] head-file = true` in \
     `pyproject.toml`), it names the one head, and `db-migrate fix-heads` keeps it current. A git \
     conflict in it means another migration reached main first: bring the branch up to date and \
     run `db-migrate fix-heads`, which repoints your migration and rewrites the file.",
];

/// What an agent must not do, or must do first.
pub static SAFETY: &[&str] = &[
    "Read the plan before anything that goes down: `--dry-run` prints it, with what a downgrade \
     destroys (tables, columns, rows), and touches nothing.",
    "`downgrade`, `sync`, `roundtrip` and `fix-heads` ask before they act; without a terminal (an \
     agent, CI) they refuse with exit 2 unless `--yes` is given. Give `--yes` only for a plan \
     you have read and the user wants, and never for a database you were not asked to change.",
    "Never run `alembic stamp` by hand, nor edit `alembic_version`: it records a schema the \
     database does not have, and later upgrades fail or skip migrations. Move the database with \
     `upgrade`, `downgrade` or `sync`.",
    "Prefer db-migrate to `./py -m alembic …`: it plans first, holds a migration lock, checks \
     where the database ended up, and turns a failure into a cause and a fix.",
    "`verify` works on a scratch copy and never changes your database; `upgrade`, `downgrade`, \
     `sync` and `roundtrip` change it (`--backup` dumps it first).",
    "Passwords in database URLs are masked in everything db-migrate prints. Do not print \
     `alembic.ini`, `sqlalchemy.url` or the environment yourself to show them.",
    "An interrupted or failed run says where it left the database (exit 130 for Ctrl-C): run \
     `db-migrate status` before anything else.",
];

/// A field of the JSON output to branch on, as the schema names it.
pub struct Field {
    /// Where it is in a document.
    pub path: &'static str,
    /// The schema's definition holding it, and its name there (a test checks it is Stable).
    pub def: &'static str,
    pub name: &'static str,
    pub meaning: &'static str,
}

/// The stable fields `docs/json.md` says to branch on.
pub static FIELDS: &[Field] = &[
    Field {
        path: "components[].state",
        def: "Component",
        name: "state",
        meaning: "where the database is; decides the next command",
    },
    Field {
        path: "components[].pending",
        def: "Component",
        name: "pending",
        meaning: "revision ids an upgrade applies, in order",
    },
    Field {
        path: "components[].current",
        def: "Component",
        name: "current",
        meaning: "the revisions in `alembic_version`",
    },
    Field {
        path: "components[].heads",
        def: "Component",
        name: "heads",
        meaning: "the head revisions of the scripts",
    },
    Field {
        path: "components[].divergence.fix.action",
        def: "DivergenceFix",
        name: "action",
        meaning: "what `fix-heads` would do",
    },
    Field {
        path: "components[].repoint.written",
        def: "Repoint",
        name: "written",
        meaning: "`fix-heads` rewrote your migration (false with `--dry-run`)",
    },
    Field {
        path: "components[].merge.written",
        def: "Merge",
        name: "written",
        meaning: "`fix-heads` wrote the merge migration",
    },
    Field {
        path: "error.kind",
        def: "Failure",
        name: "kind",
        meaning: "why the run failed (also per component)",
    },
    Field {
        path: "components[].findings[].rule",
        def: "CheckFinding",
        name: "rule",
        meaning: "`check`: the rule (`db-migrate check --explain RULE`)",
    },
    Field {
        path: "components[].findings[].severity",
        def: "CheckFinding",
        name: "severity",
        meaning: "`check`: an error fails the run, a warning only with `--strict`",
    },
    Field {
        path: "errors, warnings",
        def: "CheckDocument",
        name: "errors",
        meaning: "`check`: the findings of each severity, over every component",
    },
    Field {
        path: "components[].revisions[].roundtrip",
        def: "VerifyRevision",
        name: "roundtrip",
        meaning: "`verify`: the downgrade undid the upgrade",
    },
    Field {
        path: "components[].revisions[].idempotent",
        def: "VerifyRevision",
        name: "idempotent",
        meaning: "`verify`: a backport run twice",
    },
    Field {
        path: "components[].drift.state",
        def: "Drift",
        name: "state",
        meaning: "`verify`: the models against the migrated schema",
    },
    Field {
        path: "problems",
        def: "VerifyDocument",
        name: "problems",
        meaning: "`verify`: 0 means everything was proved",
    },
];
