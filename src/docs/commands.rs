//! The command pages (`docs/commands/<command>.md`) are written by hand, but the command line
//! they describe is clap's: every subcommand has a page and every flag of a subcommand appears on
//! its page, so a new flag cannot ship undocumented. The global flags are on docs/usage.md.

use clap::CommandFactory;

use crate::cli::Cli;

/// `(page, what is missing)` for every subcommand page that lacks the page itself or one of the
/// subcommand's own flags (its `--long` form), and the global flags docs/usage.md lacks.
fn undocumented(root: &std::path::Path) -> Vec<(String, String)> {
    let cli = Cli::command();
    let mut missing = Vec::new();
    let usage = std::fs::read_to_string(root.join("docs/usage.md")).unwrap_or_default();
    for arg in cli.get_arguments() {
        if let Some(long) = arg.get_long() {
            if long != "help" && long != "version" && !usage.contains(&format!("--{long}")) {
                missing.push(("docs/usage.md".to_owned(), format!("--{long}")));
            }
        }
    }
    for sub in cli.get_subcommands() {
        let page = format!("docs/commands/{}.md", sub.get_name());
        let Ok(text) = std::fs::read_to_string(root.join(&page)) else {
            missing.push((page, "the page".to_owned()));
            continue;
        };
        for arg in sub.get_arguments() {
            if arg.is_global_set() {
                continue;
            }
            let Some(long) = arg.get_long() else {
                continue; // a positional: named in the synopsis, in capitals
            };
            if long == "help" {
                continue;
            }
            if !text.contains(&format!("--{long}")) {
                missing.push((page.clone(), format!("--{long}")));
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_flag_has_its_page() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let missing = undocumented(root);
        assert!(
            missing.is_empty(),
            "document these in the page named (what the flag does, in a sentence): {missing:#?}"
        );
    }
}
