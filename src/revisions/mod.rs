//! The native side of the revision graph: revision files read statically, no Python run.

pub mod destructive;
pub mod edit;
pub mod locate;
pub mod reader;
pub mod tokenize;

use std::path::Path;

use crate::graph::Revision;
use crate::workspace::ini::Ini;

/// Why the native reader could not stand in for Alembic (the engine then falls back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// Not understood statically: fall back to Alembic, saying why under -v.
    NotStatic(String),
    /// The script package is not under the root: ask the launcher's Python where it is.
    PackageNotFound(String),
    /// Alembic would reject this too.
    Invalid(String),
}

/// Every revision of a config, in Alembic's file order.
pub fn read_all(
    ini: &Ini,
    root: &Path,
    import_bases: &[std::path::PathBuf],
) -> Result<Vec<Revision>, ReadError> {
    let locations = locate::locate(ini, root, import_bases).map_err(|e| match e {
        locate::LocateError::PackageNotFound(package) => ReadError::PackageNotFound(package),
        other => ReadError::NotStatic(other.to_string()),
    })?;
    let files = locate::revision_files(&locations)
        .map_err(|e| ReadError::NotStatic(format!("cannot list revision files: {e}")))?;
    // Reading is I/O plus a linear scan per file: split the files across the cores.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len() / 64 + 1);
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<Result<Vec<Revision>, ReadError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || read_files(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ReadError::NotStatic("a reader thread panicked".into()))
                })
            })
            .collect()
    });
    let mut revisions = Vec::with_capacity(files.len());
    for part in results {
        revisions.extend(part?);
    }
    Ok(revisions)
}

/// The revision files that declare `id` (for Alembic's "present more than once" warning, which
/// names no file).
pub fn files_defining(ini: &Ini, root: &Path, id: &str) -> Vec<String> {
    let Ok(files) = locate::locate(ini, root, &[])
        .map_err(|e| e.to_string())
        .and_then(|l| locate::revision_files(&l).map_err(|e| e.to_string()))
    else {
        return Vec::new();
    };
    files
        .into_iter()
        .filter(|f| {
            std::fs::read(f).is_ok_and(
                |src| matches!(reader::read_file(f, &src), reader::Read::Revision(r) if r.id == id),
            )
        })
        .map(|f| f.to_string_lossy().into_owned())
        .collect()
}

fn read_files(files: &[std::path::PathBuf]) -> Result<Vec<Revision>, ReadError> {
    let mut revisions = Vec::with_capacity(files.len());
    let cannot_read = |file: &Path, e: std::io::Error| {
        ReadError::NotStatic(format!("cannot read {}: {e}", file.display()))
    };
    // One buffer for every file, and each file opened relative to its already open directory:
    // the kernel then walks one path component per file instead of the whole path.
    let mut src = Vec::with_capacity(64 * 1024);
    for same_dir in files.chunk_by(|a, b| a.parent() == b.parent()) {
        let parent = same_dir[0].parent().unwrap_or(Path::new("."));
        let dir = std::fs::File::open(parent).map_err(|e| cannot_read(parent, e))?;
        for file in same_dir {
            src.clear();
            open_in(&dir, file.file_name().unwrap_or_default())
                .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut src))
                .map_err(|e| cannot_read(file, e))?;
            match reader::read_file(file, &src) {
                reader::Read::Revision(r) => revisions.push(r),
                reader::Read::NotStatic(why) => return Err(ReadError::NotStatic(why)),
                reader::Read::Invalid(why) => return Err(ReadError::Invalid(why)),
            }
        }
    }
    Ok(revisions)
}

/// `openat(2)`: open `name` inside the directory `dir` for reading.
fn open_in(dir: &std::fs::File, name: &std::ffi::OsStr) -> std::io::Result<std::fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(name.as_bytes())?;
    // SAFETY: `name` is a NUL-terminated string and `dir` an open descriptor, both alive for the
    // whole call.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat and nothing else owns it.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}
