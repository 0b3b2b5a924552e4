"""Indexes on partitioned tables: never take, nor drop, an index linkgress did not make.

``CREATE INDEX`` on a partitioned table *attaches* any matching index a partition already has
(a DBA's ``CREATE INDEX dba_idx ON payment_2022 (customer_id)``), and ``DROP INDEX`` of the
parent then drops it too. So, on a partitioned table, linkgress creates the parent index
``ON ONLY`` the parent, one index of its own per partition (named ``<partition>_<index>``,
partitioned partitions recursively) and ``ATTACH``es each: only linkgress's indexes are
attached, and the parent index is valid once they all are.

Before a ``DROP INDEX``, the indexes attached to it are read; one that linkgress did not name
(attached before this rule, created by PostgreSQL for a partition added later, or a DBA's index
attached by ``ATTACH PARTITION``) makes ``migrate()`` refuse, and ``analyze()`` say so in a
note: PostgreSQL cannot detach an index partition, so the drop would take it.

The differ stays pure: :func:`expand_for_partitions` rewrites the plan just before it is
applied, on the migration connection, under the lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from linkgress.model.naming import generated_name
from linkgress.schema import operations as ops
from linkgress.schema.ddl import create_index_sql, render
from linkgress.schema.quoting import quote_qualified

if TYPE_CHECKING:
    from linkgress.connection import RawConnection

# $1: tables as quoted qualified names. The partitions of those that are partitioned, parents
# first (pg_inherits also lists plain inheritance children: only partitioned roots are read).
PARTITION_TREES = """
WITH RECURSIVE tree(root, oid, parent, depth) AS (
    SELECT r.name, h.inhrelid, h.inhparent, 1
      FROM unnest($1::text[]) AS r(name)
      JOIN pg_catalog.pg_class rc ON rc.oid = to_regclass(r.name) AND rc.relkind = 'p'
      JOIN pg_catalog.pg_inherits h ON h.inhparent = rc.oid
  UNION ALL
    SELECT t.root, h.inhrelid, h.inhparent, t.depth + 1
      FROM tree t JOIN pg_catalog.pg_inherits h ON h.inhparent = t.oid
)
SELECT t.root, n.nspname AS schema, c.relname AS name, pn.nspname AS parent_schema,
       p.relname AS parent, c.relkind = 'p' AS partitioned
  FROM tree t
  JOIN pg_catalog.pg_class c ON c.oid = t.oid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_class p ON p.oid = t.parent
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
 WHERE c.relkind IN ('r', 'p')
 ORDER BY t.root, t.depth, n.nspname, c.relname
"""

# $1: the index as a quoted qualified name. The partition indexes attached to it, recursively,
# with their tables.
ATTACHED_INDEXES = """
WITH RECURSIVE tree(oid) AS (
    SELECT h.inhrelid FROM pg_catalog.pg_inherits h WHERE h.inhparent = to_regclass($1)
  UNION ALL
    SELECT h.inhrelid FROM tree t JOIN pg_catalog.pg_inherits h ON h.inhparent = t.oid
)
SELECT n.nspname AS schema, ic.relname AS name, tc.relname AS table_name
  FROM tree t
  JOIN pg_catalog.pg_class ic ON ic.oid = t.oid
  JOIN pg_catalog.pg_index x ON x.indexrelid = ic.oid
  JOIN pg_catalog.pg_class tc ON tc.oid = x.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
 ORDER BY 1, 2
"""


@dataclass(frozen=True)
class Partition:
    """One partition of a partitioned table, below ``parent`` (schema-qualified)."""

    schema: str
    name: str
    parent_schema: str
    parent: str
    partitioned: bool


def partition_index_name(partition: str, index: str) -> str:
    """The name linkgress gives its index on ``partition`` for the parent index ``index``."""
    return generated_name(partition, index)


@dataclass(frozen=True, kw_only=True)
class CreatePartitionedIndex(ops.CreateIndex):
    """:class:`CreateIndex` on a partitioned table: ``ON ONLY`` the parent, then one index per
    partition, each attached to its parent's index (reported as ``create_index``)."""

    partitions: tuple[Partition, ...] = ()


@render.register
def _(op: CreatePartitionedIndex) -> list[str]:
    index, root = op.index, (op.schema, op.table_name)
    statements = [create_index_sql(op.schema, op.table_name, index, only=True)]
    for part in op.partitions:
        own = partition_index_name(part.name, index.name)
        parent_index = (index.name if (part.parent_schema, part.parent) == root
                        else partition_index_name(part.parent, index.name))
        statements.append(create_index_sql(part.schema, part.name, replace(index, name=own),
                                           only=part.partitioned))
        statements.append(f"ALTER INDEX {quote_qualified(part.parent_schema, parent_index)} "
                          f"ATTACH PARTITION {quote_qualified(part.schema, own)}")
    return statements


async def _partitions(conn: RawConnection, operations: Sequence[ops.Operation]
                      ) -> dict[str, tuple[Partition, ...]]:
    """Quoted table name -> its partitions, for the partitioned tables ``create_index``
    operations name (one query)."""
    names = list(dict.fromkeys(quote_qualified(op.schema, op.table_name) for op in operations
                               if type(op) is ops.CreateIndex and not op.index.concurrently))
    if not names:
        return {}
    out: dict[str, list[Partition]] = {}
    for r in await conn.fetch(PARTITION_TREES, names):
        out.setdefault(r["root"], []).append(Partition(
            r["schema"], r["name"], r["parent_schema"], r["parent"], bool(r["partitioned"])))
    return {name: tuple(parts) for name, parts in out.items()}


async def foreign_attached_indexes(conn: RawConnection, op: ops.DropIndex) -> list[str]:
    """Indexes attached to the index ``op`` drops that linkgress did not name, as
    ``schema.index (on table)``."""
    rows = await conn.fetch(ATTACHED_INDEXES, quote_qualified(op.schema, op.index.name))
    return [f"{r['schema']}.{r['name']} (on {r['table_name']})" for r in rows
            if r["name"] != partition_index_name(r["table_name"], op.index.name)]


async def keep_foreign_indexes(conn: RawConnection, operations: list[ops.Operation]
                               ) -> tuple[list[ops.Operation], list[str]]:
    """``operations`` without each ``drop_index`` that would take an index linkgress did not
    make (nor the ``create_index`` rebuilding it under the same name), and a note for each."""
    refused: set[tuple[str, str]] = set()
    notes = []
    for op in operations:
        if type(op) is ops.DropIndex:
            foreign = await foreign_attached_indexes(conn, op)
            if foreign:
                refused.add((op.schema, op.index.name))
                notes.append(
                    f"index '{op.schema}.{op.index.name}' on partitioned table "
                    f"'{op.table_name}' is left as it is: dropping it would also drop "
                    f"{', '.join(foreign)}, attached to it but not made by linkgress "
                    "(PostgreSQL cannot detach an index partition); drop it by hand if those "
                    "may go")
    if not refused:
        return operations, []
    kept = [op for op in operations if not (
        isinstance(op, ops.CreateIndex | ops.DropIndex) and (op.schema, op.index.name) in refused)]
    return kept, notes


async def expand_for_partitions(conn: RawConnection, operations: list[ops.Operation]
                                ) -> list[ops.Operation]:
    """``operations`` with each ``create_index`` on a partitioned table made a
    :class:`CreatePartitionedIndex`."""
    trees = await _partitions(conn, operations)
    if not trees:
        return operations
    out: list[ops.Operation] = []
    for op in operations:
        if type(op) is ops.CreateIndex and not op.index.concurrently:
            parts = trees.get(quote_qualified(op.schema, op.table_name))
            if parts:
                op = CreatePartitionedIndex(schema=op.schema, table_name=op.table_name,
                                            index=op.index, partitions=parts)
        out.append(op)
    return out
