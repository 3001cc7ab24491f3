//! Snapshots of what `verify` prints for proofs built in memory (no scratch database, no
//! Alembic): one that passed and one that failed in every way a proof can, as text, JSON and
//! GitHub annotations.
//!
//! The text here is each revision's block ([`revision_text`]), the drift line ([`drift_text`])
//! and the summary ([`summary`]). The component header, the `scratch`, `prepare`, `then` and
//! `slowest` lines and the "not proved (nothing to continue from)" line are the other
//! [`crate::event::Verify`] events, shown by [`crate::render::verify::progress`].

use super::report::{
    ComponentReport, DriftReport, Report, RevisionReport, ScratchReport, Slow, Timed,
};
use crate::render::snapshot_tests::json;
use crate::render::snapshot_tests::{diagnosed, failure, Kind, VERSIONS};
use crate::render::verify::{drift_text, github, revision_text, summary};
use crate::verify::drift::{self, Difference};

const SELECT: &str = "--component manager -C /home/dev/backend.ai";

fn timed(step: &str, target: &str, seconds: f64, ok: bool) -> Timed {
    Timed {
        step: step.into(),
        target: target.into(),
        seconds,
        ok,
    }
}

/// A revision proved by the usual three steps, all passing.
fn proved(id: &str, message: &str, seconds: [f64; 3]) -> RevisionReport {
    let parent = "4b7b650bc30e";
    RevisionReport {
        revision: id.into(),
        message: message.into(),
        file: format!("{VERSIONS}/{id}_{}.py", message.replace([' ', '.'], "_")),
        idempotent_because: None,
        steps: vec![
            timed("upgrade", id, seconds[0], true),
            timed("downgrade", parent, seconds[1], true),
            timed("upgrade again", id, seconds[2], true),
        ],
        roundtrip: "ok",
        roundtrip_diff: None,
        idempotent: None,
        idempotent_diff: None,
        why: None,
        error: None,
        fix: None,
    }
}

fn scratch() -> ScratchReport {
    ScratchReport {
        database: "backend_verify_5f2c".into(),
        made: "template",
        from: Some("backend".into()),
        seconds: 0.84,
        dropped: true,
        connect: None,
    }
}

fn finished(mut c: ComponentReport) -> ComponentReport {
    c.problems = c.count_problems();
    c
}

/// What `verify` prints in text for one component (the reachable lines, in their order). A
/// revision left unproved after a failure gets no block of its own (`Proof::prove` names it on
/// one inline line instead).
fn text(c: &ComponentReport) -> String {
    let mut out = String::new();
    if let (Some(e), true) = (&c.error, c.revisions.is_empty()) {
        // No proof was started: the failure (on stderr), then the summary.
        out.push_str(&crate::render::text::failure(e));
        out.push_str(&summary(c));
        out.push('\n');
        return out;
    }
    for r in c.revisions.iter().filter(|r| !r.steps.is_empty()) {
        out.push_str(&revision_text(r));
    }
    out.push_str(&drift_text(&c.drift));
    out.push_str(&summary(c));
    out.push('\n');
    out
}

fn every_format(components: Vec<ComponentReport>) -> [(&'static str, String); 3] {
    let text: String = components.iter().map(text).collect();
    let github = github(&components);
    let problems = components.iter().map(|c| c.problems).sum();
    let json = json::to_string(&Report {
        components,
        problems,
    });
    [("text", text), ("json", json), ("github", github)]
}

/// Two new revisions, one a backport run twice, and models that match the schema.
fn passed() -> Vec<ComponentReport> {
    let mut backport = proved(
        "c9d8e7f6a5b4",
        "backport sessions.priority index",
        [0.42, 0.2, 0.39],
    );
    backport.idempotent_because = Some("backport");
    backport
        .steps
        .push(timed("stamp", "8679d0a7e22b", 0.31, true));
    backport
        .steps
        .push(timed("upgrade twice", "c9d8e7f6a5b4", 0.37, true));
    backport.idempotent = Some("ok");
    let totp = proved("e1d1a2f4a0b9", "add users.totp_key", [1.25, 0.61, 1.18]);
    vec![finished(ComponentReport {
        component: "manager".into(),
        config: "alembic.ini".into(),
        base: Some("origin/main".into()),
        scratch: Some(scratch()),
        prepare: vec![timed("upgrade", "4b7b650bc30e", 3.5, true)],
        slowest: vec![
            Slow {
                revision: "e1d1a2f4a0b9".into(),
                step: "upgrade".into(),
                seconds: 1.25,
            },
            Slow {
                revision: "e1d1a2f4a0b9".into(),
                step: "upgrade again".into(),
                seconds: 1.18,
            },
            Slow {
                revision: "e1d1a2f4a0b9".into(),
                step: "downgrade".into(),
                seconds: 0.61,
            },
        ],
        revisions: vec![backport, totp],
        drift: DriftReport {
            state: "clean",
            why: None,
            seconds: Some(2.31),
            ..DriftReport::default()
        },
        alembic_startup_seconds: Some(0.28),
        ..ComponentReport::default()
    })]
}

/// The manager: a round trip that differs, a backport that cannot run twice, a step that fails
/// (and the revision after it not proved), and models that drift; the accountmgr: no proof at
/// all (the scratch database could not be made).
fn failed() -> Vec<ComponentReport> {
    let mut differs = proved("e1d1a2f4a0b9", "add users.totp_key", [1.25, 0.61, 1.18]);
    differs.roundtrip = "differs";
    differs.roundtrip_diff = Some(
        "--- after upgrade\n+++ after downgrade and upgrade again\n@@ -41,3 +41,2 @@\n CREATE TABLE public.users (\n-    totp_key character varying(64)\n+    totp_key character varying(32)\n".into(),
    );
    differs.fix = Some(format!(
        "make downgrade() of e1d1a2f4a0b9 undo exactly what its upgrade() does (drop what it creates, restore what it drops or changes; the diff above shows what is left), then rerun db-migrate verify {SELECT}"
    ));

    let mut twice = proved(
        "c9d8e7f6a5b4",
        "backport sessions.priority index",
        [0.42, 0.2, 0.39],
    );
    twice.idempotent_because = Some("backport");
    twice.steps.push(timed("stamp", "8679d0a7e22b", 0.31, true));
    twice
        .steps
        .push(timed("upgrade twice", "c9d8e7f6a5b4", 0.12, false));
    twice.idempotent = Some("failed");
    let mut again = diagnosed(
        "upgrade",
        &[],
        &[
            "INFO  [alembic.runtime.migration] Running upgrade 8679d0a7e22b -> c9d8e7f6a5b4, backport sessions.priority index",
            "sqlalchemy.exc.ProgrammingError: (sqlalchemy.dialects.postgresql.asyncpg.ProgrammingError) <class 'asyncpg.exceptions.DuplicateTableError'>: relation \"ix_sessions_priority\" already exists",
        ],
    );
    again.database = None;
    twice.error = Some(again);

    let mut broken = proved(
        "0a1b2c3d4e5f",
        "drop kernels.legacy_status",
        [0.0, 0.0, 0.0],
    );
    broken.steps = vec![timed("upgrade", "0a1b2c3d4e5f", 0.07, false)];
    broken.roundtrip = "failed";
    broken.error = Some(failure(
        Kind::AlembicFailed,
        "alembic upgrade failed for manager in migration c9d8e7f6a5b4 -> 0a1b2c3d4e5f (exit 1)",
        "Alembic reported an error that db-migrate does not recognise",
        &format!("fix the migration (see the cause), then rerun db-migrate verify {SELECT}"),
    ));
    broken.error.as_mut().expect("set above").alembic_line =
        Some("KeyError: 'legacy_status'".into());

    let mut left = proved("77aa12cd90ef", "add kernels.priority", [0.0, 0.0, 0.0]);
    left.steps.clear();
    left.roundtrip = "not-run";
    left.why = Some(
        "not proved: 0a1b2c3d4e5f failed, and the scratch database cannot go on from there".into(),
    );

    let differences = vec![
        Difference {
            sign: '+',
            op: "add_column".into(),
            text: "column users.totp_secret VARCHAR(64)".into(),
        },
        Difference {
            sign: '-',
            op: "remove_index".into(),
            text: "index ix_sessions_priority on sessions (priority)".into(),
        },
        Difference {
            sign: '~',
            op: "modify_type".into(),
            text: "users.totp_key VARCHAR(32) -> VARCHAR(64)".into(),
        },
    ];
    let drift_fix = drift::fix(
        &differences,
        "./py -m alembic -c alembic.ini revision --autogenerate -m MESSAGE",
        &format!("rerun db-migrate verify {SELECT}"),
    );
    let manager = finished(ComponentReport {
        component: "manager".into(),
        config: "alembic.ini".into(),
        base: Some("origin/main".into()),
        scratch: Some(scratch()),
        prepare: vec![timed("upgrade", "4b7b650bc30e", 3.5, true)],
        revisions: vec![differs, twice, broken, left],
        drift: DriftReport {
            state: "differs",
            differences: differences.iter().map(Into::into).collect(),
            why: None,
            seconds: Some(2.9),
            fix: Some(drift_fix),
            measured_on: Some("fresh-copy"),
            fresh_copy: Some("backend_verify_5f2c_head".into()),
        },
        alembic_startup_seconds: Some(0.28),
        ..ComponentReport::default()
    });
    let accountmgr = finished(ComponentReport {
        component: "accountmgr".into(),
        config: "alembic-accountmgr.ini".into(),
        error: Some(failure(
            Kind::VerifyCannotCreate,
            "cannot create the scratch database backend_accountmgr_verify_0c1d: permission denied to create database",
            "verify works on a scratch database on the component's server, and the role postgres may not create databases",
            "let it, as a superuser: psql -h localhost -p 8100 -U postgres -d postgres -c 'ALTER ROLE postgres CREATEDB', then retry",
        )),
        ..ComponentReport::default()
    });
    vec![manager, accountmgr]
}

#[test]
fn verify_passed() {
    for (format, shown) in every_format(passed()) {
        insta::assert_snapshot!(format!("verify_passed_{format}"), shown);
    }
}

#[test]
fn verify_failed() {
    for (format, shown) in every_format(failed()) {
        insta::assert_snapshot!(format!("verify_failed_{format}"), shown);
    }
}

/// The proof as text and GitHub show it while it runs, one of every [`crate::event::Verify`]
/// event in the order a run that stopped early emits them; JSON shows none of them.
#[test]
fn verify_progress() {
    use crate::event::{Event, Verify};
    use crate::render::events::Reporter;
    use crate::render::Format;

    let manager = &failed()[0];
    let dump = ScratchReport {
        made: "dump-restore",
        ..scratch()
    };
    let empty = ScratchReport {
        made: "empty",
        from: None,
        ..scratch()
    };
    let left = ["77aa12cd90ef"];
    let events = [
        Verify::Started {
            component: &manager.component,
            config: &manager.config,
        },
        Verify::Planned {
            revisions: manager.revisions.len(),
            base: manager.base.as_deref(),
        },
        Verify::Planned {
            revisions: 1,
            base: None,
        },
        Verify::AlembicStartup {
            seconds: 0.28,
            shared: true,
        },
        Verify::AlembicStartup {
            seconds: 0.31,
            shared: false,
        },
        Verify::ScratchMade {
            scratch: manager.scratch.as_ref().expect("made"),
            why_dump: None,
        },
        Verify::ScratchMade {
            scratch: &dump,
            why_dump: Some("backend has other sessions connected"),
        },
        Verify::ScratchMade {
            scratch: &empty,
            why_dump: None,
        },
        Verify::Prepared(&manager.prepare[0]),
        Verify::Revision(&manager.revisions[2]),
        Verify::NotProved(&left),
        Verify::NotProved(&[]),
        Verify::WentToHead(&timed("upgrade", "head", 0.5, true)),
        Verify::DriftOnFreshCopy {
            name: "backend_verify_5f2c_head",
            stopped_at: "0a1b2c3d4e5f",
            dropped: true,
        },
        Verify::Drift(&manager.drift),
        Verify::Slowest(&passed()[0].slowest),
        Verify::Slowest(&[]),
        Verify::ScratchKept {
            name: "backend_verify_5f2c",
            connect: "psql -h localhost -p 8101 -U postgres -d backend_verify_5f2c",
        },
        Verify::ScratchDropped {
            name: "backend_verify_5f2c",
        },
        Verify::Finished(manager),
    ];
    let shown = |format: Format| -> String {
        let reporter = Reporter::new(format, false);
        events
            .iter()
            .filter_map(|&e| reporter.render(&Event::Verify(e)))
            .map(|(stream, text)| {
                assert_eq!(stream, crate::render::events::Stream::Stdout);
                text
            })
            .collect()
    };
    insta::assert_snapshot!("verify_progress_text", shown(Format::Text));
    assert_eq!(shown(Format::Github), shown(Format::Text));
    assert_eq!(shown(Format::Json), "");
}
