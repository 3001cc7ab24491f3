//! One component after another, as every migrating command walks them: a blank line between
//! components, a failed component stops the rest (reported as skipped, with why) unless
//! `--keep-going`, and one document at the end.

use std::future::Future;

use crate::exit_code;
use crate::failure::Failure;
use crate::inspect;
use crate::render::document::Document;
use crate::render::json::ComponentReport;
use crate::workspace::Config;

use super::output::say;
use crate::commands::App;

/// Run `one` for each config in order and report them all; the exit code of the whole.
pub async fn each_component<'a, F, Fut>(
    app: &App,
    configs: &'a [Config],
    keep_going: bool,
    mut one: F,
) -> u8
where
    F: FnMut(&'a Config) -> Fut,
    Fut: Future<Output = Result<ComponentReport, Failure>>,
{
    let mut doc = Document::new(app.format);
    for (n, config) in configs.iter().enumerate() {
        if n > 0 {
            say(app, "\n");
        }
        if let Some(failed) = doc.failed_component().filter(|_| !keep_going) {
            let why = format!(
                "not attempted: {failed} failed first (--keep-going tries every component)"
            );
            say(
                app,
                &format!("{} ({}): skipped, {why}\n", config.label, config.ini_arg),
            );
            doc.push(ComponentReport::skipped(
                &config.label,
                &config.ini_arg,
                why,
            ));
            continue;
        }
        match one(config).await {
            Ok(report) => doc.push(report),
            Err(failure) => {
                doc.failed(config, failure, || inspect::known(&app.ws, config))
                    .await
            }
        }
    }
    doc.finish(exit_code::OK)
}
