//! The native engine on its own: what it reads, when `auto` hands a component to Alembic (and
//! says why), and that its own failures get the same remediation rows and masking as Alembic's.

mod harness;

use harness::*;
use serde_json::Value;

fn run_json(ws: &Workspace, args: &[&str]) -> (Value, i32, String) {
    let out = ws.cmd().args(args).output().unwrap();
    let text = output_text(&out);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{text}"));
    (v, out.status.code().unwrap_or(-1), text)
}

fn chain() -> Vec<Rev> {
    vec![
        rev("a1a1a1a1a1a1", None, "create users"),
        rev("b2b2b2b2b2b2", Some("a1a1a1a1a1a1"), "add email"),
    ]
}

#[test]
fn status_is_native_by_default_and_reads_the_version_table() {
    // Situation: an ordinary workspace one revision behind.
    let ws = Workspace::new().component(Component::Manager, &chain());
    ws.db_at(Component::Manager, "a1a1a1a1a1a1");

    let (doc, code, text) = run_json(&ws, &["status", "--format", "json"]);
    assert_eq!(code, 0, "{text}");
    let c = &doc["components"][0];
    assert_eq!(c["engine"], "native", "{doc:#}");
    assert_eq!(c["state"], "behind");
    assert_eq!(c["pending"], serde_json::json!(["b2b2b2b2b2b2"]));
}

#[test]
fn a_computed_revision_hands_the_component_to_alembic_and_says_why() {
    // Situation: one revision file computes its down_revision; only Python can tell its value.
    let computed = "\"\"\"add email\"\"\"\nrevision = 'b2b2b2b2b2b2'\ndown_revision = 'a1a1a1a1' + 'a1a1'\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n";
    let ws = Workspace::new().component(
        Component::Manager,
        &[
            rev("a1a1a1a1a1a1", None, "create users"),
            rev("b2b2b2b2b2b2", Some("a1a1a1a1a1a1"), "add email").raw(computed),
        ],
    );

    let out = ws
        .cmd()
        .args(["-v", "status", "--format", "json"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("manager: using the Alembic engine:")
            && stderr.contains("down_revision is computed, not a literal"),
        "-v must say why:\n{text}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["components"][0]["engine"], "alembic");
    assert_eq!(
        doc["components"][0]["heads"],
        serde_json::json!(["b2b2b2b2b2b2"])
    );

    // --engine native refuses instead of guessing.
    let (doc, code, text) = run_json(&ws, &["status", "--engine", "native", "--format", "json"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(doc["error"]["kind"], "native-unsupported", "{doc:#}");
    assert!(doc["error"]["fix"]
        .as_str()
        .unwrap()
        .contains("--engine alembic"));
}

#[test]
fn tls_url_options_are_left_to_alembic() {
    // Situation: the URL asks for TLS, which the native reader does not speak.
    let ws = Workspace::new().component(Component::Manager, &chain());
    let url = format!("{}?sslmode=require", ws.db_url(Component::Manager));
    ws.set_db_url(Component::Manager, &url);

    let out = ws
        .cmd()
        .args(["-v", "status", "--engine", "native"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("sslmode=require is not supported natively"),
        "{text}"
    );
    assert_no_secret(&text, &ws);
}

#[test]
fn native_connection_failures_get_the_same_remediation_rows() {
    // Situation: each way the database can be out of reach, read with --engine native.
    let ws = Workspace::new().component(Component::Manager, &chain());
    ws.set_db_port(Component::Manager, dead_port());
    let (doc, code, text) = run_json(&ws, &["status", "--engine", "native", "--format", "json"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(doc["error"]["kind"], "connection-refused", "{doc:#}");
    assert!(
        doc["error"]["alembic_line"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{doc:#}"
    );
    assert_no_secret(&text, &ws);

    let ws = Workspace::new().component(Component::Manager, &chain());
    ws.set_db_password(Component::Manager, "wrong-password-123");
    let (doc, code, text) = run_json(&ws, &["status", "--engine", "native", "--format", "json"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(doc["error"]["kind"], "auth-failed", "{doc:#}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user postgres"),
        "{doc:#}"
    );
    assert_no_secret(&text, &ws);

    let ws = Workspace::new().component(Component::Manager, &chain());
    ws.set_db_name(Component::Manager, "no_such_db_here");
    let (doc, code, text) = run_json(&ws, &["status", "--engine", "native", "--format", "json"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(doc["error"]["kind"], "database-missing", "{doc:#}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no_such_db_here"),
        "{doc:#}"
    );
}

#[test]
fn inconsistent_revision_files_are_clear_errors_naming_the_files() {
    // A down_revision that points nowhere.
    let ws = Workspace::new().component(
        Component::Manager,
        &[
            rev("a1a1a1a1a1a1", None, "create users"),
            rev("b2b2b2b2b2b2", Some("ffffffffffff"), "orphan"),
        ],
    );
    let (doc, code, text) = run_json(&ws, &["heads", "--engine", "native", "--format", "json"]);
    assert_eq!(code, 1, "{text}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("b2b2b2b2b2b2_orphan.py") && message.contains("ffffffffffff"),
        "{doc:#}"
    );

    // The same id in two files.
    let dup = rev("a1a1a1a1a1a1", None, "again").file_name_override("zz_again.py");
    let ws = Workspace::new().component(
        Component::Manager,
        &[rev("a1a1a1a1a1a1", None, "create users"), dup],
    );
    let (doc, code, text) = run_json(&ws, &["heads", "--engine", "native", "--format", "json"]);
    assert_eq!(code, 1, "{text}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("is defined in 2 files") && message.contains("zz_again.py"),
        "{doc:#}"
    );

    // A cycle.
    let ws = Workspace::new().component(
        Component::Manager,
        &[
            rev("a1a1a1a1a1a1", None, "create users"),
            rev("b2b2b2b2b2b2", Some("c3c3c3c3c3c3"), "b"),
            rev("c3c3c3c3c3c3", Some("b2b2b2b2b2b2"), "c"),
        ],
    );
    let (doc, code, text) = run_json(&ws, &["history", "--engine", "native", "--format", "json"]);
    assert_eq!(code, 1, "{text}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("cycle")
            && message.contains("b2b2b2b2b2b2")
            && message.contains("c3c3c3c3c3c3"),
        "{doc:#}"
    );
}

#[test]
fn files_alembic_skips_are_skipped_and_a_file_without_revision_is_an_error() {
    // __init__.py, editor lock files, __pycache__ and non-.py files are not revisions.
    let ws = Workspace::new().component(Component::Manager, &chain());
    let versions = ws.versions_dir(Component::Manager);
    std::fs::write(versions.join("__init__.py"), "").unwrap();
    std::fs::write(versions.join(".#b2b2b2b2b2b2_add_email.py"), "garbage").unwrap();
    std::fs::write(versions.join("notes.txt"), "revision = 'zzz'").unwrap();
    std::fs::create_dir_all(versions.join("__pycache__")).unwrap();
    std::fs::write(versions.join("__pycache__/x.py"), "revision = 'zzz'").unwrap();
    let (doc, code, text) = run_json(&ws, &["history", "--engine", "native", "--format", "json"]);
    assert_eq!(code, 0, "{text}");
    let ids: Vec<&str> = doc["components"][0]["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b2b2b2b2b2b2", "a1a1a1a1a1a1"]);

    // A .py file without `revision` is rejected (as Alembic rejects it), naming the file.
    std::fs::write(versions.join("helpers.py"), "X = 1\n").unwrap();
    let out = ws.cmd().args(["history"]).output().unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("helpers.py"), "{text}");
}

#[test]
fn a_server_that_never_answers_times_out_after_five_seconds() {
    // Situation: something accepts TCP connections on the port but never speaks PostgreSQL (a
    // container still starting, a wrong service). The native reader gives up after its 5 s connect
    // timeout; Alembic's asyncpg would wait 60 s (see remediation.rs, run with --ignored).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().take(4) {
            open.push(stream);
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    let ws = Workspace::new().component(Component::Manager, &chain());
    ws.set_db_port(Component::Manager, port);

    let started = std::time::Instant::now();
    let (doc, code, text) = run_json(&ws, &["status", "--engine", "native", "--format", "json"]);
    let took = started.elapsed();
    assert_eq!(code, 1, "{text}");
    assert_eq!(doc["error"]["kind"], "connection-timeout", "{doc:#}");
    assert!(
        took >= std::time::Duration::from_secs(4) && took < std::time::Duration::from_secs(15),
        "took {took:?}"
    );
    assert_no_secret(&text, &ws);
}

#[test]
fn sqlite_databases_are_read_natively_and_agree_with_alembic() {
    // Situation: a component on SQLite (the demo's kind of setup), at three positions.
    let chain = linear_chain("sq", 3);
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.write_file("var/.keep", "");
    ws.set_db_url(Component::Manager, "sqlite:///var/manager.db");
    // pysqlite is synchronous: the plain (not asyncio) env.py of `alembic init`.
    ws.write_file(
        &format!("{}/alembic/env.py", Component::Manager.package_dir()),
        "from logging.config import fileConfig\n\nfrom sqlalchemy import engine_from_config, pool\n\nfrom alembic import context\n\nconfig = context.config\nif config.config_file_name is not None:\n    fileConfig(config.config_file_name)\n\nif context.is_offline_mode():\n    context.configure(url=config.get_main_option(\"sqlalchemy.url\"), literal_binds=True)\n    with context.begin_transaction():\n        context.run_migrations()\nelse:\n    engine = engine_from_config(\n        config.get_section(config.config_ini_section, {}),\n        prefix=\"sqlalchemy.\",\n        poolclass=pool.NullPool,\n    )\n    with engine.connect() as connection:\n        context.configure(connection=connection, target_metadata=None)\n        with context.begin_transaction():\n            context.run_migrations()\n",
    );
    let strip = |mut doc: Value| {
        for c in doc["components"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("engine");
        }
        doc
    };
    for position in [None, Some(chain[0].id()), Some("head")] {
        if let Some(target) = position {
            ws.db_at(Component::Manager, target);
        }
        let (auto, code, text) = run_json(&ws, &["status", "--format", "json"]);
        assert_eq!(code, 0, "{text}");
        assert_eq!(auto["components"][0]["engine"], "native", "{text}");
        if position.is_none() {
            let (native, code, text) =
                run_json(&ws, &["status", "--engine", "native", "--format", "json"]);
            assert_eq!(code, 0, "{text}");
            assert!(!ws.root().join("var/manager.db").exists(), "{native:#}");
        }
        let (native, _, _) = run_json(&ws, &["status", "--engine", "native", "--format", "json"]);
        let (alembic, code, text) =
            run_json(&ws, &["status", "--engine", "alembic", "--format", "json"]);
        assert_eq!(code, 0, "{text}");
        if position.is_none() {
            // Read-only: the native read of a database that does not exist yet creates nothing
            // (Alembic's own `current` does create the file).
            assert_eq!(
                native["components"][0]["state"], "no-revision",
                "{native:#}"
            );
        }
        assert_eq!(strip(native), strip(alembic), "at {position:?}");
    }
}
