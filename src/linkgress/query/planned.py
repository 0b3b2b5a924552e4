"""``PlannedQueryable``: what ``table.where(lambda ...)`` returns when a
:class:`~linkgress.query.lambdaplan.LambdaPlan` replays the lambda.

It holds the table's query, the plan and the closure values. Its terminal methods take the
compiled statement and a parameter recipe from the plan (filled on first use), so running it
costs neither building the condition nor walking it. Anything else (chaining another builder,
``sql()``, mutations) reads ``_query``, which builds the condition from the plan's template
with the new values on first access — the same tree the lambda would have built.
"""

from __future__ import annotations

from typing import Any, TypeVar

from linkgress.query.compiler import Compound, SelectQuery
from linkgress.query.lambdaplan import LambdaPlan
from linkgress.query.queryable import _WHERE, Queryable, _CacheEntry, _Reader, _set

__all__ = ["PlannedQueryable"]

T = TypeVar("T")

# (kind, limit or None) -> (cache entry, recipe: per parameter, a cell index or -1 and a value)
_Recipe = tuple[tuple[int, Any], ...]


class PlannedQueryable(Queryable[T]):
    """``Queryable`` whose condition is a lambda plan replayed with new closure values."""

    def __init__(self, table: Queryable[T], plan: LambdaPlan, values: tuple[Any, ...]) -> None:
        self._context = table._context
        self._group = None
        self._cache = table._cache
        if table._primary:
            self._primary = True
        self._table_query = table._query
        self._plan = plan
        self._values = values

    def __getattr__(self, name: str) -> Any:
        if name != "_query":
            raise AttributeError(name)
        condition, made = self._plan.rebuild(self._values)
        query = self._query = _set(self._table_query, _WHERE, condition)
        self._made = made
        return query

    def _fast(self, kind: str, most: int | None) -> tuple[_CacheEntry, list[Any]]:
        """The compiled entry and parameters, from the plan when it has them."""
        slot: tuple[_CacheEntry, _Recipe] | None = self._plan.entries.get((kind, most))
        values = self._values
        if slot is None:
            query = self._query
            entry, params, numbers = self._entry_numbered(
                kind, query if most is None else self._limited(most))
            recipe: list[tuple[int, Any]] = [(-1, value) for value in params]
            for param_id, index in self._made.items():
                number = numbers.get(param_id)
                if number is not None:
                    recipe[number - 1] = (index, None)
            slot = self._plan.entries[kind, most] = (entry, tuple(recipe))
            return entry, params
        return slot[0], [values[i] if i >= 0 else v for i, v in slot[1]]

    def _entry(self, kind: str, query: SelectQuery | Compound | None
               ) -> tuple[_CacheEntry, list[Any]]:
        if query is None:
            return self._fast(kind, None)
        return super()._entry(kind, query)

    def _prepare_limited(self, most: int) -> tuple[str, _Reader | None, list[Any]]:
        entry, params = self._fast("rows", most)
        return entry[0], entry[1], params
