"""Views that read what a migration changes, found before anything runs (bug: a type change
under a view used to fail late, in the middle of the migration).

PostgreSQL refuses to change the type of a column a view reads, to drop such a column or table
without CASCADE, and to drop a view another view reads. So, after the diff, the plan's
*triggers* (columns whose type changes or that are dropped, tables dropped, views dropped —
also to be created again) are looked up in ``pg_depend`` / ``pg_rewrite``, in every schema,
following views of views. Each view found is

- a view of the model: dropped before the change and created again after it from the model's
  definition, inside the same transaction (rows are never touched: a view holds none);
- a view the plan already drops: nothing more to do;
- any other (unmanaged) view: never dropped; a note names it and the plan is *blocked* —
  ``analyze_full()`` says so, ``migrate()`` raises :class:`~linkgress.errors.MigrationError`
  before any DDL.

:func:`views_around` is the pure half (unit-tested); :func:`dependent_views` reads the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from linkgress.schema import operations as ops
from linkgress.schema.diff import DiffResult, order_operations
from linkgress.schema.diff.views import kind, order_views, refill_note
from linkgress.schema.introspect.views import VIEW_COLUMNS, parse_view
from linkgress.schema.quoting import quote_qualified
from linkgress.schema.snapshot import Schema, View

if TYPE_CHECKING:
    from linkgress.connection import RawConnection


@dataclass(frozen=True)
class Trigger:
    """A relation (quoted, qualified) or one of its columns that the plan changes, and why."""

    relation: str
    column: str | None
    reason: str


def _label(schema: str, *names: str) -> str:
    return ".".join((schema, *names))


def _enum_trigger(op: ops.RecreateEnum, use: ops.EnumColumnUse) -> Trigger:
    column = _label(use.schema, use.table_name, use.column_name)
    return Trigger(quote_qualified(use.schema, use.table_name), use.column_name,
                   f"the type of column '{column}' (enum '{op.enum_name}' is recreated)")


def triggers(operations: list[ops.Operation]) -> list[Trigger]:
    """What in ``operations`` a view may stand in the way of."""
    out = []
    for op in operations:
        if isinstance(op, ops.AlterColumn) and op.old.type != op.new.type:
            column = _label(op.schema, op.table_name, op.old.name)
            out.append(Trigger(quote_qualified(op.schema, op.table_name), op.old.name,
                               f"the type of column '{column}', which changes"))
        elif isinstance(op, ops.DropColumn):
            column = _label(op.schema, op.table_name, op.column.name)
            out.append(Trigger(quote_qualified(op.schema, op.table_name), op.column.name,
                               f"column '{column}', which is dropped"))
        elif isinstance(op, ops.RecreateEnum):
            out += [_enum_trigger(op, use) for use in op.columns]
        elif isinstance(op, ops.DropTable):
            out.append(Trigger(quote_qualified(*op.table.key), None,
                               f"table '{_label(*op.table.key)}', which is dropped"))
        elif isinstance(op, ops.DropView):
            out.append(Trigger(quote_qualified(*op.view.key), None,
                               f"{kind(op.view)} '{_label(*op.view.key)}', which is dropped"))
    return out


# $1, $2, $3: the triggers' relations, columns (NULL: the whole relation) and reasons.
# Views of views are followed (a view's dependencies are those of its _RETURN rule).
DEPENDENT_VIEWS = f"""
WITH RECURSIVE start AS (
    SELECT to_regclass(s.rel)::oid AS oid, a.attnum, s.reason
      FROM unnest($1::text[], $2::text[], $3::text[]) AS s(rel, col, reason)
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid = to_regclass(s.rel) AND a.attname = s.col
     WHERE to_regclass(s.rel) IS NOT NULL AND (s.col IS NULL OR a.attnum IS NOT NULL)
), found(oid, reason) AS (
    SELECT r.ev_class, s.reason
      FROM start s
      JOIN pg_catalog.pg_depend d
        ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = s.oid
       AND d.classid = 'pg_catalog.pg_rewrite'::regclass
       AND (s.attnum IS NULL OR d.refobjsubid = s.attnum)
      JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.rulename = '_RETURN'
     WHERE r.ev_class <> s.oid
  UNION
    SELECT r.ev_class, f.reason
      FROM found f
      JOIN pg_catalog.pg_depend d
        ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = f.oid
       AND d.classid = 'pg_catalog.pg_rewrite'::regclass
      JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.rulename = '_RETURN'
     WHERE r.ev_class <> f.oid
)
SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'm' AS materialized,
       ARRAY(SELECT DISTINCT f2.reason FROM found f2 WHERE f2.oid = c.oid
              ORDER BY 1) AS reasons,{VIEW_COLUMNS}
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid IN (SELECT oid FROM found)
 ORDER BY n.nspname, c.relname
"""


async def dependent_views(conn: RawConnection, found: list[Trigger]
                          ) -> list[tuple[View, tuple[str, ...]]]:
    """The views (with the reasons they are in the way) that read the ``found`` triggers."""
    if not found:
        return []
    rows = await conn.fetch(DEPENDENT_VIEWS, [t.relation for t in found],
                            [t.column for t in found], [t.reason for t in found])
    return [(parse_view(row), tuple(row["reasons"])) for row in rows]


def views_around(result: DiffResult, dependents: list[tuple[View, tuple[str, ...]]],
                 target: Schema) -> DiffResult:
    """``result`` with each dependent view of the model dropped before and created after the
    change, and each unmanaged one noted and blocking (see the module). Pure."""
    operations = list(result.operations)
    dropped = {op.view.key for op in operations if isinstance(op, ops.DropView)}
    notes, blocked = list(result.notes), list(result.blocked)
    for view, reasons in dependents:
        if view.key in dropped:
            continue
        declared = target.view(*view.key)
        if declared is None:
            note = (f"unmanaged {kind(view)} '{view.qualified_name}' reads "
                    f"{' and '.join(reasons)}: PostgreSQL refuses the change while it "
                    "exists; drop it first, or declare it with model.has_view(...) so "
                    "that linkgress drops and re-creates it around the change")
            notes.append(note)
            blocked.append(note)
            continue
        operations = [op for op in operations
                      if not (isinstance(op, ops.CreateView) and op.view.key == view.key)]
        operations += [ops.DropView(view=view), ops.CreateView(view=declared)]
        dropped.add(view.key)
        if view.materialized:
            notes.append(refill_note(view))
    if len(operations) == len(result.operations) and len(notes) == len(result.notes):
        return result
    return DiffResult(operations=order_views(order_operations(operations), target),
                      notes=notes, blocked=blocked)


async def with_dependent_views(conn: RawConnection, result: DiffResult,
                               target: Schema) -> DiffResult:
    """:func:`views_around` over the views the database says read the plan's triggers;
    no round trip when the plan has none."""
    found = triggers(result.operations)
    if not found:
        return result
    return views_around(result, await dependent_views(conn, found), target)
