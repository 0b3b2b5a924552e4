"""The managed-state record after a journaled ``up()``/``down()``.

DESIGN.md: after every successful journaled migration the executor records "the model's objects
that now exist". What a migration file did is arbitrary SQL, so the runner does not trust the
model blindly: in the migration's transaction it reads which objects exist (names only, with
the same cheap catalog read ``ensure_created()`` uses, plus column names) and records the
model's (normalised) definitions of exactly those — schemas, enums, sequences, tables, and
within each table the columns, keys, constraints, indexes and foreign keys present by name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from linkgress.schema.existing import ExistingObjects, read_existing
from linkgress.schema.snapshot import Schema, Table

if TYPE_CHECKING:
    from linkgress.connection import RawConnection
    from linkgress.schema.executor import MigrationExecutor

COLUMN_NAMES = """
SELECT n.nspname AS schema, c.relname AS table, a.attname AS name
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
   AND n.nspname = ANY($1::text[])
"""


def _existing_table(table: Table, existing: ExistingObjects,
                    columns: set[tuple[str, str, str]]) -> Table:
    s, t = table.key

    def has_constraint(name: str) -> bool:
        return (s, t, name) in existing.constraints

    pk = table.primary_key
    return replace(
        table,
        columns=tuple(c for c in table.columns if (s, t, c.name) in columns),
        primary_key=pk if pk is not None and has_constraint(pk.name) else None,
        uniques=tuple(u for u in table.uniques if has_constraint(u.name)),
        checks=tuple(c for c in table.checks if has_constraint(c.name)),
        indexes=tuple(i for i in table.indexes if (s, i.name) in existing.indexes),
        foreign_keys=tuple(f for f in table.foreign_keys if has_constraint(f.name)),
    )


def existing_part(target: Schema, existing: ExistingObjects,
                  columns: set[tuple[str, str, str]]) -> Schema:
    """The objects of ``target`` that ``existing`` (and ``columns``) hold, by name. Pure."""
    return Schema(
        schemas=tuple(s for s in target.schemas if s in existing.schemas),
        enums=tuple(e for e in target.enums if e.key in existing.enums),
        sequences=tuple(q for q in target.sequences if q.key in existing.sequences),
        tables=tuple(_existing_table(t, existing, columns) for t in target.tables
                     if t.key in existing.tables),
        views=tuple(v for v in target.views if v.key in existing.views),
    )


async def record_managed_state(executor: MigrationExecutor, conn: RawConnection,
                               target: Schema) -> Schema:
    """Record (in ``conn``'s transaction) the part of ``target`` that exists; returns it.

    ``target`` is first normalised as ``migrate()`` records it (defaults and expressions as
    PostgreSQL prints them), so both paths leave the same kind of record.
    """
    from linkgress.schema.introspect import normalize_target

    target = await normalize_target(conn, target)
    schemas = list(target.schemas)
    existing = await read_existing(conn, schemas)
    columns = {(r["schema"], r["table"], r["name"])
               for r in await conn.fetch(COLUMN_NAMES, schemas)}
    managed = existing_part(target, existing, columns)
    await executor.write_state(conn, managed)
    return managed
