//! Snapshots of what each output format prints, over outcomes built in memory: no database, no
//! Alembic, no git. The fixtures here (a workspace config, revision graphs, inspections in each
//! state, failures) are shared with the snapshot tests beside the command renderers.
//!
//! Update with `INSTA_UPDATE=always cargo test --bin db-migrate snapshot` (or `cargo insta
//! review`), then read every changed `.snap` under `snapshots/`: a snapshot of a bug is a bug.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::alembic::Output;
use crate::component::Component;
/// The failure type, re-exported for the other snapshot test modules (it is moving too).
pub(crate) use crate::failure::{Failure, Kind};
use crate::graph::{Graph, Revision};
use crate::heads::released::{Evidence, Released, Releases};
use crate::heads::{self, Explanation};
use crate::inspect::{Engine, Inspection, Known};
use crate::remediation::{self, Context};
use crate::render::{github, text};

/// The serialized output types and their writer (`json::to_string` masks, as every output is),
/// re-exported here so that every snapshot test imports them from this one place while they move.
pub(crate) use crate::render::json::{
    self, ComponentReport, Destructive, MergeReport, RepointReport, Report, Roundtrip, Step,
};
use crate::workspace::ini::{DbUrl, Ini};
use crate::workspace::Config;

// ---------------------------------------------------------------------------------------------
// Fixtures (shared with the other snapshot test modules).

/// The workspace root of every fixture: not the directory the tests run in, so suggested
/// commands carry `-C /home/dev/backend.ai`, as they do for a user elsewhere.
pub(crate) const ROOT: &str = "/home/dev/backend.ai";

/// Where the manager's revision files live under [`ROOT`].
pub(crate) const VERSIONS: &str = "src/ai/backend/manager/models/alembic/versions";

/// The halfstack's URL, password included (every renderer must mask it).
pub(crate) const URL: &str = "postgresql+asyncpg://postgres:develove@localhost:8100/backend";

/// The manager's config at [`ROOT`], pointing at the halfstack database.
pub(crate) fn config() -> Config {
    Config {
        label: "manager".into(),
        component: Some(Component::Manager),
        ini_arg: "alembic.ini".into(),
        url: Some(DbUrl::parse(URL).expect("a valid URL")),
        ini: Ini::default(),
        root: PathBuf::from(ROOT),
    }
}

/// A revision with its file under [`VERSIONS`].
pub(crate) fn rev(id: &str, parents: &[&str], message: &str) -> Revision {
    let slug = message.replace([' ', '.'], "_");
    Revision {
        id: id.into(),
        parents: parents.iter().map(|p| (*p).to_owned()).collect(),
        path: Some(format!("{ROOT}/{VERSIONS}/{id}_{slug}.py")),
        message: message.into(),
        ..Revision::default()
    }
}

/// `create keypairs` ← `add sessions.priority` ← `add users.totp_key`: one head.
pub(crate) fn linear() -> Graph {
    Graph::new(vec![
        rev("4b7b650bc30e", &[], "create keypairs"),
        rev("8679d0a7e22b", &["4b7b650bc30e"], "add sessions.priority"),
        rev("e1d1a2f4a0b9", &["8679d0a7e22b"], "add users.totp_key"),
    ])
    .expect("a valid graph")
}

/// Main's `add sessions.priority` and the developer's `add users.totp_key`, both on
/// `create keypairs`: two heads.
pub(crate) fn diverged() -> Graph {
    Graph::new(vec![
        rev("4b7b650bc30e", &[], "create keypairs"),
        rev("8679d0a7e22b", &["4b7b650bc30e"], "add sessions.priority"),
        rev("e1d1a2f4a0b9", &["4b7b650bc30e"], "add users.totp_key"),
    ])
    .expect("a valid graph")
}

/// The manager at `current` over `graph`, classified as `status` classifies it.
pub(crate) fn inspection(graph: Graph, current: &[&str]) -> Inspection {
    let mut current: Vec<String> = current.iter().map(|c| (*c).to_owned()).collect();
    current.sort();
    let (state, pending) = crate::state::classify(&graph, &current);
    Inspection {
        config: config(),
        graph,
        current,
        state,
        pending,
        engine: Engine::Native,
        explanation: None,
        found_in_git: None,
    }
}

/// A diverged inspection explained as `status` explains it, with released-ness given per
/// revision id (told by git on origin/main) instead of asked of git.
pub(crate) fn explained(mut i: Inspection, released: &[(&str, Released)]) -> Inspection {
    let divergence = heads::divergence(&i.graph).expect("several heads");
    let releases = Releases {
        evidence: Evidence::Git {
            upstream: "origin/main".into(),
        },
        of: released
            .iter()
            .map(|(id, r)| (i.graph.index_of(id).expect("a known revision"), *r))
            .collect::<HashMap<_, _>>(),
    };
    let plan = heads::plan(&i.graph, &divergence, &releases);
    i.explanation = Some(Box::new(Explanation {
        divergence,
        releases,
        plan,
    }));
    i
}

/// The one place the snapshot tests make a failure by hand.
pub(crate) fn failure(kind: Kind, message: &str, cause: &str, fix: &str) -> Failure {
    Failure::new(kind, message, cause, fix)
}

/// The failure db-migrate reports when Alembic's `command` printed these lines and failed, as
/// the remediation table explains it.
pub(crate) fn diagnosed(command: &str, stdout: &[&str], stderr: &[&str]) -> Failure {
    let output = Output {
        code: Some(1),
        stdout: stdout.iter().map(|l| (*l).to_owned()).collect(),
        stderr: stderr.iter().map(|l| (*l).to_owned()).collect(),
        interrupted: false,
        launcher: Some("./py".into()),
    };
    let config = config();
    let graph = linear();
    let ctx = Context {
        graph: Some(&graph),
        ..Context::of(&config)
    };
    remediation::diagnose(command, &output, &ctx)
}

/// The JSON document `status` prints for these components.
pub(crate) fn status_json(components: Vec<ComponentReport>, error: Option<Failure>) -> String {
    json::to_string(&Report { components, error })
}

/// A failure in the three renderings a run can show: text (stderr), JSON (stdout), and the
/// GitHub annotation (stdout, after the text on stderr).
fn every_format(f: &Failure) -> String {
    format!(
        "--- text\n{}--- json\n{}\n--- github\n{}\n",
        text::failure(f),
        json::failure(f),
        github::failure(f)
    )
}

// ---------------------------------------------------------------------------------------------
// status: each of the five states, as text and as JSON.

fn up_to_date() -> Inspection {
    inspection(linear(), &["e1d1a2f4a0b9"])
}

fn behind() -> Inspection {
    inspection(linear(), &["4b7b650bc30e"])
}

fn no_revision() -> Inspection {
    inspection(linear(), &[])
}

fn unknown_revision() -> Inspection {
    inspection(linear(), &["f00dfeedbeef"])
}

/// Diverged, as a command that does not ask git sees it (no explanation).
fn diverged_unexplained() -> Inspection {
    inspection(diverged(), &["8679d0a7e22b"])
}

#[test]
fn status_up_to_date() {
    let i = up_to_date();
    insta::assert_snapshot!("status_up_to_date_text", text::status(&i));
    insta::assert_snapshot!(
        "status_up_to_date_json",
        status_json(vec![ComponentReport::from_inspection(&i)], None)
    );
}

#[test]
fn status_behind() {
    let i = behind();
    insta::assert_snapshot!("status_behind_text", text::status(&i));
    insta::assert_snapshot!(
        "status_behind_json",
        status_json(vec![ComponentReport::from_inspection(&i)], None)
    );
}

#[test]
fn status_behind_by_more_than_ten_counts_the_rest() {
    let mut revs = vec![rev("000000000000", &[], "initial")];
    for n in 1..=12 {
        let id = format!("{n:012}");
        let parent = format!("{:012}", n - 1);
        revs.push(rev(&id, &[&parent], &format!("step {n}")));
    }
    let i = inspection(Graph::new(revs).expect("a valid graph"), &["000000000000"]);
    insta::assert_snapshot!("status_behind_many_text", text::status(&i));
}

#[test]
fn status_no_revision() {
    let i = no_revision();
    insta::assert_snapshot!("status_no_revision_text", text::status(&i));
    insta::assert_snapshot!(
        "status_no_revision_json",
        status_json(vec![ComponentReport::from_inspection(&i)], None)
    );
}

#[test]
fn status_no_revision_in_a_checkout_with_the_backend_ai_script() {
    // The manager's schema comes from the models there (`schema oneshot`), not from base.
    let root = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(root.path().join("backend.ai"), "#!/bin/sh\n").expect("writable");
    let mut i = no_revision();
    i.config.root = root.path().to_path_buf();
    let shown = text::status(&i).replace(&*root.path().to_string_lossy(), "[ROOT]");
    insta::assert_snapshot!("status_no_revision_oneshot_text", shown);
}

#[test]
fn status_of_a_config_outside_the_components_quotes_its_path() {
    // `--config` with a space in the path: the next step must work when pasted.
    let mut i = behind();
    i.config.label = "my alembic.ini".into();
    i.config.component = None;
    i.config.ini_arg = "configs/my alembic.ini".into();
    insta::assert_snapshot!("status_behind_config_text", text::status(&i));
}

#[test]
fn status_no_revision_of_another_component_has_no_oneshot() {
    let mut i = no_revision();
    i.config.label = "accountmgr".into();
    i.config.component = Some(Component::Accountmgr);
    i.config.ini_arg = "alembic-accountmgr.ini".into();
    insta::assert_snapshot!("status_no_revision_accountmgr_text", text::status(&i));
}

#[test]
fn status_diverged_with_the_database_at_both_heads() {
    // Alembic's `upgrade heads` leaves one alembic_version row per head.
    let i = inspection(diverged(), &["e1d1a2f4a0b9", "8679d0a7e22b"]);
    insta::assert_snapshot!("status_diverged_at_both_heads_text", text::status(&i));
}

#[test]
fn status_unknown_revision() {
    let i = unknown_revision();
    insta::assert_snapshot!("status_unknown_revision_text", text::status(&i));
    insta::assert_snapshot!(
        "status_unknown_revision_json",
        status_json(vec![ComponentReport::from_inspection(&i)], None)
    );
}

#[test]
fn status_diverged_unexplained() {
    let i = diverged_unexplained();
    insta::assert_snapshot!("status_diverged_text", text::status(&i));
    insta::assert_snapshot!(
        "status_diverged_json",
        status_json(vec![ComponentReport::from_inspection(&i)], None)
    );
}

// ---------------------------------------------------------------------------------------------
// The diverged-heads explanation: repoint, merge, and a refusal.

/// The developer's branch diverged from main: main's migration is released, theirs is not.
fn diverged_repoint() -> Inspection {
    explained(
        inspection(diverged(), &["e1d1a2f4a0b9"]),
        &[
            ("8679d0a7e22b", Released::Yes),
            ("e1d1a2f4a0b9", Released::No),
        ],
    )
}

/// Main itself has two heads, both released.
fn diverged_merge() -> Inspection {
    explained(
        inspection(diverged(), &["8679d0a7e22b"]),
        &[
            ("8679d0a7e22b", Released::Yes),
            ("e1d1a2f4a0b9", Released::Yes),
        ],
    )
}

/// Both branches hold unreleased migrations: only their authors know which goes first.
fn diverged_refused() -> Inspection {
    explained(
        inspection(diverged(), &["4b7b650bc30e"]),
        &[
            ("8679d0a7e22b", Released::No),
            ("e1d1a2f4a0b9", Released::No),
        ],
    )
}

#[test]
fn diverged_heads_repoint() {
    let i = diverged_repoint();
    insta::assert_snapshot!("diverged_repoint_text", text::status(&i));
    insta::assert_snapshot!(
        "diverged_repoint_json",
        status_json(vec![ComponentReport::from_inspection(&i)], None)
    );
}

#[test]
fn diverged_heads_merge() {
    let i = diverged_merge();
    insta::assert_snapshot!("diverged_merge_text", text::status(&i));
    insta::assert_snapshot!(
        "diverged_merge_json",
        status_json(vec![ComponentReport::from_inspection(&i)], None)
    );
}

#[test]
fn diverged_heads_refused() {
    let i = diverged_refused();
    insta::assert_snapshot!("diverged_refused_text", text::status(&i));
    insta::assert_snapshot!(
        "diverged_refused_json",
        status_json(vec![ComponentReport::from_inspection(&i)], None)
    );
}

#[test]
fn diverged_heads_unknown_released_ness_is_told_by_part_of() {
    let mut i = explained(
        inspection(diverged(), &["4b7b650bc30e"]),
        &[("8679d0a7e22b", Released::Yes)],
    );
    if let Some(e) = i.explanation.as_mut() {
        e.releases.evidence = Evidence::PartOf {
            why: "no upstream ref (origin/main, main) in this checkout".into(),
        };
    }
    insta::assert_snapshot!("diverged_unknown_text", text::status(&i));
}

// ---------------------------------------------------------------------------------------------
// Failures: with and without an `alembic:` line and a database position, in every format.

#[test]
fn failure_from_alembic_with_its_line() {
    let f = diagnosed(
        "upgrade",
        &[],
        &[
            "Traceback (most recent call last):",
            "  File \"/home/dev/backend.ai/dist/export/python/virtualenvs/python-default/3.12.4/lib/python3.12/site-packages/asyncpg/connect_utils.py\", line 1049, in _create_ssl_connection",
            "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 8100)",
        ],
    );
    insta::assert_snapshot!("failure_connection_refused", every_format(&f));
}

#[test]
fn failure_in_a_migration_with_where_the_database_was_left() {
    let mut f = diagnosed(
        "upgrade",
        &[],
        &[
            "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
            "INFO  [alembic.runtime.migration] Running upgrade 4b7b650bc30e -> 8679d0a7e22b, add sessions.priority",
            "Traceback (most recent call last):",
            "sqlalchemy.exc.IntegrityError: (sqlalchemy.dialects.postgresql.asyncpg.IntegrityError) <class 'asyncpg.exceptions.ForeignKeyViolationError'>: insert or update on table \"sessions\" violates foreign key constraint \"fk_sessions_access_key_keypairs\"",
        ],
    );
    f.database = Some("at 4b7b650bc30e (behind; the failed migration was rolled back)".into());
    insta::assert_snapshot!("failure_foreign_key_with_database", every_format(&f));
}

#[test]
fn failure_alembic_does_not_explain() {
    let f = diagnosed(
        "upgrade",
        &[],
        &[
            "INFO  [alembic.runtime.migration] Running upgrade 8679d0a7e22b -> e1d1a2f4a0b9, add users.totp_key",
            "Traceback (most recent call last):",
            "RuntimeError: totp keys need a vault",
        ],
    );
    insta::assert_snapshot!("failure_unrecognised", every_format(&f));
}

#[test]
fn failure_of_db_migrate_itself_without_alembic_or_database() {
    let f = failure(
        Kind::NoMigrationScripts,
        "manager (alembic.ini) has no migration scripts in src/ai/backend/manager/models/alembic/versions",
        "script_location points at a directory without revision files (a checkout in the middle of a rebase, or the wrong ini)",
        "git status; then db-migrate status --component manager",
    );
    insta::assert_snapshot!("failure_plain", every_format(&f));
}

#[test]
fn a_password_is_masked_in_every_format() {
    let mut f = failure(
        Kind::AuthFailed,
        &format!("PostgreSQL at {URL} rejected the password"),
        "the user or password in sqlalchemy.url of alembic.ini is wrong",
        &format!("psql '{URL}' -c 'select 1' to try it by hand"),
    );
    f.alembic_line = Some(format!(
        "sqlalchemy.exc.OperationalError: cannot connect to {URL}"
    ));
    f.database = Some(format!("unknown: {URL} did not answer"));
    // A password read from a config is masked wherever it appears, not only inside a URL.
    crate::mask::add_secret("develove");
    f.cause = "the user or password (develove) in sqlalchemy.url of alembic.ini is wrong".into();
    let shown = every_format(&f);
    assert!(!shown.contains("develove"), "{shown}");
    insta::assert_snapshot!("failure_masks_the_password", shown);
}

// ---------------------------------------------------------------------------------------------
// A run over several components in JSON (`upgrade --all`): one that failed, with what is still
// known of it, and one not attempted after it.

#[test]
fn report_with_a_failed_and_a_skipped_component() {
    let refused = diagnosed(
        "upgrade",
        &[],
        &["ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 8100)"],
    );
    let manager =
        ComponentReport::failed("manager", "alembic.ini", &refused, &Known::Graph(linear()));
    let accountmgr = ComponentReport::skipped(
        "accountmgr",
        "alembic-accountmgr.ini",
        "not attempted: manager failed first (--keep-going tries every component)".into(),
    );
    insta::assert_snapshot!(
        "report_failed_and_skipped_json",
        status_json(vec![manager, accountmgr], Some(refused))
    );
}
