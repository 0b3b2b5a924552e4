"""Tables: create new ones (foreign keys and indexes as separate operations, so reference
cycles work), drop managed ones the target no longer declares (their foreign keys first), and
diff the parts of the tables both sides have."""

from __future__ import annotations

from dataclasses import replace

from linkgress.schema import operations as ops
from linkgress.schema.diff.columns import diff_columns
from linkgress.schema.diff.constraints import diff_checks, diff_primary_key, diff_uniques
from linkgress.schema.diff.context import INTERNAL_PREFIX, DiffContext, label, tables_by_key
from linkgress.schema.diff.foreign_keys import diff_foreign_keys
from linkgress.schema.diff.indexes import diff_indexes
from linkgress.schema.diff.partitions import create_partitions, diff_partitions
from linkgress.schema.snapshot import Schema, Table


def create_table(table: Table) -> list[ops.Operation]:
    """``CreateTable`` without foreign keys, indexes and partitions, then one operation for
    each (partitions last: they copy the indexes)."""
    out: list[ops.Operation] = [ops.CreateTable(table=replace(table, indexes=(),
                                                              foreign_keys=(), partitions=()))]
    out += [ops.CreateForeignKey(schema=table.schema, table_name=table.name, foreign_key=fk)
            for fk in table.foreign_keys]
    out += [ops.CreateIndex(schema=table.schema, table_name=table.name, index=ix)
            for ix in table.indexes]
    return out + create_partitions(table)


def drop_table(table: Table) -> list[ops.Operation]:
    """Its foreign keys (so tables referencing each other can go in any order), then the table."""
    out: list[ops.Operation] = [
        ops.DropForeignKey(schema=table.schema, table_name=table.name, foreign_key=fk)
        for fk in table.foreign_keys]
    out.append(ops.DropTable(table=table))
    return out


def diff_table(ctx: DiffContext, current: Table, target: Table) -> list[ops.Operation]:
    """Operations bringing one existing (adopted) table to its target definition."""
    out = diff_columns(ctx, current, target)
    out += diff_primary_key(ctx, current, target)
    out += diff_uniques(ctx, current, target)
    out += diff_checks(ctx, current, target)
    out += diff_foreign_keys(ctx, current, target)
    out += diff_indexes(ctx, current, target)
    out += diff_partitions(ctx, current, target)
    out += _diff_comment(ctx, current, target)
    return out


def _diff_comment(ctx: DiffContext, current: Table, target: Table) -> list[ops.Operation]:
    if current.comment == target.comment:
        return []
    if target.comment is None and not ctx.owns_schema(target.schema):
        # Only clear a comment linkgress wrote (recorded), never someone else's.
        recorded = ctx.managed_table(target.schema, target.name)
        if recorded is None or recorded.comment is None:
            return []
    return [ops.SetTableComment(schema=target.schema, table_name=target.name,
                                comment=target.comment, old_comment=current.comment)]


def diff_tables(ctx: DiffContext, current: Schema, target: Schema) -> list[ops.Operation]:
    """Create, alter and (managed) drop operations for every table of both sides."""
    out: list[ops.Operation] = []
    have, wanted = tables_by_key(current), tables_by_key(target)
    for table in target.tables:
        existing = have.get(table.key)
        out += create_table(table) if existing is None else diff_table(ctx, existing, table)
    for table in current.tables:
        if table.name.startswith(INTERNAL_PREFIX) or table.key in wanted:
            continue
        if ctx.may_drop_table(table.schema, table.name):
            out += drop_table(table)
        else:
            ctx.unmanaged("table", label(table.schema, table.name))
    return out
