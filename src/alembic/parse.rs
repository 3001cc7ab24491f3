//! Parsers for what Alembic prints (see shared/reference/alembic-output.md).

use std::sync::LazyLock;

use regex::Regex;

use crate::graph::Revision;

static CURRENT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\S+)((?: \((?:head|effective head|branchpoint|mergepoint)\))*)$")
        .expect("valid regex")
});
static STEP_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^INFO  \[alembic\.runtime\.migration\] Running (upgrade|downgrade|stamp_revision) (.*?) -> (.*)$")
        .expect("valid regex")
});
static EXCEPTION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z_][A-Za-z0-9_.]*(?:Error|Exception|Exit|Interrupt|Warning|Detected|Failure)|[A-Za-z_][A-Za-z0-9_.]*\.[A-Z][A-Za-z]+)(?::|$)")
        .expect("valid regex")
});

/// Revision ids from `alembic current` (empty for a fresh database).
pub fn current(stdout: &[String]) -> Vec<String> {
    stdout
        .iter()
        .filter_map(|line| {
            CURRENT_LINE
                .captures(line.trim_end())
                .map(|c| c[1].to_owned())
        })
        .filter(|rev| !rev.ends_with(':'))
        .collect()
}

/// One `Running upgrade A -> B, message` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub direction: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub message: String,
}

/// Alembic writes `Running downgrade d -> b, c, merge d` at a merge: the destination list and the
/// message share the separator, so the revision ids (`is_known`) decide where the message starts.
pub fn step(line: &str, is_known: impl Fn(&str) -> bool) -> Option<Step> {
    let caps = STEP_LINE.captures(line)?;
    let from = caps[2]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let mut parts = caps[3].split(", ").peekable();
    let mut to = Vec::new();
    // The first part is always a destination (empty for base); more follow while they are ids.
    if let Some(first) = parts.next() {
        if !first.trim().is_empty() {
            to.push(first.trim().to_owned());
        }
    }
    while let Some(next) = parts.peek() {
        if is_known(next.trim()) {
            to.push(next.trim().to_owned());
            parts.next();
        } else {
            break;
        }
    }
    let message = parts.collect::<Vec<_>>().join(", ");
    Some(Step {
        direction: caps[1].to_owned(),
        from,
        to,
        message,
    })
}

static OFFLINE_STEP_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^-- Running (upgrade|downgrade) (.*?) -> (.*)$").expect("valid regex")
});

/// The last step Alembic started: a `Running upgrade A -> B` log line, or in offline mode (`--sql`)
/// the `-- Running upgrade A -> B` comment it writes before each revision's SQL.
pub fn last_step<'a>(
    lines: impl DoubleEndedIterator<Item = &'a String>,
    is_known: impl Fn(&str) -> bool,
) -> Option<Step> {
    lines.rev().find_map(|line| {
        step(line, &is_known).or_else(|| {
            let offline = OFFLINE_STEP_LINE.captures(line)?;
            step(
                &format!(
                    "INFO  [alembic.runtime.migration] Running {} {} -> {}",
                    &offline[1], &offline[2], &offline[3]
                ),
                &is_known,
            )
        })
    })
}

/// The text after `FAILED: ` (Alembic's CommandError), if any.
pub fn failed(stdout: &[String]) -> Option<String> {
    let start = stdout.iter().position(|l| l.starts_with("FAILED: "))?;
    // Long messages can wrap; join continuation lines.
    let mut text = stdout[start]["FAILED: ".len()..].trim().to_owned();
    for more in &stdout[start + 1..] {
        if more.trim().is_empty() {
            break;
        }
        text.push(' ');
        text.push_str(more.trim());
    }
    Some(text)
}

/// The final exception line of a Python traceback (`KeyError: 'x'`), if any.
pub fn exception(stderr: &[String]) -> Option<String> {
    stderr
        .iter()
        .rev()
        .find(|l| EXCEPTION_LINE.is_match(l))
        .map(|l| l.trim_end().to_owned())
}

/// A line only Python running Alembic writes: Alembic's log lines and `FAILED:`, a traceback (and
/// the exception line ending it), a warning with its `file.py:N:` origin, Alembic's argparse, or
/// Python failing to start `-m alembic`. A launcher's own chatter (`pants: …`, a shell error, a
/// venv bootstrap's `Error:`) matches none of them.
static ALEMBIC_RAN_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:INFO|WARNI|WARN|ERROR|DEBUG|CRITI)\s+\[[A-Za-z0-9_.]+\] ",
        r"|^FAILED: ",
        r"|^Traceback \(most recent call last\)",
        r"|^\s+File .*, line \d+",
        r"|^[A-Za-z_][A-Za-z0-9_.]*(?:Error|Exception|Warning|Exit|Interrupt)(?::|$)",
        r"|\.py:\d+: [A-Za-z]*Warning: ",
        r"|No module named '?alembic\b",
        r"|module specification for 'alembic'",
        r"|^usage: alembic|^alembic: error: ",
    ))
    .expect("valid regex")
});

/// Whether `line` shows that Python started Alembic (see [`ALEMBIC_RAN_LINE`]); the lines a
/// launcher writes before that are its own.
pub fn alembic_ran(line: &str) -> bool {
    ALEMBIC_RAN_LINE.is_match(line)
}

/// Revisions from `alembic history --verbose`, newest first as Alembic prints them.
pub fn history_verbose(stdout: &[String]) -> Vec<Revision> {
    let mut revisions = Vec::new();
    let mut current: Option<Revision> = None;
    let mut in_doc = false;
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "<base>")
            .map(str::to_owned)
            .collect()
    };
    for line in stdout {
        if let Some(rest) = line.strip_prefix("Rev: ") {
            revisions.extend(current.take());
            let id = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            current = Some(Revision {
                id,
                ..Revision::default()
            });
            in_doc = false;
            continue;
        }
        let Some(rev) = current.as_mut() else {
            continue;
        };
        if in_doc {
            if rev.message.is_empty() && !line.trim().is_empty() {
                rev.message = line.trim().to_owned();
            }
            continue;
        }
        if line.trim().is_empty() {
            in_doc = true;
        } else if let Some(v) = line
            .strip_prefix("Parent: ")
            .or_else(|| line.strip_prefix("Merges: "))
        {
            rev.parents = list(v);
        } else if let Some(v) = line.strip_prefix("Also depends on: ") {
            rev.depends_on = list(v);
        } else if let Some(v) = line.strip_prefix("Branch names: ") {
            rev.branch_labels = list(v);
        } else if let Some(v) = line.strip_prefix("Path: ") {
            rev.path = Some(v.to_owned());
        }
    }
    revisions.extend(current);
    revisions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_owned).collect()
    }

    #[test]
    fn parses_current() {
        assert_eq!(
            current(&lines("2734e3d5f8a1 (head)\n")),
            vec!["2734e3d5f8a1"]
        );
        assert_eq!(current(&lines("1975ea83b712\n")), vec!["1975ea83b712"]);
        assert_eq!(
            current(&lines("a (head)\nb (head) (mergepoint)\n")),
            vec!["a", "b"]
        );
        assert!(current(&[]).is_empty());
    }

    #[test]
    fn parses_steps_with_commas_in_messages() {
        let known = |id: &str| ["1975ea83b712", "a1", "b2", "c3", "d4"].contains(&id);
        let s = step("INFO  [alembic.runtime.migration] Running upgrade  -> 1975ea83b712, create account, users", known).unwrap();
        assert_eq!(s.direction, "upgrade");
        assert!(s.from.is_empty());
        assert_eq!(s.to, vec!["1975ea83b712"]);
        assert_eq!(s.message, "create account, users");
        let m = step(
            "INFO  [alembic.runtime.migration] Running downgrade a1, b2 -> c3, merge",
            known,
        )
        .unwrap();
        assert_eq!(m.from, vec!["a1", "b2"]);
        assert!(step(
            "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
            known
        )
        .is_none());
        // Downgrading a merge names both parents, then the message.
        let d = step(
            "INFO  [alembic.runtime.migration] Running downgrade d4 -> b2, c3, merge d",
            known,
        )
        .unwrap();
        assert_eq!(
            (d.to, d.message.as_str()),
            (vec!["b2".to_owned(), "c3".to_owned()], "merge d")
        );
        let to_base = step(
            "INFO  [alembic.runtime.migration] Running downgrade a1 -> , create a",
            known,
        )
        .unwrap();
        assert!(to_base.to.is_empty());
        assert_eq!(to_base.message, "create a");
    }

    #[test]
    fn finds_failed_and_exception_lines() {
        assert_eq!(
            failed(&lines("FAILED: Can't locate revision identified by 'x'\n")).unwrap(),
            "Can't locate revision identified by 'x'"
        );
        let tb = lines("Traceback (most recent call last):\n  File \"x.py\", line 1\nConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 1)\n");
        assert_eq!(
            exception(&tb).unwrap(),
            "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 1)"
        );
        let sa = lines("sqlalchemy.exc.IntegrityError: (x) insert or update\n[SQL: INSERT]\n(Background on this error at: https://sqlalche.me/e/20/gkpj)\n");
        assert!(exception(&sa)
            .unwrap()
            .starts_with("sqlalchemy.exc.IntegrityError:"));
    }

    #[test]
    fn tells_alembic_lines_from_a_launchers_own() {
        for line in [
            "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
            "FAILED: Can't locate revision identified by 'x'",
            "Traceback (most recent call last):",
            "  File \"/r/versions/a1_x.py\", line 13, in upgrade",
            "EOFError: EOF when reading a line",
            "sqlalchemy.exc.IntegrityError: (x) insert",
            "/v/alembic/script/revision.py:213: UserWarning: Revision a1 is present more than once",
            "/usr/bin/python3: No module named alembic",
            "usage: alembic [-h] [--version] [-c CONFIG]",
        ] {
            assert!(alembic_ran(line), "{line}");
        }
        for line in [
            "pants: export failed",
            "demo: error: 'python3 -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)",
            "Error: Command '['/x/bin/python3', '-m', 'ensurepip']' returned non-zero exit status 1.",
            "ERROR: Could not find a version that satisfies the requirement alembic==1.13.3",
            "./py: line 3: /x/.venv/bin/python: No such file or directory",
            "The exported virtualenv does not exist.",
            "/usr/bin/python3: No module named venv",
        ] {
            assert!(!alembic_ran(line), "{line}");
        }
    }

    #[test]
    fn parses_history_verbose_blocks() {
        let out = lines(
            "Rev: c3 (head) (mergepoint)\nMerges: a1, b2\nAlso depends on: lbl\nPath: /v/c3_merge.py\n\n    merge heads\n\n    Revision ID: c3\n\n\
             Rev: b2\nParent: <base>\nBranch names: lbl\nPath: /v/b2.py\n\n    second base\n\n\
             Rev: a1\nParent: <base>\nPath: /v/a1.py\n\n    Rev: not a header\n",
        );
        let revs = history_verbose(&out);
        assert_eq!(revs.len(), 3);
        assert_eq!(revs[0].id, "c3");
        assert_eq!(revs[0].parents, vec!["a1", "b2"]);
        assert_eq!(revs[0].depends_on, vec!["lbl"]);
        assert_eq!(revs[0].message, "merge heads");
        assert_eq!(revs[1].branch_labels, vec!["lbl"]);
        assert!(revs[1].parents.is_empty());
        assert_eq!(revs[2].path.as_deref(), Some("/v/a1.py"));
        assert_eq!(revs[2].message, "Rev: not a header");
    }
}
