//! Asking before something destructive: on a terminal a question, without one `--yes` or a
//! refusal that changes nothing.

use crate::failure::{Failure, Kind};
use crate::remediation::select_flag;
use crate::render::events::Reporter;
use crate::workspace::Config;

/// Downgrades can drop data: ask on a terminal, require --yes otherwise. `rerun` is the command
/// to suggest (without `--yes`).
pub fn confirm(config: &Config, rerun: &str, yes: bool) -> Result<(), Failure> {
    confirm_to(
        &Question {
            action: "downgrade",
            why: "a downgrade can drop tables and data",
            prompt: "Downgrading can drop tables, columns and data. Continue? [y/N] ",
        },
        config,
        rerun,
        yes,
    )
}

/// What a confirmation is about.
pub struct Question<'a> {
    /// `downgrade`, `fix-heads`: names the action in the messages.
    pub action: &'a str,
    /// Why asking matters, for the no-terminal refusal.
    pub why: &'a str,
    pub prompt: &'a str,
}

/// Ask on a terminal, require `--yes` otherwise. `rerun` is the command to suggest (without `--yes`).
pub fn confirm_to(q: &Question, config: &Config, rerun: &str, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    let select = select_flag(config);
    let Some(answer) = Reporter::process().ask(q.prompt) else {
        let mut failure = Failure::usage(
            Kind::ConfirmationRequired,
            format!(
                "{} of {} needs confirmation, and stdin is not a terminal; nothing was changed",
                q.action, config.label
            ),
            format!("review the plan above, then rerun with --yes: {rerun} --yes"),
        );
        failure.cause = format!("{}, and without a terminal db-migrate cannot ask", q.why);
        return Err(failure);
    };
    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::new(
            Kind::Cancelled,
            format!("{} cancelled; nothing was changed", q.action),
            "you answered no",
            format!("db-migrate status {select}"),
        ))
    }
}
