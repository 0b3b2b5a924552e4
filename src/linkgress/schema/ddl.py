"""Operations rendered as SQL: pure, one renderer per operation via ``singledispatch``.

``render(op)`` returns a list of statements (most operations need one). Identifiers always pass
through :func:`quote_ident`; comments and enum labels through :func:`quote_literal`.
"""

from __future__ import annotations

from functools import singledispatch

from linkgress.schema import domain_ops
from linkgress.schema import operations as ops
from linkgress.schema.column_ddl import (
    drop_expression,
    identity_changes,
    identity_options,
    regenerates,
)
from linkgress.schema.indexdef import index_columns_sql
from linkgress.schema.quoting import quote_ident, quote_literal, quote_qualified
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    PrimaryKey,
    Sequence,
    Table,
    UniqueConstraint,
    View,
)


def _cols(names: tuple[str, ...]) -> str:
    return ", ".join(quote_ident(n) for n in names)


def column_definition(column: Column) -> str:
    """``"name" type [GENERATED ... AS IDENTITY] [DEFAULT ...] [NOT NULL]`` (a serial column's
    type is spelled ``serial``: PostgreSQL makes its owned sequence and default)."""
    parts = [quote_ident(column.name), column.type.ddl_sql]
    if column.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) STORED")
    elif column.identity is not None:
        parts.append(f"GENERATED {column.identity.upper()} AS IDENTITY"
                     + identity_options(column))
    elif column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if not column.nullable:
        parts.append("NOT NULL")
    return " ".join(parts)


def primary_key_clause(pk: PrimaryKey) -> str:
    """``CONSTRAINT "name" PRIMARY KEY (...)``."""
    return f"CONSTRAINT {quote_ident(pk.name)} PRIMARY KEY ({_cols(pk.columns)})"


def unique_clause(unique: UniqueConstraint) -> str:
    """``CONSTRAINT "name" UNIQUE [NULLS NOT DISTINCT] (...) [DEFERRABLE [INITIALLY
    DEFERRED]]``."""
    nnd = " NULLS NOT DISTINCT" if unique.nulls_not_distinct else ""
    sql = f"CONSTRAINT {quote_ident(unique.name)} UNIQUE{nnd} ({_cols(unique.columns)})"
    if unique.deferrable:
        sql += " DEFERRABLE INITIALLY DEFERRED" if unique.initially_deferred else " DEFERRABLE"
    return sql


def check_clause(check: CheckConstraint) -> str:
    """``CONSTRAINT "name" CHECK (expr)``."""
    return f"CONSTRAINT {quote_ident(check.name)} CHECK ({check.expression})"


def foreign_key_clause(fk: ForeignKey) -> str:
    """``CONSTRAINT "name" FOREIGN KEY (...) REFERENCES ... [MATCH FULL] ON DELETE ... ON UPDATE
    ... [DEFERRABLE [INITIALLY DEFERRED]]``."""
    match = " MATCH FULL" if fk.match == "FULL" else ""
    timing = " DEFERRABLE" if fk.deferrable or fk.initially_deferred else ""
    timing += " INITIALLY DEFERRED" if fk.initially_deferred else ""
    return (
        f"CONSTRAINT {quote_ident(fk.name)} FOREIGN KEY ({_cols(fk.columns)}) "
        f"REFERENCES {quote_qualified(fk.ref_schema, fk.ref_table)} ({_cols(fk.ref_columns)})"
        f"{match} ON DELETE {fk.on_delete} ON UPDATE {fk.on_update}{timing}"
    )


def create_index_sql(schema: str, table_name: str, index: Index, *,
                     if_not_exists: bool = False, only: bool = False) -> str:
    """``CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] "name" ON [ONLY]
    "schema"."table" USING method (...)`` (``only``: a partitioned table's own index, to which
    partition indexes are then attached one by one)."""
    unique = "UNIQUE " if index.unique else ""
    concurrently = "CONCURRENTLY " if index.concurrently else ""
    concurrently += "IF NOT EXISTS " if if_not_exists else ""
    sql = (f"CREATE {unique}INDEX {concurrently}{quote_ident(index.name)} ON "
           f"{'ONLY ' if only else ''}{quote_qualified(schema, table_name)} "
           f"USING {index.method} {index_columns_sql(index)}")
    if index.nulls_not_distinct:
        sql += " NULLS NOT DISTINCT"
    if index.where:
        sql += f" WHERE {index.where}"
    return sql


def _sequence_options(seq: Sequence) -> str:
    parts = [f"AS {seq.data_type}", f"INCREMENT BY {seq.increment}"]
    parts.append(f"MINVALUE {seq.min_value}" if seq.min_value is not None else "NO MINVALUE")
    parts.append(f"MAXVALUE {seq.max_value}" if seq.max_value is not None else "NO MAXVALUE")
    parts.append(f"START WITH {seq.start}")
    parts.append(f"CACHE {seq.cache}")
    parts.append("CYCLE" if seq.cycle else "NO CYCLE")
    return " ".join(parts)


def _comment(value: str | None) -> str:
    return "NULL" if value is None else quote_literal(value)


def _column_comment(schema: str, table: str, column: Column) -> str:
    return (f"COMMENT ON COLUMN {quote_qualified(schema, table)}.{quote_ident(column.name)} "
            f"IS {_comment(column.comment)}")


@singledispatch
def render(op: ops.Operation) -> list[str]:
    """Return the SQL statements that carry out ``op``."""
    raise TypeError(f"no SQL renderer for operation {type(op).__name__}")


@render.register
def _(op: ops.CreateSchema) -> list[str]:
    return [f"CREATE SCHEMA IF NOT EXISTS {quote_ident(op.schema_name)}"]


@render.register
def _(op: ops.DropSchema) -> list[str]:
    return [f"DROP SCHEMA {quote_ident(op.schema_name)}"]


@render.register
def _(op: ops.CreateEnum) -> list[str]:
    labels = ", ".join(quote_literal(v) for v in op.values)
    return [f"CREATE TYPE {quote_qualified(op.schema, op.enum_name)} AS ENUM ({labels})"]


@render.register
def _(op: ops.DropEnum) -> list[str]:
    return [f"DROP TYPE {quote_qualified(op.schema, op.enum_name)}"]


@render.register
def _(op: ops.AddEnumValue) -> list[str]:
    sql = (f"ALTER TYPE {quote_qualified(op.schema, op.enum_name)} "
           f"ADD VALUE IF NOT EXISTS {quote_literal(op.value)}")
    if op.before is not None:
        sql += f" BEFORE {quote_literal(op.before)}"
    elif op.after is not None:
        sql += f" AFTER {quote_literal(op.after)}"
    return [sql]


def _recreate_enum_column(op: ops.RecreateEnum, use: ops.EnumColumnUse) -> list[str]:
    # Separate statements, in this order: a default cannot be cast from the old type to the
    # new one, so it is dropped first and its text is parsed again against the new type.
    table = quote_qualified(use.schema, use.table_name)
    col = quote_ident(use.column_name)
    new_type = quote_qualified(op.schema, op.enum_name) + "[]" * use.dims
    out = []
    if use.default is not None:
        out.append(f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT")
    out.append(f"ALTER TABLE {table} ALTER COLUMN {col} TYPE {new_type} "
               f"USING {col}::text{'[]' * use.dims}::{new_type}")
    if use.default is not None:
        out.append(f"ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT {use.default}")
    return out


@render.register
def _(op: ops.RecreateEnum) -> list[str]:
    # 15 + 48 characters stay within PostgreSQL's 63-byte identifiers.
    old_name = f"{op.enum_name[:48]}__linkgress_old"
    labels = ", ".join(quote_literal(v) for v in op.values)
    out = [f"ALTER TYPE {quote_qualified(op.schema, op.enum_name)} "
           f"RENAME TO {quote_ident(old_name)}",
           f"CREATE TYPE {quote_qualified(op.schema, op.enum_name)} AS ENUM ({labels})"]
    for use in op.columns:
        out += _recreate_enum_column(op, use)
    out.append(f"DROP TYPE {quote_qualified(op.schema, old_name)}")
    return out


@render.register
def _(op: ops.CreateSequence) -> list[str]:
    seq = op.sequence
    return [f"CREATE SEQUENCE {quote_qualified(seq.schema, seq.name)} {_sequence_options(seq)}"]


@render.register
def _(op: ops.DropSequence) -> list[str]:
    return [f"DROP SEQUENCE {quote_qualified(op.sequence.schema, op.sequence.name)}"]


@render.register
def _(op: ops.AlterSequence) -> list[str]:
    # START WITH only sets what RESTART without a value goes back to; the current value stays.
    seq = op.new
    return [f"ALTER SEQUENCE {quote_qualified(seq.schema, seq.name)} {_sequence_options(seq)}"]


def create_table_sql(table: Table) -> list[str]:
    """``CREATE TABLE`` with columns, primary key, uniques and checks, then its comments."""
    items = [column_definition(c) for c in table.columns]
    if table.primary_key is not None:
        items.append(primary_key_clause(table.primary_key))
    items.extend(unique_clause(u) for u in table.uniques)
    items.extend(check_clause(c) for c in table.checks)
    body = ",\n  ".join(items)
    partitioned = "" if table.partition_by is None else f" PARTITION BY {table.partition_by}"
    statements = [f"CREATE TABLE {quote_qualified(table.schema, table.name)} "
                  f"(\n  {body}\n){partitioned}"]
    if table.comment is not None:
        statements.append(f"COMMENT ON TABLE {quote_qualified(table.schema, table.name)} "
                          f"IS {quote_literal(table.comment)}")
    statements.extend(_column_comment(table.schema, table.name, c)
                      for c in table.columns if c.comment is not None)
    return statements


@render.register
def _(op: ops.CreateTable) -> list[str]:
    return create_table_sql(op.table)


@render.register
def _(op: ops.DropTable) -> list[str]:
    cascade = " CASCADE" if op.cascade else ""
    return [f"DROP TABLE {quote_qualified(op.table.schema, op.table.name)}{cascade}"]


@render.register
def _(op: ops.RenameTable) -> list[str]:
    return [f"ALTER TABLE {quote_qualified(op.schema, op.table_name)} "
            f"RENAME TO {quote_ident(op.new_name)}"]


@render.register
def _(op: ops.SetTableComment) -> list[str]:
    return [f"COMMENT ON TABLE {quote_qualified(op.schema, op.table_name)} "
            f"IS {_comment(op.comment)}"]


@render.register
def _(op: ops.AddColumn) -> list[str]:
    statements = [f"ALTER TABLE {quote_qualified(op.schema, op.table_name)} "
                  f"ADD COLUMN {column_definition(op.column)}"]
    if op.column.comment is not None:
        statements.append(_column_comment(op.schema, op.table_name, op.column))
    return statements


@render.register
def _(op: ops.DropColumn) -> list[str]:
    return [f"ALTER TABLE {quote_qualified(op.schema, op.table_name)} "
            f"DROP COLUMN {quote_ident(op.column.name)}"]


def _alter_column_clauses(op: ops.AlterColumn) -> list[str]:
    old, new = op.old, op.new
    col = quote_ident(new.name)
    clauses = []
    # Switching between ALWAYS and BY DEFAULT keeps the sequence (drop + add would restart it
    # at 1 and collide with existing keys).
    switch = None not in (old.identity, new.identity) and old.identity != new.identity
    if old.identity != new.identity and old.identity is not None and not switch:
        clauses.append(f"ALTER COLUMN {col} DROP IDENTITY IF EXISTS")
    if old.default != new.default and old.default is not None:
        clauses.append(f"ALTER COLUMN {col} DROP DEFAULT")
    if old.type != new.type and new.generated is not None:
        # PostgreSQL computes a generated column's values again and refuses a USING.
        clauses.append(f"ALTER COLUMN {col} TYPE {new.type.sql}")
    elif old.type != new.type:
        using = (f"({new.using})" if new.using is not None
                 else op.using if op.using is not None else f"{col}::{new.type.sql}")
        clauses.append(f"ALTER COLUMN {col} TYPE {new.type.sql} USING {using}")
    if old.default != new.default and new.default is not None:
        clauses.append(f"ALTER COLUMN {col} SET DEFAULT {new.default}")
    if old.nullable != new.nullable:
        clauses.append(f"ALTER COLUMN {col} {'DROP' if new.nullable else 'SET'} NOT NULL")
    if switch:
        clauses.append(f"ALTER COLUMN {col} SET GENERATED {str(new.identity).upper()}")
    elif old.identity != new.identity and new.identity is not None:
        clauses.append(f"ALTER COLUMN {col} ADD GENERATED {new.identity.upper()} AS IDENTITY"
                       + identity_options(new))
    if old.identity is not None and new.identity is not None:
        clauses += identity_changes(col, old, new)
    return clauses


def _identity_catch_up(op: ops.AlterColumn) -> list[str]:
    # A new identity's sequence starts at 1: move it past the rows the column already holds.
    if op.old.identity is not None or op.new.identity is None:
        return []
    table = quote_qualified(op.schema, op.table_name)
    col = quote_ident(op.new.name)
    return [f"SELECT setval(pg_get_serial_sequence({quote_literal(table)}, "
            f"{quote_literal(op.new.name)}), coalesce(max({col}), 0) + 1, false) FROM {table}"]


@render.register
def _(op: ops.AlterColumn) -> list[str]:
    if regenerates(op.old, op.new):  # see column_ddl.regenerates
        return [f"ALTER TABLE {quote_qualified(op.schema, op.table_name)} DROP COLUMN "
                f"{quote_ident(op.new.name)}, ADD COLUMN {column_definition(op.new)}",
                *([_column_comment(op.schema, op.table_name, op.new)] if op.new.comment else [])]
    clauses = drop_expression(op.old, op.new) + _alter_column_clauses(op)
    statements = []
    if clauses:
        statements.append(f"ALTER TABLE {quote_qualified(op.schema, op.table_name)} "
                          + ", ".join(clauses))
    statements += _identity_catch_up(op)
    if op.old.comment != op.new.comment:
        statements.append(_column_comment(op.schema, op.table_name, op.new))
    return statements


@render.register
def _(op: ops.RenameColumn) -> list[str]:
    return [f"ALTER TABLE {quote_qualified(op.schema, op.table_name)} "
            f"RENAME COLUMN {quote_ident(op.column_name)} TO {quote_ident(op.new_name)}"]


def _add_constraint(schema: str, table: str, clause: str) -> list[str]:
    return [f"ALTER TABLE {quote_qualified(schema, table)} ADD {clause}"]


def _drop_constraint(schema: str, table: str, name: str) -> list[str]:
    return [f"ALTER TABLE {quote_qualified(schema, table)} DROP CONSTRAINT {quote_ident(name)}"]


@render.register
def _(op: ops.AddPrimaryKey) -> list[str]:
    return _add_constraint(op.schema, op.table_name, primary_key_clause(op.primary_key))


@render.register
def _(op: ops.DropPrimaryKey) -> list[str]:
    return _drop_constraint(op.schema, op.table_name, op.primary_key.name)


@render.register
def _(op: ops.CreateUniqueConstraint) -> list[str]:
    return _add_constraint(op.schema, op.table_name, unique_clause(op.unique))


@render.register
def _(op: ops.DropUniqueConstraint) -> list[str]:
    return _drop_constraint(op.schema, op.table_name, op.unique.name)


@render.register
def _(op: ops.CreateCheckConstraint) -> list[str]:
    return _add_constraint(op.schema, op.table_name, check_clause(op.check))


@render.register
def _(op: ops.DropCheckConstraint) -> list[str]:
    return _drop_constraint(op.schema, op.table_name, op.check.name)


@render.register
def _(op: ops.CreateForeignKey) -> list[str]:
    return _add_constraint(op.schema, op.table_name, foreign_key_clause(op.foreign_key))


@render.register
def _(op: ops.DropForeignKey) -> list[str]:
    return _drop_constraint(op.schema, op.table_name, op.foreign_key.name)


@render.register
def _(op: ops.CreateIndex) -> list[str]:
    return [create_index_sql(op.schema, op.table_name, op.index)]


@render.register
def _(op: ops.DropIndex) -> list[str]:
    concurrently = "CONCURRENTLY " if op.index.concurrently else ""
    return [f"DROP INDEX {concurrently}{quote_qualified(op.schema, op.index.name)}"]


@render.register
def _(op: domain_ops.CreateDomain) -> list[str]:
    return [domain_ops.create_domain_sql(op.domain)]


@render.register
def _(op: domain_ops.AlterDomain) -> list[str]:
    return domain_ops.alter_domain_sql(op.old, op.new)


@render.register
def _(op: domain_ops.DropDomain) -> list[str]:
    return [domain_ops.drop_domain_sql(op.domain)]


def render_all(operations: list[ops.Operation]) -> list[str]:
    """All statements for ``operations``, in order."""
    return [sql for op in operations for sql in render(op)]


def create_view_sql(view: View, *, replace: bool = False) -> str:
    """``CREATE [OR REPLACE] [MATERIALIZED] VIEW schema.name AS query`` (the query is the
    model's raw SQL, sent as one statement: a second one is refused)."""
    kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
    verb = "CREATE OR REPLACE" if replace and not view.materialized else "CREATE"
    return f"{verb} {kind} {quote_qualified(view.schema, view.name)} AS {view.definition}"


@render.register
def _(op: ops.CreateView) -> list[str]:
    return [create_view_sql(op.view, replace=op.replace)]


@render.register
def _(op: ops.DropView) -> list[str]:
    kind = "MATERIALIZED VIEW" if op.view.materialized else "VIEW"
    cascade = " CASCADE" if op.cascade else ""
    return [f"DROP {kind} {quote_qualified(op.view.schema, op.view.name)}{cascade}"]
