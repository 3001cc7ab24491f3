//! Snapshots of what `check` prints (text, JSON, GitHub annotations) for findings built in
//! memory: no git, no Alembic, no lint run. Update: `INSTA_UPDATE=always cargo test --bin
//! db-migrate snapshot`, then read the changed `.snap` files.

use std::path::{Path, PathBuf};

use super::{ComponentReport, Report, Skipped};
use crate::component::Component;
use crate::render::check::{github as render_github, text as render_text};
use crate::render::snapshot_tests::json;
use crate::render::snapshot_tests::{config, failure, Kind, ROOT, VERSIONS};
use crate::report::check::{Finding, Severity};
use crate::workspace::Config;

fn file(name: &str) -> PathBuf {
    PathBuf::from(format!("{VERSIONS}/{name}"))
}

fn finding(
    rule: &'static str,
    severity: Severity,
    name: &str,
    line: usize,
    message: &str,
) -> Finding {
    Finding {
        rule,
        severity,
        file: file(name),
        line,
        message: message.to_owned(),
    }
}

fn skipped(rule: &str, why: &str) -> Skipped {
    Skipped {
        rule: rule.to_owned(),
        why: why.to_owned(),
    }
}

/// What each format prints for one report, and the exit code's reason in the JSON.
fn every_format(report: &Report) -> [(&'static str, String); 3] {
    [
        ("text", render_text(report)),
        ("json", json::to_string(report)),
        ("github", render_github(report)),
    ]
}

fn report(components: Vec<ComponentReport>, strict: bool) -> Report {
    let count = |s: Severity| {
        components
            .iter()
            .flat_map(|c| &c.findings)
            .filter(|f| f.severity == s)
            .count()
    };
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    Report {
        errors,
        warnings,
        strict,
        failed_by_warnings: strict && errors == 0 && warnings > 0,
        components,
    }
}

/// The manager with findings in two files (errors, a warning, a squawk rule, a message with
/// characters GitHub's runner reads as syntax), the accountmgr clean but with rules skipped,
/// and the appproxy that could not be read at all.
fn findings() -> Report {
    let fault = failure(
        Kind::BadRevisionGraph,
        "revision 77aa12cd90ef names 00ff00ff00ff as its down_revision, but no revision 00ff00ff00ff exists",
        "a parent revision was deleted or renamed",
        "git log --diff-filter=D -- src/ai/backend/appproxy/coordinator/models/alembic/versions",
    );
    let appproxy = Config {
        label: "appproxy".into(),
        component: Some(Component::Appproxy),
        ini_arg: "alembic-appproxy.ini".into(),
        ..config()
    };
    report(
        vec![
            ComponentReport {
                upstream: None,
                component: "manager".into(),
                config: "alembic.ini".into(),
                base: Some("3f5c0b9a7d2e4f6a8b1c3d5e7f9a0b2c4d6e8f0a".into()),
                skipped: Vec::new(),
                findings: vec![
                    finding(
                        "single-head",
                        Severity::Error,
                        "e1d1a2f4a0b9_add_users_totp_key.py",
                        14,
                        "manager has 2 heads: 8679d0a7e22b (8679d0a7e22b_add_sessions_priority.py), e1d1a2f4a0b9 (e1d1a2f4a0b9_add_users_totp_key.py); repoint your own unmerged migration's down_revision to the other head (`db-migrate fix-heads`); no merge migration",
                    ),
                    finding(
                        "adding-required-field",
                        Severity::Error,
                        "e1d1a2f4a0b9_add_users_totp_key.py",
                        23,
                        "Adding a new column that is `NOT NULL` and has no default value to an existing table effectively makes it required. (ALTER TABLE users ADD COLUMN totp_key VARCHAR(64) NOT NULL): Make the field nullable or add a non-VOLATILE DEFAULT",
                    ),
                    finding(
                        "part-of-comment",
                        Severity::Warning,
                        "e1d1a2f4a0b9_add_users_totp_key.py",
                        0,
                        "e1d1a2f4a0b9 has no `# Part of:` comment: add `# Part of: NEXT_RELEASE_VERSION` below down_revision, 100% of new migrations need one",
                    ),
                    finding(
                        "missing-downgrade",
                        Severity::Warning,
                        "f3f3f3f3f3f3_backfill_sessions.py",
                        31,
                        "f3f3f3f3f3f3: downgrade() is `pass`,\nso downgrading past it leaves the schema as it is",
                    ),
                ],
            },
            ComponentReport {
                upstream: None,
                component: "accountmgr".into(),
                config: "alembic-accountmgr.ini".into(),
                base: None,
                skipped: vec![
                    skipped("released-unchanged", "not in a git work tree"),
                    skipped("linear-on-base", "not in a git work tree"),
                    skipped(
                        "squawk",
                        "no base ref to tell new revisions from released ones (pass --base REF)",
                    ),
                ],
                findings: Vec::new(),
            },
            ComponentReport {
                upstream: None,
                component: "appproxy".into(),
                config: "alembic-appproxy.ini".into(),
                base: Some("origin/main".into()),
                skipped: vec![skipped(
                    "every rule",
                    "appproxy could not be read (see the component-fault finding)",
                )],
                findings: vec![crate::check::load::fault(Path::new(ROOT), &appproxy, &fault).into()],
            },
        ],
        false,
    )
}

/// Only warnings, under `--strict`: the run fails because of them, and says so.
fn strict_warnings() -> Report {
    report(
        vec![ComponentReport {
            upstream: None,
            component: "manager".into(),
            config: "alembic.ini".into(),
            base: Some("origin/main".into()),
            skipped: vec![skipped("squawk", "--no-lint")],
            findings: vec![finding(
                "empty-migration",
                Severity::Warning,
                "e1d1a2f4a0b9_add_users_totp_key.py",
                19,
                "e1d1a2f4a0b9: upgrade() and downgrade() do nothing; delete the file, or write the change",
            )],
        }],
        true,
    )
}

/// Nothing found anywhere.
fn clean() -> Report {
    report(
        vec![ComponentReport {
            upstream: None,
            component: "manager".into(),
            config: "alembic.ini".into(),
            base: Some("origin/main".into()),
            skipped: Vec::new(),
            findings: Vec::new(),
        }],
        false,
    )
}

#[test]
fn check_findings() {
    for (format, shown) in every_format(&findings()) {
        insta::assert_snapshot!(format!("check_findings_{format}"), shown);
    }
}

#[test]
fn check_strict_warnings() {
    for (format, shown) in every_format(&strict_warnings()) {
        insta::assert_snapshot!(format!("check_strict_warnings_{format}"), shown);
    }
}

#[test]
fn check_clean() {
    for (format, shown) in every_format(&clean()) {
        insta::assert_snapshot!(format!("check_clean_{format}"), shown);
    }
}

/// The merge-time heads check failing: main gained a migration on the branch's parent after the
/// branch started; the JSON carries the upstream it compared with.
fn heads_after_merge() -> Report {
    use crate::report::check::{UpdatedFrom, Upstream, UpstreamRevision};
    let tip = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";
    report(
        vec![ComponentReport {
            upstream: Some(Upstream {
                reference: "origin/main".into(),
                tip: tip.into(),
                merge_base: "3f5c0b9a7d2e4f6a8b1c3d5e7f9a0b2c4d6e8f0a".into(),
                updated: 1_796_270_400,
                updated_from: UpdatedFrom::Fetch,
                age_seconds: 10_800,
                new_revisions: vec![UpstreamRevision {
                    id: "8679d0a7e22b".into(),
                    file: file("8679d0a7e22b_add_sessions_priority.py"),
                    merged_in: Some(tip.into()),
                    merged_at: Some("2026-12-03T04:00:00+09:00".into()),
                    subject: Some("Merge pull request #4242 from mate/priority".into()),
                }],
                heads_after_merge: vec!["8679d0a7e22b".into(), "e1d1a2f4a0b9".into()],
            }),
            component: "manager".into(),
            config: "alembic.ini".into(),
            base: Some("3f5c0b9a7d2e4f6a8b1c3d5e7f9a0b2c4d6e8f0a".into()),
            skipped: vec![skipped("squawk", "--no-lint")],
            findings: vec![finding(
                "heads-after-merge",
                Severity::Error,
                "e1d1a2f4a0b9_add_users_totp_key.py",
                14,
                &format!(
                    "merging this branch into origin/main (origin/main as fetched 3 h ago) would leave 2 heads (8679d0a7e22b, e1d1a2f4a0b9): origin/main gained 8679d0a7e22b ({VERSIONS}/8679d0a7e22b_add_sessions_priority.py, merged 2026-12-03T04:00:00+09:00 in 9a8b7c6d5e4f \"Merge pull request #4242 from mate/priority\") after this branch started, and this branch's e1d1a2f4a0b9 follows 4b1e6f2c9d3a; bring the branch up to date, then repoint your own unmerged migration (no merge migration): git merge origin/main, then db-migrate fix-heads --component manager --upstream origin/main"
                ),
            )],
        }],
        false,
    )
}

#[test]
fn check_heads_after_merge() {
    for (format, shown) in every_format(&heads_after_merge()) {
        insta::assert_snapshot!(format!("check_heads_after_merge_{format}"), shown);
    }
}
