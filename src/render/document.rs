//! The printer of a run over components (`status`, `current`, `upgrade`/`downgrade`/`migrate`,
//! `roundtrip`, `fix-heads`): commands hand it each component's outcome, and it decides what the
//! run's format makes of it. Text is printed as it happens (failures on stderr); JSON is
//! collected into one document with every component and the first failure, printed by
//! [`Document::finish`], which also gives the exit code that failure carries.

use std::future::Future;

use crate::failure::Failure;
use crate::inspect::{Inspection, Known};
use crate::render::events::{Event, Reporter};
use crate::render::json::{self, ComponentReport, Report};
use crate::render::text;
use crate::render::Format;
use crate::workspace::Config;

pub struct Document {
    format: Format,
    components: Vec<ComponentReport>,
    first_failure: Option<Failure>,
    /// The component of the first failure.
    failed: Option<String>,
    /// Components begun ([`Document::begin`]).
    begun: usize,
}

impl Document {
    pub fn new(format: Format) -> Document {
        Document {
            format,
            components: Vec::new(),
            first_failure: None,
            failed: None,
            begun: 0,
        }
    }

    /// `status`: a component begins; in text a blank line on stdout separates it from the one
    /// before (whether either failed or not).
    pub fn begin(&mut self) {
        if self.begun > 0 && self.format != Format::Json {
            outln!();
        }
        self.begun += 1;
    }

    /// `status`: a component's state, as a status block in text, in the document in JSON.
    pub fn status(&mut self, i: &Inspection) {
        match self.format {
            Format::Text | Format::Github => out!("{}", text::status(i)),
            Format::Json => self.push(ComponentReport::from_inspection(i)),
        }
    }

    /// `current`: where a component's database is, as one line in text, in the document in JSON.
    pub fn current(&mut self, i: &Inspection) {
        if self.format == Format::Text {
            outln!("{}", current_line(i));
        }
        self.push(ComponentReport::from_inspection(i));
    }

    /// A component's outcome for the document (text has said it as it happened).
    pub fn push(&mut self, report: ComponentReport) {
        self.components.push(report);
    }

    /// A component that failed: said now in text; in JSON with what is still `known` of it
    /// (asked only for the document: it costs a look at the database).
    pub async fn failed<F, K>(&mut self, config: &Config, failure: Failure, known: K)
    where
        K: FnOnce() -> F,
        F: Future<Output = Known>,
    {
        Reporter::new(self.format, false).emit(Event::ComponentFailed(&failure));
        match self.format {
            Format::Text | Format::Github => {}
            Format::Json => {
                let known = known().await;
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

    /// The component of the first failure.
    pub fn failed_component(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Print the JSON document (in JSON) and return the exit code: the first failure's, or `ok`
    /// when nothing failed.
    pub fn finish(self, ok: u8) -> u8 {
        let code = self.first_failure.as_ref().map_or(ok, |f| f.kind.code());
        if self.format == Format::Json {
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

    /// The run ends with `failure` on a component whose `report` still stands (`roundtrip`'s
    /// schemas differ). Text has printed the report as it happened and leaves the failure to be
    /// rendered like any other (`Err`); JSON puts both in the document and returns the code.
    pub fn finish_failed(
        mut self,
        mut report: ComponentReport,
        failure: Failure,
    ) -> Result<u8, Failure> {
        if self.format == Format::Text {
            return Err(failure);
        }
        report.error = Some(failure.clone());
        self.components.push(report);
        self.first_failure = Some(failure);
        Ok(self.finish(crate::exit_code::OK))
    }
}

/// `current`'s line for a component: `manager: 8679d0a7e22b (up-to-date)`.
pub fn current_line(i: &Inspection) -> String {
    let current = if i.current.is_empty() {
        "(none)".to_owned()
    } else {
        i.current.join(", ")
    };
    format!("{}: {current} ({})", i.config.label, i.state.as_str())
}
