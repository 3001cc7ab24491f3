//! A throwaway PostgreSQL cluster, started once per test process and stopped at process exit.

use std::ffi::CString;
use std::fs;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use super::util::{now_nanos, output_text, random_alnum};

/// Prefix of the cluster directories under the system temp dir: `<prefix><pid>-<nanos>`.
const DIR_PREFIX: &str = "db-migrate-test-pg-";

/// The running test cluster. Superuser `postgres` (password auth on TCP, trust on the private
/// unix socket) and a login role `appproxy`.
#[derive(Debug)]
pub struct Postgres {
    /// Always `127.0.0.1` (the only TCP address the server listens on).
    pub host: &'static str,
    pub port: u16,
    /// Password of the superuser `postgres`.
    pub password: String,
    /// Password of the login role `appproxy`.
    pub appproxy_password: String,
    /// Directory of the server's unix socket (trust auth; used by [`Postgres::psql`]).
    pub socket_dir: PathBuf,
    /// Directory with `initdb`, `pg_ctl`, … (the highest version under /usr/lib/postgresql).
    pub bin_dir: PathBuf,
    /// Everything of the cluster lives here; removed at exit.
    pub base_dir: PathBuf,
    pub data_dir: PathBuf,
    pub log_file: PathBuf,
    as_postgres_user: bool,
}

static CLUSTER: OnceLock<Postgres> = OnceLock::new();

/// The process-wide cluster, started on first use (about a second).
pub fn postgres() -> &'static Postgres {
    CLUSTER.get_or_init(|| {
        let pg = Postgres::start();
        // libtest ends with `process::exit`, which runs atexit handlers but no destructors.
        // SAFETY: registering a plain `extern "C" fn` without arguments.
        let rc = unsafe { libc::atexit(stop_cluster_at_exit) };
        if rc != 0 {
            pg.shutdown();
            panic!("libc::atexit failed; refusing to leave a PostgreSQL server running");
        }
        pg
    })
}

extern "C" fn stop_cluster_at_exit() {
    if let Some(pg) = CLUSTER.get() {
        // Never unwind across the C boundary.
        let _ = std::panic::catch_unwind(|| pg.shutdown());
    }
}

/// A TCP port on 127.0.0.1 with nothing listening (for "connection refused" scenarios).
pub fn dead_port() -> u16 {
    free_port()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// A `pg_dump` that sleeps `secs` before it runs (`DB_MIGRATE_PG_DUMP` points at it): a copy or
/// backup slow enough for a test to interrupt. Written as `slow_pg_dump` in `dir`; its command
/// line names that path, so a test can look for it among the processes.
pub fn slow_pg_dump(dir: &Path, secs: u32) -> PathBuf {
    let wrapper = dir.join("slow_pg_dump");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nsleep {secs}\nexec {} \"$@\"\n",
            find_pg_bin_dir().join("pg_dump").display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

/// The highest `/usr/lib/postgresql/<version>/bin` that has `initdb`, else `initdb` on PATH.
pub fn find_pg_bin_dir() -> PathBuf {
    // DB_MIGRATE_TEST_PG=16 picks /usr/lib/postgresql/16 (CI runs the suite on 15 and 16).
    if let Ok(version) = std::env::var("DB_MIGRATE_TEST_PG") {
        let bin = Path::new("/usr/lib/postgresql").join(&version).join("bin");
        assert!(
            bin.join("initdb").exists(),
            "DB_MIGRATE_TEST_PG={version}: no {} (apt-get install postgresql-{version})",
            bin.display()
        );
        return bin;
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(version) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let bin = entry.path().join("bin");
            if bin.join("initdb").exists()
                && bin.join("pg_ctl").exists()
                && best.as_ref().is_none_or(|(v, _)| version > *v)
            {
                best = Some((version, bin));
            }
        }
    }
    if let Some((_, bin)) = best {
        return bin;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
                return dir;
            }
        }
    }
    panic!(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin or on \
         PATH; install them with `apt-get install postgresql`"
    );
}

struct PgUser {
    uid: u32,
    gid: u32,
}

fn lookup_postgres_user() -> PgUser {
    let name = CString::new("postgres").unwrap();
    // SAFETY: getpwnam with a valid C string; the result is read immediately. Tests that start
    // the cluster do so once, under the OnceLock, so no concurrent getpwnam from the harness.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        panic!(
            "running as root but there is no `postgres` system user to run the server as; \
             `apt-get install postgresql` creates it"
        );
    }
    // SAFETY: non-null pointer from getpwnam.
    unsafe {
        PgUser {
            uid: (*pw).pw_uid,
            gid: (*pw).pw_gid,
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

impl Postgres {
    fn start() -> Postgres {
        let bin_dir = find_pg_bin_dir();
        let as_postgres_user = is_root();
        let pg_user = as_postgres_user.then(lookup_postgres_user);
        if as_postgres_user {
            check_runuser();
        }
        remove_stale_clusters(&bin_dir, as_postgres_user);

        let base_dir = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            now_nanos()
        ));
        fs::create_dir(&base_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", base_dir.display()));
        fs::set_permissions(&base_dir, fs::Permissions::from_mode(0o700)).ok();
        let socket_dir = base_dir.join("sock");
        fs::create_dir(&socket_dir).expect("create socket dir");
        let pwfile = base_dir.join("pwfile");
        let password = format!("pw-{}", random_alnum(20));
        let appproxy_password = format!("pw-{}", random_alnum(20));
        fs::write(&pwfile, format!("{password}\n")).expect("write pwfile");
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600)).ok();
        if let Some(u) = &pg_user {
            for p in [&base_dir, &socket_dir, &pwfile] {
                std::os::unix::fs::chown(p, Some(u.uid), Some(u.gid))
                    .unwrap_or_else(|e| panic!("cannot chown {} to postgres: {e}", p.display()));
            }
        }

        let mut pg = Postgres {
            host: "127.0.0.1",
            port: 0,
            password,
            appproxy_password,
            socket_dir,
            bin_dir,
            data_dir: base_dir.join("data"),
            log_file: base_dir.join("server.log"),
            base_dir,
            as_postgres_user,
        };

        let out = pg
            .server_cmd("initdb")
            .arg("-D")
            .arg(&pg.data_dir)
            .args(["-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("spawn initdb");
        fs::remove_file(&pwfile).ok();
        if !out.status.success() {
            let text = output_text(&out);
            fs::remove_dir_all(&pg.base_dir).ok();
            panic!("initdb failed:\n{text}");
        }

        let mut last_failure = String::new();
        for _attempt in 0..5 {
            pg.port = free_port();
            let opts = format!(
                "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c shared_buffers=16MB -c max_connections=200",
                pg.port,
                pg.socket_dir.display()
            );
            let out = pg
                .server_cmd("pg_ctl")
                .arg("-D")
                .arg(&pg.data_dir)
                .arg("-o")
                .arg(&opts)
                .arg("-l")
                .arg(&pg.log_file)
                .args(["-w", "-t", "60", "start"])
                .output()
                .expect("spawn pg_ctl start");
            if out.status.success() {
                last_failure.clear();
                break;
            }
            let log = pg.log_tail(40);
            last_failure = format!("{}\n--- server log (tail) ---\n{log}", output_text(&out));
            // Somebody grabbed the port between our probe and the server's bind: try another.
            if !log.contains("could not bind") && !log.contains("Address already in use") {
                break;
            }
        }
        if !last_failure.is_empty() {
            pg.shutdown();
            panic!("PostgreSQL failed to start:\n{last_failure}");
        }

        let create_role = format!(
            "CREATE ROLE appproxy WITH LOGIN PASSWORD '{}'",
            pg.appproxy_password
        );
        if let Err(e) = pg.try_psql("postgres", &create_role) {
            pg.shutdown();
            panic!("creating role appproxy failed:\n{e}");
        }
        pg
    }

    /// `initdb`/`pg_ctl`, run as the `postgres` user when we are root.
    fn server_cmd(&self, program: &str) -> Command {
        let exe = self.bin_dir.join(program);
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        // The postgres user may not be allowed into the caller's working directory.
        cmd.current_dir(&self.base_dir).stdin(Stdio::null());
        for var in [
            "PGDATA",
            "PGPORT",
            "PGHOST",
            "PGUSER",
            "PGDATABASE",
            "PGPASSWORD",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Stop the server (fast shutdown) and delete its directory. Called at process exit.
    pub fn shutdown(&self) {
        if self.data_dir.join("postmaster.pid").exists() {
            let _ = self
                .server_cmd("pg_ctl")
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-m", "fast", "-w", "-t", "30", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&self.base_dir);
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log_file).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn psql_cmd(&self, db: &str, sql: &str) -> Command {
        let local = self.bin_dir.join("psql");
        let mut cmd = Command::new(if local.exists() {
            local
        } else {
            PathBuf::from("psql")
        });
        cmd.arg("-X")
            .arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args([
                "-U",
                "postgres",
                "-d",
                db,
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .stdin(Stdio::null());
        for var in [
            "PGPASSWORD",
            "PGSERVICE",
            "PGOPTIONS",
            "PGSSLMODE",
            "PSQLRC",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Run `sql` in `db` as superuser over the unix socket; `Err` carries psql's output.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = match self.psql_cmd(db, sql).output() {
            Ok(out) => out,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                panic!("psql not found; install it with `apt-get install postgresql-client`")
            }
            Err(e) => panic!("cannot run psql: {e}"),
        };
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!("psql -d {db} -c {sql:?}\n{}", output_text(&out)))
        }
    }

    /// Run `sql` in `db` as superuser (`psql -At -v ON_ERROR_STOP=1`); stdout, trimmed.
    /// Panics with psql's output on failure.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A new, uniquely named database (`t_<counter>_<pid>_<nanos>`) owned by `owner`.
    pub fn create_database(&self, owner: &str) -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "t_{}_{}_{}",
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::process::id(),
            now_nanos()
        );
        self.psql(
            "postgres",
            &format!("CREATE DATABASE \"{name}\" OWNER \"{owner}\""),
        );
        name
    }

    /// `DROP DATABASE … WITH (FORCE)` (works with connections open).
    pub fn drop_database(&self, name: &str) {
        self.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        );
    }

    /// The password of `user` (`postgres` or `appproxy`).
    pub fn password_of(&self, user: &str) -> &str {
        match user {
            "postgres" => &self.password,
            "appproxy" => &self.appproxy_password,
            other => panic!("the harness knows no password for role {other:?}"),
        }
    }

    /// `postgresql+asyncpg://user:password@127.0.0.1:port/db` for a role the harness created.
    pub fn url(&self, user: &str, db: &str) -> String {
        format!(
            "postgresql+asyncpg://{user}:{}@{}:{}/{db}",
            self.password_of(user),
            self.host,
            self.port
        )
    }
}

fn check_runuser() {
    match Command::new("runuser")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "running as root needs `runuser` to start PostgreSQL as the postgres user; \
             install it with `apt-get install util-linux`"
        ),
        Err(e) => panic!("cannot run runuser: {e}"),
    }
}

/// Clusters left behind by test processes that were killed (no atexit): stop and delete them.
fn remove_stale_clusters(bin_dir: &Path, as_postgres_user: bool) {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if pid_alive(pid) {
            continue;
        }
        let base_dir = entry.path();
        let data_dir = base_dir.join("data");
        if data_dir.join("postmaster.pid").exists() {
            let stale = Postgres {
                host: "127.0.0.1",
                port: 0,
                password: String::new(),
                appproxy_password: String::new(),
                socket_dir: base_dir.join("sock"),
                bin_dir: bin_dir.to_path_buf(),
                data_dir: data_dir.clone(),
                log_file: base_dir.join("server.log"),
                base_dir: base_dir.clone(),
                as_postgres_user,
            };
            let _ = stale
                .server_cmd("pg_ctl")
                .arg("-D")
                .arg(&data_dir)
                .args(["-m", "immediate", "-w", "-t", "10", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&base_dir);
    }
}
