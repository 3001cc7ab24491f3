//! The Alembic calls the rest of db-migrate makes. Inside a [`pool::scoped`] scope a call a worker
//! can serve goes to the component's one Python process ([`pool::serve`]); otherwise, or when the
//! worker hands it back, it runs as its own process ([`runner`]). Callers cannot tell the two
//! apart: the same [`Output`], the same lines to `on_line`, the same failures.

use crate::failure::Failure;
use crate::workspace::{Config, Workspace};

use super::pool;
use super::runner::{self, Input, Output, Stream};

/// A read-only Alembic call (`current`, `history`, `upgrade --sql`): see [`runner::read_only`].
pub async fn read_only(
    ws: &Workspace,
    config: &Config,
    args: &[&str],
    mut on_line: impl FnMut(Stream, &str),
) -> Result<Output, Failure> {
    if let Some(served) = pool::serve(ws, config, pool::read_only_op(args), &mut on_line).await {
        return served;
    }
    runner::read_only(ws, config, args, on_line).await
}

/// A Python script of db-migrate's own, run by the launcher: see [`runner::python`].
pub async fn python(
    ws: &Workspace,
    config: &Config,
    args: &[&str],
    mut on_line: impl FnMut(Stream, &str),
) -> Result<Output, Failure> {
    if let Some(served) = pool::serve(ws, config, pool::python_op(args), &mut on_line).await {
        return served;
    }
    runner::python(ws, config, args, on_line).await
}

/// `upgrade`/`downgrade` (and `revision`): see [`runner::migration`].
pub async fn migration(
    ws: &Workspace,
    config: &Config,
    input: Input,
    args: &[&str],
    mut on_line: impl FnMut(Stream, &str),
) -> Result<Output, Failure> {
    let op = pool::migration_op(input, args);
    if let Some(served) = pool::serve(ws, config, op, &mut on_line).await {
        return served;
    }
    runner::migration(ws, config, input, args, on_line).await
}
