//! `new`: the next revision written the team's way, with real Alembic (the harness venv), a real
//! PostgreSQL and real git repositories: refusals first (diverged heads, autogenerate off
//! PostgreSQL), then the file's shape (one head, `# Part of:`, docstring ids, the repository's
//! template and post-write hook), `--autogenerate` on a scratch copy (the developer's database
//! byte-identical, no scratch database left), and the head file conflicting in git.

mod harness;

use std::time::{Duration, Instant};

use harness::*;
use serde_json::Value;
use Component::Manager;

const A: &str = "a1a1a1a1a1a1"; // main: create users
const B: &str = "b2b2b2b2b2b2"; // main: create groups
const C: &str = "c3c3c3c3c3c3"; // a second head on A

fn released() -> Vec<Rev> {
    vec![
        released_table(A, None, "users"),
        released_table(B, Some(A), "groups"),
    ]
}

fn text(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The heads `db-migrate heads --format json` reports for the manager.
fn heads(ws: &Workspace) -> Vec<String> {
    let r = db_migrate(ws, &["heads", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    strings(&component_json(&r.json(), Manager)["heads"])
}

// ---- refusals: nothing is written ----

#[test]
fn new_is_refused_on_diverged_heads_and_names_fix_heads_in_text_and_json() {
    let mut revs = released();
    revs.push(released_table(C, Some(A), "teams"));
    let ws = committed_on_main(Manager, &revs);
    let before = revision_files(&ws, Manager);

    let r = db_migrate(&ws, &["new", "-m", "add foo"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains("new-on-diverged-heads") || r.stderr.contains("2 heads"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr
            .contains("db-migrate fix-heads --component manager"),
        "{}",
        r.shown
    );
    assert!(r.stderr.contains("nothing was written"), "{}", r.shown);
    assert_eq!(revision_files(&ws, Manager), before, "no file was written");

    let r = db_migrate(&ws, &["new", "-m", "add foo", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    assert_eq!(doc["error"]["kind"], "new-on-diverged-heads", "{doc:#}");
    let fix = doc["error"]["fix"].as_str().unwrap();
    assert!(
        fix.starts_with(
            "db-migrate fix-heads --component manager, then db-migrate new --component manager -m 'add foo'"
        ),
        "{fix}"
    );
    assert_eq!(revision_files(&ws, Manager), before, "no file was written");
}

#[test]
fn autogenerate_off_postgresql_is_refused_before_anything_runs() {
    let ws = committed_on_main(Manager, &released());
    ws.set_db_url(Manager, "sqlite:///dev.db");
    let before = revision_files(&ws, Manager);
    let r = db_migrate(
        &ws,
        &["new", "--autogenerate", "-m", "x", "--format", "json"],
    );
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert_eq!(r.json()["error"]["kind"], "new-autogenerate-unsupported");
    let r = db_migrate(&ws, &["new", "--autogenerate", "-m", "x"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(
        r.stderr.contains("not a PostgreSQL database"),
        "{}",
        r.shown
    );
    assert_eq!(revision_files(&ws, Manager), before);
}

#[test]
fn github_format_is_refused_for_new() {
    let ws = committed_on_main(Manager, &released());
    let r = db_migrate(&ws, &["new", "-m", "x", "--format", "github"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
}

// ---- the file ----

#[test]
fn new_writes_one_file_on_the_head_in_the_teams_shape_and_check_passes() {
    let ws = committed_on_main(Manager, &released());
    let before = revision_files(&ws, Manager);

    let r = db_migrate(&ws, &["new", "-m", "add foo"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let path = the_new_file(&ws, Manager, &before);
    let file = text(&path);
    let id = path.file_name().unwrap().to_str().unwrap()[..12].to_owned();
    assert!(
        file.contains(&format!(
            "down_revision = '{B}'\n# Part of: NEXT_RELEASE_VERSION\n"
        )) || file.contains(&format!(
            "down_revision: Union[str, None] = '{B}'\n# Part of: NEXT_RELEASE_VERSION\n"
        )),
        "{file}"
    );
    assert!(file.contains(&format!("Revision ID: {id}\n")), "{file}");
    assert!(file.contains(&format!("Revises: {B}\n")), "{file}");
    assert_eq!(file.matches("# Part of:").count(), 1, "{file}");
    // The output: the file relative to the root, its id and parent, what was added, next steps.
    let shown = path.strip_prefix(ws.root()).unwrap().to_str().unwrap();
    assert!(r.stdout.contains(shown), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!("new revision {id} on {B}")),
        "{}",
        r.shown
    );
    assert!(
        r.stdout.contains("# Part of: NEXT_RELEASE_VERSION"),
        "{}",
        r.shown
    );
    for step in [
        "db-migrate upgrade --component manager",
        "db-migrate verify --component manager",
        "db-migrate check --component manager",
    ] {
        assert!(r.stdout.contains(step), "{step}: {}", r.shown);
    }
    // One head, by db-migrate and by Alembic; check's static rules pass on it.
    assert_eq!(heads(&ws), std::slice::from_ref(&id));
    assert_eq!(
        ws.alembic_ok(Manager, &["heads"]).trim(),
        format!("{id} (head)")
    );
    // check's static rules: only the empty body is left to the developer...
    let check = db_migrate(&ws, &["check", "--no-lint", "--component", "manager"]);
    assert_eq!(check.code, Some(1), "{}", check.shown);
    assert!(check.stdout.contains("empty-migration"), "{}", check.shown);
    for rule in ["part-of-comment", "docstring-ids", "single-head"] {
        assert!(!check.stdout.contains(rule), "{rule}: {}", check.shown);
    }
    // ... and once the migration is written, check passes.
    let edited = file
        .replacen(
            "    pass\n",
            "    op.add_column(\"users\", sa.Column(\"foo\", sa.Text()))\n",
            1,
        )
        .replacen("    pass\n", "    op.drop_column(\"users\", \"foo\")\n", 1);
    std::fs::write(&path, edited).unwrap();
    let check = db_migrate(&ws, &["check", "--no-lint", "--component", "manager"]);
    assert_eq!(check.code, Some(0), "{}", check.shown);

    // The next one sits on it; JSON says so.
    let before = revision_files(&ws, Manager);
    let r = db_migrate(&ws, &["new", "-m", "add bar", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc: Value = r.json();
    let path = the_new_file(&ws, Manager, &before);
    assert_eq!(doc["component"], "manager");
    assert_eq!(doc["down_revision"], id.as_str());
    assert_eq!(
        doc["file"],
        path.strip_prefix(ws.root()).unwrap().to_str().unwrap()
    );
    assert_eq!(doc["message"], "add bar");
    assert_eq!(heads(&ws), [doc["revision"].as_str().unwrap().to_owned()]);
    assert_eq!(doc["added"].as_array().unwrap().len(), 1, "{doc:#}");
    assert!(doc.get("head_file").is_none(), "{doc:#}");
}

#[test]
fn the_first_revision_of_an_empty_component_has_no_parent() {
    let ws = committed_on_main(Manager, &[]);
    let before = revision_files(&ws, Manager);
    let r = db_migrate(&ws, &["new", "-m", "initial", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    assert_eq!(doc["down_revision"], Value::Null, "{doc:#}");
    let file = text(&the_new_file(&ws, Manager, &before));
    assert!(
        file.contains("= None\n# Part of: NEXT_RELEASE_VERSION\n"),
        "{file}"
    );
}

#[test]
fn other_components_get_no_part_of_line() {
    let ws = committed_on_main(Component::Accountmgr, &[]);
    let before = revision_files(&ws, Component::Accountmgr);
    let r = db_migrate(&ws, &["new", "--component", "accountmgr", "-m", "initial"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(r.stdout.contains("changed   nothing"), "{}", r.shown);
    let file = text(&the_new_file(&ws, Component::Accountmgr, &before));
    assert!(!file.contains("# Part of:"), "{file}");
}

#[test]
fn the_repositorys_template_and_post_write_hook_are_alembics() {
    let ws = committed_on_main(Manager, &released());
    let mako = format!("{}/alembic/script.py.mako", Manager.package_dir());
    let template = ws.read_file(&mako);
    ws.write_file(
        &mako,
        &template.replacen(
            "import sqlalchemy as sa\n",
            "import sqlalchemy as sa\n# team-template-marker\n",
            1,
        ),
    );
    post_write_hook_appending(&ws, Manager, "# post-write-hook-marker");
    let before = revision_files(&ws, Manager);

    let r = db_migrate(&ws, &["new", "-m", "templated"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let file = text(&the_new_file(&ws, Manager, &before));
    assert!(file.contains("# team-template-marker\n"), "{file}");
    assert!(file.contains("# post-write-hook-marker\n"), "{file}");
    assert!(file.contains("# Part of: NEXT_RELEASE_VERSION\n"), "{file}");
}

#[test]
fn a_broken_template_writes_nothing_and_a_failing_hook_keeps_the_file_and_says_so() {
    let ws = committed_on_main(Manager, &released());
    let mako = format!("{}/alembic/script.py.mako", Manager.package_dir());
    let template = ws.read_file(&mako);
    ws.write_file(&mako, &format!("{template}${{no_such_name}}\n"));
    let before = revision_files(&ws, Manager);
    let r = db_migrate(&ws, &["new", "-m", "broken", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let doc = r.json();
    assert_eq!(doc["error"]["kind"], "revision-template-failed", "{doc:#}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was written"),
        "{doc:#}"
    );
    assert_eq!(revision_files(&ws, Manager), before);

    ws.write_file(&mako, &template);
    let ini = ws.read_file(Manager.ini());
    ws.write_file(
        Manager.ini(),
        &ini.replacen(
            "[post_write_hooks]\n",
            "[post_write_hooks]\nhooks = fmt\nfmt.type = exec\nfmt.executable = /nonexistent/ruff\nfmt.options = REVISION_SCRIPT_FILENAME\n",
            1,
        ),
    );
    let r = db_migrate(&ws, &["new", "-m", "hooked"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    let path = the_new_file(&ws, Manager, &before);
    let shown = path.strip_prefix(ws.root()).unwrap().to_str().unwrap();
    assert!(
        r.stderr.contains("post-write hook 'fmt' failed"),
        "{}",
        r.shown
    );
    assert!(r.stderr.contains(&format!("wrote {shown}")), "{}", r.shown);
}

// ---- --autogenerate ----

fn models_with_users_foo() -> String {
    "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n\n\
     users = sa.Table(\n    \"users\",\n    metadata,\n    sa.Column(\"id\", sa.Integer, primary_key=True),\n    \
     sa.Column(\"name\", sa.String(64)),\n    sa.Column(\"foo\", sa.Text()),\n)\n\n\
     groups = sa.Table(\n    \"groups\",\n    metadata,\n    sa.Column(\"id\", sa.Integer, primary_key=True),\n    \
     sa.Column(\"name\", sa.String(64)),\n)\n"
        .to_owned()
}

#[test]
fn autogenerate_compares_with_a_scratch_copy_at_head_and_leaves_the_database_alone() {
    let ws = committed_on_main(Manager, &released());
    ws.with_models(Manager, &models_with_users_foo());
    // The developer's database is behind (at A: no groups table). Had autogenerate looked at
    // it, it would have written create_table("groups") (or refused: not up to date).
    ws.db_at(Manager, A);
    let dev_before = schema_and_version(&ws, Manager);
    let before = revision_files(&ws, Manager);

    let r = db_migrate(
        &ws,
        &[
            "new",
            "--autogenerate",
            "-m",
            "add users.foo",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let file = text(&the_new_file(&ws, Manager, &before));
    assert!(
        file.contains("op.add_column('users'") || file.contains("op.add_column(\"users\""),
        "{file}"
    );
    assert!(file.contains("foo"), "{file}");
    assert!(!file.contains("create_table"), "{file}");
    assert!(file.contains("# Part of: NEXT_RELEASE_VERSION\n"), "{file}");
    assert_eq!(doc["down_revision"], B);
    assert_eq!(doc["autogenerate"]["made"], "template", "{doc:#}");
    assert_eq!(doc["autogenerate"]["dropped"], true, "{doc:#}");

    assert_eq!(
        schema_and_version(&ws, Manager),
        dev_before,
        "the developer's database changed"
    );
    assert_eq!(ws.db_revisions(Manager), [A]);
    assert!(
        scratch_databases_of(&ws, Manager).is_empty(),
        "scratch databases left"
    );
    assert!(
        !ws.root()
            .join(".db-migrate/verify")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some()),
        "the scratch ini is removed"
    );
}

#[test]
fn autogenerate_without_the_database_starts_from_an_empty_scratch() {
    let ws = committed_on_main(Manager, &released());
    ws.with_models(Manager, &models_with_users_foo());
    // No revision in the developer's database: nothing worth copying.
    let before = revision_files(&ws, Manager);
    let r = db_migrate(&ws, &["new", "--autogenerate", "-m", "add users.foo"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.contains("an empty database upgraded to head"),
        "{}",
        r.shown
    );
    let file = text(&the_new_file(&ws, Manager, &before));
    assert!(file.contains("add_column"), "{file}");
    assert!(ws.db_revisions(Manager).is_empty());
    assert!(
        scratch_databases_of(&ws, Manager).is_empty(),
        "scratch databases left"
    );
}

#[test]
fn autogenerate_is_refused_when_env_py_ignores_the_ini_url_and_nothing_is_written() {
    // An env.py that sets its own URL would autogenerate against the developer's database (and
    // upgrade it to head first): refused before a scratch database exists.
    let ws = committed_on_main(Manager, &released());
    ws.with_models(Manager, &models_with_users_foo());
    ws.db_at(Manager, A);
    let env = ws.root().join(Manager.package_dir()).join("alembic/env.py");
    let url = postgres().url("postgres", &ws.db_name(Manager));
    std::fs::write(
        &env,
        text(&env).replace(
            "config = context.config\n",
            &format!(
                "config = context.config\nconfig.set_main_option(\"sqlalchemy.url\", \"{url}\")\n"
            ),
        ),
    )
    .unwrap();
    let dev_before = schema_and_version(&ws, Manager);
    let before = revision_files(&ws, Manager);
    for format in ["text", "json"] {
        let r = db_migrate(
            &ws,
            &[
                "new",
                "--autogenerate",
                "-m",
                "add users.foo",
                "--format",
                format,
            ],
        );
        assert_eq!(r.code, Some(1), "{}", r.shown);
        assert_no_secret(&r.shown, &ws);
        let said = if format == "json" {
            let doc = r.json();
            assert_eq!(doc["error"]["kind"], "verify-env-ignores-url", "{doc:#}");
            format!("{} {}", doc["error"]["message"], doc["error"]["fix"])
        } else {
            r.stderr.clone()
        };
        assert!(
            said.contains("so new --autogenerate cannot point it at a scratch database")
                && said.contains("rerun db-migrate new --autogenerate"),
            "{said}"
        );
    }
    assert_eq!(revision_files(&ws, Manager), before, "a file was written");
    assert_eq!(schema_and_version(&ws, Manager), dev_before);
    assert!(scratch_databases_of(&ws, Manager).is_empty());
}

#[test]
fn ctrl_c_during_autogenerate_drops_the_scratch_database_and_writes_nothing() {
    let revs = [
        released_table(A, None, "users"),
        rev(B, Some(A), "create groups").raw(&slow_b()),
    ];
    let ws = committed_on_main(Manager, &revs);
    ws.with_models(Manager, &models_with_users_foo());
    ws.db_at(Manager, A);
    let dev_before = schema_and_version(&ws, Manager);
    let before = revision_files(&ws, Manager);
    let child = ws
        .std_cmd()
        .args(["new", "--autogenerate", "-m", "add users.foo"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("db-migrate runs");
    // Wait until the slow migration runs on the scratch database, then Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let busy = postgres().psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()",
        );
        if busy != "0" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the upgrade of the scratch database never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!scratch_databases_of(&ws, Manager).is_empty());
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("db-migrate exits");
    let shown = output_text(&out);
    assert_eq!(out.status.code(), Some(130), "{shown}");
    assert!(
        scratch_databases_of(&ws, Manager).is_empty(),
        "scratch databases left: {shown}"
    );
    assert_eq!(
        revision_files(&ws, Manager),
        before,
        "no file was written: {shown}"
    );
    assert_eq!(
        schema_and_version(&ws, Manager),
        dev_before,
        "the developer's database changed"
    );
}

/// B, creating groups after sleeping 30 s.
fn slow_b() -> String {
    format!(
        "\"\"\"create groups\n\nRevision ID: {B}\nRevises: {A}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\n\
         import sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\n\
         revision = \"{B}\"\ndown_revision = \"{A}\"\n# Part of: 26.8.0\nbranch_labels = None\ndepends_on = None\n\n\n\
         def upgrade() -> None:\n    op.execute(\"SELECT pg_sleep(30)\")\n    op.create_table(\"groups\", sa.Column(\"id\", sa.Integer(), primary_key=True), sa.Column(\"name\", sa.String(64)))\n\n\n\
         def downgrade() -> None:\n    op.drop_table(\"groups\")\n"
    )
}

// ---- the head file ----

#[test]
fn the_head_file_follows_new_and_two_branches_conflict_in_it() {
    let ws = Workspace::new().component(Manager, &released());
    ws.write_file(".gitignore", "__pycache__/\n.db-migrate/\n");
    ws.write_file("pyproject.toml", "[tool.db-migrate]\nhead-file = true\n");
    let head_txt = ws.versions_dir(Manager).join("head.txt");
    std::fs::write(&head_txt, format!("{B}\n")).unwrap();
    git(ws.root(), &["init", "-q", "-b", "main"]);
    commit_all(ws.root(), "main, with the head file rolled out");

    git(ws.root(), &["checkout", "-q", "-b", "one"]);
    let r = db_migrate(&ws, &["new", "-m", "one", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let first = doc["revision"].as_str().unwrap().to_owned();
    assert_eq!(text(&head_txt), format!("{first}\n"));
    let shown_head = head_txt
        .strip_prefix(ws.root())
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(doc["head_file"], shown_head.as_str());
    // check's head-file rule agrees: head.txt names the one head.
    let check = db_migrate(&ws, &["check", "--no-lint", "--component", "manager"]);
    assert!(!check.stdout.contains("head-file"), "{}", check.shown);
    commit_all(ws.root(), "one");

    git(ws.root(), &["checkout", "-q", "main"]);
    git(ws.root(), &["checkout", "-q", "-b", "two"]);
    let r = db_migrate(&ws, &["new", "-m", "two"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!("head file {shown_head}")),
        "{}",
        r.shown
    );
    let second = text(&head_txt).trim().to_owned();
    assert_ne!(second, first);
    commit_all(ws.root(), "two");

    git(ws.root(), &["checkout", "-q", "one"]);
    let (merged, said) = git_may_fail(ws.root(), &["merge", "--no-edit", "two"]);
    assert!(!merged, "the merge must stop at a conflict: {said}");
    let conflicted = git(ws.root(), &["diff", "--name-only", "--diff-filter=U"]);
    assert_eq!(conflicted.trim(), shown_head, "{said}");
}
