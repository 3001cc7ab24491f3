//! `head-file`: with `[tool.db-migrate] head-file = true`, each component's `head.txt` names its
//! one head.

use std::path::{Path, PathBuf};

use super::Context;
use crate::check::{Finding, Rule, Severity};
use crate::heads::file::{judge, Place, Verdict};

pub const RULE: Rule = Rule {
    name: "head-file",
    default_severity: Severity::Error,
    summary:
        "With `head-file = true`, each component's head.txt holds exactly the id of its one head.",
    explain: "\
## What it checks
Only when `pyproject.toml` at the workspace root turns the head file on:

    [tool.db-migrate]
    head-file = true

Then each component's first versions directory holds `head.txt`, whose one line is the id of the
component's one head. The rule fires when the file is missing, when it holds anything else (an
older head, an id prefix, several lines, git's conflict markers), and when a `head.txt` sits where
db-migrate does not read it (another versions directory, the script directory above `versions/`).
With several heads it stays quiet: `single-head` already fires, and the `db-migrate fix-heads` it
names rewrites `head.txt` in the same run.

## Why it matters
Two branches that each add a migration on the same parent both change the same line of `head.txt`,
so git reports a conflict when the second one is brought up to date, instead of both merging
cleanly and leaving main with two heads. That only works while the file names the head: a stale
or missing file lets the next pair of branches through again.

## How to fix
`db-migrate fix-heads` (with the component's `--component`/`--config`) rewrites `head.txt` to the
one head, showing the diff first; it needs the component's database, like any fix-heads run. After
a git conflict in `head.txt` (`git merge origin/main`), the same command repoints your own
migration onto main's head and rewrites the file; then `git add` it and commit the merge.

Turning the setting on: set `head-file = true`, run `db-migrate fix-heads --all --yes`, and commit
the `head.txt` it writes for each component in one commit (see docs/head-file.md).",
};

/// What the rule needs when the setting is on: where the file must be and the command that
/// rewrites it (`db-migrate fix-heads --component manager`).
#[derive(Debug, Clone)]
pub struct Setting {
    pub place: Place,
    pub fix: String,
}

pub fn check(cx: &Context) -> Vec<Finding> {
    let Some(setting) = cx.component.head_file else {
        return Vec::new();
    };
    // No revision yet, or several heads: single-head (or nothing) speaks for it.
    let [head] = cx.graph.heads()[..] else {
        return Vec::new();
    };
    let id = &cx.graph.rev(head).id;
    let root = cx.component.root;
    let place = &setting.place;
    let file = relative(root, &place.path);
    let shown = file.display();
    let fix = &setting.fix;
    let strays: Vec<String> = place
        .elsewhere
        .iter()
        .map(|p| relative(root, p).display().to_string())
        .collect();
    let mut findings = Vec::new();
    let found = |line: usize, message: String| Finding {
        rule: RULE.name,
        severity: RULE.default_severity,
        file: file.clone(),
        line,
        message,
    };
    match judge(&place.path, id) {
        Ok(Verdict::Right) => {}
        Ok(Verdict::Missing) => findings.push(found(
            0,
            format!(
                "{} has no head file: {shown} should hold its head {id}; `{fix}` writes it{}",
                cx.component.name,
                if strays.is_empty() {
                    ", then commit it".to_owned()
                } else {
                    format!(
                        " (db-migrate reads only this place, not {}), then commit it",
                        strays.join(", ")
                    )
                }
            ),
        )),
        Ok(Verdict::Wrong {
            found: text,
            conflicted: true,
        }) => findings.push(found(
            1,
            format!(
                "{shown} holds git's conflict markers ({}), not the head {id}; `{fix}` rewrites it to {id}, then git add {shown}",
                one_line(&text)
            ),
        )),
        Ok(Verdict::Wrong { found: text, .. }) => {
            let what = if text.lines().count() > 1 {
                format!("holds {} lines ({})", text.lines().count(), one_line(&text))
            } else if id.starts_with(text.as_str()) {
                format!("holds {text}, a prefix of the head {id} (the full id is needed)")
            } else {
                format!("names {text}")
            };
            findings.push(found(
                1,
                format!(
                    "{shown} {what}, but the head of {} is {id}; `{fix}` rewrites it to {id}",
                    cx.component.name
                ),
            ));
        }
        Err(e) => findings.push(found(
            1,
            format!("cannot read {shown}: {e}; it should hold the head {id}"),
        )),
    }
    for (path, stray) in place.elsewhere.iter().zip(&strays) {
        findings.push(Finding {
            rule: RULE.name,
            severity: RULE.default_severity,
            file: relative(root, path),
            line: 1,
            message: format!(
                "{stray} is not where db-migrate reads the head file ({shown}), so nothing keeps it current; git rm {stray}"
            ),
        });
    }
    findings
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// Several lines as one (`a | b`), for a one-line message.
fn one_line(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{working, Workspace, DIR};
    use super::*;
    use crate::check::Component;

    const FIX: &str = "db-migrate fix-heads --component manager";

    fn run(ws: &Workspace, on: bool) -> Vec<Finding> {
        let dir = ws.tmp.path().join(DIR);
        let setting = Setting {
            place: Place::of(&[dir]).unwrap(),
            fix: FIX.to_owned(),
        };
        let c = Component {
            head_file: on.then_some(&setting),
            ..ws.component()
        };
        let cx = Context::new(&c);
        check(&cx)
    }

    fn two() -> Workspace {
        Workspace::new(&[
            ("a_first.py", working("a1", &[])),
            ("b_second.py", working("b2", &["a1"])),
        ])
    }

    fn head_txt(ws: &Workspace, text: &str) {
        std::fs::write(ws.tmp.path().join(DIR).join("head.txt"), text).unwrap();
    }

    fn file() -> PathBuf {
        Path::new(DIR).join("head.txt")
    }

    #[test]
    fn off_is_quiet_even_without_a_file() {
        assert!(run(&two(), false).is_empty());
    }

    #[test]
    fn a_missing_file_is_reported_with_the_command_that_writes_it() {
        let found = run(&two(), true);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].file.clone(), found[0].line), (file(), 0));
        let m = &found[0].message;
        assert!(
            m.contains("manager has no head file") && m.contains("should hold its head b2"),
            "{m}"
        );
        assert!(m.contains(&format!("`{FIX}` writes it")), "{m}");
    }

    #[test]
    fn the_right_id_is_quiet_whatever_the_whitespace() {
        let ws = two();
        head_txt(&ws, "b2\n");
        assert!(run(&ws, true).is_empty());
        head_txt(&ws, "\n  b2 \n\n");
        assert!(run(&ws, true).is_empty());
    }

    #[test]
    fn an_old_id_a_prefix_and_several_lines_name_what_was_found_and_the_head() {
        let ws = two();
        for (text, says) in [
            ("a1\n", "names a1, but the head of manager is b2"),
            ("b\n", "holds b, a prefix of the head b2"),
            ("a1\nb2\n", "holds 2 lines (a1 | b2)"),
        ] {
            head_txt(&ws, text);
            let found = run(&ws, true);
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!((found[0].file.clone(), found[0].line), (file(), 1));
            let m = &found[0].message;
            assert!(m.contains(says), "{m}");
            assert!(m.contains(&format!("`{FIX}` rewrites it to b2")), "{m}");
        }
    }

    #[test]
    fn conflict_markers_are_reported_with_git_add_next() {
        let ws = two();
        head_txt(&ws, "<<<<<<< HEAD\nb2\n=======\nc3\n>>>>>>> main\n");
        let found = run(&ws, true);
        assert_eq!(found.len(), 1, "{found:?}");
        let m = &found[0].message;
        assert!(
            m.contains("holds git's conflict markers (<<<<<<< HEAD | b2"),
            "{m}"
        );
        assert!(
            m.contains(&format!("then git add {}", file().display())),
            "{m}"
        );
    }

    #[test]
    fn several_heads_are_left_to_single_head() {
        let ws = Workspace::new(&[
            ("a_first.py", working("a1", &[])),
            ("b_second.py", working("b2", &["a1"])),
            ("c_third.py", working("c3", &["a1"])),
        ]);
        assert!(run(&ws, true).is_empty());
    }

    #[test]
    fn a_head_file_in_the_wrong_place_is_reported() {
        let ws = two();
        let script_dir = ws.tmp.path().join(DIR).parent().unwrap().to_path_buf();
        std::fs::write(script_dir.join("head.txt"), "b2\n").unwrap();
        let found = run(&ws, true);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].message.contains("not ") && found[0].line == 0);
        let stray = Path::new(DIR).parent().unwrap().join("head.txt");
        assert_eq!(found[1].file, stray);
        assert!(
            found[1]
                .message
                .contains("is not where db-migrate reads the head file"),
            "{}",
            found[1].message
        );
    }
}
