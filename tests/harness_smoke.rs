//! Smoke test of the test harness itself, against the real Alembic and PostgreSQL
//! (does not need a working `db-migrate` binary).

mod harness;

use harness::*;
use Component::{Accountmgr, Appproxy, Manager};

const M1: &str = "a1b2c3d4e5f6";
const M2: &str = "b2c3d4e5f6a1";
const M3: &str = "7h4m7ygnaao1";

fn manager_revs() -> Vec<Rev> {
    vec![
        rev(M1, None, "create account"),
        rev(M2, Some(M1), "add email"),
        rev(M3, Some(M2), "add post table"),
    ]
}

#[test]
fn three_components_with_real_alembic() {
    let acct = base36_chain("acct", 2);
    let ap = linear_chain("ap", 3);
    let ws = Workspace::new()
        .component(Manager, &manager_revs())
        .component(Accountmgr, &acct)
        .component(Appproxy, &ap);

    // Layout.
    assert!(ws.root().join("py").exists());
    for c in Component::ALL {
        assert!(ws.ini_path(c).exists(), "{}", c.ini());
        assert!(ws.versions_dir(c).is_dir());
        assert!(ws.root().join(c.package_dir()).join("__init__.py").exists());
        let ini = std::fs::read_to_string(ws.ini_path(c)).unwrap();
        assert!(ini.contains(&format!("script_location = {}", c.script_location())));
        assert!(ini.contains(&format!(
            "sqlalchemy.url = postgresql+asyncpg://{}:{}@127.0.0.1:{}/{}",
            c.db_user(),
            ws.password(c),
            postgres().port,
            ws.db_name(c)
        )));
    }
    // Manager revisions alternate between the two file styles.
    let m1 = ws.read_file(&format!(
        "{}/alembic/versions/{M1}_create_account.py",
        Manager.package_dir()
    ));
    assert!(m1.contains(&format!("revision: str = \"{M1}\"  # Part of: 25.1.0")));
    assert!(m1.contains("down_revision: Union[str, None] = None"));
    let m2 = ws.read_file(&format!(
        "{}/alembic/versions/{M2}_add_email.py",
        Manager.package_dir()
    ));
    assert!(m2.contains(&format!("revision = '{M2}'")));
    assert!(m2.contains(&format!("down_revision = '{M1}'")));

    // Real Alembic to a middle revision.
    ws.db_at(Manager, M2);
    let current = ws.alembic(Manager, &["current"]);
    assert!(current.status.success(), "{}", output_text(&current));
    assert_eq!(stdout_of(&current).trim(), M2, "{}", output_text(&current));
    let stderr = stderr_of(&current);
    assert!(
        stderr.contains("INFO  [alembic.runtime.migration] Context impl PostgresqlImpl."),
        "{stderr}"
    );
    assert!(
        stderr.contains("INFO  [alembic.runtime.migration] Will assume transactional DDL."),
        "{stderr}"
    );
    assert_eq!(ws.alembic_ok(Manager, &["heads"]), format!("{M3} (head)\n"));
    assert_eq!(
        ws.sql(Manager, "SELECT version_num FROM alembic_version"),
        M2
    );
    assert_eq!(ws.db_revisions(Manager), vec![M2.to_string()]);
    assert!(ws.has_table(Manager, &format!("t_{M1}")));
    assert!(ws.has_table(Manager, &format!("t_{M2}")));
    assert!(!ws.has_table(Manager, &format!("t_{M3}")));

    // `current --verbose` shows paths and the port; the filter makes them stable.
    let verbose = ws.alembic_ok(Manager, &["current", "--verbose"]);
    assert_no_secret(&verbose, &ws);
    let filtered = filter_output(&verbose, &ws);
    assert!(
        filtered.contains(&format!(
            "[ROOT]/src/ai/backend/manager/models/alembic/versions/{M2}_add_email.py"
        )),
        "{filtered}"
    );
    assert!(
        filtered.contains("postgresql+asyncpg://postgres:***@127.0.0.1:[PORT]/"),
        "{filtered}"
    );

    // Accountmgr: step output of a full upgrade, base36 ids.
    let up = ws.alembic(Accountmgr, &["upgrade", "head"]);
    assert!(up.status.success(), "{}", output_text(&up));
    assert_eq!(stdout_of(&up), "");
    let a = ids(&acct);
    let up_err = stderr_of(&up);
    assert!(
        up_err.contains(&format!(
            "INFO  [alembic.runtime.migration] Running upgrade  -> {}, acct step 1",
            a[0]
        )),
        "{up_err}"
    );
    assert!(
        up_err.contains(&format!(
            "INFO  [alembic.runtime.migration] Running upgrade {} -> {}, acct step 2",
            a[0], a[1]
        )),
        "{up_err}"
    );
    assert_eq!(
        stdout_of(&ws.alembic(Accountmgr, &["current"])),
        format!("{} (head)\n", a[1])
    );

    // Appproxy: its own role, its own database.
    ws.db_at(Appproxy, ap[1].id());
    assert_eq!(ws.db_revisions(Appproxy), vec![ap[1].id().to_string()]);
    assert_eq!(
        ws.sql(
            Appproxy,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'alembic_version'"
        ),
        "appproxy"
    );
    assert_eq!(
        ws.sql(
            Appproxy,
            &format!(
                "SELECT tableowner FROM pg_tables WHERE tablename = 't_{}'",
                ap[0].id()
            )
        ),
        "appproxy"
    );
    assert_eq!(
        ws.sql(
            Appproxy,
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ),
        "appproxy"
    );
    assert_eq!(
        ws.alembic_ok(Appproxy, &["heads"]),
        format!("{} (head)\n", ap[2].id())
    );
    // Components are isolated: the manager database has no appproxy tables.
    assert!(!ws.has_table(Manager, &format!("t_{}", ap[0].id())));
}

#[test]
fn branches_merges_and_broken_configs() {
    let ws = Workspace::new().component(
        Manager,
        &[
            rev("000000000001", None, "root"),
            rev("0000000000b1", Some("000000000001"), "branch one"),
            rev("0000000000b2", Some("000000000001"), "branch two").branch_labels(&["two"]),
        ],
    );
    let heads = ws.alembic_ok(Manager, &["heads"]);
    let mut lines: Vec<&str> = heads.lines().collect();
    lines.sort();
    assert_eq!(lines, ["0000000000b1 (head)", "0000000000b2 (two) (head)"]);
    let multi = ws.alembic(Manager, &["upgrade", "head"]);
    assert_eq!(multi.status.code(), Some(255), "{}", output_text(&multi));
    assert!(
        stdout_of(&multi).contains("FAILED: Multiple head revisions are present"),
        "{}",
        output_text(&multi)
    );

    ws.add_revisions(
        Manager,
        &[
            merge(
                "00000000000m",
                &["0000000000b1", "0000000000b2"],
                "merge branches",
            ),
            rev("0000000000d1", Some("00000000000m"), "after merge")
                .depends_on(&["0000000000b1"])
                .upgrade_body("op.execute(\"CREATE TABLE custom_body (x int)\")")
                .downgrade_body("op.execute(\"DROP TABLE custom_body\")"),
        ],
    );
    // Branch labels are inherited by descendants, so the merged head still shows `(two)`.
    assert_eq!(
        ws.alembic_ok(Manager, &["heads"]),
        "0000000000d1 (two) (head)\n"
    );
    ws.db_at(Manager, "head");
    assert_eq!(ws.db_revisions(Manager), vec!["0000000000d1".to_string()]);
    assert!(ws.has_table(Manager, "custom_body"));
    assert!(ws.has_table(Manager, "t_00000000000m"));

    // Failure setters.
    ws.set_db_port(Manager, dead_port());
    let refused = ws.alembic(Manager, &["current"]);
    assert_eq!(refused.status.code(), Some(1), "{}", output_text(&refused));
    assert!(
        stderr_of(&refused).contains("ConnectionRefusedError"),
        "{}",
        output_text(&refused)
    );
    ws.set_db_port(Manager, postgres().port);
    ws.set_db_password(Manager, "pw-wrong-password-123");
    let denied = ws.alembic(Manager, &["current"]);
    assert_eq!(denied.status.code(), Some(1), "{}", output_text(&denied));
    assert!(
        stderr_of(&denied).contains("password authentication failed for user \"postgres\""),
        "{}",
        output_text(&denied)
    );
    let leak = format!(
        "url was postgresql://postgres:{}@host/db",
        ws.password(Manager)
    );
    assert_eq!(
        leaked_secrets(&leak, &ws),
        vec!["pw-wrong-password-123".to_string()]
    );
    assert_no_secret("nothing to see", &ws);

    ws.set_db_password(Manager, &postgres().password);
    ws.set_db_name(Manager, "no_such_db");
    let missing = ws.alembic(Manager, &["current"]);
    assert!(
        stderr_of(&missing).contains("database \"no_such_db\" does not exist"),
        "{}",
        output_text(&missing)
    );

    // A syntactically broken revision file breaks even `heads`.
    ws.add_revisions(
        Manager,
        &[rev("0000000000e1", Some("0000000000d1"), "broken").raw("revision = (\n")],
    );
    let broken = ws.alembic(Manager, &["heads"]);
    assert_eq!(broken.status.code(), Some(1), "{}", output_text(&broken));
    assert!(
        stderr_of(&broken).contains("SyntaxError"),
        "{}",
        output_text(&broken)
    );
}

#[test]
fn appproxy_only_workspace_and_cluster_helpers() {
    let ws = Workspace::new().component(Appproxy, &base36_chain("proxy", 2));
    assert!(!ws.ini_path(Manager).exists());
    assert!(!ws.ini_path(Accountmgr).exists());
    assert!(!ws.root().join(Manager.package_dir()).exists());
    assert!(ws.db_revisions(Appproxy).is_empty());
    assert_eq!(stdout_of(&ws.alembic(Appproxy, &["current"])), "");

    let pg = postgres();
    let a = pg.create_database("postgres");
    let b = pg.create_database("appproxy");
    assert_ne!(a, b);
    assert!(a.starts_with("t_"));
    assert_eq!(pg.psql(&a, "SELECT current_user"), "postgres");
    assert_eq!(
        pg.psql(
            "postgres",
            &format!("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{b}'")
        ),
        "appproxy"
    );
    assert!(pg.password.starts_with("pw-") && pg.password.len() == 23);
    assert_ne!(pg.password, pg.appproxy_password);
    pg.drop_database(&a);
    assert!(pg.try_psql(&a, "SELECT 1").is_err());
    assert!(std::net::TcpStream::connect(("127.0.0.1", dead_port())).is_err());

    for id in ids(&base36_chain("x", 20)) {
        assert_eq!(id.len(), 12);
        assert!(id.bytes().any(|b| b > b'f'), "{id} should not be pure hex");
    }
}
