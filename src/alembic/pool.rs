//! Where a proof's Alembic calls run: inside [`scoped`] (verify, check's lint, fix-heads' proof,
//! roundtrip), the runner hands every call a [`Worker`] can serve — `upgrade`/`downgrade`/
//! `stamp` with stdin closed, `current`, `upgrade A:B --sql`, a `-c <script>` of db-migrate's own —
//! to one worker per component, so the launcher and env.py's imports are paid once per proof, not
//! once per step (issue 21). Outside a scope, and for any other call (`--interactive`, `heads`,
//! `history`), nothing changes: `<launcher> -m alembic …`, one process per call, which stays the
//! contract of plain `upgrade`/`downgrade`.
//!
//! The answers are the runner's: the same [`Output`] (lines, exit code, `interrupted`) and the same
//! failures, so callers cannot tell the two apart. Where one process could behave differently:
//! - a worker that cannot start (no Alembic, a broken launcher) hands the call back to the runner,
//!   whose failure is the one users know; that component then runs one process per call;
//! - a module env.py imports that keeps an engine or connection at module level (built from the
//!   first call's URL, it would serve later calls with it) is detected after every call: the
//!   component's worker is stopped and its next calls run one process per call, said always
//!   ([`Note::OneProcessPerCall`]), never a silent difference;
//! - a worker that ends during a call (`os._exit`, a crash) answers it with its exit status, as a
//!   process of its own would ([`Worker::like_the_runner`]); it, or one cut by an interrupt or a
//!   timeout, is restarted by the next call (said with `-v`).
//!
//! The workers end with the scope (their process groups are killed), and on EOF of their stdin
//! or db-migrate's death before that.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::alembic::runner::{Input, Output, Stream};
use crate::alembic::worker::{Op, Worker};
use crate::event::{self, Event, Note};
use crate::failure::{Failure, Kind};
use crate::workspace::{Config, Workspace};

tokio::task_local! {
    static POOL: Arc<Pool>;
}

/// The workers of one scope, one per component.
struct Pool {
    verbose: bool,
    slots: Mutex<HashMap<Key, Slot>>,
}

/// A component as the workers tell them apart: its launcher, root and label (verify's scratch
/// copy of an ini is the same component, served by the same worker).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    launcher: Vec<String>,
    ws_root: PathBuf,
    root: PathBuf,
    label: String,
}

impl Key {
    fn of(ws: &Workspace, config: &Config) -> Key {
        Key {
            launcher: ws.launcher.clone(),
            ws_root: ws.root.clone(),
            root: config.root.clone(),
            label: config.label.clone(),
        }
    }
}

enum Slot {
    Serving(Box<Worker>),
    /// One process per call from now on (the worker could not start, or env.py keeps state).
    PerCall,
}

/// Run `work` with its Alembic calls served by one worker per component; the workers end when
/// it does.
pub async fn scoped<F: Future>(verbose: bool, work: F) -> F::Output {
    let pool = Arc::new(Pool {
        verbose,
        slots: Mutex::new(HashMap::new()),
    });
    POOL.scope(pool, work).await
}

/// The worker's call for a read-only runner call (`current`, `upgrade A:B --sql`).
pub(crate) fn read_only_op(args: &[&str]) -> Option<Op> {
    match args {
        ["current"] => Some(Op::Current),
        ["upgrade", range, "--sql"] => Some(Op::Sql((*range).to_owned())),
        _ => None,
    }
}

/// The worker's call for a migration or a `revision` (stdin closed only: `--interactive` needs
/// the terminal).
pub(crate) fn migration_op(input: Input, args: &[&str]) -> Option<Op> {
    if input != Input::Closed {
        return None;
    }
    match args {
        ["upgrade", target] => Some(Op::Upgrade((*target).to_owned())),
        ["downgrade", target] => Some(Op::Downgrade((*target).to_owned())),
        ["stamp", target] => Some(Op::Stamp((*target).to_owned())),
        ["revision", "-m", message, rest @ ..] => {
            let (head, rest) = match rest {
                ["--head", head, rest @ ..] => (Some((*head).to_owned()), rest),
                _ => (None, rest),
            };
            let autogenerate = match rest {
                [] => false,
                ["--autogenerate"] => true,
                _ => return None,
            };
            Some(Op::Revision {
                message: (*message).to_owned(),
                head,
                autogenerate,
            })
        }
        _ => None,
    }
}

/// The worker's call for `<launcher> -c <script> ARGS…`.
pub(crate) fn python_op(args: &[&str]) -> Option<Op> {
    match args {
        ["-c", script, rest @ ..] => Some(Op::Python(
            (*script).to_owned(),
            rest.iter().map(|a| (*a).to_owned()).collect(),
        )),
        _ => None,
    }
}

/// Serve `op` by the scope's worker for `config`'s component. `None`: no scope, or this
/// component runs one process per call; the runner runs it.
pub(crate) async fn serve(
    ws: &Workspace,
    config: &Config,
    op: Option<Op>,
    on_line: &mut impl FnMut(Stream, &str),
) -> Option<Result<Output, Failure>> {
    let op = op?;
    let pool = POOL.try_with(Arc::clone).ok()?;
    // Held for the whole call: concurrent calls for one component take turns.
    let mut slots = pool.slots.lock().await;
    let key = Key::of(ws, config);
    if !slots.contains_key(&key) {
        match Worker::start(ws, config, pool.verbose).await {
            Ok(worker) => {
                slots.insert(
                    key.clone(),
                    Slot::Serving(Box::new(worker.like_the_runner())),
                );
            }
            // Said as the runner says it (the runner would wait as long again).
            Err(f) if matches!(f.kind, Kind::Interrupted | Kind::AlembicTimeout) => {
                return Some(Err(f))
            }
            // The runner's own failure for this call is the one to report.
            Err(_) => {
                slots.insert(key, Slot::PerCall);
                return None;
            }
        }
    }
    let Some(Slot::Serving(worker)) = slots.get_mut(&key) else {
        return None;
    };
    let answer = worker.serve(config, &op, |s, l| on_line(s, l)).await;
    if !worker.module_state().is_empty() {
        let state = worker.module_state().join(", ");
        event::emit(Event::Note(Note::OneProcessPerCall {
            component: &config.label,
            state: &state,
        }));
        // Dropping the worker kills it.
        slots.insert(key, Slot::PerCall);
    }
    Some(answer)
}

/// Whether `config`'s component has a worker serving its calls in this scope (false outside a
/// scope, before its first call, and once it runs one process per call).
pub async fn serving(ws: &Workspace, config: &Config) -> bool {
    let Ok(pool) = POOL.try_with(Arc::clone) else {
        return false;
    };
    let slots = pool.slots.lock().await;
    matches!(slots.get(&Key::of(ws, config)), Some(Slot::Serving(_)))
}

/// The scope's slot for `config`'s component: `serving`, `per-call`, or `None` when it has none.
#[cfg(test)]
async fn slot(ws: &Workspace, config: &Config) -> Option<&'static str> {
    let pool = POOL.try_with(Arc::clone).ok()?;
    let slots = pool.slots.lock().await;
    slots.get(&Key::of(ws, config)).map(|s| match s {
        Slot::Serving(_) => "serving",
        Slot::PerCall => "per-call",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alembic::call;
    use crate::alembic::worker::tests::{scratch, ONE_AT_A_TIME};
    use std::time::Duration;

    /// `current` as callers make it.
    async fn current(ws: &Workspace, config: &Config) -> Output {
        call::read_only(ws, config, &["current"], |_, _| {})
            .await
            .expect("answered")
    }

    #[tokio::test]
    async fn a_scope_serves_a_component_by_one_worker_and_module_state_ends_it() {
        let _turn = ONE_AT_A_TIME.lock().await;
        let python = crate::test_support::venv_python();

        // A plain env.py: the worker answers what one process per call answers, and stays.
        let (_dir, ws, config) = scratch(&python, "pass", Duration::from_secs(60));
        let alone = current(&ws, &config).await;
        scoped(false, async {
            assert_eq!(slot(&ws, &config).await, None);
            let up = call::migration(&ws, &config, Input::Closed, &["upgrade", "aaaa"], |_, _| {})
                .await
                .expect("answered");
            assert!(up.success(), "{up:?}");
            assert_eq!(slot(&ws, &config).await, Some("serving"));
            let served = current(&ws, &config).await;
            assert_eq!(served.stdout, ["aaaa"]);
            assert_eq!((alone.code, &alone.stderr), (served.code, &served.stderr));
            assert_eq!(slot(&ws, &config).await, Some("serving"));
            assert!(serving(&ws, &config).await);
        })
        .await;

        // env.py imports a module that keeps an engine: from the next call on, one process each.
        let (_dir, ws, config) = scratch(&python, "pass", Duration::from_secs(60));
        std::fs::write(
            ws.root.join("models_state.py"),
            "import sqlalchemy as sa\nengine = sa.create_engine('sqlite://')\n",
        )
        .unwrap();
        let env = ws.root.join("migrations/env.py");
        let text = std::fs::read_to_string(&env).unwrap();
        std::fs::write(&env, format!("import models_state  # noqa: F401\n{text}")).unwrap();
        let alone = current(&ws, &config).await;
        assert!(alone.success(), "{alone:?}");
        scoped(false, async {
            let first = current(&ws, &config).await;
            assert_eq!(slot(&ws, &config).await, Some("per-call"));
            assert!(!serving(&ws, &config).await);
            let second = current(&ws, &config).await;
            for output in [&first, &second] {
                assert_eq!(
                    (output.code, &output.stdout, &output.stderr),
                    (alone.code, &alone.stdout, &alone.stderr)
                );
            }
        })
        .await;
    }

    #[test]
    fn only_the_calls_a_worker_serves_alike_go_to_it() {
        assert_eq!(read_only_op(&["current"]), Some(Op::Current));
        assert_eq!(
            read_only_op(&["upgrade", "a:b", "--sql"]),
            Some(Op::Sql("a:b".into()))
        );
        assert_eq!(read_only_op(&["heads"]), None);
        assert_eq!(read_only_op(&["history", "-v"]), None);
        assert_eq!(read_only_op(&["current", "--verbose"]), None);
        assert_eq!(
            migration_op(Input::Closed, &["downgrade", "-1"]),
            Some(Op::Downgrade("-1".into()))
        );
        assert_eq!(
            migration_op(Input::Closed, &["stamp", "base"]),
            Some(Op::Stamp("base".into()))
        );
        assert_eq!(migration_op(Input::Terminal, &["upgrade", "head"]), None);
        assert_eq!(
            migration_op(
                Input::Closed,
                &[
                    "revision",
                    "-m",
                    "add foo",
                    "--head",
                    "abc",
                    "--autogenerate"
                ]
            ),
            Some(Op::Revision {
                message: "add foo".into(),
                head: Some("abc".into()),
                autogenerate: true
            })
        );
        assert_eq!(
            migration_op(Input::Closed, &["revision", "-m", "first"]),
            Some(Op::Revision {
                message: "first".into(),
                head: None,
                autogenerate: false
            })
        );
        assert_eq!(
            migration_op(Input::Closed, &["revision", "-m", "x", "--splice"]),
            None
        );
        assert_eq!(
            migration_op(Input::Closed, &["upgrade", "head", "--sql"]),
            None
        );
        assert_eq!(
            python_op(&["-c", "print(1)", "alembic.ini"]),
            Some(Op::Python("print(1)".into(), vec!["alembic.ini".into()]))
        );
        assert_eq!(python_op(&["script.py"]), None);
    }
}
