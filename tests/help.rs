//! Transcripts of the command line itself, no workspace or database: `--help` of db-migrate and of
//! every subcommand, and the usage errors clap and db-migrate reject before anything runs, in each
//! format. Each snapshot holds the command, the exit code, stdout and stderr, so a change to a
//! flag's text, an exit code or where a message goes shows up in review.
//!
//! Update with `INSTA_UPDATE=always cargo test --test help` (or `cargo insta review`), then read
//! the changed files under tests/snapshots/.

use std::path::Path;

/// Every subcommand, as typed.
const SUBCOMMANDS: [&str; 18] = [
    "status",
    "upgrade",
    "downgrade",
    "migrate",
    "sync",
    "hooks",
    "roundtrip",
    "fix-heads",
    "check",
    "verify",
    "new",
    "completions",
    "man",
    "schema",
    "skill",
    "current",
    "heads",
    "history",
];

/// Run the binary in `dir` with a fixed, minimal environment (no colour, 100 columns, no CI or
/// launcher variables), and render what happened as a transcript.
fn transcript_in(dir: &Path, args: &[&str]) -> String {
    let output = assert_cmd::Command::cargo_bin("db-migrate")
        .expect("the db-migrate binary is built")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("COLUMNS", "100")
        .env("LINES", "50")
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .output()
        .expect("db-migrate runs");
    let stdout = String::from_utf8_lossy(&output.stdout).replace(&*dir.to_string_lossy(), "[DIR]");
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&*dir.to_string_lossy(), "[DIR]");
    let code = output
        .status
        .code()
        .map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string());
    format!(
        "$ db-migrate {}\nexit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" ")
    )
}

/// A run in an empty directory: nothing above it is a workspace.
fn transcript(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory");
    transcript_in(dir.path(), args)
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!("db-migrate--help", transcript(&["--help"]));
}

#[test]
fn short_help_is_the_summary() {
    insta::assert_snapshot!("db-migrate-h", transcript(&["-h"]));
}

#[test]
fn the_list_here_is_every_subcommand_the_help_names() {
    let help = transcript(&["--help"]);
    let listed: Vec<&str> = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands: section")
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    assert_eq!(listed, SUBCOMMANDS, "add the new subcommand to SUBCOMMANDS");
}

#[test]
fn every_subcommand_has_help() {
    for sub in SUBCOMMANDS {
        insta::assert_snapshot!(format!("{sub}--help"), transcript(&[sub, "--help"]));
    }
}

#[test]
fn help_subcommand_equals_help_flag() {
    // `db-migrate help status` prints what `db-migrate status --help` prints.
    let by_subcommand = transcript(&["help", "status"]);
    let by_flag = transcript(&["status", "--help"]);
    let body = |t: &str| t.split_once('\n').map(|(_, rest)| rest.to_owned());
    assert_eq!(body(&by_subcommand), body(&by_flag));
}

#[test]
fn no_subcommand_is_a_usage_error() {
    insta::assert_snapshot!("no-subcommand", transcript(&[]));
}

#[test]
fn unknown_subcommand_suggests_the_close_one() {
    insta::assert_snapshot!("unknown-subcommand", transcript(&["stauts"]));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    insta::assert_snapshot!("unknown-flag", transcript(&["status", "--colour"]));
}

#[test]
fn bad_format_lists_the_possible_values() {
    insta::assert_snapshot!("bad-format", transcript(&["status", "--format", "xml"]));
}

#[test]
fn bad_component_lists_the_possible_values() {
    insta::assert_snapshot!(
        "bad-component",
        transcript(&["upgrade", "--component", "manger"])
    );
}

#[test]
fn conflicting_flags_are_a_usage_error() {
    insta::assert_snapshot!(
        "conflicting-flags",
        transcript(&["upgrade", "--sql", "--dry-run"])
    );
}

#[test]
fn a_usage_error_in_json_is_one_json_document() {
    // CI asked for JSON: the usage error comes as JSON on stdout, nothing on stderr.
    insta::assert_snapshot!(
        "usage-error-json-unknown-subcommand",
        transcript(&["--format", "json", "stauts"])
    );
    insta::assert_snapshot!(
        "usage-error-json-bad-value",
        transcript(&["status", "--format=json", "--engine", "python"])
    );
}

#[test]
fn a_usage_error_in_github_format_is_one_error_annotation() {
    // A workflow shows why the step failed: clap's text on stderr, one ::error on stdout.
    insta::assert_snapshot!(
        "usage-error-github",
        transcript(&["check", "--format", "github", "--strickt"])
    );
}

#[test]
fn github_format_is_only_for_check_and_verify() {
    insta::assert_snapshot!(
        "format-github-with-status",
        transcript(&["status", "--format", "github"])
    );
}

#[test]
fn interactive_without_a_terminal_is_refused_before_anything_runs() {
    // The test's stdin is not a terminal.
    insta::assert_snapshot!(
        "interactive-without-terminal",
        transcript(&["upgrade", "--interactive"])
    );
    insta::assert_snapshot!(
        "interactive-without-terminal-json",
        transcript(&["upgrade", "--interactive", "--format", "json"])
    );
}

#[test]
fn no_workspace_says_where_it_looked() {
    insta::assert_snapshot!("no-workspace", transcript(&["status"]));
    insta::assert_snapshot!(
        "no-workspace-json",
        transcript(&["status", "--format", "json"])
    );
}

#[test]
fn explain_prints_a_rule_s_documentation() {
    insta::assert_snapshot!(
        "check-explain-single-head",
        transcript(&["check", "--explain", "single-head"])
    );
    insta::assert_snapshot!(
        "check-explain-unknown-rule",
        transcript(&["check", "--explain", "no-such-rule"])
    );
}
