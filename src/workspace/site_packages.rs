//! Where the launcher's Python imports a script package from when it is not in the checkout: a
//! wheel or an editable install of `ai.backend.manager` in the venv's site-packages. Python is
//! asked once (`importlib.util.find_spec`), and the answer is cached in
//! `.db-migrate/import-bases.json`, keyed on the launcher, its modification time and the active
//! venv, so the native engine stays as fast as for a checkout.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::workspace::Workspace;

const CACHE: &str = "import-bases.json";

/// Prints the package's directories (`submodule_search_locations`) as a JSON list.
const FIND_SPEC: &str = "import importlib.util, json, sys\n\
spec = importlib.util.find_spec(sys.argv[1])\n\
print(json.dumps(list(spec.submodule_search_locations or []) if spec else []))\n";

/// The directory Python imports `package` from (a site-packages directory, or the `src/` an
/// editable install maps to): cached, or asked of the launcher.
pub fn import_base(ws: &Workspace, package: &str) -> Result<PathBuf, String> {
    let key = cache_key(ws, package);
    let cache_file = ws.root.join(".db-migrate").join(CACHE);
    let mut cache = read_cache(&cache_file);
    if let Some(base) = cache.get(&key).map(PathBuf::from) {
        // A venv rebuilt elsewhere, or the package uninstalled: ask again.
        if base.join(package_path(package)).is_dir() {
            return Ok(base);
        }
    }
    let base = ask_launcher(ws, package)?;
    cache.insert(key, base.to_string_lossy().into_owned());
    write_cache(&ws.root, &cache_file, &cache);
    Ok(base)
}

fn package_path(package: &str) -> PathBuf {
    package.split('.').collect()
}

fn cache_key(ws: &Workspace, package: &str) -> String {
    let modified = std::fs::metadata(&ws.launcher[0])
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let venv = std::env::var("VIRTUAL_ENV").unwrap_or_default();
    format!("{}|{modified}|{venv}|{package}", ws.launcher.join("\u{1f}"))
}

fn read_cache(file: &Path) -> BTreeMap<String, String> {
    std::fs::read(file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Best effort: a read-only checkout just asks again next time.
fn write_cache(root: &Path, file: &Path, cache: &BTreeMap<String, String>) {
    if crate::workspace::state_dir::ensure(root, "").is_err() {
        return;
    }
    let Ok(text) = serde_json::to_string_pretty(cache) else {
        return;
    };
    let tmp = file.with_extension("json.tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, file);
    }
}

fn ask_launcher(ws: &Workspace, package: &str) -> Result<PathBuf, String> {
    let mut child = Command::new(&ws.launcher[0])
        .args(&ws.launcher[1..])
        .args(["-c", FIND_SPEC, package])
        .current_dir(&ws.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("the launcher {} could not be started: {e}", ws.launcher[0]))?;
    let limit = ws.alembic_timeout;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the launcher did not say where {package} is within {}s",
                    limit.as_secs()
                ));
            }
        }
    };
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if !status.success() {
        return Err(format!(
            "the launcher could not import {package}'s parents ({status})"
        ));
    }
    let locations: Vec<PathBuf> = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let wanted = package_path(package);
    locations
        .iter()
        .find_map(|dir| {
            let depth = wanted.components().count();
            let base: PathBuf = dir.ancestors().nth(depth)?.to_path_buf();
            (base.join(&wanted) == *dir).then_some(base)
        })
        .ok_or_else(|| format!("the launcher's Python does not find the package {package}"))
}
