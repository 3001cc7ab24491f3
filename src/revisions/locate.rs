//! Where a config's revision files are, resolved the way Alembic (run by `./py`, which puts `src/`
//! on PYTHONPATH) resolves them: `script_location` as a path or a `package.module:dir` resource,
//! `versions/` or `version_locations`, and `recursive_version_locations`.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::workspace::ini::Ini;

static SPACE_COMMA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r", *|(?: +)").expect("valid regex"));

/// The version directories and whether to walk them recursively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    pub dirs: Vec<PathBuf>,
    pub recursive: bool,
}

/// Why the revision files could not be located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocateError {
    /// `package.module:dir` whose package is not under the root, `src/` or `prepend_sys_path`
    /// (installed into site-packages): only the launcher's Python knows where it is.
    PackageNotFound(String),
    Other(String),
}

impl From<&str> for LocateError {
    fn from(why: &str) -> LocateError {
        LocateError::Other(why.to_owned())
    }
}

impl std::fmt::Display for LocateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocateError::PackageNotFound(package) => write!(
                f,
                "the script package {package} is not under the root, src/ or prepend_sys_path"
            ),
            LocateError::Other(why) => f.write_str(why),
        }
    }
}

/// Locate the version directories. `import_bases` are more directories Python imports packages
/// from (the launcher's answer for a package installed into site-packages).
pub fn locate(ini: &Ini, root: &Path, import_bases: &[PathBuf]) -> Result<Locations, LocateError> {
    let script_location = ini
        .get("alembic", "script_location")
        .ok_or("the ini has no script_location")?;
    if ini
        .get("alembic", "sourceless")
        .is_some_and(|v| v == "true")
    {
        return Err("sourceless = true (compiled revision files) is not read natively".into());
    }
    let mut search = search_path(ini, root);
    search.extend(import_bases.iter().cloned());
    let script_dir = match resolve(script_location, root, &search) {
        Some(dir) => dir,
        None => {
            return Err(match script_location.split_once(':') {
                Some((package, _)) if !Path::new(script_location).is_absolute() => {
                    LocateError::PackageNotFound(package.to_owned())
                }
                _ => LocateError::Other(format!(
                    "script_location {script_location} does not resolve to a directory"
                )),
            })
        }
    };
    let dirs = match ini.get("alembic", "version_locations") {
        None => vec![script_dir.join("versions")],
        Some(value) => {
            let separator = match ini.get("alembic", "version_path_separator") {
                None => None,
                Some("space") => Some(" "),
                Some("newline") => Some("\n"),
                Some("os") | Some(":") => Some(":"),
                Some(";") => Some(";"),
                Some(other) => {
                    return Err(LocateError::Other(format!(
                        "version_path_separator {other} is not one Alembic accepts"
                    )))
                }
            };
            let parts: Vec<&str> = match separator {
                None => SPACE_COMMA.split(value).collect(),
                Some(sep) => value.split(sep).map(str::trim).collect(),
            };
            parts
                .into_iter()
                .filter(|p| !p.is_empty())
                .filter_map(|p| resolve(p, root, &search))
                .filter(|d| d.exists())
                .collect()
        }
    };
    let recursive = ini.get("alembic", "recursive_version_locations") == Some("true");
    Ok(Locations { dirs, recursive })
}

/// Directories Python would import packages from: `prepend_sys_path` entries, the root (the
/// working directory) and `src/` (what `./py` adds).
fn search_path(ini: &Ini, root: &Path) -> Vec<PathBuf> {
    let mut search = Vec::new();
    if let Some(prepend) = ini.get("alembic", "prepend_sys_path") {
        for part in Regex::new(r", *|(?: +)|:")
            .expect("valid regex")
            .split(prepend)
            .filter(|p| !p.is_empty())
        {
            search.push(root.join(part));
        }
    }
    search.push(root.join("src"));
    search.push(root.to_path_buf());
    search
}

/// A filesystem path (relative to the root) or a `package.module:dir` resource.
fn resolve(location: &str, root: &Path, search: &[PathBuf]) -> Option<PathBuf> {
    let path = Path::new(location);
    if path.is_absolute() || !location.contains(':') {
        let p = root.join(path);
        return p.is_dir().then_some(p);
    }
    let mut parts = location.split(':');
    let package = parts.next()?;
    let rel: PathBuf = parts.collect();
    let package_dir: PathBuf = package.split('.').collect();
    search
        .iter()
        .map(|base| base.join(&package_dir))
        .find(|d| d.is_dir())
        .map(|d| d.join(rel))
        .filter(|d| d.is_dir())
}

/// The files Alembic would consider, in its order: sorted names per directory, `__pycache__`
/// skipped, `.py` files only, not `__init__*` or editor lock files (`.#*`).
pub fn revision_files(locations: &Locations) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for dir in &locations.dirs {
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            if d.file_name().is_some_and(|n| n == "__pycache__") {
                continue;
            }
            let mut names: Vec<(String, PathBuf, bool)> = std::fs::read_dir(&d)?
                .filter_map(Result::ok)
                .map(|e| {
                    let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        e.path(),
                        is_dir,
                    )
                })
                .collect();
            names.sort();
            let mut subdirs = Vec::new();
            for (name, path, is_dir) in names {
                if is_dir {
                    subdirs.push(path);
                } else if name.ends_with(".py")
                    && !name.starts_with("__init__")
                    && !name.starts_with(".#")
                {
                    // Alembic skips a file it reaches twice through overlapping locations.
                    if locations.dirs.len() == 1
                        || seen.insert(std::fs::canonicalize(&path).unwrap_or(path.clone()))
                    {
                        files.push(path);
                    }
                }
            }
            if locations.recursive {
                subdirs.reverse();
                stack.extend(subdirs);
            }
        }
    }
    Ok(files)
}
