//! The Alembic worker script's contract (`src/alembic/worker.py`), against the real Alembic and a
//! real PostgreSQL: started exactly as db-migrate starts it, `./py -c <script>` in the workspace
//! root, requests as JSON lines on its stdin. Each answer is compared with what
//! `./py -m alembic` prints for the same call, run in the same test on a twin component (same
//! revisions, its own database).

mod harness;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use harness::*;
use serde_json::{json, Value};
use Component::{Appproxy, Manager};

const READY: &str = "@@db-migrate-worker-ready ";
const LINE: &str = "@@db-migrate-worker-line ";
const DONE: &str = "@@db-migrate-worker-done ";
const SYNC: &str = "@@db-migrate-worker-sync ";

/// How long one request may take before the test gives up (a cold first start included).
const PATIENCE: Duration = Duration::from_secs(60);

/// The script as the binary embeds it.
fn script() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/alembic/worker.py");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A running worker: its stdin, its stdout lines as they come, its stderr collected.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// The thread collecting stderr: done once the process and its pipe are gone.
    stderr_reader: Option<thread::JoinHandle<()>>,
    /// The ready line's object.
    ready: Value,
    next_id: u64,
}

/// One answer: the done object and the line events that came before it.
struct Answer {
    done: Value,
    /// `(stream, line, complete)` in the order the worker sent them.
    lines: Vec<(String, String, bool)>,
}

impl Answer {
    fn exit(&self) -> i64 {
        self.done["exit"].as_i64().expect("exit is a number")
    }

    fn stream(&self, name: &str) -> Vec<String> {
        self.done[name]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is a list: {}", self.done))
            .iter()
            .map(|l| l.as_str().expect("a line is a string").to_owned())
            .collect()
    }

    fn stdout(&self) -> Vec<String> {
        self.stream("stdout")
    }

    fn stderr(&self) -> Vec<String> {
        self.stream("stderr")
    }
}

impl Worker {
    /// `./py -c <script>` in the root, as db-migrate starts it.
    fn start(ws: &Workspace) -> Worker {
        let mut child = Command::new(ws.root().join("py"))
            .current_dir(ws.root())
            .args(["-c", &script()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .env_remove("VIRTUAL_ENV")
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .spawn()
            .expect("start ./py -c <worker script>");
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let err = child.stderr.take().expect("piped stderr");
        let collected = Arc::clone(&stderr);
        let stderr_reader = thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                collected.lock().unwrap().push(line);
            }
        });
        let stdin = child.stdin.take();
        let mut worker = Worker {
            child,
            stdin,
            stdout,
            stderr,
            stderr_reader: Some(stderr_reader),
            ready: Value::Null,
            next_id: 1,
        };
        let first = worker
            .next_line()
            .unwrap_or_else(|| panic!("no ready line; stderr: {:?}", worker.stderr_lines()));
        worker.ready = serde_json::from_str(
            first
                .strip_prefix(READY)
                .unwrap_or_else(|| panic!("first line is not ready: {first}")),
        )
        .expect("ready is JSON");
        worker
    }

    fn next_line(&self) -> Option<String> {
        match self.stdout.recv_timeout(PATIENCE) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("the worker said nothing for {PATIENCE:?}"),
        }
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Write one request line (an `id` is added) without reading the answer; returns the id.
    fn send(&mut self, mut request: Value, ini: &str) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        request["id"] = json!(id);
        request["ini"] = json!(ini);
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{request}").expect("write a request");
        stdin.flush().expect("flush a request");
        id
    }

    /// The answer to request `id`, or `None` with the line events seen when stdout ended first.
    fn read_answer(&mut self, id: u64) -> Result<Answer, Vec<(String, String, bool)>> {
        let mut lines = Vec::new();
        loop {
            let Some(line) = self.next_line() else {
                return Err(lines);
            };
            if let Some(json) = line.strip_prefix(LINE) {
                let event: Value = serde_json::from_str(json).expect("a line event is JSON");
                assert_eq!(event["id"], json!(id), "{event}");
                lines.push((
                    event["stream"].as_str().unwrap().to_owned(),
                    event["line"].as_str().unwrap().to_owned(),
                    event["complete"].as_bool().unwrap(),
                ));
            } else if let Some(json) = line.strip_prefix(DONE) {
                let done: Value = serde_json::from_str(json).expect("done is JSON");
                assert_eq!(done["id"], json!(id), "{done}");
                return Ok(Answer { done, lines });
            } else {
                panic!("a line without the worker's marker on its stdout: {line}");
            }
        }
    }

    /// Send a request for `component`'s ini and wait for its answer.
    fn call(&mut self, component: Component, request: Value) -> Answer {
        let id = self.send(request, component.ini());
        self.read_answer(id).unwrap_or_else(|lines| {
            panic!(
                "the worker ended without answering {id}: {lines:?}\nstderr: {:?}",
                self.stderr_lines()
            )
        })
    }

    /// Close stdin (EOF) and wait for the process to end.
    fn finish(&mut self) -> ExitStatus {
        drop(self.stdin.take());
        self.wait()
    }

    /// Everything the process wrote on stderr, once it has ended.
    fn all_stderr(&mut self) -> Vec<String> {
        if let Some(reader) = self.stderr_reader.take() {
            reader.join().expect("the stderr reader");
        }
        self.stderr_lines()
    }

    fn wait(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(started.elapsed() < PATIENCE, "the worker did not exit");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `INFO  [alembic.runtime.migration] Running upgrade A -> B, msg` lines, in order.
fn running(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains("[alembic.runtime.migration] Running "))
        .cloned()
        .collect()
}

fn lines_of(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

/// The same revisions for Manager (served by the worker) and Appproxy (run by `-m alembic`).
fn twins(revs: &[Rev]) -> Workspace {
    Workspace::new()
        .component(Manager, revs)
        .component(Appproxy, revs)
}

/// One call both ways: the worker's answer on Manager and `./py -m alembic` on Appproxy.
fn both(
    ws: &Workspace,
    worker: &mut Worker,
    request: Value,
    argv: &[&str],
) -> (Answer, std::process::Output) {
    let answer = worker.call(Manager, request);
    let cli = ws.alembic(Appproxy, argv);
    assert_no_secret(&output_text(&cli), ws);
    assert_no_secret(&answer.done.to_string(), ws);
    (answer, cli)
}

#[test]
fn one_worker_serves_upgrade_current_downgrade_sql_and_stamp_as_alembic_does() {
    let revs = linear_chain("wk", 3);
    let ws = twins(&revs);
    let [a, b, c] = [revs[0].id(), revs[1].id(), revs[2].id()];
    let mut worker = Worker::start(&ws);
    assert_eq!(worker.ready["alembic"], "1.13.3", "{}", worker.ready);
    let pid = worker.ready["pid"].as_i64().unwrap();
    assert_eq!(pid, i64::from(worker.child.id()), "./py execs Python");

    // upgrade to b: the same steps, in Alembic's log format, and the same exit.
    let (up, cli) = both(
        &ws,
        &mut worker,
        json!({"op": "upgrade", "target": b}),
        &["upgrade", b],
    );
    assert_eq!(up.exit(), 0, "{}", up.done);
    assert_eq!(cli.status.code(), Some(0));
    let expected = running(&lines_of(&stderr_of(&cli)));
    assert_eq!(
        expected,
        [
            format!("INFO  [alembic.runtime.migration] Running upgrade  -> {a}, wk step 1"),
            format!("INFO  [alembic.runtime.migration] Running upgrade {a} -> {b}, wk step 2"),
        ]
    );
    assert_eq!(running(&up.stderr()), expected);
    assert_eq!(up.stderr(), lines_of(&stderr_of(&cli)));
    assert_eq!(up.stdout(), lines_of(&stdout_of(&cli)));
    assert_eq!(ws.db_revisions(Manager), [b.to_owned()]);
    assert_eq!(up.done["env_py_runs"], 1);
    // Each line was also sent as it was written, in order.
    let streamed: Vec<String> = up.lines.iter().map(|(_, l, _)| l.clone()).collect();
    assert_eq!(streamed, up.stderr());

    let (current, cli) = both(&ws, &mut worker, json!({"op": "current"}), &["current"]);
    assert_eq!((current.exit(), cli.status.code()), (0, Some(0)));
    assert_eq!(current.stdout(), [b.to_owned()]);
    assert_eq!(current.stdout(), lines_of(&stdout_of(&cli)));
    assert_eq!(current.stderr(), lines_of(&stderr_of(&cli)));

    let (down, cli) = both(
        &ws,
        &mut worker,
        json!({"op": "downgrade", "target": "-1"}),
        &["downgrade", "-1"],
    );
    assert_eq!((down.exit(), cli.status.code()), (0, Some(0)));
    assert_eq!(
        running(&down.stderr()),
        [format!(
            "INFO  [alembic.runtime.migration] Running downgrade {b} -> {a}, wk step 2"
        )]
    );
    assert_eq!(down.stderr(), lines_of(&stderr_of(&cli)));
    assert_eq!(ws.db_revisions(Manager), [a.to_owned()]);

    // Offline SQL of a range: the same SQL text.
    let range = format!("{a}:{c}");
    let (sql, cli) = both(
        &ws,
        &mut worker,
        json!({"op": "sql", "target": range}),
        &["upgrade", &range, "--sql"],
    );
    assert_eq!((sql.exit(), cli.status.code()), (0, Some(0)));
    assert!(
        sql.stdout()
            .contains(&format!("-- Running upgrade {b} -> {c}")),
        "{:?}",
        sql.stdout()
    );
    assert_eq!(sql.stdout(), lines_of(&stdout_of(&cli)));
    assert_eq!(sql.stderr(), lines_of(&stderr_of(&cli)));
    assert_eq!(
        ws.db_revisions(Manager),
        [a.to_owned()],
        "--sql changes nothing"
    );

    let (stamp, cli) = both(
        &ws,
        &mut worker,
        json!({"op": "stamp", "target": "head"}),
        &["stamp", "head"],
    );
    assert_eq!((stamp.exit(), cli.status.code()), (0, Some(0)));
    assert_eq!(stamp.stderr(), lines_of(&stderr_of(&cli)));
    assert_eq!(ws.db_revisions(Manager), [c.to_owned()]);

    // A CommandError: `FAILED:` on stdout and 255, as on the command line.
    let (unknown, cli) = both(
        &ws,
        &mut worker,
        json!({"op": "upgrade", "target": "nosuchrev"}),
        &["upgrade", "nosuchrev"],
    );
    assert_eq!(cli.status.code(), Some(255));
    assert_eq!(unknown.exit(), 255, "{}", unknown.done);
    assert_eq!(
        unknown.stdout(),
        ["FAILED: Can't locate revision identified by 'nosuchrev'"]
    );
    assert_eq!(unknown.stdout(), lines_of(&stdout_of(&cli)));
    assert_eq!(unknown.stderr(), lines_of(&stderr_of(&cli)));

    // It is the same process throughout, and it ends on EOF.
    assert_eq!(worker.finish().code(), Some(0));
}

#[test]
fn a_failing_migration_answers_exit_1_with_the_exception_and_the_worker_goes_on() {
    let good = rev(&rev_id("wk-good"), None, "good");
    let bad = rev(&rev_id("wk-bad"), Some(good.id()), "bad")
        .upgrade_body("raise RuntimeError('the migration is broken')");
    let ws = twins(&[good.clone(), bad]);
    ws.db_at(Manager, good.id());
    ws.db_at(Appproxy, good.id());
    let mut worker = Worker::start(&ws);

    let (failed, cli) = both(
        &ws,
        &mut worker,
        json!({"op": "upgrade", "target": "head"}),
        &["upgrade", "head"],
    );
    assert_eq!(cli.status.code(), Some(1));
    assert_eq!(failed.exit(), 1, "{}", failed.done);
    let stderr = failed.stderr();
    assert_eq!(
        stderr.last().map(String::as_str),
        Some("RuntimeError: the migration is broken"),
        "{stderr:?}"
    );
    assert_eq!(stderr.last(), lines_of(&stderr_of(&cli)).last());
    assert!(
        stderr.contains(&"Traceback (most recent call last):".to_owned()),
        "{stderr:?}"
    );
    assert_eq!(running(&stderr), running(&lines_of(&stderr_of(&cli))));

    // Rolled back, and the same process answers the next call.
    let current = worker.call(Manager, json!({"op": "current"}));
    assert_eq!(current.exit(), 0, "{}", current.done);
    assert_eq!(current.stdout(), [good.id().to_owned()]);
    assert_eq!(ws.db_revisions(Manager), [good.id().to_owned()]);
}

#[test]
fn a_migration_asking_a_question_gets_eof_and_the_next_request_is_not_eaten() {
    let ask = rev(&rev_id("wk-ask"), None, "ask")
        .upgrade_body("answer = input('Convert user ids? (a/b): ')");
    let ws = twins(&[ask]);
    let mut worker = Worker::start(&ws);

    // Both requests at once: input() must not read the second one from the request pipe.
    let first = worker.send(json!({"op": "upgrade", "target": "head"}), Manager.ini());
    let second = worker.send(json!({"op": "current"}), Manager.ini());
    let asked = worker.read_answer(first).expect("an answer");
    let cli = ws.alembic(Appproxy, &["upgrade", "head"]);

    assert_eq!(cli.status.code(), Some(1));
    assert_eq!(asked.exit(), 1, "{}", asked.done);
    assert_eq!(
        asked.stderr().last().map(String::as_str),
        Some("EOFError: EOF when reading a line")
    );
    assert_eq!(asked.stderr().last(), lines_of(&stderr_of(&cli)).last());
    // The prompt, without a newline, as Alembic leaves it on stdout.
    assert_eq!(stdout_of(&cli), "Convert user ids? (a/b): ");
    assert_eq!(asked.stdout(), ["Convert user ids? (a/b): "]);
    assert!(asked.lines.contains(&(
        "stdout".to_owned(),
        "Convert user ids? (a/b): ".to_owned(),
        false
    )));

    let current = worker
        .read_answer(second)
        .expect("the second request is answered");
    assert_eq!(current.exit(), 0, "{}", current.done);
    assert_eq!(
        current.stdout(),
        Vec::<String>::new(),
        "rolled back to base"
    );
}

#[test]
fn a_migration_that_ends_the_process_leaves_no_answer_but_its_lines() {
    let quit = rev(&rev_id("wk-quit"), None, "quits").upgrade_body("import os\nos._exit(0)");
    let ws = Workspace::new().component(Manager, std::slice::from_ref(&quit));
    let mut worker = Worker::start(&ws);

    let id = worker.send(json!({"op": "upgrade", "target": "head"}), Manager.ini());
    let lines = match worker.read_answer(id) {
        Ok(answer) => panic!("os._exit(0) must not be answered as done: {}", answer.done),
        Err(lines) => lines,
    };
    // What was said before the process ended came through, so a caller can show it.
    let said: Vec<String> = lines.iter().map(|(_, l, _)| l.clone()).collect();
    assert_eq!(
        running(&said),
        [format!(
            "INFO  [alembic.runtime.migration] Running upgrade  -> {}, quits",
            quit.id()
        )]
    );
    // Exit status 0 and no done line: only the missing answer tells this from success.
    assert_eq!(worker.wait().code(), Some(0));
    assert!(ws.db_revisions(Manager).is_empty(), "nothing committed");
}

#[test]
fn env_py_runs_for_every_request_and_a_module_level_engine_is_named() {
    let revs = linear_chain("wkenv", 2);
    let ws = Workspace::new().component(Manager, &revs);
    // env.py prints its URL's database on every execution; the models keep an engine.
    let env_py = format!("{}/alembic/env.py", Manager.package_dir());
    let text = ws.read_file(&env_py);
    ws.write_file(
        &env_py,
        &text.replace(
            "config = context.config\n",
            "config = context.config\nprint('env.py ran')\n",
        ),
    );
    ws.with_models(
        Manager,
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n\
         cached_engine = sa.create_engine('sqlite://')\n",
    );
    let mut worker = Worker::start(&ws);

    let first = worker.call(Manager, json!({"op": "upgrade", "target": revs[0].id()}));
    let second = worker.call(Manager, json!({"op": "upgrade", "target": "head"}));
    for answer in [&first, &second] {
        assert_eq!(answer.exit(), 0, "{}", answer.done);
        assert_eq!(answer.done["env_py_runs"], 1);
        assert_eq!(answer.stdout(), ["env.py ran"]);
        assert_eq!(
            answer.done["state"],
            json!(["ai.backend.manager.models.tables.cached_engine: Engine"]),
            "{}",
            answer.done
        );
    }
    // The models were imported by the first request only: they stay warm.
    let imported =
        |a: &Answer| -> Vec<String> { serde_json::from_value(a.done["imported"].clone()).unwrap() };
    assert!(
        imported(&first).contains(&"ai.backend.manager.models.tables".to_owned()),
        "{}",
        first.done
    );
    assert!(
        !imported(&second).contains(&"ai.backend.manager.models.tables".to_owned()),
        "{}",
        second.done
    );
    // Logging was configured afresh by env.py each time: the second request's lines are its own.
    assert_eq!(
        running(&second.stderr()),
        [format!(
            "INFO  [alembic.runtime.migration] Running upgrade {} -> {}, wkenv step 2",
            revs[0].id(),
            revs[1].id()
        )]
    );
}

#[test]
fn a_request_it_cannot_read_is_answered_with_exit_2_and_the_worker_goes_on() {
    let ws = Workspace::new().component(Manager, &linear_chain("wkbad", 1));
    let mut worker = Worker::start(&ws);

    let unknown = worker.call(Manager, json!({"op": "explode"}));
    assert_eq!(unknown.exit(), 2, "{}", unknown.done);
    assert!(
        unknown.stderr()[0].contains("unknown op 'explode'"),
        "{}",
        unknown.done
    );
    let no_target = worker.call(Manager, json!({"op": "upgrade"}));
    assert_eq!(no_target.exit(), 2, "{}", no_target.done);

    // An unreadable line has no id to answer with: `id` null, exit 2.
    writeln!(worker.stdin.as_mut().unwrap(), "not json").unwrap();
    let garbage = worker.next_line().expect("an answer");
    let done: Value = serde_json::from_str(garbage.strip_prefix(DONE).expect("a done line"))
        .expect("done is JSON");
    assert_eq!(
        (&done["id"], &done["exit"]),
        (&Value::Null, &json!(2)),
        "{done}"
    );

    let current = worker.call(Manager, json!({"op": "current"}));
    assert_eq!(current.exit(), 0, "{}", current.done);
    assert_eq!(worker.finish().code(), Some(0));
    // Every answer was followed by a sync line on stderr, in order.
    let stderr = worker.all_stderr();
    let syncs: Vec<String> = stderr
        .iter()
        .filter_map(|l| l.strip_prefix(SYNC).map(str::to_owned))
        .collect();
    assert_eq!(syncs, ["1", "2", "null", "3"], "{stderr:?}");
}

#[test]
fn output_written_past_python_goes_to_stderr_before_the_answers_sync_line() {
    // A migration that writes to fd 1 itself and runs a subprocess that prints: neither may
    // reach the answers, which a caller parses.
    let raw = rev(&rev_id("wk-raw"), None, "raw output").upgrade_body(
        "import os, subprocess\nos.write(1, b'written to fd 1\\n')\n\
         subprocess.run(['echo', 'from a subprocess'], check=True)",
    );
    let ws = Workspace::new().component(Manager, &[raw]);
    let mut worker = Worker::start(&ws);

    let answer = worker.call(Manager, json!({"op": "upgrade", "target": "head"}));
    assert_eq!(answer.exit(), 0, "{}", answer.done);
    assert_eq!(answer.stdout(), Vec::<String>::new(), "{}", answer.done);
    assert_eq!(worker.finish().code(), Some(0));
    let stderr = worker.all_stderr();
    let position = |text: &str| {
        stderr
            .iter()
            .position(|l| l == text)
            .unwrap_or_else(|| panic!("{text:?} not on stderr: {stderr:?}"))
    };
    let sync = position("@@db-migrate-worker-sync 1");
    assert!(position("written to fd 1") < sync, "{stderr:?}");
    assert!(position("from a subprocess") < sync, "{stderr:?}");
}

#[test]
fn the_drift_script_runs_in_the_worker_as_it_runs_through_the_launcher() {
    // verify's drift comparison (src/verify/drift.py) as a `python` request: the same lines as
    // `./py -c <drift.py> <ini>`, so verify can move it into the worker unchanged.
    let users = rev_id("wk-drift-users");
    let revs = [rev(&users, None, "create users").upgrade_body(
        "op.create_table(\"users\", sa.Column(\"id\", sa.Integer(), primary_key=True), \
         sa.Column(\"name\", sa.String(32)))",
    )];
    let ws = Workspace::new().component(Manager, &revs);
    ws.db_at(Manager, "head");
    ws.with_models(
        Manager,
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n\
         users = sa.Table('users', metadata, sa.Column('id', sa.Integer(), primary_key=True), \
         sa.Column('name', sa.String(64)), sa.Column('email', sa.String(64)))\n",
    );
    let drift =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/verify/drift.py"))
            .expect("read drift.py");
    let by_hand = Command::new(ws.root().join("py"))
        .current_dir(ws.root())
        .args(["-c", &drift, Manager.ini()])
        .stdin(Stdio::null())
        .env_remove("PYTHONPATH")
        .output()
        .expect("run ./py -c <drift.py>");
    assert_eq!(by_hand.status.code(), Some(0), "{}", output_text(&by_hand));

    let mut worker = Worker::start(&ws);
    for _ in 0..2 {
        let answer = worker.call(
            Manager,
            json!({"op": "python", "script": drift, "args": [Manager.ini()]}),
        );
        assert_eq!(answer.exit(), 0, "{}", answer.done);
        assert_eq!(answer.stdout(), lines_of(&stdout_of(&by_hand)));
        assert_eq!(answer.stderr(), lines_of(&stderr_of(&by_hand)));
        assert!(
            answer.stdout().iter().any(|l| l.contains("\"email\"")),
            "{:?}",
            answer.stdout()
        );
    }
    // The script's own failure path: usage text and exit 2 without its argument.
    let usage = worker.call(
        Manager,
        json!({"op": "python", "script": drift, "args": []}),
    );
    assert_eq!(usage.exit(), 2, "{}", usage.done);
}

#[test]
fn what_one_request_changed_does_not_carry_into_the_next() {
    // env.py changes the environment, the working directory and sys.path, and Alembic warns
    // once per process about a duplicated revision: each request sees a fresh process's state.
    let revs = linear_chain("wkfresh", 2);
    let ws = Workspace::new().component(Manager, &revs);
    let dup = rev(revs[1].id(), Some(revs[0].id()), "duplicate")
        .file_name_override(&format!("{}_duplicate.py", revs[1].id()));
    ws.add_revisions(Manager, &[dup]);
    let env_py = format!("{}/alembic/env.py", Manager.package_dir());
    let text = ws.read_file(&env_py);
    // At the end of env.py: the ini is read from the working directory first.
    ws.write_file(
        &env_py,
        &format!(
            "{text}\nimport os, sys\n\
             print('seen', os.environ.get('WORKER_MARK'), os.path.basename(os.getcwd()), \
             '/left-behind' in sys.path)\n\
             os.environ['WORKER_MARK'] = 'set'\n\
             os.chdir('/')\n\
             sys.path.append('/left-behind')\n"
        ),
    );
    let root_name = ws
        .root()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let cli = ws.alembic(Manager, &["current"]);
    let warning = lines_of(&stderr_of(&cli))
        .into_iter()
        .find(|l| l.contains("is present more than once"))
        .unwrap_or_else(|| panic!("Alembic warns: {}", output_text(&cli)));

    let mut worker = Worker::start(&ws);
    for _ in 0..2 {
        let current = worker.call(Manager, json!({"op": "current"}));
        assert_eq!(current.exit(), 0, "{}", current.done);
        assert_eq!(
            current.stdout(),
            [format!("seen None {root_name} False")],
            "{}",
            current.done
        );
        assert!(
            current.stderr().iter().any(|l| l.ends_with(
                warning
                    .split_once(": UserWarning")
                    .map_or(warning.as_str(), |(_, w)| w)
            )),
            "{:?}",
            current.stderr()
        );
    }
}
