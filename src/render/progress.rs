//! Progress of a migration run. On a terminal: a bar counting the revisions done of the plan's
//! total, with the running revision's message and the elapsed time, cleared at the end (each
//! step's line still printed above it). Elsewhere: the plain step lines only. With `-q`: nothing.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar only when both stdout and stderr are terminals (the bar is drawn on stderr, the
    /// lines go above it) and nothing else writes there (`-v` relays Alembic's own lines).
    pub fn new(total: Option<usize>, on_terminal: bool) -> Progress {
        let wanted = on_terminal
            && std::io::stdout().is_terminal()
            && std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        if !wanted {
            return Progress { bar: None };
        }
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "  {spinner} [{bar:24}] {pos}/{len} revisions  {elapsed}  {wide_msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("  {spinner} {pos} revisions  {elapsed}  {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    /// Alembic started a step: print its line (above the bar, when there is one) and show it
    /// running. `done` counts the steps finished before it.
    pub fn started(&self, line: &str, done: usize, running: &str, print: impl FnOnce(&str)) {
        match &self.bar {
            Some(bar) => {
                bar.println(line.trim_end_matches('\n'));
                bar.set_position(done as u64);
                bar.set_message(running.to_owned());
            }
            None => print(line),
        }
    }

    /// Remove the bar; the terminal keeps only the step lines.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
