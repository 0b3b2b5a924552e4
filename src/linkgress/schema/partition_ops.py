"""Operations on the partitions of a partitioned table, and their SQL.

A partition is created on its own and then attached — ``CREATE TABLE p (LIKE parent ...)``,
one index of linkgress's per parent index (named as :func:`partition_index_name` says), then
``ALTER TABLE parent ATTACH PARTITION p FOR VALUES ...`` — so that PostgreSQL attaches
linkgress's own indexes instead of creating indexes under names of its choosing (a later
``DROP INDEX`` of the parent index is then known to take only what linkgress made; see
:mod:`linkgress.schema.partitions`). Foreign keys and the primary key / unique constraints
declared on the parent are cloned by PostgreSQL at ``ATTACH``.

A changed bound is a ``DETACH`` and a new ``ATTACH`` (rows kept; the attach checks that every
row fits the new bound). A removed partition is detached and dropped: destructive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from linkgress.schema.ddl import create_index_sql, render
from linkgress.schema.operations import Operation
from linkgress.schema.partitions import partition_index_name
from linkgress.schema.quoting import quote_qualified
from linkgress.schema.rawsql import index_options, raw_options
from linkgress.schema.snapshot import Index, Table, TablePartition


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


@dataclass(frozen=True, kw_only=True)
class CreatePartition(Operation):
    """Create a partition of ``table_name`` and attach it, with an index of its own for each
    of ``indexes`` (the parent's)."""

    type: ClassVar[str] = "create_partition"
    schema: str = "public"
    table_name: str
    partition: TablePartition
    indexes: tuple[Index, ...] = ()

    def describe(self) -> str:
        return (f"Create partition '{self.partition.name}' of "
                f"'{_label(self.schema, self.table_name)}' ({self.partition.bound})")

    def reverse(self) -> Operation:
        return DropPartition(schema=self.schema, table_name=self.table_name,
                             partition=self.partition, indexes=self.indexes)


@dataclass(frozen=True, kw_only=True)
class DropPartition(Operation):
    """Detach a partition and drop it, with its rows."""

    type: ClassVar[str] = "drop_partition"
    is_destructive: ClassVar[bool] = True
    schema: str = "public"
    table_name: str
    partition: TablePartition
    indexes: tuple[Index, ...] = ()

    def describe(self) -> str:
        return (f"Drop partition '{self.partition.name}' of "
                f"'{_label(self.schema, self.table_name)}'")

    def reverse(self) -> Operation:
        return CreatePartition(schema=self.schema, table_name=self.table_name,
                               partition=self.partition, indexes=self.indexes)


@dataclass(frozen=True, kw_only=True)
class ChangePartitionBound(Operation):
    """Detach a partition and attach it again with another bound (its rows are kept; the
    attach fails if one does not fit)."""

    type: ClassVar[str] = "change_partition_bound"
    schema: str = "public"
    table_name: str
    partition: TablePartition
    old_bound: str

    def describe(self) -> str:
        return (f"Change the bound of partition '{self.partition.name}' of "
                f"'{_label(self.schema, self.table_name)}' to {self.partition.bound}")

    def reverse(self) -> Operation:
        return ChangePartitionBound(
            schema=self.schema, table_name=self.table_name, old_bound=self.partition.bound,
            partition=replace(self.partition, bound=self.old_bound))


def _attach(schema: str, parent: str, partition: TablePartition) -> str:
    return (f"ALTER TABLE {quote_qualified(schema, parent)} ATTACH PARTITION "
            f"{quote_qualified(schema, partition.name)} {partition.bound}")


def _detach(schema: str, parent: str, partition: TablePartition) -> str:
    return (f"ALTER TABLE {quote_qualified(schema, parent)} DETACH PARTITION "
            f"{quote_qualified(schema, partition.name)}")


@render.register
def _(op: CreatePartition) -> list[str]:
    name = op.partition.name
    statements = [f"CREATE TABLE {quote_qualified(op.schema, name)} "
                  f"(LIKE {quote_qualified(op.schema, op.table_name)} INCLUDING DEFAULTS "
                  "INCLUDING CONSTRAINTS INCLUDING GENERATED)"]
    statements += [create_index_sql(op.schema, name, replace(
        index, name=partition_index_name(name, index.name), concurrently=False))
        for index in op.indexes]
    statements.append(_attach(op.schema, op.table_name, op.partition))
    return statements


@render.register
def _(op: DropPartition) -> list[str]:
    return [_detach(op.schema, op.table_name, op.partition),
            f"DROP TABLE {quote_qualified(op.schema, op.partition.name)}"]


@render.register
def _(op: ChangePartitionBound) -> list[str]:
    return [_detach(op.schema, op.table_name, op.partition),
            _attach(op.schema, op.table_name, op.partition)]


def bound_option(partition: TablePartition) -> tuple[str, str]:
    """The partition's bound as a raw SQL option (what, text), for error messages."""
    return (f"partition '{partition.name}' for_values=", partition.bound)


@raw_options.register
def _(op: CreatePartition) -> list[tuple[str, str]]:
    return [bound_option(op.partition)] + [o for ix in op.indexes for o in index_options(ix)]


@raw_options.register
def _(op: ChangePartitionBound) -> list[tuple[str, str]]:
    return [bound_option(op.partition)]


def with_deferred_partitions(table: Table, deferred: Sequence[Operation]) -> Table:
    """``table`` with the partitions whose drops ``deferred`` holds (kept managed until
    ``contract()`` drops them)."""
    kept = [op.partition for op in deferred if isinstance(op, DropPartition)
            and (op.schema, op.table_name) == table.key
            and op.partition.name not in {p.name for p in table.partitions}]
    if not kept:
        return table
    return replace(table, partitions=tuple(sorted((*table.partitions, *kept),
                                                  key=lambda p: p.name)))


PARTITION_OPERATIONS: tuple[type[Operation], ...] = (
    CreatePartition, DropPartition, ChangePartitionBound)
