"""Unawaited coroutines met inside a query lambda (below the expression nodes).

``query.count()`` and ``query.first()`` stay real coroutine functions; called without
``await`` inside another query's lambda, their coroutine stands for a scalar subquery.
:mod:`linkgress.query.subqueries` registers the function that makes that node; any other
coroutine is a mistake (a forgotten ``await``) and is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from linkgress.errors import QueryBuildError

__all__ = ["COROUTINE_EXPRS", "awaitable_expr"]

#: Functions turning an unawaited coroutine into an expression node, or returning None.
COROUTINE_EXPRS: list[Callable[[Coroutine[Any, Any, Any]], Any]] = []


def awaitable_expr(value: Coroutine[Any, Any, Any]) -> Any:
    """The expression node ``value`` stands for; raises
    :class:`~linkgress.errors.QueryBuildError` for a coroutine that is not a subquery."""
    for make in COROUTINE_EXPRS:
        made = make(value)
        if made is not None:
            return made
    value.close()  # it will never run: no "never awaited" warning besides this error
    raise QueryBuildError(f"{value!r} is a coroutine, not a value: await it outside the "
                          "query (only query.count() / .first() are subqueries)")
