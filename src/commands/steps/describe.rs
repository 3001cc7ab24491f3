//! The plan as people read it: where the database is, what will run, what a downgrade destroys
//! (file:line) and who else is connected.

use crate::inspect::Inspection;
use crate::plan::Direction;
use crate::postgres;
use crate::render::json::Destructive;
use crate::render::text;
use crate::workspace::Config;

/// What the downgrade() of each revision to revert destroys, with file and line.
pub fn destructive_ops(i: &Inspection, revs: &[usize]) -> Vec<Destructive> {
    revs.iter()
        .flat_map(|&r| {
            let rev = i.graph.rev(r);
            let path = rev.path.clone().unwrap_or_default();
            crate::revisions::destructive::in_file(std::path::Path::new(&path))
                .into_iter()
                .map(move |f| Destructive {
                    revision: rev.id.clone(),
                    file: path.clone(),
                    line: f.line,
                    operation: f.operation,
                })
        })
        .collect()
}

pub fn describe_destruction(ops: &[Destructive]) -> String {
    let mut out = String::new();
    for (n, op) in ops.iter().enumerate() {
        let label = if n == 0 { "destroys" } else { "" };
        let file = std::path::Path::new(&op.file)
            .file_name()
            .map_or(op.file.clone(), |f| f.to_string_lossy().into_owned());
        out.push_str(&format!(
            "  {label:<8} {}  {file}:{}  {}\n",
            op.revision, op.line, op.operation
        ));
    }
    out
}

/// Other sessions on the database (stop them before a downgrade), when it can be asked natively.
pub async fn describe_sessions(config: &Config) -> String {
    let Some(pg) = config
        .url
        .as_ref()
        .and_then(|u| postgres::connect_config(u).ok())
    else {
        return String::new();
    };
    match postgres::other_sessions(&pg).await {
        Ok(names) if names.is_empty() => "  sessions none besides db-migrate\n".to_owned(),
        Ok(names) => format!(
            "  sessions {} other connection{}: {} (stop them before downgrading)\n",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        ),
        Err(_) => String::new(),
    }
}

pub fn describe_current(i: &Inspection) -> String {
    if i.current.is_empty() {
        "base (no revision)".to_owned()
    } else {
        i.current.join(", ")
    }
}

pub fn describe_plan(i: &Inspection, direction: Direction, plan: Option<&[usize]>) -> String {
    let mut out = format!("  from     {}\n", describe_current(i));
    match plan {
        Some(revs) => {
            let what = match direction {
                Direction::Upgrade => "apply",
                Direction::Downgrade => "revert",
            };
            out.push_str(&format!(
                "  plan     {what} {} revision{}\n",
                revs.len(),
                if revs.len() == 1 { "" } else { "s" }
            ));
            text::write_revisions(&mut out, &i.graph, revs, "           ");
        }
        None => out.push_str("  plan     (Alembic resolves this target)\n"),
    }
    out
}
