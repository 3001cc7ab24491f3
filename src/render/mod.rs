//! Everything db-migrate prints goes through here: text for people, JSON for CI. Every string is
//! masked on the way out.

pub mod check;
pub mod document;
pub mod events;
pub mod github;
pub mod graph;
pub mod json;
pub mod new;
pub mod progress;
#[cfg(test)]
pub(crate) mod snapshot_tests;
pub mod sql;
pub mod stdout;
pub mod text;
pub mod verify;

use crate::failure::Failure;

/// How a run speaks: text for people, one JSON document for CI, or GitHub Actions annotations
/// (`check` and `verify`) with the text beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Github,
}

/// A failure of the whole run, in `format`; returns its exit code. Text goes to stderr, JSON to
/// stdout (one document), GitHub to both (the text on stderr, one `::error` on stdout).
pub fn failure(format: Format, failure: &Failure) -> u8 {
    worded_failure(format, failure, &text::failure(failure))
}

/// [`failure`], with the text for people already worded: clap's usage errors keep clap's
/// wording (usage line, tips) on stderr. The one place that decides where a failure goes.
pub fn worded_failure(format: Format, failure: &Failure, text: &str) -> u8 {
    match format {
        Format::Json => outln!("{}", json::failure(failure)),
        Format::Text => eprint!("{text}"),
        Format::Github => {
            eprint!("{text}");
            outln!("{}", github::failure(failure));
        }
    }
    failure.kind.code()
}

/// A page printed as it is: shell completions, the man page, the JSON Schema.
pub fn page(text: &str) {
    out!("{text}");
}

/// Ctrl-C or SIGTERM while no Alembic child ran, said like every failure of the run: one JSON
/// document on stdout with `json` (`--format json`, known at start-up), on stderr otherwise.
pub fn interrupted(json: bool, failure: &Failure) {
    let format = if json { Format::Json } else { Format::Text };
    events::Reporter::new(format, false).emit(events::Event::Interrupted(failure));
}

/// A bug that unwound to `main`: the panic hook has printed the message on stderr; a JSON reader
/// still gets one document (unless one was already written), and the exit code stays one of the
/// documented ones.
pub fn panicked(format: Format, failure: &Failure) -> u8 {
    if format == Format::Json && !crate::render::stdout::written() {
        self::failure(Format::Json, failure);
    }
    crate::exit_code::FAILED
}

/// clap's own answer: `--help` and `--version` on stdout (exit 0), a usage error for people on
/// stderr (exit 2), in clap's words and colours.
pub fn clap(e: &clap::Error) -> u8 {
    if let Err(io) = e.print() {
        if !e.use_stderr() {
            crate::render::stdout::record(&io);
        }
    }
    if e.use_stderr() {
        crate::exit_code::USAGE
    } else {
        crate::exit_code::OK
    }
}
