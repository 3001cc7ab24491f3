//! Every relative link in README.md and docs/**/*.md names a file that exists (and, for a
//! `page.md#section` link, a heading of that page), so moving or renaming a page or a section
//! cannot leave a dead link behind.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// `[text](target)` and `[text](target "title")`; the target up to a space or `)`.
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\]\(\s*<?([^)\s>]+)>?(?:\s+[^)]*)?\)").expect("valid regex"));

/// The relative link targets of one markdown text, outside fenced code blocks and code spans.
fn relative_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop code spans: a `[x](y)` inside backticks is not a link.
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(" ");
        for cap in LINK.captures_iter(&prose) {
            let target = &cap[1];
            if target.starts_with('#') || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            out.push(target.to_owned());
        }
    }
    out
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// `(file, target)` for every relative link that names no file.
fn dead_links(root: &Path) -> Vec<(String, String)> {
    let mut files = vec![root.join("README.md")];
    markdown_files(&root.join("docs"), &mut files);
    files.sort();
    let mut dead = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a markdown file");
        let dir = file.parent().expect("a file has a folder");
        for target in relative_targets(&text) {
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let resolved = normalize(&dir.join(path));
            if resolved.is_file() {
                let is_markdown = resolved.extension().is_some_and(|e| e == "md");
                let anchor_ok = fragment.is_empty()
                    || !is_markdown
                    || std::fs::read_to_string(&resolved)
                        .is_ok_and(|page| anchors(&page).iter().any(|a| a == fragment));
                if !anchor_ok {
                    let rel = file.strip_prefix(root).unwrap_or(file);
                    dead.push((rel.display().to_string(), target.clone()));
                }
                continue;
            }
            if resolved.is_dir() {
                continue;
            }
            let rel = file.strip_prefix(root).unwrap_or(file);
            dead.push((rel.display().to_string(), target));
        }
    }
    dead
}

/// The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces turned
/// into `-` (`## Backups: `--backup[=PATH]`` → `backups---backuppath`).
fn anchors(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        if fenced {
            continue;
        }
        let title = title.trim_start_matches('#');
        if !title.starts_with(' ') {
            continue;
        }
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        out.push(slug);
    }
    out
}

/// `a/b/../c` → `a/c`, without touching the file system (the target may not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relative_link_resolves() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dead = dead_links(root);
        assert!(dead.is_empty(), "links to missing files: {dead:#?}");
    }

    #[test]
    fn targets_are_read_from_prose_only() {
        let text = "see [a](docs/a.md#x), [b](<b.md>) and [web](https://x.y/z)\n\
                    `[not](a-link.md)` [t](t.md \"title\") [anchor](#here)\n\
                    ```\n[code](code.md)\n```\n";
        assert_eq!(relative_targets(text), vec!["docs/a.md#x", "b.md", "t.md"]);
        assert_eq!(
            normalize(Path::new("/r/docs/commands/../rules/x.md")),
            PathBuf::from("/r/docs/rules/x.md")
        );
    }

    #[test]
    fn anchors_are_the_ones_github_makes() {
        let page =
            "# `db-migrate check`\n## Backups: `--backup[=PATH]`\n```\n# not a heading\n```\n\
                    ## Verified, not assumed\n#hashtag\n";
        assert_eq!(
            anchors(page),
            vec![
                "db-migrate-check",
                "backups---backuppath",
                "verified-not-assumed"
            ]
        );
    }

    #[test]
    fn a_missing_file_is_reported() {
        let tmp = tempfile::TempDir::new().unwrap();
        std::fs::create_dir_all(tmp.path().join("docs/commands")).unwrap();
        std::fs::write(
            tmp.path().join("README.md"),
            "[ok](docs/commands/x.md#two-words) [gone](docs/y.md) \
             [no section](docs/commands/x.md#three)\n",
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("docs/commands/x.md"),
            "[up](../../README.md)\n\n## Two words\n",
        )
        .unwrap();
        assert_eq!(
            dead_links(tmp.path()),
            vec![
                ("README.md".to_owned(), "docs/y.md".to_owned()),
                (
                    "README.md".to_owned(),
                    "docs/commands/x.md#three".to_owned()
                )
            ]
        );
    }
}
