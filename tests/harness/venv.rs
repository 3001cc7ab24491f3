//! The Python virtualenv with the pinned Alembic stack, built once per requirements file.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use super::util::{fnv1a64, output_text};

/// `tests/python/requirements.txt` of this repository.
pub fn requirements_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/requirements.txt")
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` (relative to the repo if relative), else `<repo>/target`.
pub fn target_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("CARGO_TARGET_DIR").or(option_env!("CARGO_TARGET_DIR").map(Into::into)) {
        Some(dir) if !dir.is_empty() => manifest.join(dir),
        _ => manifest.join("target"),
    }
}

/// The virtualenv (`<target>/test-venv-<hash of requirements.txt>`), built on first use.
///
/// Safe to call from many threads and many processes at once: the build runs under an exclusive
/// file lock, into a `.partial` directory that is renamed into place only when `pip` succeeded.
pub fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(build_or_reuse)
}

/// The venv's interpreter.
pub fn venv_python() -> PathBuf {
    venv().join("bin/python")
}

fn build_or_reuse() -> PathBuf {
    let req = requirements_file();
    let contents = fs::read(&req).unwrap_or_else(|e| panic!("cannot read {}: {e}", req.display()));
    let hash = format!("{:016x}", fnv1a64(&contents));
    let target = target_dir();
    fs::create_dir_all(&target)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", target.display()));
    let name = format!("test-venv-{}", &hash[..12]);
    let final_dir = target.join(&name);

    if is_complete(&final_dir) {
        return final_dir;
    }
    let lock = acquire_lock(&target.join(format!("{name}.lock")));
    // Someone else may have finished while we waited for the lock.
    if is_complete(&final_dir) {
        eprintln!(
            "[harness] pid {}: venv {} was built by another process",
            std::process::id(),
            final_dir.display()
        );
        return final_dir;
    }
    eprintln!(
        "[harness] pid {}: building venv {} (lock held)",
        std::process::id(),
        final_dir.display()
    );
    remove_stale_partials(&target, &name);
    if final_dir.exists() {
        // Incomplete or damaged (e.g. a half-deleted target dir): rebuild.
        fs::remove_dir_all(&final_dir)
            .unwrap_or_else(|e| panic!("cannot remove broken {}: {e}", final_dir.display()));
    }
    // Per-process build directory: even if locking were defeated (say, the lock file was deleted
    // while held), two builders never write into the same tree.
    let partial = target.join(format!("{name}.partial-{}", std::process::id()));
    if partial.exists() {
        fs::remove_dir_all(&partial)
            .unwrap_or_else(|e| panic!("cannot remove stale {}: {e}", partial.display()));
    }

    let python = find_python3();
    let out = run(Command::new(&python).arg("-m").arg("venv").arg(&partial));
    if !out.status.success() {
        let text = output_text(&out);
        fs::remove_dir_all(&partial).ok();
        panic!(
            "`{} -m venv {}` failed (if the message mentions ensurepip or venv, install the venv \
             module: `apt-get install python3-venv`):\n{text}",
            python.display(),
            partial.display()
        );
    }
    let out = run(Command::new(partial.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
        ])
        .arg(&req));
    if !out.status.success() {
        let text = output_text(&out);
        fs::remove_dir_all(&partial).ok();
        panic!(
            "`pip install -r {}` into the test venv failed:\n{text}",
            req.display()
        );
    }
    relocate_scripts(&partial, &final_dir);
    if let Err(e) = fs::rename(&partial, &final_dir) {
        let other_won = is_complete(&final_dir);
        fs::remove_dir_all(&partial).ok();
        if !other_won {
            panic!(
                "cannot rename {} to {}: {e}",
                partial.display(),
                final_dir.display()
            );
        }
    }
    drop(lock);
    final_dir
}

/// An exclusive lock on `path`, held until the returned file is dropped. Re-checks after locking
/// that `path` still names the locked inode (someone may have deleted the file meanwhile, and a
/// lock on an unlinked inode excludes nobody).
fn acquire_lock(path: &Path) -> File {
    use std::os::unix::fs::MetadataExt;
    loop {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("cannot open lock file {}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        let held = file.metadata().expect("fstat lock file");
        match fs::metadata(path) {
            Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => return file,
            _ => continue,
        }
    }
}

/// `<name>.partial-<pid>` directories of processes that no longer exist.
fn remove_stale_partials(target: &Path, name: &str) {
    let prefix = format!("{name}.partial-");
    let Ok(entries) = fs::read_dir(target) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only probes for existence.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
        if !alive || pid == std::process::id() as i32 {
            fs::remove_dir_all(entry.path()).ok();
        }
    }
}

/// A venv counts as complete once it has been renamed into place and still has its interpreter
/// and Alembic (a partially deleted target dir would fail this and be rebuilt).
fn is_complete(dir: &Path) -> bool {
    dir.join("bin/python").exists() && dir.join("pyvenv.cfg").exists() && has_alembic(dir)
}

fn has_alembic(dir: &Path) -> bool {
    let Ok(lib) = fs::read_dir(dir.join("lib")) else {
        return false;
    };
    lib.flatten()
        .any(|e| e.path().join("site-packages/alembic/__init__.py").exists())
}

fn find_python3() -> PathBuf {
    match Command::new("python3")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => PathBuf::from("python3"),
        Ok(out) => panic!(
            "`python3 --version` failed; install Python 3 with `apt-get install python3 python3-venv`:\n{}",
            output_text(&out)
        ),
        Err(e) => panic!(
            "python3 is not on PATH ({e}); install it with `apt-get install python3 python3-venv`"
        ),
    }
}

fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"))
}

/// Scripts pip wrote into `bin/` carry the build directory in their `#!` line; point them at the
/// final location so `bin/pip` and `bin/alembic` keep working after the rename.
fn relocate_scripts(partial: &Path, final_dir: &Path) {
    let (from, to) = (partial.to_string_lossy(), final_dir.to_string_lossy());
    let Ok(entries) = fs::read_dir(partial.join("bin")) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue; // binary
        };
        if text.contains(from.as_ref()) {
            fs::write(&path, text.replace(from.as_ref(), to.as_ref())).ok();
        }
    }
}
