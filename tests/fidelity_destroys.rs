//! What a downgrade destroys, as listed before it runs, for tables named by module constants,
//! loops over them, keyword arguments, indexes and constraints.

mod harness;

use harness::*;

/// The second revision names its tables through constants defined below `downgrade()`, the way
/// hand-written Backend.AI migrations often do.
const REVISION: &str = r#""""add permissions

Revision ID: fd0000000002
Revises: fd0000000001
Create Date: 2024-01-01 01:00:00.000000

"""
from typing import Final

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "fd0000000002"
down_revision = "fd0000000001"
branch_labels = None
depends_on = None


class Projects:
    __tablename__ = "projects"


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("permission", sa.String(64), nullable=True))
    op.add_column(_TABLE, sa.Column("group_id", sa.Integer(), nullable=True))
    op.create_foreign_key("fk_users_group_id", _TABLE, "groups", ["group_id"], ["id"])
    op.create_index(op.f("ix_users_permission"), _TABLE, ["permission"])
    op.add_column(Projects.__tablename__, sa.Column("note", sa.Text(), nullable=True))
    with op.batch_alter_table(_TABLE) as batch_op:
        batch_op.alter_column("name", type_=sa.Text())


def downgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch_op:
        batch_op.alter_column("name", type_=sa.String(16))
    op.drop_index(op.f("ix_users_permission"), table_name=_TABLE)
    op.drop_constraint("fk_users_group_id", _TABLE, type_="foreignkey")
    op.drop_column(
        _TABLE,
        column_name="group_id",
    )
    for table in _TABLES:
        op.drop_column(table, "permission")
    op.drop_column(Projects.__tablename__, "note")


_TABLE: Final = "users"
_TABLES = ("users", "groups")
"#;

#[test]
fn a_downgrade_lists_constant_tables_loops_indexes_and_constraints() {
    let chain = vec![
        rev("fd0000000001", None, "create users groups projects").upgrade_body(
            "op.create_table(\"users\", sa.Column(\"id\", sa.Integer(), primary_key=True), sa.Column(\"name\", sa.String(16)))\n\
             op.create_table(\"groups\", sa.Column(\"id\", sa.Integer(), primary_key=True))\n\
             op.create_table(\"projects\", sa.Column(\"id\", sa.Integer(), primary_key=True))",
        )
        .downgrade_body("op.drop_table(\"projects\")\nop.drop_table(\"groups\")\nop.drop_table(\"users\")"),
        rev("fd0000000002", Some("fd0000000001"), "add permissions").raw(REVISION),
    ];
    let ws = Workspace::new().component(Component::Manager, &chain);
    ws.db_at(Component::Manager, "head");

    let line_of = |needle: &str| REVISION.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let expected: Vec<(usize, &str)> = vec![
        (
            line_of("batch_op.alter_column(\"name\", type_=sa.String(16))"),
            "changes the type of column users.name (narrowing loses data)",
        ),
        (
            line_of("op.drop_index("),
            "drops index ix_users_permission on users",
        ),
        (
            line_of("op.drop_constraint("),
            "drops constraint fk_users_group_id on users",
        ),
        (
            REVISION
                .lines()
                .position(|l| l == "    op.drop_column(")
                .unwrap()
                + 1,
            "drops column users.group_id",
        ),
        (
            line_of("op.drop_column(table"),
            "drops column users.permission",
        ),
        (
            line_of("op.drop_column(table"),
            "drops column groups.permission",
        ),
        (
            line_of("op.drop_column(Projects"),
            "drops column Projects.__tablename__.note",
        ),
    ];

    let out = db_migrate(&ws, &["downgrade", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{}", out.shown);
    let file = chain[1].file_name();
    // The `destroys` block: its first line is labelled, the rest are indented under it.
    let shown: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.trim_start().trim_start_matches("destroys").trim_start())
        .filter(|l| l.starts_with(&format!("fd0000000002  {file}:")))
        .collect();
    let wanted: Vec<String> = expected
        .iter()
        .map(|(line, what)| format!("fd0000000002  {file}:{line}  {what}"))
        .collect();
    assert_eq!(shown, wanted, "{}", out.shown);
    assert!(
        out.stdout.contains(&format!("destroys {}", wanted[0])),
        "{}",
        out.shown
    );

    let doc = db_migrate(&ws, &["--format", "json", "downgrade", "--dry-run"]).json();
    let ops: Vec<(usize, String)> = doc["components"][0]["destructive"]
        .as_array()
        .unwrap_or_else(|| panic!("no destructive list: {doc:#}"))
        .iter()
        .map(|op| {
            assert_eq!(op["revision"], "fd0000000002", "{doc:#}");
            (
                op["line"].as_u64().unwrap() as usize,
                op["operation"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(usize, String)> = expected
        .iter()
        .map(|(line, what)| (*line, what.to_string()))
        .collect();
    assert_eq!(ops, expected, "{doc:#}");

    // A dry run changes nothing, and the listed downgrade is one Alembic really runs.
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec!["fd0000000002".to_string()]
    );
    let out = db_migrate(&ws, &["downgrade", "--yes"]);
    assert_eq!(out.code, Some(0), "{}", out.shown);
    assert_eq!(
        ws.db_revisions(Component::Manager),
        vec!["fd0000000001".to_string()]
    );
}
