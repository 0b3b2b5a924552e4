"""Views and materialized views: the catalog query, its rows as :class:`View` values (pure),
and the printing of the model's view queries by PostgreSQL.

Both sides are compared through ``pg_get_viewdef``. The database side is read as it is. The
model's query is printed by creating it as a temporary view, in a transaction or savepoint
that is always rolled back, over the tables as they are now: when that works, the model's
view carries PostgreSQL's printing (and its columns) and compares equal to an unchanged view.
When it cannot be created yet (it reads a table or column this migration adds), the model's
text stays as written, and the view is replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import asyncpg

from linkgress.model.views import view_query
from linkgress.schema.introspect.parse import Row, is_excluded
from linkgress.schema.quoting import quote_ident
from linkgress.schema.rawsql import execute_one
from linkgress.schema.snapshot import Schema, View

if TYPE_CHECKING:
    from linkgress.connection import RawConnection

# ``depends_on``: the views and materialized views this one reads (through its rewrite rule).
VIEW_COLUMNS = """
       pg_catalog.pg_get_viewdef(c.oid) AS definition,
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum) AS column_names,
       ARRAY(SELECT pg_catalog.format_type(a.atttypid, a.atttypmod)
               FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum) AS column_types,
       ARRAY(SELECT DISTINCT rn.nspname || '.' || rc.relname
               FROM pg_catalog.pg_rewrite r
               JOIN pg_catalog.pg_depend d
                 ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> c.oid
               JOIN pg_catalog.pg_class rc ON rc.oid = d.refobjid AND rc.relkind IN ('v', 'm')
               JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
              WHERE r.ev_class = c.oid) AS depends_on"""

VIEWS = f"""
SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'm' AS materialized,{VIEW_COLUMNS}
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1::text[])
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep
                    WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = c.oid
                      AND dep.deptype = 'e')
 ORDER BY n.nspname, c.relname
"""

# The printing of one temporary view (``$1``: its name), as VIEWS reads it.
TEMP_VIEW = f"""
SELECT c.relname AS name, c.relkind = 'm' AS materialized,{VIEW_COLUMNS}
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname = $1
"""

PROBE = "__linkgress_view_probe"


def parse_view(row: Row, *, schema: str | None = None) -> View:
    """One row of :data:`VIEWS` (or :data:`TEMP_VIEW`, then named in ``schema``)."""
    return View(schema=schema if schema is not None else row["schema"], name=row["name"],
                definition=view_query(row["definition"]),
                materialized=bool(row["materialized"]),
                depends_on=tuple(sorted(row["depends_on"])),
                columns=tuple(zip(row["column_names"], row["column_types"], strict=True)))


def parse_views(rows: Sequence[Row], exclude: Sequence[str] = ()) -> tuple[View, ...]:
    """The rows of :data:`VIEWS` as views, sorted by key, without the excluded ones."""
    views = [parse_view(r) for r in rows if not is_excluded(r["schema"], r["name"], exclude)]
    return tuple(sorted(views, key=lambda v: v.key))


def to_print(current: Schema, target: Schema) -> list[View]:
    """The target's views whose text differs from the database's printing of the same view."""
    out = []
    for view in target.views:
        existing = current.view(*view.key)
        if existing is not None and existing.definition != view.definition:
            out.append(view)
    return out


async def _printed(conn: RawConnection, view: View) -> View | None:
    """``view`` with PostgreSQL's printing of its query and its columns, or None when
    PostgreSQL cannot create it now (it is rolled back either way)."""
    await conn.execute(f"SAVEPOINT {PROBE}")
    try:
        await execute_one(conn, f"CREATE TEMPORARY VIEW {quote_ident(PROBE)} "
                                f"AS {view.definition}")
        row = await conn.fetchrow(TEMP_VIEW, PROBE)
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.execute(f"ROLLBACK TO SAVEPOINT {PROBE}; RELEASE SAVEPOINT {PROBE}")
    assert row is not None
    printed = parse_view(row, schema=view.schema)
    return replace(view, definition=printed.definition, columns=printed.columns)


async def print_views(conn: RawConnection, current: Schema, target: Schema) -> Schema:
    """``target`` with the queries of its views that exist in ``current`` printed by
    PostgreSQL (see the module); changes nothing in the database."""
    pending = to_print(current, target)
    if not pending:
        return target
    printed: dict[tuple[str, str], View] = {}
    transaction = conn.transaction()
    await transaction.start()
    try:
        for view in pending:
            got = await _printed(conn, view)
            if got is not None:
                printed[view.key] = got
    finally:
        await transaction.rollback()
    return replace(target, views=tuple(printed.get(v.key, v) for v in target.views))
