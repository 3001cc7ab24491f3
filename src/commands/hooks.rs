//! `hooks install | uninstall`: git's post-checkout and post-merge hooks that say, right after
//! the switch, when a database no longer matches the checkout, and the command to run; and the
//! hidden `hooks run` they call. A hook never fails, blocks or prompts: the native status only
//! (no Python), a time limit, every failure silent. An existing hook is chained (renamed beside
//! it, run first, its exit status kept), never overwritten; `uninstall` puts it back.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use crate::exit_code;
use crate::failure::{Failure, Kind};
use crate::git::Repo;
use crate::inspect::{self, Engine};
use crate::next_step::next_step;
use crate::settings::{HooksTask, RunOptions, SyncOptions};
use crate::state::State;
use crate::workspace::{shell, Selection};

use super::App;

const HOOKS: [&str; 2] = ["post-checkout", "post-merge"];
/// Marks a hook file as ours.
const MARKER: &str = "# Installed by `db-migrate hooks install`.";
/// The suffix of a hook we chained.
const CHAINED: &str = "db-migrate-chained";
/// How long the hook may take for every component together.
const LIMIT: Duration = Duration::from_secs(3);

pub async fn run(app: &App, task: HooksTask) -> Result<u8, Failure> {
    match task {
        HooksTask::Install { auto } => install(app, auto),
        HooksTask::Uninstall => uninstall(app),
        HooksTask::Run { auto } => {
            hook(app, auto).await;
            Ok(exit_code::OK)
        }
    }
}

fn refuse(message: String, cause: &str) -> Failure {
    Failure::new(
        Kind::HooksInstall,
        message,
        cause,
        "check that the workspace is a git work tree and its hooks directory is writable, then retry",
    )
}

fn hooks_dir(app: &App) -> Result<std::path::PathBuf, Failure> {
    let repo = Repo::discover(&app.ws.root).ok_or_else(|| {
        refuse(
            format!("{} is not in a git work tree", app.ws.root.display()),
            "git hooks belong to a repository",
        )
    })?;
    let dir = repo.hooks_dir().map_err(|e| {
        refuse(
            format!("cannot find the hooks directory: {e}"),
            "git failed",
        )
    })?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        refuse(
            format!("cannot create {}: {e}", dir.display()),
            "the hooks directory is not writable",
        )
    })?;
    Ok(dir)
}

fn install(app: &App, auto: bool) -> Result<u8, Failure> {
    let dir = hooks_dir(app)?;
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "db-migrate".to_owned());
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}.{CHAINED}"));
        let ours = is_ours(&path);
        if path.exists() && !ours {
            std::fs::rename(&path, &chained).map_err(|e| {
                refuse(
                    format!("cannot move the existing {name} hook aside: {e}"),
                    "the hooks directory is not writable",
                )
            })?;
            outln!(
                "chained  {name}: the existing hook runs first ({})",
                chained.display()
            );
        }
        let script = script(name, &exe, &app.ws.root, auto);
        std::fs::write(&path, script)
            .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)))
            .map_err(|e| {
                refuse(
                    format!("cannot write {}: {e}", path.display()),
                    "the hooks directory is not writable",
                )
            })?;
        outln!(
            "{}  {}",
            if ours { "updated  " } else { "installed" },
            path.display()
        );
    }
    Ok(exit_code::OK)
}

fn uninstall(app: &App) -> Result<u8, Failure> {
    let dir = hooks_dir(app)?;
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}.{CHAINED}"));
        if !is_ours(&path) {
            outln!("skipped  {name}: not installed by db-migrate");
            continue;
        }
        let restored = if chained.exists() {
            std::fs::rename(&chained, &path).map(|()| true)
        } else {
            std::fs::remove_file(&path).map(|()| false)
        }
        .map_err(|e| {
            refuse(
                format!("cannot remove {}: {e}", path.display()),
                "the hooks directory is not writable",
            )
        })?;
        if restored {
            outln!("restored {name}: the hook it chained is back");
        } else {
            outln!("removed  {}", path.display());
        }
    }
    Ok(exit_code::OK)
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(MARKER))
}

/// The hook: the chained one first (its exit status is the hook's), then `hooks run` with stdin
/// closed and its own failures ignored. post-checkout runs only for a branch checkout (`$3 = 1`).
fn script(name: &str, exe: &str, root: &Path, auto: bool) -> String {
    let only_branches = if name == "post-checkout" {
        "[ \"$3\" = \"1\" ] || exit $code\n"
    } else {
        ""
    };
    format!(
        "#!/bin/sh\n{MARKER}\n# It says when a database no longer matches the checkout; `db-migrate hooks uninstall` removes it.\ncode=0\nchained=\"$(dirname \"$0\")/{name}.{CHAINED}\"\nif [ -x \"$chained\" ]; then\n    \"$chained\" \"$@\"\n    code=$?\nfi\n{only_branches}{exe} -C {root} hooks run {name}{auto} </dev/null 2>/dev/null || true\nexit $code\n",
        exe = shell::word(exe),
        root = shell::word(&root.to_string_lossy()),
        auto = if auto { " --auto" } else { "" },
    )
}

/// One line per component that needs a command; with `auto`, sync what only needs walking back
/// and forward without destroying data.
async fn hook(app: &App, auto: bool) {
    let Ok(configs) = app.ws.configs(&Selection::All) else {
        return;
    };
    for config in configs {
        let inspected = tokio::time::timeout(
            LIMIT,
            inspect::inspect(&app.ws, &config, Engine::Native, false),
        )
        .await;
        let Ok(Ok(mut i)) = inspected else {
            continue;
        };
        match i.state {
            State::Behind | State::Diverged => {}
            State::UnknownRevision => i.find_in_git(),
            State::UpToDate | State::NoRevision => continue,
        }
        if auto && i.syncable().is_some() {
            let opts = SyncOptions {
                selection: config.component.map_or_else(
                    || Selection::Config(config.root.join(&config.ini_arg)),
                    Selection::Component,
                ),
                run: quiet_run(),
                yes: true,
                only_harmless: true,
            };
            outln!(
                "db-migrate: {} is {}; syncing",
                config.label,
                i.state.as_str()
            );
            let _ = super::sync::run(app, &opts).await;
            continue;
        }
        outln!(
            "db-migrate: {} is {}: {}",
            config.label,
            i.state.as_str(),
            next_step(&i)
        );
    }
}

fn quiet_run() -> RunOptions {
    RunOptions {
        dry_run: false,
        quiet: true,
        sql: false,
        backup: None,
        lock_timeout: 5,
        keep_going: false,
        interactive: false,
    }
}
