//! Reference pages generated from the code (`docs/…`): each generator lives beside this module
//! and a test compares its output with the committed page, so a page cannot go stale.
//!
//! Regenerate every page: `UPDATE_DOCS=1 cargo test --bin db-migrate docs::`

#[cfg(test)]
mod commands;
mod failures;
#[cfg(test)]
mod links;
#[cfg(test)]
mod rules;
mod schema;

/// Compare `generated` with the committed file at `path` (relative to the repository root), or
/// write it when `UPDATE_DOCS=1`. A stale page fails with the command that regenerates it.
#[cfg(test)]
pub fn assert_fresh(path: &str, generated: &str) {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).expect("create the docs folder");
        }
        std::fs::write(&file, generated).expect("write the generated page");
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == generated,
        "{path} is stale (or missing): regenerate it with\n  UPDATE_DOCS=1 cargo test --bin db-migrate docs::\nand commit the result"
    );
}
