//! How the migrating commands speak: human lines on stdout in text mode and on stderr in JSON
//! mode (stdout stays one JSON document), masked; `-q` keeps only errors and final states.

use std::io::Write;

use crate::mask;
use crate::render::Format;
use crate::settings::RunOptions;

use crate::commands::App;

/// Human output goes to stdout in text mode and to stderr in JSON mode (stdout stays JSON).
pub fn say(app: &App, text: &str) {
    let text = mask::mask(text);
    match app.format {
        Format::Text | Format::Github => {
            out!("{text}");
            let _ = std::io::stdout().flush();
        }
        Format::Json => eprint!("{text}"),
    }
}

/// Plan, steps and notes: everything but errors and the final state, which `-q` keeps.
pub fn detail(run: &RunOptions, app: &App, text: &str) {
    if !run.quiet {
        say(app, text);
    }
}
