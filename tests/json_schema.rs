//! The published JSON contract holds: the live `--format json` output of every command (status,
//! upgrade, downgrade, current, heads, history, fix-heads, roundtrip, check, verify) and of
//! failures validates against what `db-migrate schema` prints, checked by a real JSON Schema
//! validator (Python's `jsonschema`, in a venv of its own under the target directory), and the
//! schema rejects documents the tool never prints.
//!
//! Everything runs the real binary against the real Alembic and a throwaway PostgreSQL cluster.

mod harness;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use harness::*;
use serde_json::{json, Value};
use Component::{Appproxy, Manager};

/// The validator's version, pinned: the venv's name carries it, so a bump builds a new one.
const JSONSCHEMA: &str = "jsonschema==4.26.0";

/// Validates the document on stdin against the schema file named by argv[1] (after checking the
/// schema itself against draft 2020-12); prints every error and exits 1 when there are any.
const VALIDATE: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
doc = json.load(sys.stdin)
errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
for e in errors:
    print("/".join(map(str, e.absolute_path)) or "(document)", ":", e.message)
    for sub in e.context or []:
        print("    ", "/".join(map(str, sub.absolute_path)), ":", sub.message)
sys.exit(1 if errors else 0)
"#;

/// The venv's interpreter: `<target>/json-schema-venv-4.26.0`, built on first use (its own, so
/// the Alembic venv's cache key is the same for every test file).
fn validator_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let version = JSONSCHEMA.trim_start_matches("jsonschema==");
        let dir = target_dir().join(format!("json-schema-venv-{version}"));
        let python = dir.join("bin/python");
        if python.exists() {
            return python;
        }
        let partial = target_dir().join(format!(
            "json-schema-venv-{version}.partial-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&partial);
        let ok = |cmd: &mut Command| {
            let out = cmd
                .stdin(Stdio::null())
                .env_remove("PYTHONPATH")
                .env_remove("PYTHONHOME")
                .env_remove("VIRTUAL_ENV")
                .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
                .env("PIP_NO_INPUT", "1")
                .output()
                .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
            assert!(out.status.success(), "{cmd:?}:\n{}", output_text(&out));
        };
        ok(Command::new("python3").args(["-m", "venv"]).arg(&partial));
        ok(Command::new(partial.join("bin/python"))
            .args(["-m", "pip", "install", "-q", JSONSCHEMA]));
        // Another process may have finished first: either copy is as good.
        if std::fs::rename(&partial, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
        assert!(python.exists(), "no {}", python.display());
        python
    })
}

/// What `db-migrate schema` prints, written to a file the validator reads.
fn schema_file() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &FILE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let out = Command::new(bin_path())
                .arg("schema")
                .current_dir(dir.path())
                .output()
                .expect("db-migrate schema runs");
            assert!(out.status.success(), "{}", output_text(&out));
            let text = stdout_of(&out);
            let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
            assert_eq!(
                schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{text}"
            );
            let path = dir.path().join("db-migrate.schema.json");
            std::fs::write(&path, text).expect("write the schema");
            (dir, path)
        })
        .1
}

/// The validator's verdict on `doc`: the errors it printed, when it rejected it.
fn validate(doc: &str) -> Result<(), String> {
    let mut child = Command::new(validator_python())
        .args(["-c", VALIDATE])
        .arg(schema_file())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the validator starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(doc.as_bytes())
        .expect("write the document");
    let out = child.wait_with_output().expect("the validator runs");
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(stdout_of(&out)),
        _ => panic!("the validator itself failed:\n{}", output_text(&out)),
    }
}

/// `db-migrate <args> --format json` exits `code` and prints one document the schema accepts;
/// that document.
fn valid(ws: &Workspace, args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let r = db_migrate(ws, &all);
    assert_eq!(r.code, Some(code), "{args:?}: {}", r.shown);
    if let Err(errors) = validate(&r.stdout) {
        panic!(
            "{args:?}: the schema rejects this output:\n{errors}\n{}",
            r.stdout
        );
    }
    r.json()
}

fn state(doc: &Value, c: Component) -> &str {
    component_json(doc, c)["state"].as_str().expect("a state")
}

#[test]
fn status_upgrade_downgrade_current_heads_history_and_roundtrip_validate() {
    let chain = linear_chain("js", 3);
    let ws = Workspace::new()
        .component(Manager, &chain)
        .component(Appproxy, &linear_chain("jp", 1));
    ws.db_at(Manager, chain[0].id());

    let doc = valid(&ws, &["status", "--all"], 0);
    assert_eq!(state(&doc, Manager), "behind");
    assert_eq!(state(&doc, Appproxy), "no-revision");

    let doc = valid(&ws, &["upgrade"], 0);
    assert!(!component_json(&doc, Manager)["applied"]
        .as_array()
        .expect("applied steps")
        .is_empty());
    let doc = valid(&ws, &["current"], 0);
    assert_eq!(state(&doc, Manager), "up-to-date");
    valid(&ws, &["heads", "--all"], 0);
    valid(&ws, &["history", "--all"], 0);
    valid(&ws, &["roundtrip", "--yes"], 0);
    let doc = valid(&ws, &["downgrade", "--yes", "-1"], 0);
    assert_eq!(state(&doc, Manager), "behind");
    valid(&ws, &["migrate", "--direction", "upgrade"], 0);
}

#[test]
fn a_diverged_component_and_fix_heads_validate() {
    let a = rev("d1d1d1d1d1d1", None, "create users");
    let b = rev("d2d2d2d2d2d2", Some(a.id()), "add email");
    let c = rev("d3d3d3d3d3d3", Some(a.id()), "add keypairs");
    let ws = Workspace::new().component(Manager, &[a.clone(), b, c]);
    ws.db_at(Manager, a.id());

    let doc = valid(&ws, &["status"], 0);
    assert_eq!(state(&doc, Manager), "diverged");
    assert!(
        component_json(&doc, Manager)["divergence"].is_object(),
        "{doc:#}"
    );
    let doc = valid(&ws, &["heads"], 0);
    assert!(
        component_json(&doc, Manager)["divergence"].is_object(),
        "{doc:#}"
    );
    // Whether it repoints, merges or refuses, what it prints is a components document.
    let fix = db_migrate(&ws, &["fix-heads", "--dry-run", "--format", "json"]);
    if let Err(errors) = validate(&fix.stdout) {
        panic!(
            "fix-heads: the schema rejects this output:\n{errors}\n{}",
            fix.shown
        );
    }
}

#[test]
fn status_and_sync_after_a_branch_switch_validate() {
    // The database upgraded on a feature branch, then main checked out: status names where git
    // holds the revisions, sync walks them back (both documents carry `found_in_git`).
    let a = rev("e1e1e1e1e1e1", None, "create users");
    let ws = Workspace::new().component(Manager, std::slice::from_ref(&a));
    let root = ws.root().to_path_buf();
    ws.write_file(".gitignore", "__pycache__/\n");
    git(&root, &["init", "-q", "-b", "main"]);
    commit_all(&root, "base");
    git(&root, &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(
        Manager,
        &[rev("e2e2e2e2e2e2", Some(a.id()), "add keypairs")],
    );
    commit_all(&root, "feature");
    ws.db_at(Manager, "e2e2e2e2e2e2");
    git(&root, &["checkout", "-q", "main"]);

    let doc = valid(&ws, &["status"], 0);
    assert_eq!(state(&doc, Manager), "unknown-revision");
    assert!(
        component_json(&doc, Manager)["found_in_git"].is_array(),
        "{doc:#}"
    );
    let doc = valid(&ws, &["sync", "--dry-run"], 0);
    assert!(
        component_json(&doc, Manager)["found_in_git"].is_array(),
        "{doc:#}"
    );
    let doc = valid(&ws, &["sync", "--yes"], 0);
    assert_eq!(state(&doc, Manager), "up-to-date");
}

#[test]
fn check_and_verify_validate() {
    let a = rev("c1c1c1c1c1c1", None, "create users");
    let ws = Workspace::new().component(Manager, std::slice::from_ref(&a));
    ws.write_file(".gitignore", "__pycache__/\n");
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "main");
    git(ws.root(), &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(Manager, &[rev("c2c2c2c2c2c2", Some(a.id()), "add email")]);
    commit_all(ws.root(), "my migration");
    ws.db_at(Manager, a.id());

    // The new migration lacks its `# Part of:` comment: one finding, exit 1.
    let doc = valid(&ws, &["check", "--base", "main"], 1);
    assert_eq!(
        doc["components"][0]["findings"][0]["rule"], "part-of-comment",
        "{doc:#}"
    );
    let doc = valid(&ws, &["verify", "--base", "main"], 0);
    assert_eq!(doc["problems"], 0, "{doc:#}");
    assert_eq!(
        doc["components"][0]["revisions"][0]["roundtrip"], "ok",
        "{doc:#}"
    );

    // Models with a table no migration makes: the drift and its differences validate too.
    ws.with_models(
        Manager,
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n\n\
         sa.Table(\"keypairs\", metadata, sa.Column(\"id\", sa.Integer, primary_key=True))\n",
    );
    let doc = valid(&ws, &["verify", "--base", "main"], 1);
    let drift = &doc["components"][0]["drift"];
    assert_eq!(drift["state"], "differs", "{doc:#}");
    assert!(
        !drift["differences"].as_array().unwrap().is_empty(),
        "{doc:#}"
    );
}

#[test]
fn failures_validate() {
    let chain = linear_chain("jf", 2);
    let ws = Workspace::new().component(Manager, &chain);
    ws.db_at(Manager, chain[0].id());

    // A component that fails: the components document, with the failure in it.
    let doc = valid(&ws, &["upgrade", "ffffffffffff"], 1);
    assert!(doc["error"]["kind"].is_string(), "{doc:#}");
    // A run that fails before any component: the failure document.
    let doc = valid(&ws, &["status", "--config", "missing.ini"], 1);
    assert_eq!(
        doc.as_object().map(|o| o.keys().collect::<Vec<_>>()),
        Some(vec![&"error".to_owned()]),
        "{doc:#}"
    );
    // A command line clap refuses: the failure document too, exit 2.
    let doc = valid(&ws, &["status", "--no-such-flag"], 2);
    assert_eq!(doc["error"]["kind"], "usage", "{doc:#}");
    // A database that cannot be reached.
    ws.set_db_port(Manager, dead_port());
    let doc = valid(&ws, &["status"], 1);
    assert!(
        component_json(&doc, Manager)["error"].is_object(),
        "{doc:#}"
    );
}

/// A components document as status prints it, to change one thing at a time.
fn status_document() -> Value {
    json!({
        "components": [{
            "component": "manager",
            "config": "alembic.ini",
            "state": "behind",
            "engine": "native",
            "current": ["a1"],
            "heads": ["b2"],
            "pending": ["b2"],
            "pending_revisions": [{
                "id": "b2", "parents": ["a1"], "depends_on": [], "branch_labels": [],
                "path": "/w/versions/b2_add_email.py", "message": "add email"
            }],
            "next": "db-migrate upgrade"
        }]
    })
}

#[test]
fn the_schema_rejects_what_db_migrate_never_prints() {
    validate(&status_document().to_string()).expect("the unchanged document is valid");
    let failure =
        json!({"error": {"kind": "config-missing", "message": "m", "cause": "c", "fix": "f"}});
    validate(&failure.to_string()).expect("a failure document is valid");

    type Change = fn(&mut Value);
    let cases: [(&str, Change); 7] = [
        ("a state that is not one of the five", |d| {
            d["components"][0]["state"] = json!("sideways")
        }),
        ("an engine that never reads", |d| {
            d["components"][0]["engine"] = json!("auto")
        }),
        ("a field no document has", |d| {
            d["components"][0]["colour"] = json!("red")
        }),
        ("a component without its name", |d| {
            d["components"][0]
                .as_object_mut()
                .unwrap()
                .remove("component");
        }),
        ("pending as a number", |d| {
            d["components"][0]["pending"] = json!(1)
        }),
        ("a revision without its id", |d| {
            d["components"][0]["pending_revisions"][0]
                .as_object_mut()
                .unwrap()
                .remove("id");
        }),
        ("an error without its kind", |d| {
            d["error"] = json!({"message": "m", "cause": "c", "fix": "f"})
        }),
    ];
    for (what, change) in cases {
        let mut doc = status_document();
        change(&mut doc);
        assert!(
            validate(&doc.to_string()).is_err(),
            "accepted {what}: {doc}"
        );
    }
    let verify = json!({"components": [{
        "component": "manager", "config": "alembic.ini", "prepare": [], "slowest": [],
        "problems": 0, "drift": {"state": "maybe", "differences": []},
        "revisions": []
    }], "problems": 0});
    assert!(
        validate(&verify.to_string()).is_err(),
        "accepted a drift state that is not one"
    );
    assert!(validate("[]").is_err(), "accepted an array");
}

#[test]
fn new_and_its_refusal_validate() {
    let chain = linear_chain("nw", 2);
    let ws = Workspace::new().component(Manager, &chain);
    let doc = valid(&ws, &["new", "-m", "add foo"], 0);
    assert!(doc["revision"].is_string(), "{doc:#}");
    // A second head on the first revision: refused, as a failure document.
    ws.add_revisions(Manager, &[rev("ab12ab12ab12", Some(chain[0].id()), "fork")]);
    let _ = valid(&ws, &["new", "-m", "add bar"], 1);
}
