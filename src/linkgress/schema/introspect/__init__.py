"""Introspection: read a database into the canonical :class:`~linkgress.schema.snapshot.Schema`.

- :func:`introspect` reads the given schemas (enums, standalone sequences, tables with columns,
  constraints, indexes, foreign keys and comments) into the same values
  :func:`~linkgress.schema.from_model.schema_from_model` builds from a model. Its catalog queries
  run concurrently on several pooled connections that share one exported snapshot, so they see
  one consistent picture (as parallel ``pg_dump`` does).
- :func:`normalize_target` makes a model's schema print like the catalog: PostgreSQL itself
  re-prints defaults, check expressions and index definitions, inside a rolled-back savepoint.

Modules: :mod:`.catalog` (the SQL, as constants), :mod:`.parse` (rows -> snapshot values, pure),
:mod:`.reader` (running the queries, on one connection or concurrently), :mod:`.mirror` (what
normalisation creates and how it folds the printing back, pure) and :mod:`.normalize` (running
it in a rolled-back savepoint).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from linkgress.schema.introspect.normalize import normalize
from linkgress.schema.introspect.others import other_notes
from linkgress.schema.introspect.parse import build_schema
from linkgress.schema.introspect.reader import (
    DEFAULT_WORKERS,
    read_concurrently,
    read_on,
    read_sequential,
)
from linkgress.schema.introspect.views import parse_views
from linkgress.schema.snapshot import Schema

if TYPE_CHECKING:
    from linkgress.client import PgClient
    from linkgress.connection import RawConnection

__all__ = ["introspect", "normalize_target"]


async def introspect(client: PgClient, schemas: Sequence[str], *, exclude: Sequence[str] = (),
                     concurrent: bool = True,
                     connection: RawConnection | None = None) -> Schema:
    """Read ``schemas`` of the database behind ``client`` into a :class:`Schema`.

    Only schemas that exist are listed. Extension-owned objects, linkgress's own state and
    journal tables, and tables matching an ``exclude`` pattern (fnmatch on ``table`` or
    ``schema.table``) are left out. With ``connection``, everything is read on that connection
    (e.g. inside the migration transaction, under its lock); otherwise, with ``concurrent``, the
    queries run on several pooled connections sharing one exported snapshot (sequentially in
    one REPEATABLE READ transaction when ``concurrent`` is false or the pool has one
    connection).

    The result is in canonical order (everything sorted by name; columns in table order), as
    :func:`normalize_target` returns it. ``Schema.notes`` mentions what the snapshot cannot
    represent (invalid indexes, generated columns) and the objects linkgress does not manage
    at all (functions, triggers, rules, policies, composite types, foreign tables: see
    :mod:`.others`). Tables' ``exclude`` patterns also apply to enums, sequences and views.
    """
    names = list(dict.fromkeys(schemas))
    if connection is not None:
        rows = await read_on(connection, names)
    elif concurrent and client.max_size > 1:
        rows = await read_concurrently(client, names, min(DEFAULT_WORKERS, client.max_size))
    else:
        rows = await read_sequential(client, names)
    schema = build_schema(rows, exclude=exclude)
    if not (rows.views or rows.others):
        return schema
    return replace(schema, views=parse_views(rows.views, exclude),
                   notes=(*schema.notes, *other_notes(rows.others, exclude)))


async def normalize_target(conn: RawConnection, target: Schema) -> Schema:
    """Return ``target`` with its defaults, check expressions and index predicates/expressions
    printed as PostgreSQL prints them, so it compares equal to :func:`introspect`'s result.

    Works inside a savepoint on ``conn`` that is always rolled back: nothing is left behind,
    and ``target``'s schemas, enums and sequences need not exist. Types, column defaults
    (``None`` for identity columns), check expressions and index elements and predicates are
    replaced by PostgreSQL's printing; everything else is kept. The result is in canonical
    order. Raises :class:`~linkgress.errors.ModelError` naming the object when PostgreSQL
    rejects the model's SQL (e.g. a check expression naming an unknown column).
    """
    return await normalize(conn, target)
