"""Dependency ordering of operations (pure).

Each operation kind belongs to a phase; phases run in this order and operations keep their
relative order inside a phase (a stable sort), so the differ's order within a kind — labels
added in sequence, tables in model order — survives.

0. Drop views first (dependents before what they read): before the tables and columns they
   read go or change type.
1. Drop foreign keys: before the tables, columns and keys they involve go or change.
2. Drop indexes, then unique/check/primary-key constraints (before their columns go, which
   would take them along and make the explicit drop fail).
3. Drop tables, then columns.
4. Create schemas, then enums (create, add labels, recreate), then domains (create, alter;
   a domain may be over an enum), then sequences — types and sequences exist before any column
   uses them.
5. Create tables, rename columns (before adds, which may reuse an old name), add columns,
   alter columns and comments.
6. Add primary keys, unique and check constraints, then foreign keys (their referenced keys
   exist by now), then indexes, then partitions (created with a copy of each index, then
   attached; a partition is detached and dropped just before the tables), then views (in
   dependency order), over the finished tables.
7. Drop sequences, domains, enums and schemas only after every table and column that used
   them changed.
"""

from __future__ import annotations

from linkgress.schema import domain_ops
from linkgress.schema import operations as ops
from linkgress.schema.partition_ops import ChangePartitionBound, CreatePartition, DropPartition

PHASES: tuple[tuple[type[ops.Operation], ...], ...] = (
    (ops.DropView,),
    (ops.DropForeignKey,),
    (ops.DropIndex,),
    (ops.DropUniqueConstraint, ops.DropCheckConstraint, ops.DropPrimaryKey),
    (DropPartition,),
    (ops.DropTable,),
    (ops.DropColumn,),
    (ops.CreateSchema,),
    (ops.CreateEnum, ops.AddEnumValue, ops.RecreateEnum),
    (domain_ops.CreateDomain, domain_ops.AlterDomain),
    (ops.CreateSequence, ops.AlterSequence),
    (ops.CreateTable, ops.RenameTable),
    (ops.RenameColumn,),
    (ops.AddColumn,),
    (ops.AlterColumn, ops.SetTableComment),
    (ops.AddPrimaryKey, ops.CreateUniqueConstraint, ops.CreateCheckConstraint),
    (ops.CreateForeignKey,),
    (ops.CreateIndex,),
    (CreatePartition, ChangePartitionBound),
    (ops.CreateView,),
    (ops.DropSequence,),
    (domain_ops.DropDomain,),
    (ops.DropEnum,),
    (ops.DropSchema,),
)

_PHASE_OF: dict[type[ops.Operation], int] = {
    kind: number for number, kinds in enumerate(PHASES) for kind in kinds}


def phase(operation: ops.Operation) -> int:
    """The phase ``operation`` runs in; an unknown kind (a subclass added later) runs with
    the alters, after everything is created and before anything created last depends on it."""
    for kind in type(operation).__mro__:
        if kind in _PHASE_OF:
            return _PHASE_OF[kind]
    return _PHASE_OF[ops.AlterColumn]


def order_operations(operations: list[ops.Operation]) -> list[ops.Operation]:
    """Return ``operations`` in an order PostgreSQL accepts: the phases above, stable within
    each. Pure; the input list is not changed."""
    return sorted(operations, key=phase)
