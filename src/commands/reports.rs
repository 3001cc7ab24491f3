//! What a command run over several components reports: each component's outcome as it happens
//! (failures on stderr in text mode), then one JSON document with every component and the first
//! failure, and the exit code that failure carries.

use crate::commands::steps::output::reporter;
use crate::failure::Failure;
use crate::inspect;
use crate::render::events::Event;
use crate::render::json::{self, ComponentReport, Report};
use crate::render::Format;
use crate::workspace::Config;

use super::App;

#[derive(Default)]
pub struct Reports {
    components: Vec<ComponentReport>,
    first_failure: Option<Failure>,
    /// The component of the first failure.
    failed: Option<String>,
}

impl Reports {
    pub fn push(&mut self, report: ComponentReport) {
        self.components.push(report);
    }

    /// A component that failed: said now in text mode; in JSON with what is still known of it.
    pub async fn failed(&mut self, app: &App, config: &Config, failure: Failure) {
        reporter(app).emit(Event::ComponentFailed(&failure));
        match app.format {
            Format::Text | Format::Github => {}
            Format::Json => {
                let known = inspect::known(&app.ws, config).await;
                self.components.push(ComponentReport::failed(
                    &config.label,
                    &config.ini_arg,
                    &failure,
                    &known,
                ));
            }
        }
        if self.first_failure.is_none() {
            self.first_failure = Some(failure);
            self.failed = Some(config.label.clone());
        }
    }

    /// Print the JSON document (in JSON mode) and return the exit code: the first failure's, or
    /// `ok` when nothing failed.
    pub fn finish(self, app: &App, ok: u8) -> u8 {
        let code = self.first_failure.as_ref().map_or(ok, |f| f.kind.code());
        if app.format == Format::Json {
            outln!(
                "{}",
                json::to_string(&Report {
                    components: self.components,
                    error: self.first_failure,
                })
            );
        }
        code
    }
}
