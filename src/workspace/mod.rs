//! Where db-migrate runs: the workspace root, the Python launcher, and each component's ini.

pub mod ini;
mod launcher;
pub mod scratch;
pub mod shell;
pub mod site_packages;
pub mod state_dir;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::component::Component;
use crate::failure::{Failure, Kind};
use crate::mask;
use ini::{DbUrl, Ini, UrlError};
use launcher::choose_launcher;

/// Which configs a command acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// One component's config at the root.
    Component(Component),
    /// Every component whose config exists.
    All,
    /// Any Alembic ini, relative to the root.
    Config(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    /// Program and leading arguments; `-m alembic -c <ini> …` follow.
    pub launcher: Vec<String>,
    /// How long a read-only Alembic call (`current`, `history`, `--sql`) may take before it is
    /// killed (`--alembic-timeout`). Upgrades and downgrades have no limit.
    pub alembic_timeout: Duration,
}

/// The default of `--alembic-timeout`.
pub const DEFAULT_ALEMBIC_TIMEOUT: Duration = Duration::from_secs(120);

/// One Alembic config to act on.
#[derive(Debug, Clone)]
pub struct Config {
    /// `manager`, `accountmgr`, `appproxy`, or the ini's file name for `--config`.
    pub label: String,
    pub component: Option<Component>,
    /// The ini as passed to Alembic (relative to the root when inside it).
    pub ini_arg: String,
    pub url: Option<DbUrl>,
    /// The parsed ini, for the native engine.
    pub ini: Ini,
    /// The workspace root Alembic runs in.
    pub root: PathBuf,
}

impl Config {
    /// A revision file as people read it: relative to the workspace root (`?` when unknown).
    pub fn shown_path(&self, path: Option<&str>) -> String {
        let Some(path) = path else {
            return "?".to_owned();
        };
        Path::new(path)
            .strip_prefix(&self.root)
            .map_or_else(|_| path.to_owned(), |p| p.to_string_lossy().into_owned())
    }
}

impl Workspace {
    /// Find the root (or take `-C`), then choose the launcher.
    pub fn discover(
        workdir: Option<&Path>,
        config: Option<&Path>,
        python: Option<&str>,
    ) -> Result<Workspace, Failure> {
        let cwd = std::env::current_dir().map_err(|e| {
            Failure::new(
                Kind::Workspace,
                format!("cannot read the current directory: {e}"),
                "the directory was removed or is not accessible",
                "cd into your Backend.AI checkout and retry",
            )
        })?;
        let root = match (workdir, config) {
            (Some(dir), _) => {
                let dir = cwd.join(dir);
                if !dir.is_dir() {
                    let cause = if dir.exists() {
                        "-C names a file, not a directory (it takes the root of the checkout)"
                    } else {
                        "-C names a directory that does not exist (a typo, or a checkout that was moved or removed)"
                    };
                    return Err(Failure {
                        cause: cause.to_owned(),
                        ..Failure::usage(
                            Kind::WorkdirMissing,
                            format!("-C {}: no such directory", dir.display()),
                            "pass the path of your Backend.AI checkout",
                        )
                    });
                }
                dir
            }
            (None, config) => match find_root(&cwd) {
                Some(root) => root,
                None => match config {
                    // A lone --config outside any workspace: run from the ini's directory.
                    Some(ini) => cwd.join(ini).parent().map(Path::to_path_buf).unwrap_or(cwd.clone()),
                    None => {
                        return Err(Failure::new(
                            Kind::NoWorkspace,
                            format!("no Backend.AI workspace at {} or above", cwd.display()),
                            "no directory from here upward holds alembic.ini, alembic-accountmgr.ini or alembic-appproxy.ini",
                            "cd into your Backend.AI checkout, or pass -C DIR or --config PATH",
                        ))
                    }
                },
            },
        };
        let launcher = choose_launcher(&root, python)?;
        Ok(Workspace {
            root,
            launcher,
            alembic_timeout: DEFAULT_ALEMBIC_TIMEOUT,
        })
    }

    /// The configs a selection names, each read and its password registered for masking.
    pub fn configs(&self, selection: &Selection) -> Result<Vec<Config>, Failure> {
        let configs = if let Selection::Config(path) = selection {
            let ini_path = self.root.join(path);
            if let Some(failure) = not_a_config_file(&ini_path) {
                return Err(failure);
            }
            if !ini_path.is_file() {
                return Err(Failure::new(
                    Kind::ConfigMissing,
                    format!("config {} does not exist", path.display()),
                    "the --config path is wrong",
                    "check the path; it is taken relative to the workspace root",
                ));
            }
            let file_name = ini_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let component = Component::from_ini_name(&file_name)
                .filter(|c| ini_path == self.root.join(c.ini()));
            vec![self.read_config(
                component.map_or(file_name.clone(), |c| c.name().to_owned()),
                component,
                path.to_string_lossy().into_owned(),
                ini_path,
            )?]
        } else if let Selection::All = selection {
            let found: Vec<Component> = Component::ALL
                .into_iter()
                .filter(|c| self.root.join(c.ini()).exists())
                .collect();
            if found.is_empty() {
                return Err(Failure::new(
                    Kind::ConfigMissing,
                    format!("no component config in {}", self.root.display()),
                    "none of alembic.ini, alembic-accountmgr.ini, alembic-appproxy.ini exists at the root",
                    "run ./scripts/install-dev.sh, or copy the halfstack templates from configs/",
                ));
            }
            found
                .into_iter()
                .map(|c| self.component_config(c))
                .collect::<Result<_, _>>()?
        } else if let Selection::Component(component) = selection {
            vec![self.component_config(*component)?]
        } else {
            unreachable!("every selection is handled above")
        };
        Ok(configs)
    }

    fn component_config(&self, component: Component) -> Result<Config, Failure> {
        let ini_path = self.root.join(component.ini());
        if let Some(failure) = not_a_config_file(&ini_path) {
            return Err(failure);
        }
        if !ini_path.is_file() {
            let template = self.root.join(component.template());
            let fix = if template.is_file() {
                format!(
                    "cp {} {}   (then check the port in sqlalchemy.url: install-dev.sh rewrites it for your halfstack)",
                    component.template(),
                    component.ini()
                )
            } else {
                format!(
                    "run ./scripts/install-dev.sh, or create {} from {}",
                    component.ini(),
                    component.template()
                )
            };
            return Err(Failure::new(
                Kind::ConfigMissing,
                format!(
                    "{} has no config: {} does not exist in {}",
                    component.name(),
                    component.ini(),
                    self.root.display()
                ),
                "the root alembic inis are gitignored; install-dev.sh copies them from configs/",
                fix,
            ));
        }
        self.read_config(
            component.name().to_owned(),
            Some(component),
            component.ini().to_owned(),
            ini_path,
        )
    }

    fn read_config(
        &self,
        label: String,
        component: Option<Component>,
        ini_arg: String,
        ini_path: PathBuf,
    ) -> Result<Config, Failure> {
        let text = std::fs::read_to_string(&ini_path).map_err(|e| {
            let template = component.map_or("the halfstack template in configs/", |c| c.template());
            match e.kind() {
                std::io::ErrorKind::InvalidData => Failure::new(
                    Kind::ConfigNotText,
                    format!("{} is not a text file", ini_path.display()),
                    "it holds bytes that are not UTF-8 text: binary data or a corrupted file, not an Alembic ini",
                    format!("recreate it (e.g. cp {template} {ini_arg}), then retry"),
                ),
                std::io::ErrorKind::PermissionDenied => Failure::new(
                    Kind::ConfigUnreadable,
                    format!("cannot read {}: permission denied", ini_path.display()),
                    "the file's permissions do not let this user read it",
                    format!("chmod u+r {}   (or run db-migrate as the file's owner)", ini_path.display()),
                ),
                _ => Failure::new(
                    Kind::ConfigUnreadable,
                    format!("cannot read {}: {e}", ini_path.display()),
                    "the file could not be read",
                    "check the path and the disk, then retry",
                ),
            }
        })?;
        let ini = Ini::parse(&text, ini_path.parent().unwrap_or(&self.root));
        let url = match ini.get("alembic", "sqlalchemy.url").map(DbUrl::parse) {
            None => None,
            Some(Ok(url)) => {
                url.secrets().into_iter().for_each(mask::add_secret);
                Some(url)
            }
            Some(Err(e)) => {
                e.secrets.iter().for_each(|s| mask::add_secret(s));
                let line = ini.line_of("alembic", "sqlalchemy.url", e.offset);
                let select = match component {
                    Some(c) if ini_arg == c.ini() => format!("--component {}", c.name()),
                    _ => format!("--config {ini_arg}"),
                };
                return Err(
                    bad_url(&ini_path, line, &e, &select).in_workspace(&self.root, &ini_path, line)
                );
            }
        };
        Ok(Config {
            label,
            component,
            ini_arg,
            url,
            ini,
            root: self.root.clone(),
        })
    }
}

/// A `sqlalchemy.url` that cannot be read exactly: stop before any engine connects anywhere.
fn bad_url(ini_path: &Path, line: Option<usize>, e: &UrlError, select: &str) -> Failure {
    let (place, where_) = match line {
        Some(n) => (
            format!("{}:{n}", ini_path.display()),
            format!("in {} line {n}", ini_path.display()),
        ),
        None => (
            ini_path.display().to_string(),
            format!("in {}", ini_path.display()),
        ),
    };
    Failure::new(
        Kind::ConfigBadUrl,
        format!("{place}: sqlalchemy.url: {}", e.problem),
        "db-migrate reads sqlalchemy.url exactly as written and never puts a default in place of a part that is wrong; it connected to nothing and ran nothing",
        format!("{where_}, {}; then db-migrate status {select}", e.fix),
    )
}

/// A config path that exists but is no regular file (a directory, a socket…): say what it is
/// instead of calling it missing.
fn not_a_config_file(path: &Path) -> Option<Failure> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return None;
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    Some(Failure::new(
        Kind::ConfigNotAFile,
        format!("{} is {what}, not an Alembic config file", path.display()),
        "something created a directory (or special file) where the ini belongs, e.g. a Docker bind mount of a file that did not exist yet",
        format!(
            "move it aside (mv {0} {0}.bak), then create the ini again",
            path.display()
        ),
    ))
}

/// The nearest directory from `start` upward holding one of the component inis.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        // `exists`, not `is_file`: an alembic.ini that is a directory still marks the root, and
        // is then reported for what it is.
        .find(|dir| Component::ALL.iter().any(|c| dir.join(c.ini()).exists()))
        .map(Path::to_path_buf)
}
