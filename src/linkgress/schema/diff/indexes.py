"""Indexes: matched by name; any changed attribute means drop + create (PostgreSQL has no
``ALTER INDEX`` for columns, method, predicate or uniqueness)."""

from __future__ import annotations

from dataclasses import replace

from linkgress.schema import operations as ops
from linkgress.schema.diff.context import DiffContext
from linkgress.schema.diff.named import diff_named
from linkgress.schema.snapshot import Index, Table


def diff_indexes(ctx: DiffContext, current: Table, target: Table) -> list[ops.Operation]:
    """Operations bringing ``current``'s indexes to ``target``'s."""
    schema, name = target.schema, target.name

    def create(index: Index) -> ops.Operation:
        return ops.CreateIndex(schema=schema, table_name=name, index=index)

    def drop(index: Index) -> ops.Operation:
        # Replacing an index never uses CONCURRENTLY for the drop: it runs in the migration's
        # transaction; only the model's own create may ask for it.
        return ops.DropIndex(schema=schema, table_name=name,
                             index=_plain(index))

    return diff_named(ctx, current, (current.indexes, target.indexes), part="indexes",
                      kind="index", create=create, drop=drop)


def _plain(index: Index) -> Index:
    if not index.concurrently:
        return index
    return replace(index, concurrently=False)
