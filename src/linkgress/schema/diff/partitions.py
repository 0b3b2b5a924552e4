"""Partitions of a partitioned table: create (and attach) new ones, re-attach one whose bound
changed, detach and drop a managed one the model no longer declares, note the others.

How a table is partitioned (its key) cannot be changed in place: PostgreSQL cannot turn a
table into a partitioned one or change its key, and linkgress never rewrites a table behind
the user's back, so a difference there is a note, not an operation.
"""

from __future__ import annotations

from linkgress.schema.diff.context import DiffContext, label
from linkgress.schema.operations import Operation
from linkgress.schema.partition_ops import ChangePartitionBound, CreatePartition, DropPartition
from linkgress.schema.snapshot import Table


def create_partitions(table: Table) -> list[CreatePartition]:
    """One :class:`CreatePartition` per partition of a new table."""
    return [CreatePartition(schema=table.schema, table_name=table.name, partition=p,
                            indexes=table.indexes) for p in table.partitions]


def diff_partitions(ctx: DiffContext, current: Table, target: Table) -> list[Operation]:
    """Operations bringing ``current``'s partitions to ``target``'s."""
    where = label(target.schema, target.name)
    if target.partition_by is None and current.partition_by is not None:
        # The model does not say how the table is partitioned: its partitions are someone
        # else's (a scheduled job, pg_partman).
        ctx.notes.append(f"table '{where}' is partitioned by {current.partition_by} in the "
                         "database and the model does not declare it: its partitions are left "
                         "alone")
        return []
    if current.partition_by != target.partition_by:
        ctx.notes.append(
            f"table '{where}' is partitioned by {current.partition_by or 'nothing'} in the "
            f"database and by {target.partition_by} in the model; linkgress cannot change "
            "how an existing table is partitioned: move its rows into a new table by hand")
        return []
    schema, name = target.schema, target.name
    old_by_name = {p.name: p for p in current.partitions}
    out: list[Operation] = []
    for partition in target.partitions:
        old = old_by_name.pop(partition.name, None)
        if old is None:
            out.append(CreatePartition(schema=schema, table_name=name, partition=partition,
                                       indexes=target.indexes))
        elif old.bound != partition.bound:
            out.append(ChangePartitionBound(schema=schema, table_name=name,
                                            partition=partition, old_bound=old.bound))
    for old in old_by_name.values():
        if ctx.may_drop_part(current, "partitions", old.name):
            out.append(DropPartition(schema=schema, table_name=name, partition=old,
                                     indexes=current.indexes))
        else:
            ctx.unmanaged("partition", f"{label(schema, name)}.{old.name}")
    return out
