"""Model features that need a newer PostgreSQL than the one connected: refused with a clear
error before anything runs, instead of a syntax error from the server halfway through."""

from __future__ import annotations

from linkgress.errors import ModelError
from linkgress.schema.snapshot import Schema

NULLS_NOT_DISTINCT_FROM = 15


def check_server_supports(target: Schema, server_major: int) -> None:
    """Raise :class:`~linkgress.errors.ModelError` naming the first unique constraint or index
    of ``target`` that PostgreSQL ``server_major`` cannot create (``nulls_not_distinct``
    needs PostgreSQL 15)."""
    if server_major >= NULLS_NOT_DISTINCT_FROM:
        return
    for table in target.tables:
        items = [("unique constraint", u.name, u.nulls_not_distinct) for u in table.uniques]
        items += [("index", i.name, i.nulls_not_distinct) for i in table.indexes]
        for kind, name, nulls_not_distinct in items:
            if nulls_not_distinct:
                raise ModelError(
                    f"{kind} {name!r} on table '{table.schema}.{table.name}' uses "
                    f"nulls_not_distinct, which needs PostgreSQL {NULLS_NOT_DISTINCT_FROM} or "
                    f"newer; the server is PostgreSQL {server_major}")
