//! The database password never appears in anything db-migrate prints: every command, text and
//! JSON, with and without `-v`, on success and on failure. The password has URL-special
//! characters (`p@ss:w/rd%…`), so it appears in three spellings: raw, percent-encoded in the URL
//! (`p%40ss%3Aw%2Frd%25…`) and `%%`-escaped in the ini (`p%%40ss%%3Aw%%2Frd%%25…`). None of them
//! (nor the password's random tail on its own) may be printed; where Alembic itself printed the
//! URL or the password, db-migrate shows `***`.

mod harness;

use std::process::{Output, Stdio};

use harness::*;
use serde_json::Value;
use Component::{Appproxy, Manager};

const A1: &str = "5ec000000001";
const A2: &str = "5ec000000002";
const A3: &str = "5ec000000003";

fn chain() -> Vec<Rev> {
    vec![
        rev(A1, None, "create accounts"),
        rev(A2, Some(A1), "create sessions"),
        rev(A3, Some(A2), "create kernels"),
    ]
}

/// The four output modes every scenario is checked in.
const MODES: [&[&str]; 4] = [
    &[],
    &["--format", "json"],
    &["-v"],
    &["--format", "json", "-v"],
];

/// What one db-migrate run printed.
struct Run {
    label: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from_output(label: String, out: Output) -> Run {
        Run {
            label,
            code: out.status.code(),
            stdout: stdout_of(&out),
            stderr: stderr_of(&out),
        }
    }

    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    fn transcript(&self) -> String {
        format!(
            "db-migrate {}\nexit code: {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.label, self.code, self.stdout, self.stderr
        )
    }

    fn is_json(&self) -> bool {
        self.label.contains("--format json")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.transcript()))
    }

    /// The `alembic:` line (text) or `error.alembic_line` (JSON).
    fn alembic_line(&self) -> String {
        if self.is_json() {
            self.json()["error"]["alembic_line"]
                .as_str()
                .unwrap_or_else(|| panic!("no error.alembic_line:\n{}", self.transcript()))
                .to_owned()
        } else {
            self.stderr
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("  alembic: "))
                .unwrap_or_else(|| panic!("no `alembic:` line:\n{}", self.transcript()))
                .to_owned()
        }
    }

    fn kind(&self) -> String {
        if self.is_json() {
            self.json()["error"]["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("no error.kind:\n{}", self.transcript()))
                .to_owned()
        } else {
            String::new()
        }
    }
}

/// `args` in each of the four modes, all four processes at once (for runs that change nothing).
fn in_every_mode(ws: &Workspace, args: &[&str]) -> Vec<Run> {
    let children: Vec<(String, std::process::Child)> = MODES
        .iter()
        .map(|mode| {
            let all: Vec<&str> = mode.iter().chain(args).copied().collect();
            let child = ws
                .std_cmd()
                .args(&all)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn db-migrate");
            (all.join(" "), child)
        })
        .collect();
    children
        .into_iter()
        .map(|(label, child)| Run::from_output(label, child.wait_with_output().unwrap()))
        .collect()
}

/// `args` in one mode, waiting for it (for runs that change the database).
fn in_mode(ws: &Workspace, mode: &[&str], args: &[&str]) -> Run {
    let all: Vec<&str> = mode.iter().chain(args).copied().collect();
    Run::from_output(
        all.join(" "),
        ws.cmd().args(&all).output().expect("run db-migrate"),
    )
}

/// A password with every character that must be percent-encoded in a URL's userinfo.
struct Secret {
    raw: String,
    /// The random part: not even that may leak on its own.
    tail: String,
}

impl Secret {
    fn new() -> Secret {
        let tail = random_alnum(12);
        Secret {
            raw: format!("p@ss:w/rd%{tail}"),
            tail,
        }
    }

    /// As written in the URL.
    fn encoded(&self) -> String {
        self.raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                    c.to_string()
                } else {
                    format!("%{:02X}", c as u32)
                }
            })
            .collect()
    }

    /// As written in the ini (configparser's `%%`).
    fn ini_escaped(&self) -> String {
        self.encoded().replace('%', "%%")
    }

    fn forms(&self) -> Vec<String> {
        vec![
            self.raw.clone(),
            self.encoded(),
            self.ini_escaped(),
            self.tail.clone(),
        ]
    }
}

/// Neither spelling of `secret`, nor any password the harness knows, in the run's output.
fn assert_kept_secret(run: &Run, secret: &Secret, ws: &Workspace) {
    let all = run.all();
    for form in secret.forms() {
        assert!(
            !all.contains(&form),
            "the password leaked as {form:?}:\n{}",
            run.transcript().replace(&form, "[SECRET]")
        );
    }
    assert_no_secret(&all, ws);
}

/// A login role `dm_…` with `secret` as its password, owning the component's database, and the
/// component's ini pointing at it (percent-encoded URL, `%%`-escaped ini).
fn connect_as_new_role(ws: &Workspace, component: Component, secret: &Secret) -> String {
    let role = format!("dm_{}", random_alnum(10).to_lowercase());
    let pg = postgres();
    pg.psql(
        "postgres",
        &format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{}'", secret.raw),
    );
    pg.psql(
        "postgres",
        &format!(
            "ALTER DATABASE \"{}\" OWNER TO \"{role}\"",
            ws.db_name(component)
        ),
    );
    point_at(ws, component, &role, secret, pg.port);
    // The ini really holds the %%-escaped form.
    assert!(ws
        .read_file(component.ini())
        .contains(&secret.ini_escaped()));
    role
}

fn point_at(ws: &Workspace, component: Component, role: &str, secret: &Secret, port: u16) {
    ws.set_db_url(
        component,
        &format!(
            "postgresql+asyncpg://{role}:{}@127.0.0.1:{port}/{}",
            secret.encoded(),
            ws.db_name(component)
        ),
    );
}

#[test]
fn read_commands_never_print_the_password_in_any_mode() {
    let ws = Workspace::new()
        .component(Manager, &chain())
        .component(Appproxy, &linear_chain("ap", 2));
    let secret = Secret::new();
    connect_as_new_role(&ws, Manager, &secret);
    ws.db_at(Manager, A1);
    ws.db_at(Appproxy, "head");

    for command in ["status", "current", "heads", "history"] {
        // status covers both components' passwords at once (--all); the rest act on manager.
        let args: &[&str] = if command == "status" {
            &["status", "--all"]
        } else {
            &[command]
        };
        for run in in_every_mode(&ws, args) {
            assert_eq!(run.code, Some(0), "{}", run.transcript());
            assert_kept_secret(&run, &secret, &ws);
            // It really connected with the encoded password (status and current read the DB).
            if matches!(command, "status" | "current") {
                assert!(run.all().contains(A1), "{}", run.transcript());
                assert!(run.all().contains("behind"), "{}", run.transcript());
            }
            if command == "status" {
                assert!(run.all().contains("appproxy"), "{}", run.transcript());
            }
        }
    }
}

#[test]
fn upgrade_and_downgrade_never_print_the_password_in_any_mode() {
    let ws = Workspace::new().component(Manager, &chain());
    let secret = Secret::new();
    connect_as_new_role(&ws, Manager, &secret);

    for mode in MODES {
        let up = in_mode(&ws, mode, &["upgrade"]);
        assert_eq!(up.code, Some(0), "{}", up.transcript());
        assert_kept_secret(&up, &secret, &ws);
        assert_eq!(ws.db_revisions(Manager), vec![A3.to_string()]);

        let down = in_mode(&ws, mode, &["downgrade", "base", "--yes"]);
        assert_eq!(down.code, Some(0), "{}", down.transcript());
        assert_kept_secret(&down, &secret, &ws);
        assert!(ws.db_revisions(Manager).is_empty());
    }
}

#[test]
fn rejected_password_is_never_printed() {
    let ws = Workspace::new().component(Manager, &chain());
    let right = Secret::new();
    let role = connect_as_new_role(&ws, Manager, &right);
    // The ini now holds a wrong password, just as special.
    let wrong = Secret::new();
    point_at(&ws, Manager, &role, &wrong, postgres().port);

    for command in ["upgrade", "current"] {
        for run in in_every_mode(&ws, &[command]) {
            assert_eq!(run.code, Some(1), "{}", run.transcript());
            assert_kept_secret(&run, &wrong, &ws);
            assert_kept_secret(&run, &right, &ws);
            assert!(
                run.alembic_line().contains(&format!(
                    "password authentication failed for user \"{role}\""
                )),
                "{}",
                run.transcript()
            );
            if run.is_json() {
                assert_eq!(run.kind(), "auth-failed", "{}", run.transcript());
            }
        }
    }
}

#[test]
fn refused_connection_never_prints_the_password() {
    let ws = Workspace::new().component(Manager, &chain());
    let secret = Secret::new();
    let role = connect_as_new_role(&ws, Manager, &secret);
    point_at(&ws, Manager, &role, &secret, dead_port());

    for args in [&["status"][..], &["downgrade", "-1", "--yes"]] {
        for run in in_every_mode(&ws, args) {
            assert_eq!(run.code, Some(1), "{}", run.transcript());
            assert_kept_secret(&run, &secret, &ws);
            if run.is_json() {
                assert_eq!(run.kind(), "connection-refused", "{}", run.transcript());
            }
        }
    }
}

#[test]
fn foreign_key_violation_never_prints_the_password() {
    let ws = Workspace::new().component(
        Manager,
        &[
            rev(A1, None, "create parent and child").upgrade_body(
                "op.create_table(\"parent\", sa.Column(\"id\", sa.Integer(), primary_key=True))\n\
                 op.create_table(\"child\", sa.Column(\"id\", sa.Integer(), primary_key=True), \
                 sa.Column(\"parent_id\", sa.Integer()))",
            ),
            rev(A2, Some(A1), "link child to parent").upgrade_body(
                "op.create_foreign_key(\"fk_child_parent\", \"child\", \"parent\", \
                 [\"parent_id\"], [\"id\"])",
            ),
        ],
    );
    let secret = Secret::new();
    connect_as_new_role(&ws, Manager, &secret);
    ws.db_at(Manager, A1);
    ws.sql(Manager, "INSERT INTO child (id, parent_id) VALUES (1, 99)");

    for mode in MODES {
        let run = in_mode(&ws, mode, &["upgrade"]);
        assert_eq!(run.code, Some(1), "{}", run.transcript());
        assert_kept_secret(&run, &secret, &ws);
        if run.is_json() {
            assert_eq!(run.kind(), "foreign-key-violation", "{}", run.transcript());
        }
        if mode.contains(&"-v") {
            assert!(
                run.stderr.contains("Traceback (most recent call last)"),
                "{}",
                run.transcript()
            );
        }
        assert_eq!(ws.db_revisions(Manager), vec![A1.to_string()]);
    }
}

#[test]
fn url_and_password_in_an_unknown_failure_are_shown_as_stars() {
    // A migration whose error message quotes the configured URL and the decoded password.
    let ws = Workspace::new().component(
        Manager,
        &[
            rev(A1, None, "create accounts"),
            rev(A2, Some(A1), "check connection").upgrade_body(
                "from alembic import context\n\
                 from sqlalchemy.engine import make_url\n\
                 url = context.config.get_main_option(\"sqlalchemy.url\")\n\
                 raise RuntimeError(\"cannot reach %s (password %s)\" % (url, make_url(url).password))",
            ),
        ],
    );
    let secret = Secret::new();
    let role = connect_as_new_role(&ws, Manager, &secret);
    ws.db_at(Manager, A1);
    let port = postgres().port;
    let db = ws.db_name(Manager);
    let expected = format!(
        "RuntimeError: cannot reach postgresql+asyncpg://{role}:***@127.0.0.1:{port}/{db} \
         (password ***)"
    );

    for mode in MODES {
        let run = in_mode(&ws, mode, &["upgrade"]);
        assert_eq!(run.code, Some(1), "{}", run.transcript());
        assert_kept_secret(&run, &secret, &ws);
        assert_eq!(run.alembic_line(), expected, "{}", run.transcript());
        if run.is_json() {
            assert_eq!(run.kind(), "alembic-failed", "{}", run.transcript());
        }
        if mode.contains(&"-v") {
            // The relayed traceback ends with the same, masked, line.
            assert!(
                run.stderr.contains("Traceback (most recent call last)"),
                "{}",
                run.transcript()
            );
            assert!(
                run.stderr
                    .contains(&format!("[manager upgrade] {expected}")),
                "{}",
                run.transcript()
            );
        }
    }
}

#[test]
fn unparsable_url_quoted_by_sqlalchemy_is_shown_with_stars() {
    // SQLAlchemy quotes a URL it cannot parse in full, password included.
    let ws = Workspace::new().component(Manager, &chain());
    let secret = Secret::new();
    let role = connect_as_new_role(&ws, Manager, &secret);
    let port = postgres().port;
    let db = ws.db_name(Manager);
    ws.set_db_url(
        Manager,
        &format!(
            "postgresql-asyncpg://{role}:{}@127.0.0.1:{port}/{db}",
            secret.encoded()
        ),
    );
    let expected = format!(
        "sqlalchemy.exc.ArgumentError: Could not parse SQLAlchemy URL from string \
         'postgresql-asyncpg://{role}:***@127.0.0.1:{port}/{db}'"
    );

    for command in ["status", "upgrade"] {
        for run in in_every_mode(&ws, &[command]) {
            assert_eq!(run.code, Some(1), "{}", run.transcript());
            assert_kept_secret(&run, &secret, &ws);
            assert_eq!(run.alembic_line(), expected, "{}", run.transcript());
            if run.label.contains("-v") {
                assert!(
                    run.stderr.contains(&format!("] {expected}")),
                    "{}",
                    run.transcript()
                );
            }
        }
    }
}

#[test]
fn password_with_an_unescaped_slash_is_not_printed_in_pieces() {
    // SQLAlchemy accepts a raw `/` in the password (its URL pattern reads up to the last `@`),
    // so such an ini works, and any part of the password is still a secret.
    let ws = Workspace::new().component(Manager, &chain());
    let left = random_alnum(10);
    let right = random_alnum(10);
    let raw = format!("{left}/{right}");
    let role = format!("dm_{}", random_alnum(10).to_lowercase());
    let pg = postgres();
    pg.psql(
        "postgres",
        &format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{raw}'"),
    );
    pg.psql(
        "postgres",
        &format!(
            "ALTER DATABASE \"{}\" OWNER TO \"{role}\"",
            ws.db_name(Manager)
        ),
    );
    let url = |port: u16| {
        format!(
            "postgresql+asyncpg://{role}:{raw}@127.0.0.1:{port}/{}",
            ws.db_name(Manager)
        )
    };
    ws.set_db_url(Manager, &url(pg.port));
    let check = |run: &Run| {
        for piece in [&left, &right] {
            assert!(
                !run.all().contains(piece.as_str()),
                "part of the password leaked ({piece}):\n{}",
                run.transcript()
            );
        }
        assert_no_secret(&run.all(), &ws);
    };

    // It works: Alembic connects with it.
    let up = in_mode(&ws, &[], &["upgrade"]);
    assert_eq!(up.code, Some(0), "{}", up.transcript());
    check(&up);

    // And when the server is down, the explanation must not quote pieces of it.
    ws.set_db_url(Manager, &url(dead_port()));
    for run in in_every_mode(&ws, &["status"]) {
        assert_eq!(run.code, Some(1), "{}", run.transcript());
        check(&run);
    }
}
