//! `db-migrate skill`, run as an agent's setup runs it: the real binary, in a directory that is no
//! workspace, its stdout parsed as the `SKILL.md` a coding agent loads. The front matter must be
//! YAML with the fields agents read, and the body must hold what the binary itself says elsewhere:
//! every subcommand `--help` lists, every exit code of `--help`'s table, the schema command and
//! the team's policy.

use std::process::Output;

/// The binary, in an empty directory, with a minimal environment.
fn run(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("a temporary directory");
    assert_cmd::Command::cargo_bin("db-migrate")
        .expect("the db-migrate binary is built")
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .output()
        .expect("db-migrate runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// The skill, checked to be a clean success: exit 0, nothing on stderr.
fn skill() -> String {
    let output = run(&["skill"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        output.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output)
}

/// `--help`'s section `heading` (up to the next blank line).
fn help_section(heading: &str) -> Vec<String> {
    let help = stdout(&run(&["--help"]));
    help.split(&format!("{heading}:\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("--help has a {heading}: section"))
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_front_matter_is_yaml_with_name_description_and_tags() {
    let text = skill();
    let (front, body) = text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .expect("the skill opens with front matter between --- lines");
    let docs = yaml_rust2::YamlLoader::load_from_str(front).expect("the front matter is YAML");
    let yaml = &docs[0];
    assert_eq!(yaml["name"].as_str(), Some("db-migrate"));
    let description = yaml["description"].as_str().expect("a description string");
    assert!(
        description.starts_with("Use when") && description.ends_with('.'),
        "{description}"
    );
    let tags = yaml["tags"].as_vec().expect("tags is a list");
    assert!(
        tags.iter().any(|t| t.as_str() == Some("alembic")),
        "{tags:?}"
    );
    // A stale copy shows which version wrote it.
    let generator = yaml["metadata"]["generator"]
        .as_str()
        .expect("metadata.generator");
    let version = stdout(&run(&["--version"]));
    let version = version
        .split_whitespace()
        .nth(1)
        .expect("db-migrate VERSION");
    assert!(
        version.starts_with(generator.trim_start_matches("db-migrate ")),
        "{generator} vs {version}"
    );
    assert!(body.trim_start().starts_with("# db-migrate\n"), "{body}");
}

#[test]
fn every_subcommand_help_lists_is_in_the_skill() {
    let text = skill();
    let commands: Vec<String> = help_section("Commands")
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|name| name != "help")
        .collect();
    assert!(commands.len() > 10, "{commands:?}");
    for command in commands {
        assert!(
            text.contains(&format!("db-migrate {command}")),
            "the skill never shows `db-migrate {command}`"
        );
    }
}

#[test]
fn every_exit_code_help_lists_is_in_the_skill() {
    let text = skill();
    let codes = help_section("Exit codes");
    assert_eq!(codes.len(), 5, "{codes:?}");
    for line in codes {
        let (code, meaning) = line
            .trim()
            .split_once(char::is_whitespace)
            .expect("CODE MEANING");
        let row = format!("| {code} | {} |", meaning.trim());
        assert!(
            text.contains(&row),
            "the skill lacks the exit code row {row}"
        );
    }
}

#[test]
fn the_json_contract_and_the_schema_are_named() {
    let text = skill();
    assert!(text.contains("--format json"));
    assert!(text.contains("`db-migrate schema`"));
    assert!(text.contains("`components[].state`"));
    assert!(text.contains("`error.kind`"));
    assert!(text.contains("docs/failures.md"));
}

#[test]
fn the_team_s_policy_is_in_the_skill() {
    let text = skill();
    for sentence in [
        "One head per component, and a linear chain",
        "Never edit `revision` or `down_revision` of a released migration",
        "The only exception is the README's backport insertion, `a --> d --> b --> c --> d'`",
        "repoint your own unmerged migration's `down_revision` to the current head",
        "add an empty merge migration whose `down_revision` is the tuple of the heads",
        "both `d` and `d'` are idempotent",
        "`# Part of: NEXT_RELEASE_VERSION`",
        "Never run `alembic stamp` by hand",
        "`--dry-run`",
        "unless `--yes` is given",
        "Passwords in database URLs are masked",
    ] {
        assert!(text.contains(sentence), "the skill lacks: {sentence}");
    }
}

#[test]
fn the_skill_ignores_the_workspace_and_the_format() {
    // Like `schema` and `man`, it needs no workspace, and prints the same document whatever
    // --format says.
    let plain = skill();
    let json = run(&["--format", "json", "skill"]);
    assert_eq!(json.status.code(), Some(0));
    assert_eq!(stdout(&json), plain);
}
