"""db-migrate's drift check: what `alembic check` compares, one JSON line per difference.

Run by db-migrate as `<launcher> -c <this text> <ini path>` in the workspace root. It does what
Alembic 1.13's `command.check` does (autogenerate's comparison of env.py's target_metadata with
the database) but, instead of raising with the diff tuples' Python reprs, prints on stdout:

    @@db-migrate-drift {"op": ..., "schema": ..., "table": ..., "name": ..., "detail": {...}}
    ...                                   one line per difference, then
    @@db-migrate-drift-done {"count": N}

or `@@db-migrate-drift-no-metadata` when env.py gives Alembic no MetaData (exit 0). A
CommandError ends it the way Alembic's command line does (`FAILED: <message>` on stdout, exit
255), e.g. `Target database is not up to date.`; any other exception leaves its traceback on
stderr (exit 1). Nothing here prints the database URL.
"""

import sys

# First, a line in Alembic's log format on stderr: db-migrate shows what the launcher writes on
# stderr before such a line as the launcher's own (`manager: ./py: ...`); from here on it is ours.
sys.stderr.write(
    "INFO  [db_migrate.drift] comparing env.py's target_metadata with the database\n"
)
sys.stderr.flush()

import json  # noqa: E402

from alembic import autogenerate as autogen  # noqa: E402
from alembic import util  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.runtime.environment import EnvironmentContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy.sql.expression import ColumnClause  # noqa: E402

MARK = "@@db-migrate-drift"

# alembic/autogenerate/api.py, AutogenContext: env.py passed no target_metadata.
NO_METADATA = "Can't proceed with --autogenerate option; environment script"


def emit(marker, payload=None):
    line = marker if payload is None else marker + " " + json.dumps(payload, sort_keys=True)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def compiled(element, dialect):
    """SQL text of a type or an expression in the database's dialect, else str(), else repr()."""
    for render in (
        lambda: element.compile(dialect=dialect, compile_kwargs={"literal_binds": True}),
        lambda: element.compile(dialect=dialect),
        lambda: element,
    ):
        try:
            return str(render())
        except Exception:
            pass
    return repr(element)


def type_text(type_, dialect):
    if type_ is None:
        return None
    return compiled(type_, dialect)


def default_text(default, dialect):
    """A server default as SQL: the models' `server_default="a"` is `'a'`, the database's
    reflected one is its text (`'a'::character varying`); None for no default."""
    if default is None or default is False:
        return None
    arg = getattr(default, "arg", default)
    if isinstance(arg, str):
        return "'" + arg.replace("'", "''") + "'"
    text = getattr(arg, "text", None)
    if isinstance(text, str):
        return text
    sqltext = getattr(default, "sqltext", None)  # Computed
    if sqltext is not None:
        return compiled(sqltext, dialect)
    return compiled(arg, dialect)


def expr_names(expressions, dialect):
    """Column names of an index or constraint; an expression's SQL for a functional index."""
    names = []
    for e in expressions:
        # A function has a `name` too (`lower`): only a column's is the column's.
        if isinstance(e, ColumnClause) and isinstance(e.name, str):
            names.append(e.name)
        else:
            names.append(compiled(e, dialect))
    return names


def table_of(item):
    table = getattr(item, "table", None)
    if table is None:
        table = getattr(item, "parent", None)
    return table


def place(table):
    return {
        "schema": getattr(table, "schema", None),
        "table": getattr(table, "name", None),
    }


CONSTRAINT_KINDS = {
    "unique_constraint": "unique",
    "check_constraint": "check",
    "column_check_constraint": "check",
    "table_or_column_check_constraint": "check",
    "primary_key_constraint": "primary key",
    "foreign_key_constraint": "foreign key",
}


def constraint_columns(constraint, dialect):
    try:
        return expr_names(constraint.columns, dialect)
    except Exception:
        return []


def foreign_key(fk, dialect):
    detail = {"columns": list(fk.column_keys)}
    try:
        referred = fk.referred_table
        detail["referred_schema"] = referred.schema
        detail["referred_table"] = referred.name
        detail["referred_columns"] = [el.column.name for el in fk.elements]
    except Exception:
        # "schema.table.column" strings, when the referred table cannot be resolved.
        specs = [el.target_fullname for el in fk.elements]
        parts = specs[0].split(".") if specs else []
        detail["referred_schema"] = parts[0] if len(parts) > 2 else None
        detail["referred_table"] = parts[-2] if len(parts) > 1 else None
        detail["referred_columns"] = [s.split(".")[-1] for s in specs]
    return detail


def record(diff, dialect):
    """One diff tuple of `UpgradeOps.as_diffs()` as a JSON-able dict."""
    op = diff[0] if isinstance(diff, tuple) and diff and isinstance(diff[0], str) else None
    out = {"op": op, "schema": None, "table": None, "name": None, "detail": {}}
    try:
        if op in ("add_table", "remove_table"):
            table = diff[1]
            out.update(place(table))
            out["detail"] = {"columns": [c.name for c in table.columns]}
        elif op in ("add_column", "remove_column"):
            _, schema, tname, column = diff
            out.update(schema=schema, table=tname, name=column.name)
            out["detail"] = {
                "type": type_text(column.type, dialect),
                "nullable": column.nullable,
            }
        elif op in ("add_index", "remove_index"):
            index = diff[1]
            out.update(place(index.table), name=index.name)
            out["detail"] = {
                "columns": expr_names(index.expressions, dialect),
                "unique": bool(index.unique),
            }
        elif op in ("add_constraint", "remove_constraint"):
            constraint = diff[1]
            out.update(place(table_of(constraint)), name=constraint.name)
            out["detail"] = {
                "kind": CONSTRAINT_KINDS.get(constraint.__visit_name__, constraint.__visit_name__),
                "columns": constraint_columns(constraint, dialect),
            }
        elif op in ("add_fk", "remove_fk"):
            fk = diff[1]
            out.update(place(table_of(fk)), name=fk.name)
            out["detail"] = foreign_key(fk, dialect)
        elif op in ("modify_type", "modify_nullable", "modify_default", "modify_comment"):
            _, schema, tname, cname, _existing, old, new = diff
            out.update(schema=schema, table=tname, name=cname)
            if op == "modify_type":
                old, new = type_text(old, dialect), type_text(new, dialect)
            elif op == "modify_default":
                old, new = default_text(old, dialect), default_text(new, dialect)
            out["detail"] = {"from": old, "to": new}
        elif op == "add_table_comment":
            table, existing = diff[1], diff[2]
            out.update(place(table))
            out["detail"] = {"from": existing, "to": table.comment}
        elif op == "remove_table_comment":
            out.update(place(diff[1]))
        else:
            out = {"op": op, "repr": repr(diff)}
    except Exception as e:
        out = {"op": op, "repr": repr(diff), "error": repr(e)}
    if out.get("name") is not None:
        out["name"] = str(out["name"])
    return out


def flattened(diffs):
    """as_diffs() gives an alter_column's modify_* changes as one list of tuples."""
    for diff in diffs:
        if isinstance(diff, list):
            yield from diff
        else:
            yield diff


def main(ini_path):
    # command.check, alembic 1.13.3, with the diffs printed instead of raised.
    config = Config(ini_path)
    script_directory = ScriptDirectory.from_config(config)
    command_args = dict(
        message=None,
        autogenerate=True,
        sql=False,
        head="head",
        splice=False,
        branch_label=None,
        version_path=None,
        rev_id=None,
        depends_on=None,
    )
    revision_context = autogen.RevisionContext(config, script_directory, command_args)
    dialects = []

    def retrieve_migrations(rev, context):
        dialects.append(context.dialect)
        revision_context.run_autogenerate(rev, context)
        return []

    with EnvironmentContext(
        config,
        script_directory,
        fn=retrieve_migrations,
        as_sql=False,
        template_args=revision_context.template_args,
        revision_context=revision_context,
    ):
        script_directory.run_env()

    migration_script = revision_context.generated_revisions[-1]
    diffs = []
    for upgrade_ops in migration_script.upgrade_ops_list:
        diffs.extend(upgrade_ops.as_diffs())
    dialect = dialects[-1] if dialects else None
    count = 0
    for diff in flattened(diffs):
        emit(MARK, record(diff, dialect))
        count += 1
    emit(MARK + "-done", {"count": count})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -c <drift script> <alembic ini>\n")
        sys.exit(2)
    try:
        main(sys.argv[1])
    except util.CommandError as e:
        if str(e).startswith(NO_METADATA):
            emit(MARK + "-no-metadata")
        else:
            # What Alembic's command line does with it: log it, `FAILED: ...` on stdout, exit 255.
            util.err(str(e))
