"""``CompoundQueryable``: ``q1.union(q2)`` / ``union_all`` — rows of several queries in the
first one's projection, run as one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from linkgress.errors import NoResultError, QueryBuildError
from linkgress.query.projection import Projection, projection_width
from linkgress.query.running import RunnableQuery
from linkgress.query.statements import Compound, SelectQuery

if TYPE_CHECKING:
    from linkgress.scope import QueryContext

__all__ = ["CompoundQueryable", "UnionPart"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class UnionPart(Protocol[T_co]):
    """What a union combines: a query of one ``SELECT`` (a ``Queryable``)."""

    _context: QueryContext
    _cache: dict[Any, Any]
    _primary: bool

    def _statement(self) -> SelectQuery: ...

    def _projection(self) -> Projection: ...

    async def to_list(self) -> Sequence[T_co]: ...


class CompoundQueryable(RunnableQuery[T]):
    """``q1.union(q2)`` / ``union_all``: rows of several queries with the same projection
    shape, in the first query's projection. Supports ``to_list``, ``first_or_none``,
    ``count``, ``exists``, ``stream`` and further ``union``/``union_all``."""

    def __init__(self, first: UnionPart[T],
                 parts: tuple[tuple[str | None, UnionPart[T]], ...]) -> None:
        self._context = first._context
        self._cache = first._cache
        if any(part._primary for _, part in parts):
            self._primary = True
        self._first = first
        self._parts = parts
        width = projection_width(first._projection())
        for _, part in parts[1:]:
            if projection_width(part._projection()) != width:
                raise QueryBuildError("union: every query must return the same number of "
                                      f"columns ({width})")

    def _statement(self) -> Compound:
        return Compound(tuple(p._statement() for _, p in self._parts),
                        tuple(op for op, _ in self._parts[1:] if op is not None))

    def _projection(self) -> Projection:
        return self._first._projection()

    def union(self, other: UnionPart[T]) -> CompoundQueryable[T]:
        """Add another query with ``UNION``."""
        return CompoundQueryable(self._first, (*self._parts, ("UNION", other)))

    def union_all(self, other: UnionPart[T]) -> CompoundQueryable[T]:
        """Add another query with ``UNION ALL``."""
        return CompoundQueryable(self._first, (*self._parts, ("UNION ALL", other)))

    async def first_or_none(self) -> T | None:
        """The first row of the combined result, or None."""
        rows = await self.to_list()
        return rows[0] if rows else None

    async def first(self) -> T:
        """The first row of the combined result; raises
        :class:`~linkgress.errors.NoResultError` when there is none."""
        rows = await self.to_list()
        if not rows:
            raise NoResultError("first(): the union returned no row")
        return rows[0]

