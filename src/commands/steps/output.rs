//! How the migrating commands speak: human lines on stdout in text mode and on stderr in JSON
//! mode (stdout stays one JSON document), masked; `-q` keeps only errors and final states. The
//! [`Reporter`] decides; these say what is said.

use crate::render::events::{Event, Reporter};
use crate::settings::RunOptions;

use crate::commands::App;

/// The reporter of a command: its format and `-v`.
pub fn reporter(app: &App) -> Reporter {
    Reporter::new(app.format, app.verbose)
}

/// The reporter of a migrating command: also `-q`.
pub fn run_reporter(app: &App, run: &RunOptions) -> Reporter {
    reporter(app).quiet(run.quiet)
}

/// Human output goes to stdout in text mode and to stderr in JSON mode (stdout stays JSON).
pub fn say(app: &App, text: &str) {
    reporter(app).emit(Event::Said {
        text,
        detail: false,
    });
}

/// Plan, steps and notes: everything but errors and the final state, which `-q` keeps.
pub fn detail(run: &RunOptions, app: &App, text: &str) {
    run_reporter(app, run).emit(Event::Said { text, detail: true });
}
