"""Expand / contract: ``migrate(defer_destructive=True)`` and ``contract()`` (pure parts).

During a rolling deploy the old version still reads and writes what the new model removes.
``migrate(defer_destructive=True)`` (expand) applies every non-destructive operation and defers
the destructive ones; a deferred column drop whose column is NOT NULL without a default is
replaced, for now, by dropping its NOT NULL (so the new code's inserts, which leave it out,
work). The deferred objects stay in the recorded snapshot — still managed, so ``analyze()``
keeps listing their drops — until ``contract()`` applies exactly those drops, once the old
version is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from linkgress.schema import operations as ops
from linkgress.schema.domain_ops import DropDomain
from linkgress.schema.partition_ops import with_deferred_partitions
from linkgress.schema.snapshot import EnumType, Schema, Table


def split_destructive(plan: Sequence[ops.Operation]
                      ) -> tuple[list[ops.Operation], list[ops.Operation]]:
    """(what expand applies now, the destructive operations it defers)."""
    now = [op for op in plan if not op.is_destructive]
    deferred = [op for op in plan if op.is_destructive]
    return now + relaxations(deferred), deferred


def _must_relax(column: object) -> bool:
    return (getattr(column, "nullable", True) is False and getattr(column, "default", 1) is None
            and getattr(column, "identity", 1) is None)


def relaxations(deferred: Sequence[ops.Operation]) -> list[ops.Operation]:
    """``DROP NOT NULL`` for each deferred column drop whose column has no default."""
    return [ops.AlterColumn(schema=op.schema, table_name=op.table_name, old=op.column,
                            new=replace(op.column, nullable=True))
            for op in deferred if isinstance(op, ops.DropColumn) and _must_relax(op.column)]


def _with_columns(table: Table, drops: list[ops.DropColumn]) -> Table:
    mine = [replace(op.column, nullable=True) if _must_relax(op.column) else op.column
            for op in drops if (op.schema, op.table_name) == table.key
            and table.column(op.column.name) is None]
    return replace(table, columns=table.columns + tuple(mine)) if mine else table


def keep_deferred(normalized: Schema, deferred: Sequence[ops.Operation]) -> Schema:
    """The snapshot to record after an expand: the model's objects plus those whose drops
    were deferred (so that they stay managed). Without the model fingerprint note: it is not
    the model's normalisation any more."""
    if not deferred:
        return normalized
    columns = [op for op in deferred if isinstance(op, ops.DropColumn)]
    tables = tuple(with_deferred_partitions(_with_columns(t, columns), deferred)
                   for t in normalized.tables)
    tables += tuple(op.table for op in deferred if isinstance(op, ops.DropTable))
    enums = normalized.enums + tuple(
        e for e in _dropped_enums(deferred) if e.key not in {x.key for x in normalized.enums})
    return replace(
        normalized, tables=tables, enums=enums, notes=(),
        sequences=normalized.sequences + tuple(
            op.sequence for op in deferred if isinstance(op, ops.DropSequence)),
        domains=normalized.domains + tuple(
            op.domain for op in deferred if isinstance(op, DropDomain)),
        schemas=normalized.schemas + tuple(
            op.schema_name for op in deferred if isinstance(op, ops.DropSchema)))


def _dropped_enums(deferred: Sequence[ops.Operation]) -> list[EnumType]:
    return [EnumType(schema=op.schema, name=op.enum_name, values=op.values)
            for op in deferred if isinstance(op, ops.DropEnum)]
