//! `# db-migrate: ignore[rule, …] reason`: suppressing a finding where it is, with the reason
//! next to it. Comments are parsed once per file (only files that mention `db-migrate` are
//! tokenized, to tell comments from strings).
//!
//! Where a comment applies:
//! - at the end of any line of a statement (or on a comment line inside its brackets): to
//!   findings on any line of that statement, so an ignore at the end of a multi-line call's last
//!   line covers a finding pointed at its first line, and the other way round;
//! - on its own line(s) directly above a statement (only comment lines between, like squawk's
//!   `-- squawk-ignore` and pylint's `disable-next`): to that statement, every line of it. Several
//!   stacked ignore lines all apply. This is the normal place: a reason at the end of a long call
//!   would break the line-length limit;
//! - in the file's leading block (before the first statement after the module docstring, so
//!   above or right below the docstring): to the whole file.
//!
//! Elsewhere (above a blank line, say) it applies only to its own line, which no finding points
//! at, so it ends up unused.
//!
//! The reason is required: an ignore without one, naming a rule `check` does not know, or not
//! shaped like the above is not honoured and is itself a finding (`bad-ignore`, an error). An
//! ignore that suppressed nothing is `unused-ignore`, a warning, so stale ignores do not pile up
//! and hide the next real problem. Only [`apply_in`] reports unused ignores, because only its
//! caller knows which files every rule examined and which rules ran: an ignore for a rule that
//! was skipped (no base ref) or disabled, or in a released file the per-file rules no longer
//! look at, is not unused. [`apply`] reports `bad-ignore` only.

use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::bytes::Regex;

use super::{Finding, Rule, Severity};
use crate::revisions::tokenize::{for_each_line, span_in, Flow, Tok};

pub const BAD_IGNORE: Rule = Rule {
    name: "bad-ignore",
    default_severity: Severity::Error,
    summary: "A `# db-migrate: ignore[…]` comment without a reason, naming an unknown rule, or malformed.",
    explain: "\
## What it checks
Every `# db-migrate:` comment in a checked file must read
`# db-migrate: ignore[rule-name, …] reason`, name rules `check` knows (`--explain` lists them),
and give a reason after the bracket.

## Why it matters
An ignore is a decision someone made about a migration that runs against production databases;
the reason is what the next person needs to judge whether it still holds. A misspelt rule name
would silently suppress nothing, so the comment is not honoured until it is fixed.

## How to fix
Put it on its own line directly above the statement the finding points at (it covers every
line of that statement), at the end of any line of that statement, or in the comment block at
the top of the file (it then applies to the whole file):

    # db-migrate: ignore[require-concurrent-index-creation] sessions has a few rows
    op.create_index(
        \"ix_sessions_owner\", \"sessions\", [\"owner\"]
    )",
};

pub const UNUSED_IGNORE: Rule = Rule {
    name: "unused-ignore",
    default_severity: Severity::Warning,
    summary: "A `# db-migrate: ignore[…]` comment that suppressed nothing.",
    explain: "\
## What it checks
That every rule named in a `# db-migrate: ignore[…]` comment of a new revision file suppressed a
finding of that rule, when that rule ran. Ignores for rules that did not run (no base ref,
disabled in `pyproject.toml`) and ignores in released files are not reported.

## Why it matters
A stale ignore outlives the problem it was written for and silently hides the next one, on a
line or in a file nobody looks at again.

## How to fix
Delete the comment (or the rule's name from it). If it was meant for a finding on another
statement, move it directly above that statement (no blank line between), to the end of one of
its lines, or into the comment block at the top of the file.",
};

static DIRECTIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#[ \t]*db-migrate[ \t]*:([^\r\n]*)").expect("valid regex"));
static IGNORE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]*ignore[ \t]*\[([^\]\r\n]*)\](.*)$").expect("valid regex"));

/// One well-formed ignore comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignore {
    /// The comment's 1-based line.
    pub line: usize,
    pub rules: Vec<String>,
    pub reason: String,
    /// In the leading block: applies to the whole file.
    pub file_wide: bool,
    /// The lines it covers when not file-wide: the statement it ends, is inside of or directly
    /// precedes, else its own line.
    pub covers: RangeInclusive<usize>,
}

impl Ignore {
    /// Whether a finding on `line` falls under this ignore (its rule aside).
    pub fn covers(&self, line: usize) -> bool {
        self.file_wide || self.covers.contains(&line)
    }
}

/// A `# db-migrate:` comment that is not a well-formed ignore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub line: usize,
    pub message: String,
}

/// The `# db-migrate:` comments of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comments {
    pub ignores: Vec<Ignore>,
    pub malformed: Vec<Malformed>,
}

/// Find the `# db-migrate:` comments in `src` (not inside strings).
pub fn parse(src: &[u8]) -> Comments {
    let mut comments = Comments::default();
    if !DIRECTIVE.is_match(src) {
        return comments;
    }
    let mut strings: Vec<std::ops::Range<usize>> = Vec::new();
    let lines = Lines::of(src);
    // Every statement's first and last physical line, in order.
    let mut statements: Vec<RangeInclusive<usize>> = Vec::new();
    // The first statement after the module docstring: comments above it are file-wide.
    let mut leading_end = usize::MAX;
    let mut first = true;
    let _ = for_each_line(src, |line| {
        let is_docstring = first && line.tokens.iter().all(|t| matches!(t, Tok::Str { .. }));
        first = false;
        if !is_docstring && leading_end == usize::MAX {
            leading_end = line.lineno;
        }
        strings.extend(line.tokens.iter().filter_map(|t| match t {
            Tok::Str { body, .. } => span_in(src, body),
            _ => None,
        }));
        let last = line
            .tokens
            .last()
            .and_then(|t| match t {
                Tok::Name(b) | Tok::Op(b) | Tok::Str { body: b, .. } => span_in(src, b),
                Tok::Number => None,
            })
            .map_or(line.lineno, |r| {
                lines.at(r.end.saturating_sub(1).max(r.start))
            });
        statements.push(line.lineno..=last.max(line.lineno));
        Flow::Next
    });
    let mut line = 1;
    let mut counted = 0;
    for c in DIRECTIVE.captures_iter(src) {
        let whole = c.get(0).expect("match");
        if strings.iter().any(|s| s.contains(&whole.start())) {
            continue;
        }
        line += src[counted..whole.start()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted = whole.start();
        let rest = &c[1];
        let Some(ig) = IGNORE.captures(rest) else {
            comments.malformed.push(Malformed {
                line,
                message: format!(
                    "`# db-migrate:{}` is not an ignore; write `# db-migrate: ignore[rule-name] reason`",
                    String::from_utf8_lossy(rest).trim_end()
                ),
            });
            continue;
        };
        let rules: Vec<String> = String::from_utf8_lossy(&ig[1])
            .split(',')
            .map(|r| r.trim().to_owned())
            .collect();
        if rules.iter().any(String::is_empty) {
            comments.malformed.push(Malformed {
                line,
                message: format!(
                    "`ignore[{}]` names no rule (or has an empty name); list rule names separated by commas",
                    String::from_utf8_lossy(&ig[1])
                ),
            });
            continue;
        }
        let reason = String::from_utf8_lossy(&ig[2])
            .trim()
            .trim_start_matches([':', '-', '—'])
            .trim()
            .to_owned();
        if reason.is_empty() {
            comments.malformed.push(Malformed {
                line,
                message: format!(
                    "`ignore[{}]` gives no reason; say why after the bracket (the ignore is not honoured until it does)",
                    rules.join(", ")
                ),
            });
            continue;
        }
        let own_line = lines.blank_before(line, whole.start());
        comments.ignores.push(Ignore {
            line,
            rules,
            reason,
            file_wide: line < leading_end,
            covers: covered(&statements, &lines, line, own_line),
        });
    }
    comments
}

/// The lines an ignore on `line` covers: the statement spanning it; else, for a comment on its
/// own line, the statement right below it with only comment lines between; else its own line.
fn covered(
    statements: &[RangeInclusive<usize>],
    lines: &Lines,
    line: usize,
    own_line: bool,
) -> RangeInclusive<usize> {
    if let Some(s) = statements.iter().find(|s| s.contains(&line)) {
        return s.clone();
    }
    if own_line {
        if let Some(next) = statements.iter().find(|s| *s.start() > line) {
            if (line + 1..*next.start()).all(|l| lines.is_comment(l)) {
                return next.clone();
            }
        }
    }
    line..=line
}

/// Where each physical line of a file starts.
struct Lines<'a> {
    src: &'a [u8],
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn of(src: &'a [u8]) -> Lines<'a> {
        let starts = std::iter::once(0)
            .chain(
                src.iter()
                    .enumerate()
                    .filter(|(_, &b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        Lines { src, starts }
    }

    /// The 1-based line of byte `offset`.
    fn at(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// The bytes of 1-based line `n`, without its line end.
    fn text(&self, n: usize) -> &'a [u8] {
        let Some(&start) = self.starts.get(n.wrapping_sub(1)) else {
            return b"";
        };
        let end = self.starts.get(n).map_or(self.src.len(), |&e| e - 1);
        &self.src[start..end.max(start)]
    }

    /// Only blanks between line `n`'s start and byte `offset` (a comment on its own line).
    fn blank_before(&self, n: usize, offset: usize) -> bool {
        let start = self.starts.get(n.wrapping_sub(1)).copied().unwrap_or(0);
        self.src[start..offset.max(start)]
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\x0c'))
    }

    /// Line `n` holds a comment and nothing else.
    fn is_comment(&self, n: usize) -> bool {
        let text = self.text(n);
        let trimmed = text
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\x0c' | b'\r'))
            .map_or(&b""[..], |at| &text[at..]);
        trimmed.starts_with(b"#")
    }
}

/// What the caller of [`apply_in`] knows about the run, so unused ignores can be told apart.
pub struct Checked<'a> {
    /// Files every rule that ran examined in full (the new revision files).
    pub files: &'a [PathBuf],
    /// Whether a rule ran (not skipped for want of a base, not disabled).
    pub ran: &'a dyn Fn(&str) -> bool,
}

/// Drop the findings an ignore comment covers; add `bad-ignore` for the malformed, reasonless or
/// unknown-rule ignores of the files read. `read` gets a finding's `file` (relative to the root).
pub fn apply(
    findings: Vec<Finding>,
    read: impl Fn(&Path) -> Option<Vec<u8>>,
    known_rule: impl Fn(&str) -> bool,
) -> Vec<Finding> {
    apply_in(findings, None, read, known_rule)
}

/// [`apply`], also reading `checked.files` and reporting their ignores that suppressed nothing
/// although their rule ran (`unused-ignore`).
pub fn apply_in(
    findings: Vec<Finding>,
    checked: Option<Checked>,
    read: impl Fn(&Path) -> Option<Vec<u8>>,
    known_rule: impl Fn(&str) -> bool,
) -> Vec<Finding> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut seen: HashSet<&Path> = HashSet::new();
    let extra = checked.as_ref().map_or(&[][..], |c| c.files);
    for f in findings
        .iter()
        .map(|f| f.file.as_path())
        .chain(extra.iter().map(PathBuf::as_path))
    {
        if seen.insert(f) {
            files.push(f.to_path_buf());
        }
    }
    let parsed: HashMap<PathBuf, Comments> = files
        .into_iter()
        .filter_map(|f| {
            let src = read(&f)?;
            let comments = parse(&src);
            (comments != Comments::default()).then_some((f, comments))
        })
        .collect();
    // (file, ignore index, rule) that suppressed something.
    let mut used: HashSet<(&Path, usize, &str)> = HashSet::new();
    let mut kept = Vec::with_capacity(findings.len());
    for finding in &findings {
        let hit = parsed.get(&finding.file).and_then(|c| {
            c.ignores.iter().enumerate().find(|(_, ig)| {
                ig.covers(finding.line) && ig.rules.iter().any(|r| r == finding.rule)
            })
        });
        match hit {
            Some((at, _)) => {
                used.insert((finding.file.as_path(), at, finding.rule));
            }
            None => kept.push(finding.clone()),
        }
    }
    let mut extra_findings = Vec::new();
    let mut sorted: Vec<(&PathBuf, &Comments)> = parsed.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let in_checked: HashSet<&Path> = extra.iter().map(PathBuf::as_path).collect();
    for (file, comments) in sorted {
        let mut add = |rule: &Rule, line: usize, message: String| {
            extra_findings.push(Finding {
                rule: rule.name,
                severity: rule.default_severity,
                file: file.clone(),
                line,
                message,
            })
        };
        for m in &comments.malformed {
            add(&BAD_IGNORE, m.line, m.message.clone());
        }
        for (at, ig) in comments.ignores.iter().enumerate() {
            for rule in &ig.rules {
                if !known_rule(rule) {
                    add(
                        &BAD_IGNORE,
                        ig.line,
                        format!("`ignore[{rule}]` names no rule db-migrate knows (`db-migrate check --explain` lists them)"),
                    );
                    continue;
                }
                let Some(c) = &checked else { continue };
                if in_checked.contains(file.as_path())
                    && (c.ran)(rule)
                    && !used.contains(&(file.as_path(), at, rule.as_str()))
                {
                    let where_ = if ig.file_wide {
                        "in this file"
                    } else {
                        "on the statement it covers (below the top of the file an ignore covers the statement it is on, or the one directly below its comment lines)"
                    };
                    add(
                        &UNUSED_IGNORE,
                        ig.line,
                        format!("`ignore[{rule}]` suppresses nothing: {rule} found nothing {where_}; remove it"),
                    );
                }
            }
        }
    }
    kept.extend(extra_findings);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &'static str, file: &str, line: usize) -> Finding {
        Finding {
            rule,
            severity: Severity::Error,
            file: PathBuf::from(file),
            line,
            message: "m".into(),
        }
    }

    const SRC: &str = "\"\"\"Add things.\n\n# db-migrate: ignore[empty-migration] not a comment, a docstring line\n\"\"\"\n# db-migrate: ignore[missing-downgrade] the data cannot come back\n\nrevision = \"b\"\ndown_revision = \"a\"  # db-migrate: ignore[linear-on-base] rebased on purpose\nx = \"# db-migrate: ignore[single-head] in a string\"\n";

    fn known(rule: &str) -> bool {
        crate::check::rule(rule).is_some()
    }

    /// Also the squawk rules these tests name (the caller asks squawk for its rule names).
    fn known_sql(rule: &str) -> bool {
        known(rule)
            || [
                "require-concurrent-index-creation",
                "changing-column-type",
                "adding-required-field",
            ]
            .contains(&rule)
    }

    #[test]
    fn comments_are_found_outside_strings_with_their_scope() {
        let c = parse(SRC.as_bytes());
        assert!(c.malformed.is_empty(), "{:?}", c.malformed);
        assert_eq!(
            c.ignores,
            vec![
                Ignore {
                    line: 5,
                    rules: vec!["missing-downgrade".into()],
                    reason: "the data cannot come back".into(),
                    file_wide: true,
                    covers: 5..=5,
                },
                Ignore {
                    line: 8,
                    rules: vec!["linear-on-base".into()],
                    reason: "rebased on purpose".into(),
                    file_wide: false,
                    covers: 8..=8,
                },
            ]
        );
        assert_eq!(parse(b"revision = 'a'\n"), Comments::default());
    }

    #[test]
    fn file_wide_and_same_line_ignores_suppress_and_others_stay() {
        let findings = vec![
            finding("missing-downgrade", "v/b.py", 20),
            finding("linear-on-base", "v/b.py", 8),
            finding("linear-on-base", "v/b.py", 9),
            finding("single-head", "v/b.py", 8),
            finding("single-head", "v/other.py", 1),
        ];
        let read = |p: &Path| (p == Path::new("v/b.py")).then(|| SRC.as_bytes().to_vec());
        let out = apply(findings, read, known);
        let left: Vec<(&str, usize)> = out.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(
            left,
            vec![
                ("linear-on-base", 9),
                ("single-head", 8),
                ("single-head", 1)
            ]
        );
    }

    #[test]
    fn reasonless_unknown_and_malformed_ignores_are_bad_and_not_honoured() {
        let src = b"# db-migrate: ignore[empty-migration]\n# db-migrate: ignore[no-such-rule, missing-downgrade] why\n# db-migrate: skip this\nrevision = 'b'\n";
        let findings = vec![
            finding("empty-migration", "b.py", 1),
            finding("missing-downgrade", "b.py", 9),
        ];
        let out = apply(findings, |_| Some(src.to_vec()), known);
        let left: Vec<(&str, usize)> = out.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(
            left,
            vec![
                ("empty-migration", 1),
                ("bad-ignore", 1),
                ("bad-ignore", 3),
                ("bad-ignore", 2)
            ]
        );
        assert!(
            out[1].message.contains("gives no reason"),
            "{}",
            out[1].message
        );
        assert!(
            out[3].message.contains("no-such-rule"),
            "{}",
            out[3].message
        );
    }

    #[test]
    fn unused_ignores_are_warned_only_for_checked_files_and_rules_that_ran() {
        let findings = vec![finding("missing-downgrade", "v/b.py", 20)];
        let files = [PathBuf::from("v/b.py")];
        let ran = |r: &str| r != "linear-on-base";
        let read = |_: &Path| Some(SRC.as_bytes().to_vec());
        // linear-on-base did not run (no base): its ignore is not unused.
        let out = apply_in(
            findings.clone(),
            Some(Checked {
                files: &files,
                ran: &ran,
            }),
            read,
            known,
        );
        assert!(out.is_empty(), "{out:?}");
        let all = |_: &str| true;
        let out = apply_in(
            findings,
            Some(Checked {
                files: &files,
                ran: &all,
            }),
            read,
            known,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            (out[0].rule, out[0].line, out[0].severity),
            ("unused-ignore", 8, Severity::Warning)
        );
        // A file not in `files` (released) is not examined for unused ignores.
        let out = apply_in(
            Vec::new(),
            Some(Checked {
                files: &[],
                ran: &all,
            }),
            read,
            known,
        );
        assert!(out.is_empty());
    }

    /// A revision whose upgrade has a multi-line call with ignores above it, and one at the end
    /// of another call's last line.
    const CALLS: &str = "\"\"\"Index things.\"\"\"\n\nrevision = \"b\"\ndown_revision = \"a\"\n\n\ndef upgrade():\n    # db-migrate: ignore[require-concurrent-index-creation] sessions has few rows\n    # db-migrate: ignore[missing-downgrade] the index is cheap to rebuild\n    op.create_index(\n        \"ix_sessions_owner\",\n        \"sessions\",\n        [\"owner\"],\n    )\n    op.create_index(\n        \"ix_users_email\", \"users\", [\"email\"]\n    )  # db-migrate: ignore[require-concurrent-index-creation] users is tiny\n\n    # db-migrate: ignore[changing-column-type] above a blank line\n\n    op.alter_column(\"users\", \"owner\", type_=sa.BigInteger())\n";

    #[test]
    fn an_ignore_covers_the_whole_statement_it_ends_or_directly_precedes() {
        let c = parse(CALLS.as_bytes());
        assert!(c.malformed.is_empty(), "{:?}", c.malformed);
        let covers: Vec<(usize, RangeInclusive<usize>)> = c
            .ignores
            .iter()
            .map(|i| (i.line, i.covers.clone()))
            .collect();
        assert_eq!(
            covers,
            vec![(8, 10..=14), (9, 10..=14), (17, 15..=17), (19, 19..=19)]
        );
        assert!(c.ignores.iter().all(|i| !i.file_wide));
    }

    #[test]
    fn stacked_ignores_above_a_call_and_one_on_its_last_line_suppress_findings_on_any_of_its_lines()
    {
        let findings = vec![
            // Pointed at the first line of each call, as the lint does.
            finding("require-concurrent-index-creation", "v/b.py", 10),
            finding("missing-downgrade", "v/b.py", 10),
            finding("require-concurrent-index-creation", "v/b.py", 15),
            // Or at a later line of the first call.
            finding("require-concurrent-index-creation", "v/b.py", 14),
            // Not covered: the ignore above a blank line covers only itself.
            finding("changing-column-type", "v/b.py", 21),
            // Not covered: another rule on a covered call.
            finding("adding-required-field", "v/b.py", 10),
        ];
        let files = [PathBuf::from("v/b.py")];
        let all = |_: &str| true;
        let out = apply_in(
            findings,
            Some(Checked {
                files: &files,
                ran: &all,
            }),
            |_| Some(CALLS.as_bytes().to_vec()),
            known_sql,
        );
        let left: Vec<(&str, usize)> = out.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(
            left,
            vec![
                ("changing-column-type", 21),
                ("adding-required-field", 10),
                ("unused-ignore", 19)
            ]
        );
        assert!(
            out[2].message.contains("directly below its comment lines"),
            "{}",
            out[2].message
        );
    }

    #[test]
    fn a_finding_on_the_first_line_is_covered_by_an_ignore_on_the_first_line_too() {
        let src = b"revision = 'b'\n\n\ndef upgrade():\n    op.create_index(  # db-migrate: ignore[require-concurrent-index-creation] small\n        'ix', 't', ['c'],\n    )\n";
        let c = parse(src);
        assert_eq!(c.ignores[0].covers, 5..=7);
        let out = apply(
            vec![finding("require-concurrent-index-creation", "b.py", 7)],
            |_| Some(src.to_vec()),
            known_sql,
        );
        assert!(out.is_empty(), "{out:?}");
    }
}
