"""What ``DROP TABLE ... CASCADE`` would take besides the tables: read from ``pg_depend``
before ``ensure_deleted()`` drops anything, so nothing linkgress does not manage disappears
unannounced (DESIGN.md, "What linkgress manages, and what it never drops").

A table's own parts (columns, indexes, constraints, triggers, owned sequences, its row type)
go with it without CASCADE; CASCADE adds the objects with a *normal* dependency on the table or
its row type: views (followed recursively: a view on such a view goes too), other tables'
foreign keys, rules, SQL functions with a ``BEGIN ATOMIC`` body, columns typed by the row type.
Foreign keys between the dropped tables themselves are linkgress's and are not reported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import asyncpg

from linkgress.errors import MigrationError
from linkgress.schema.existing import read_existing
from linkgress.schema.operations import Operation
from linkgress.schema.plan import plan_drop
from linkgress.schema.quoting import quote_ident, quote_qualified
from linkgress.schema.snapshot import Schema, Table, View

if TYPE_CHECKING:
    from linkgress.connection import RawConnection
    from linkgress.schema.executor import MigrationExecutor

log = logging.getLogger("linkgress.migrate")

# $1: the tables as quoted qualified names. ``ours``: the tables and their partitions (which
# go with them, with the foreign keys PostgreSQL cloned onto them). ``gone``: those and,
# recursively, the views built on them (a view is its ``_RETURN`` rule's relation).
CASCADE_VICTIMS = """
WITH RECURSIVE ours(oid) AS (
    SELECT to_regclass(name)::oid FROM unnest($1::text[]) AS name
     WHERE to_regclass(name) IS NOT NULL
  UNION
    SELECT h.inhrelid
      FROM ours
      JOIN pg_catalog.pg_inherits h ON h.inhparent = ours.oid
      JOIN pg_catalog.pg_class pc ON pc.oid = h.inhrelid AND pc.relispartition
), gone(oid) AS (
    SELECT oid FROM ours
  UNION
    SELECT r.ev_class
      FROM gone
      JOIN pg_catalog.pg_class c ON c.oid = gone.oid
      JOIN pg_catalog.pg_depend d
        ON d.deptype = 'n' AND d.classid = 'pg_catalog.pg_rewrite'::regclass
       AND ((d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = gone.oid)
            OR (d.refclassid = 'pg_catalog.pg_type'::regclass AND d.refobjid = c.reltype))
      JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.rulename = '_RETURN'
)
SELECT DISTINCT CASE WHEN r.rulename = '_RETURN'
                     THEN pg_catalog.pg_describe_object('pg_catalog.pg_class'::regclass,
                                                        r.ev_class, 0)
                     ELSE pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
                END AS description
  FROM gone
  JOIN pg_catalog.pg_class c ON c.oid = gone.oid
  JOIN pg_catalog.pg_depend d
    ON d.deptype = 'n'
   AND ((d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = gone.oid)
        OR (d.refclassid = 'pg_catalog.pg_type'::regclass AND d.refobjid = c.reltype))
  LEFT JOIN pg_catalog.pg_rewrite r
    ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND r.oid = d.objid
  LEFT JOIN pg_catalog.pg_constraint con
    ON d.classid = 'pg_catalog.pg_constraint'::regclass AND con.oid = d.objid
 WHERE NOT (d.classid = 'pg_catalog.pg_class'::regclass AND d.objid IN (SELECT oid FROM gone))
   AND (con.oid IS NULL OR con.conrelid NOT IN (SELECT oid FROM ours))
   AND (r.oid IS NULL OR r.ev_class NOT IN (SELECT oid FROM ours))
 ORDER BY 1
"""


class DeletedObjects(list[Operation]):
    """What ``ensure_deleted()`` returns: the operations applied (a plain list of them), and in
    ``cascaded`` the objects linkgress did not manage that went with the tables (CASCADE), as
    PostgreSQL describes them (``view public.sink_count``)."""

    def __init__(self, operations: Iterable[Operation] = (),
                 cascaded: Iterable[str] = ()) -> None:
        super().__init__(operations)
        self.cascaded: list[str] = list(cascaded)


async def cascade_victims(conn: RawConnection, tables: Iterable[Table | View]) -> list[str]:
    """The objects (as PostgreSQL describes them) that dropping ``tables`` (and the managed
    views given with them) with CASCADE would also drop, and that are not part of those;
    [] when a plain DROP suffices."""
    names = [quote_qualified(t.schema, t.name) for t in tables]
    if not names:
        return []
    return [row["description"] for row in await conn.fetch(CASCADE_VICTIMS, names)]


async def drop_owned(executor: MigrationExecutor, conn: RawConnection, owned: Schema, *,
                     cascade: bool, keep_schema: str, level: int) -> DeletedObjects:
    """``ensure_deleted()``'s work on the locked connection: drop what ``owned`` lists and
    exists (with CASCADE when something unmanaged depends on it, refused unless ``cascade``),
    the schemas it leaves empty (never ``keep_schema``, the state's), and the state record."""
    existing = await read_existing(conn, list(owned.schemas))
    victims = await cascade_victims(
        conn, [*(t for t in owned.tables if t.key in existing.tables),
               *(v for v in owned.views if v.key in existing.views)])
    if victims and not cascade:
        raise MigrationError(
            "ensure_deleted(cascade=False) refused: dropping the tables would also "
            f"drop objects linkgress does not manage: {', '.join(victims)}; "
            "nothing was dropped")
    operations = plan_drop(owned, existing, cascade=bool(victims))
    await executor.apply(conn, operations)
    for name in owned.schemas:
        if name not in ("public", keep_schema) and name in existing.schemas:
            await _drop_schema_if_empty(conn, name, level)
    await executor.clear_state(conn)
    return DeletedObjects(operations, victims)


async def _drop_schema_if_empty(conn: RawConnection, name: str, level: int) -> None:
    # RESTRICT (the default) refuses when anything else lives there; that is the point.
    try:
        async with conn.transaction():
            await conn.execute(f"DROP SCHEMA {quote_ident(name)}")
    except asyncpg.DependentObjectsStillExistError:
        log.log(level, "kept schema %r: it holds objects linkgress does not manage", name)
