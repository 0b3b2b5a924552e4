"""What applying an operation does to live traffic and to the rows: its *hazards*.

Pure: an operation and a :class:`HazardContext` (the PostgreSQL major version, and the tables the
same plan creates) in, a tuple of codes out. The codes:

- ``rewrites_table``: the table (and its indexes) is rewritten, under an ACCESS EXCLUSIVE lock;
- ``scans_table``: every row is read (to validate or to build an index) while a lock is held;
- ``blocks_reads``: takes ACCESS EXCLUSIVE on an existing table — even ``SELECT`` waits (and
  queues behind it) until the transaction ends;
- ``blocks_writes``: takes a lock that conflicts with ``INSERT``/``UPDATE``/``DELETE``;
- ``data_dependent``: fails when existing rows break it (``SET NOT NULL``, UNIQUE, a foreign
  key, a CHECK, a narrowing cast) — ``migrate()`` checks the rows first (see
  :mod:`linkgress.schema.prechecks`);
- ``destructive``: drops data (the operation's ``is_destructive``).

A lock code alone means a short lock (catalog-only change); with ``scans_table`` or
``rewrites_table`` it is held for as long as reading or rewriting the table takes. Operations
on a table created by the same plan have no lock, scan or data hazard: nobody uses it yet and it
is empty.

:data:`RULES` is the one table of rules, by ``Operation.type``; every operation kind has one
(a unit test checks it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linkgress.model.types import ColumnType
    from linkgress.schema import domain_ops, online, partition_ops
    from linkgress.schema import operations as ops

REWRITES = "rewrites_table"
SCANS = "scans_table"
BLOCKS_READS = "blocks_reads"
BLOCKS_WRITES = "blocks_writes"
DATA = "data_dependent"
DESTRUCTIVE = "destructive"

#: Every hazard code, in the order they are listed.
HAZARDS = (REWRITES, SCANS, BLOCKS_READS, BLOCKS_WRITES, DATA, DESTRUCTIVE)

#: The PostgreSQL major version assumed when the server's is not known (an operation built by
#: hand rather than planned against a database).
NEWEST_KNOWN_VERSION = 17

_EXCLUSIVE = (BLOCKS_READS, BLOCKS_WRITES)  # ACCESS EXCLUSIVE

# Functions whose result differs per row: a default calling one is evaluated for every
# existing row, so ADD COLUMN rewrites the table even on PostgreSQL 11+.
_VOLATILE = frozenset({
    "random", "clock_timestamp", "timeofday", "gen_random_uuid", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "nextval", "setseed", "random_normal",
    "uuidv4", "uuidv7"})
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_$]*)\s*\(")
_LENGTH_TYPES = frozenset({"character varying", "bit varying"})
_TEXTUAL = frozenset({"text", "character varying"})


@dataclass(frozen=True)
class HazardContext:
    """What hazards depend on besides the operation: the server's major version and the
    ``(schema, table)`` keys of the tables the same plan creates."""

    server_version: int = NEWEST_KNOWN_VERSION
    new_tables: frozenset[tuple[str, str]] = field(default_factory=frozenset)


DEFAULT_CONTEXT = HazardContext()


def is_volatile_default(default: str | None) -> bool:
    """True when the default SQL calls a function linkgress knows to be volatile."""
    if default is None:
        return False
    return any(name.lower().rsplit(".", 1)[-1] in _VOLATILE
               for name in _CALL.findall(default))


def rewrite_free(old: ColumnType, new: ColumnType) -> bool:
    """True when PostgreSQL changes the column's type without rewriting the table: a longer
    or removed length limit (``varchar``, ``varbit``), ``varchar`` to ``text`` and back to
    unbounded ``varchar``, a ``numeric`` precision increase with the same scale, or removing
    the ``numeric`` modifier."""
    if old.dims != new.dims or old.schema != new.schema:
        return False
    if old.name in _TEXTUAL and new.name in _TEXTUAL and not new.params:
        return True
    if old.name != new.name:
        return False
    if old.name in _LENGTH_TYPES:
        return not new.params or (bool(old.params) and new.params[0] >= old.params[0])
    if old.name == "numeric":
        if not new.params:
            return True
        if not old.params:
            return False
        old_scale = old.params[1] if len(old.params) > 1 else 0
        new_scale = new.params[1] if len(new.params) > 1 else 0
        return new_scale == old_scale and new.params[0] >= old.params[0]
    return old.params == new.params


# -- the rules: (operation, context) -> codes ---------------------------------------------------

Rule = Callable[[Any, HazardContext], tuple[str, ...]]


def _none(op: ops.Operation, ctx: HazardContext) -> tuple[str, ...]:
    return ()


def _dropped(op: ops.Operation, ctx: HazardContext) -> tuple[str, ...]:
    return (DESTRUCTIVE,)


def _exclusive(op: ops.Operation, ctx: HazardContext) -> tuple[str, ...]:
    return (*_EXCLUSIVE, DESTRUCTIVE) if op.is_destructive else _EXCLUSIVE


def _drop_foreign_key(op: ops.DropForeignKey, ctx: HazardContext) -> tuple[str, ...]:
    return (BLOCKS_WRITES,)  # SHARE ROW EXCLUSIVE on both tables


def _add_column(op: ops.AddColumn, ctx: HazardContext) -> tuple[str, ...]:
    col = op.column
    rewrites = (col.identity is not None or col.type.serial
                or is_volatile_default(col.default)
                or (col.default is not None and ctx.server_version < 11))
    fails_on_rows = (not col.nullable and col.default is None and col.identity is None
                     and not col.type.serial)
    return ((REWRITES,) if rewrites else ()) + _EXCLUSIVE + ((DATA,) if fails_on_rows else ())


def _alter_column(op: ops.AlterColumn, ctx: HazardContext) -> tuple[str, ...]:
    old, new = op.old, op.new
    out: set[str] = set()
    if old.type != new.type:
        out.update(_EXCLUSIVE)
        if not rewrite_free(old.type, new.type):
            out.add(REWRITES)
        if op.lossy:
            out.update((DATA, DESTRUCTIVE))
    if old.nullable and not new.nullable:
        out.update((SCANS, DATA, *_EXCLUSIVE))
    if old.identity is None and new.identity is not None:
        out.update((SCANS, *_EXCLUSIVE))  # the sequence catches up with max(column)
    if (old.nullable != new.nullable or old.default != new.default
            or old.identity != new.identity):
        out.update(_EXCLUSIVE)
    return tuple(code for code in HAZARDS if code in out)


def _recreate_enum(op: ops.RecreateEnum, ctx: HazardContext) -> tuple[str, ...]:
    out = (REWRITES, *_EXCLUSIVE) if op.columns else ()
    return out + ((DATA, DESTRUCTIVE) if op.removed_values else ())


def _add_primary_key(op: ops.AddPrimaryKey, ctx: HazardContext) -> tuple[str, ...]:
    return (SCANS, *_EXCLUSIVE, DATA)


def _create_unique(op: ops.CreateUniqueConstraint, ctx: HazardContext) -> tuple[str, ...]:
    return (SCANS, *_EXCLUSIVE, DATA)


def _create_check(op: ops.CreateCheckConstraint, ctx: HazardContext) -> tuple[str, ...]:
    return (SCANS, *_EXCLUSIVE, DATA)


def _create_index(op: ops.CreateIndex, ctx: HazardContext) -> tuple[str, ...]:
    # CONCURRENTLY takes SHARE UPDATE EXCLUSIVE: reads and writes go on while it scans.
    locks = () if op.index.concurrently else (BLOCKS_WRITES,)
    return (SCANS, *locks) + ((DATA,) if op.index.unique else ())


def _create_foreign_key(op: ops.CreateForeignKey, ctx: HazardContext) -> tuple[str, ...]:
    # SHARE ROW EXCLUSIVE on both tables; validating reads the referencing table and looks
    # every key up in the referenced one.
    fk = op.foreign_key
    if (op.schema, op.table_name) in ctx.new_tables:
        return () if (fk.ref_schema, fk.ref_table) in ctx.new_tables else (BLOCKS_WRITES,)
    return (SCANS, BLOCKS_WRITES, DATA)


def _alter_domain(op: domain_ops.AlterDomain, ctx: HazardContext) -> tuple[str, ...]:
    # A new NOT NULL or check is validated against every column that uses the domain.
    old, new = op.old, op.new
    if (new.not_null and not old.not_null) or (new.check is not None and new.check != old.check):
        return (SCANS, BLOCKS_WRITES, DATA)
    return ()


def _create_partition(op: partition_ops.CreatePartition,
                      ctx: HazardContext) -> tuple[str, ...]:
    # ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent (reads and writes go on) and
    # scans the default partition, if there is one, for rows that now belong to the new one.
    return (SCANS,)


def _change_partition_bound(op: partition_ops.ChangePartitionBound,
                            ctx: HazardContext) -> tuple[str, ...]:
    # DETACH takes ACCESS EXCLUSIVE on the parent; ATTACH checks every row of the partition
    # against the new bound.
    return (SCANS, *_EXCLUSIVE, DATA)


def _online_form(op: online.OnlineForm, ctx: HazardContext) -> tuple[str, ...]:
    # The in-transaction part of an online form (NOT VALID, a check in place of SET NOT NULL)
    # takes the original's lock only briefly: no scan, nothing checked against the rows yet.
    if not op.statements:
        return ()
    return tuple(code for code in hazards_of(op.original, ctx)
                 if code in (BLOCKS_READS, BLOCKS_WRITES, DESTRUCTIVE))


def _create_view(op: ops.CreateView, ctx: HazardContext) -> tuple[str, ...]:
    # A new view locks nothing others use; OR REPLACE takes ACCESS EXCLUSIVE on the view; a
    # materialized view runs its query over the tables it reads.
    if op.view.materialized:
        return (SCANS,)
    return _EXCLUSIVE if op.replace else ()


def _drop_view(op: ops.DropView, ctx: HazardContext) -> tuple[str, ...]:
    # ACCESS EXCLUSIVE on the view only; a view holds no rows of its own.
    return _EXCLUSIVE


#: The rules, by ``Operation.type``.
RULES: dict[str, Rule] = {
    "create_schema": _none,
    "drop_schema": _dropped,
    "create_enum": _none,
    "drop_enum": _dropped,
    "add_enum_value": _none,
    "recreate_enum": _recreate_enum,
    "create_sequence": _none,
    "drop_sequence": _dropped,
    "alter_sequence": _none,
    "create_table": _none,
    "drop_table": _exclusive,
    "rename_table": _exclusive,
    "set_table_comment": _none,  # COMMENT takes SHARE UPDATE EXCLUSIVE
    "add_column": _add_column,
    "drop_column": _exclusive,
    "alter_column": _alter_column,
    "rename_column": _exclusive,
    "add_primary_key": _add_primary_key,
    "drop_primary_key": _exclusive,
    "create_unique_constraint": _create_unique,
    "drop_unique_constraint": _exclusive,
    "create_check_constraint": _create_check,
    "drop_check_constraint": _exclusive,
    "create_index": _create_index,
    "drop_index": _exclusive,
    "create_foreign_key": _create_foreign_key,
    "drop_foreign_key": _drop_foreign_key,
    "create_domain": _none,
    "alter_domain": _alter_domain,
    "drop_domain": _dropped,
    "create_partition": _create_partition,
    "drop_partition": _exclusive,  # DETACH: ACCESS EXCLUSIVE on the parent
    "change_partition_bound": _change_partition_bound,
    "online_form": _online_form,
    "create_view": _create_view,
    "drop_view": _drop_view,
}


def hazards_of(op: ops.Operation, ctx: HazardContext = DEFAULT_CONTEXT) -> tuple[str, ...]:
    """The hazard codes of ``op`` (in :data:`HAZARDS` order). Raises ``KeyError`` naming the
    operation type when no rule covers it (a test keeps that from happening)."""
    rule = RULES.get(op.type)
    if rule is None:
        raise KeyError(f"no hazard rule for operation type {op.type!r}")
    codes = rule(op, ctx)
    key = (getattr(op, "schema", None), getattr(op, "table_name", None))
    if op.type != "create_foreign_key" and key in ctx.new_tables:
        codes = tuple(code for code in codes if code == DESTRUCTIVE)
    return codes


def unallowed(operations: list[ops.Operation],
              allowed: set[str]) -> list[tuple[ops.Operation, tuple[str, ...]]]:
    """``(operation, its hazards not in allowed)`` for each operation that has any."""
    out = []
    for op in operations:
        bad = tuple(code for code in op.hazards if code not in allowed)
        if bad:
            out.append((op, bad))
    return out


def in_context(operations: list[ops.Operation], server_version: int) -> list[ops.Operation]:
    """``operations`` with the hazard context of their plan: ``server_version`` (major) and
    the tables the plan creates."""
    new_tables = frozenset((getattr(op, "schema"), getattr(op, "table_name"))  # noqa: B009
                           for op in operations if op.type == "create_table")
    ctx = HazardContext(server_version=server_version, new_tables=new_tables)
    return [replace(op, hazard_context=ctx) for op in operations]


HAZARD_HEADER = "Hazards:"


def hazard_lines(operations: list[ops.Operation]) -> list[str]:
    """``Hazards:`` then ``  <n>. <describe()>: <codes>`` for each operation of the plan that
    has any (numbered as in the plan); [] when none has."""
    lines = [f"  {i}. {op.describe()}: {', '.join(op.hazards)}"
             for i, op in enumerate(operations, start=1) if op.hazards]
    return [HAZARD_HEADER, *lines] if lines else []
