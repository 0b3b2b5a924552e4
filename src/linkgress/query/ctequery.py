"""``cte(name, query)`` and ``recursive_cte(name, anchor, lambda self: query)``: queryables
over a common table expression (the builders' floor).

A CTE queryable is a :class:`~linkgress.query.queryable.Queryable` whose source is the CTE
(:mod:`linkgress.query.ctes`): filter it, project it, join it or join to it; every statement
using it compiles to one ``WITH [RECURSIVE] ... SELECT``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.ctes import CteSource, check_recursive_part, cte_source
from linkgress.query.queryable import Queryable
from linkgress.query.statements import SelectQuery

__all__ = ["cte", "recursive_cte"]


def _queryable(query: Any, what: str) -> Queryable[Any]:
    if not isinstance(query, Queryable):
        raise QueryBuildError(f"{what} needs a query (db.table.where(...)...), got {query!r}")
    return query


def _over(query: Queryable[Any], source: CteSource) -> Queryable[Any]:
    return Queryable(query._context, SelectQuery(source, projection=source.default),
                     cache=query._cache)


def cte(name: str, query: Queryable[Any], materialized: bool | None = None) -> Queryable[Any]:
    """A common table expression named ``name`` over ``query``: a queryable usable as a
    source and in joins. Its rows are ``query``'s entities, or dicts when ``query`` selects a
    dict of columns. ``materialized`` True / False renders ``[NOT] MATERIALIZED`` (None:
    PostgreSQL decides). Raises :class:`~linkgress.errors.QueryBuildError` for a name that
    is not an identifier or a query whose rows cannot be a CTE's."""
    query = _queryable(query, "cte()")
    return _over(query, cte_source(name, query._query, materialized))


def recursive_cte(name: str, anchor: Queryable[Any],
                  recursive: Callable[[Queryable[Any]], Queryable[Any]], union: bool = False,
                  materialized: bool | None = None) -> Queryable[Any]:
    """A recursive CTE: ``anchor``'s rows, then the rows ``recursive(self)`` adds from the
    rows found so far (``self`` is the CTE as a queryable, to join), until none is new:
    ``WITH RECURSIVE name AS (anchor UNION ALL recursive)`` (``union=True``: ``UNION``,
    dropping duplicates). The recursive query must return rows shaped like the anchor's."""
    anchor = _queryable(anchor, "recursive_cte()")
    if not callable(recursive) or not isinstance(union, bool):
        raise QueryBuildError("recursive_cte(name, anchor, lambda self: query, union=False): "
                              f"got {recursive!r} and union={union!r}")
    source = cte_source(name, anchor._query, materialized)
    part = _queryable(recursive(_over(anchor, source)), "recursive_cte()'s lambda")
    statement = part._statement()
    check_recursive_part(source, part._projection())
    definition = source.cte
    definition.recursive = statement
    definition.union = "UNION" if union else "UNION ALL"
    return _over(anchor, source)
