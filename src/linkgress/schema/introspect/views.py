"""Views and materialized views: the catalog query, its rows as :class:`View` values (pure),
and the printing of the model's view queries by PostgreSQL.

Both sides are compared through ``pg_get_viewdef``. The database side is read as it is. The
model's query is printed by creating it as a temporary view, in a transaction or savepoint
that is always rolled back, over the tables as they are now: when that works, the model's
view carries PostgreSQL's printing (and its columns) and compares equal to an unchanged view.
When it cannot be created yet (it reads a table or column this migration adds), the model's
text stays as written, and the view is replaced.

All the views to print are created in one savepoint and read back with one query (one by one
only when one of them fails), and a printing equal to the database's is remembered for the
process, keyed by the model's view and the database's printing: a no-op ``migrate()`` at every
service start prints each view once, later ones not at all.
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

# The printing of the temporary views named by ``$1``, as VIEWS reads them.
TEMP_VIEWS = f"""
SELECT c.relname AS name, c.relkind = 'm' AS materialized,{VIEW_COLUMNS}
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname = ANY($1::text[])
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


# Printings already obtained in this process: (model view, database view) -> the model's view
# as printed. Only kept when both printed the same, so a hit means "unchanged"; a database
# view that prints differently now (changed by hand, or another search_path) misses.
_PRINTED: dict[tuple[View, str, tuple[tuple[str, str], ...]], View] = {}
_PRINTED_MAX = 4096


def _cache_key(view: View, existing: View) -> tuple[View, str, tuple[tuple[str, str], ...]]:
    return (view, existing.definition, existing.columns)


async def _create_probes(conn: RawConnection, views: list[View]) -> dict[str, View]:
    """Create every view as a temporary one (``PROBE_n``) and read their printing back."""
    names = {f"{PROBE}_{n}": view for n, view in enumerate(views)}
    for name, view in names.items():
        await execute_one(conn, f"CREATE TEMPORARY VIEW {quote_ident(name)} "
                                f"AS {view.definition}")
    out = {}
    for row in await conn.fetch(TEMP_VIEWS, list(names)):
        view = names[row["name"]]
        printed = parse_view(row, schema=view.schema)
        out[row["name"]] = replace(view, definition=printed.definition, columns=printed.columns)
    return out


async def _probe(conn: RawConnection, views: list[View]) -> dict[tuple[str, str], View]:
    """The printing of each of ``views`` PostgreSQL can create now, in a rolled-back
    savepoint: all at once, or (when one fails) one by one."""
    await conn.execute(f"SAVEPOINT {PROBE}")
    try:
        return {v.key: v for v in (await _create_probes(conn, views)).values()}
    except asyncpg.PostgresError:
        if len(views) == 1:
            return {}
    finally:
        await conn.execute(f"ROLLBACK TO SAVEPOINT {PROBE}; RELEASE SAVEPOINT {PROBE}")
    out: dict[tuple[str, str], View] = {}
    for view in views:
        out.update(await _probe(conn, [view]))
    return out


async def print_views(conn: RawConnection, current: Schema, target: Schema) -> Schema:
    """``target`` with the queries of its views that exist in ``current`` printed by
    PostgreSQL (see the module); changes nothing in the database."""
    pending = to_print(current, target)
    if not pending:
        return target
    existing = {v.key: v for v in current.views}
    printed = {v.key: _PRINTED[k] for v in pending
               if (k := _cache_key(v, existing[v.key])) in _PRINTED}
    probe = [v for v in pending if v.key not in printed]
    if probe:
        transaction = conn.transaction()
        await transaction.start()
        try:
            printed.update(await _probe(conn, probe))
        finally:
            await transaction.rollback()
        _remember(probe, existing, printed)
    return replace(target, views=tuple(printed.get(v.key, v) for v in target.views))


def _remember(probed: list[View], existing: dict[tuple[str, str], View],
              printed: dict[tuple[str, str], View]) -> None:
    if len(_PRINTED) > _PRINTED_MAX:
        _PRINTED.clear()
    for view in probed:
        got = printed.get(view.key)
        if got is not None and got.definition == existing[view.key].definition:
            _PRINTED[_cache_key(view, existing[view.key])] = got


async def read_views(conn: RawConnection, schemas: Sequence[str]) -> tuple[View, ...]:
    """The views of ``schemas`` as the database prints them (one catalog query)."""
    return parse_views(await conn.fetch(VIEWS, list(dict.fromkeys(schemas))))


def as_printed(snapshot: Schema, printed: Sequence[View]) -> Schema:
    """``snapshot`` with each view's query and columns as in ``printed`` (the database's views
    right after a successful migration, which are exactly the model's): recorded so, the
    state lets the next ``migrate()`` of the same model compare without printing anything."""
    if not snapshot.views:
        return snapshot
    by_key = {v.key: v for v in printed}
    views = []
    for view in snapshot.views:
        got = by_key.get(view.key)
        if got is not None and got.materialized == view.materialized:
            view = replace(view, definition=got.definition, columns=got.columns)
        views.append(view)
    return replace(snapshot, views=tuple(views))
