//! The revision files found in git, written to a private temporary directory (never into the work
//! tree), and a copy of the component's ini, in the same directory, whose `version_locations`
//! lists the checkout's versions directories plus that one, so Alembic sees both. Everything goes
//! when this is dropped (also on Ctrl-C).

use std::path::{Path, PathBuf};

use crate::cleanup::{self, Registration};
use crate::failure::{Failure, Kind};
use crate::revisions::locate;
use crate::workspace::ini::Ini;
use crate::workspace::Config;

use super::find::Found;

/// `config` seeing the found revisions too; the files go when this is dropped.
pub struct WithFound {
    pub config: Config,
    dir: PathBuf,
    registration: Option<Registration>,
}

impl Drop for WithFound {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(r) = self.registration.take() {
            r.disarm();
        }
    }
}

/// Write `found` and the ini copy that lists them.
pub fn with_found(config: &Config, found: &[Found]) -> Result<WithFound, Failure> {
    let refuse = |why: String| {
        Failure::new(
            Kind::SyncScratch,
            format!(
                "cannot prepare the revisions found in git for {}: {why}",
                config.label
            ),
            "sync writes the revision files this checkout lacks, and a copy of the ini that lists them, to a private temporary directory",
            "check that the temporary directory ($TMPDIR or /tmp) is writable, then retry",
        )
    };
    let dir =
        private_dir().map_err(|e| refuse(format!("cannot create a temporary directory: {e}")))?;
    let registration = {
        let path = dir.clone();
        cleanup::register(move || async move {
            let _ = std::fs::remove_dir_all(path);
        })
    };
    let versions = dir.join("versions");
    std::fs::create_dir(&versions).map_err(|e| refuse(e.to_string()))?;
    for f in found {
        let name = f.path.file_name().map_or_else(
            || format!("{}.py", f.revision.id),
            |n| n.to_string_lossy().into_owned(),
        );
        let target = versions.join(&name);
        std::fs::write(&target, &f.content)
            .map_err(|e| refuse(format!("cannot write {}: {e}", target.display())))?;
    }
    let ini_path = config.root.join(&config.ini_arg);
    let text = std::fs::read_to_string(&ini_path)
        .map_err(|e| refuse(format!("cannot read {}: {e}", ini_path.display())))?;
    let locations = locate::locate(&config.ini, &config.root, &[])
        .map_err(|e| refuse(format!("cannot locate the versions directories: {e}")))?;
    let mut dirs = locations.dirs;
    dirs.push(versions);
    let here = ini_path.parent().unwrap_or(&config.root);
    let copy = rewrite(&text, &config.ini, &dirs, here)
        .ok_or_else(|| refuse(format!("{} has no [alembic] section", config.ini_arg)))?;
    let copy_path = dir.join("alembic.ini");
    std::fs::write(&copy_path, &copy)
        .map_err(|e| refuse(format!("cannot write {}: {e}", copy_path.display())))?;
    Ok(WithFound {
        config: Config {
            ini_arg: copy_path.to_string_lossy().into_owned(),
            ini: Ini::parse(&copy, here),
            ..config.clone()
        },
        dir,
        registration: Some(registration),
    })
}

/// A new directory under the system's temporary directory, readable by this user only.
fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt as _;
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut attempt = 0u32;
    loop {
        let dir = base.join(format!(
            "db-migrate-sync-{}-{nanos:x}-{attempt}",
            std::process::id()
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1
            }
            other => return other.map(|()| dir),
        }
    }
}

/// The ini text with `version_locations` (and its separator) replaced by `dirs`, joined with the
/// OS path separator, and `%(here)s` spelled out (the copy lives in another directory).
fn rewrite(text: &str, ini: &Ini, dirs: &[PathBuf], here: &Path) -> Option<String> {
    let escape = |s: &str| s.replace('%', "%%");
    let mut dropped: Vec<usize> = Vec::new();
    for key in ["version_locations", "version_path_separator"] {
        dropped.extend(ini.lines_of("alembic", key).unwrap_or_default());
    }
    // Newer Alembic reads one `path_separator` for every path list: follow it when it is set.
    let separator = match ini.get("alembic", "path_separator") {
        Some("space") => " ",
        Some("newline") => "\n    ",
        Some(";") => ";",
        Some("," | "comma") => ",",
        _ => ":",
    };
    let keeps_own = ini.get("alembic", "path_separator").is_some();
    let joined = dirs
        .iter()
        .map(|d| escape(&d.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(separator);
    let here = escape(&here.to_string_lossy());
    let mut out = String::with_capacity(text.len() + 200);
    let mut inserted = false;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if dropped.contains(&(n + 1)) {
            continue;
        }
        out.push_str(&line.replace("%(here)s", &here));
        if !line.ends_with('\n') {
            out.push('\n');
        }
        if !inserted && line.trim() == "[alembic]" {
            if !keeps_own {
                out.push_str("version_path_separator = os\n");
            }
            out.push_str(&format!("version_locations = {joined}\n"));
            inserted = true;
        }
    }
    inserted.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_lists_both_directories_and_drops_the_old_locations() {
        let text = "[alembic]\nscript_location = %(here)s/migrations\nversion_locations = %(here)s/a\n  %(here)s/b\nsqlalchemy.url = sqlite:///x\n";
        let ini = Ini::parse(text, Path::new("/repo"));
        let dirs = [PathBuf::from("/repo/a"), PathBuf::from("/tmp/s/versions")];
        let copy = rewrite(text, &ini, &dirs, Path::new("/repo")).unwrap();
        let reread = Ini::parse(&copy, Path::new("/elsewhere"));
        assert_eq!(
            reread.get("alembic", "version_locations"),
            Some("/repo/a:/tmp/s/versions")
        );
        assert_eq!(reread.get("alembic", "version_path_separator"), Some("os"));
        assert_eq!(
            reread.get("alembic", "script_location"),
            Some("/repo/migrations")
        );
        assert_eq!(reread.get("alembic", "sqlalchemy.url"), Some("sqlite:///x"));
        assert_eq!(rewrite("[other]\n", &ini, &dirs, Path::new("/")), None);
    }
}
