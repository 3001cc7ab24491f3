//! What `verify` found, per component, as it is built: the report's types (the JSON contract,
//! in [`crate::report::verify`]) and what makes them from the graph and the drift comparison.
//! [`crate::render::verify`] prints them.

use std::path::Path;

use crate::graph::Graph;
use crate::verify::plan::{Idempotent, Subject};

use crate::report::verify::Difference;
pub use crate::report::verify::{
    ComponentReport, DriftReport, Report, RevisionReport, ScratchReport, Slow, Timed,
};

impl RevisionReport {
    /// A revision about to be proved: nothing run yet.
    pub fn new(graph: &Graph, subject: &Subject, root: &Path) -> RevisionReport {
        let rev = graph.rev(subject.rev);
        RevisionReport {
            revision: rev.id.clone(),
            message: rev.message.clone(),
            file: rev.path.as_deref().map_or_else(String::new, |p| {
                Path::new(p)
                    .strip_prefix(root)
                    .map_or_else(|_| p.to_owned(), |p| p.to_string_lossy().into_owned())
            }),
            idempotent_because: subject.idempotent.map(|i| match i {
                Idempotent::Backport => "backport",
                Idempotent::Asked => "asked",
            }),
            steps: Vec::new(),
            roundtrip: "not-run",
            roundtrip_diff: None,
            idempotent: subject.idempotent.map(|_| "not-run"),
            idempotent_diff: None,
            why: None,
            error: None,
            fix: None,
        }
    }
}

impl From<&crate::verify::drift::Difference> for Difference {
    fn from(d: &crate::verify::drift::Difference) -> Difference {
        Difference {
            sign: d.sign,
            op: d.op.clone(),
            text: d.text.clone(),
        }
    }
}
