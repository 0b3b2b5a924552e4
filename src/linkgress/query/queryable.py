"""``Queryable[T]``: the immutable, chainable query every table is.

Builder methods (``where``, ``select``, ``order_by``, ``limit``, ``group_by``, ...) evaluate
their lambda at once, against column proxies, and return a new queryable: a mistake raises
:class:`~linkgress.errors.QueryBuildError` on the line that makes it, and the values a lambda
reads from its closure are bound then (as parameters). Terminal methods (``to_list``,
``first``, ``count``, ``stream``, ...) are awaitable and run one statement.

Compiled-query cache: running a query walks its tree once for a *shape key* and its parameter
values (:func:`~linkgress.query.compiler.shape_of`); the SQL text and the row reader are
compiled on the first run of a shape and reused afterwards (per context class). Reusing the
same SQL text lets asyncpg reuse its prepared statement on each connection.
"""

from __future__ import annotations

import copy
import gc
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast

from linkgress.errors import (
    DatabaseConnectionError,
    DatabaseError,
    MultipleResultsError,
    NoResultError,
    QueryBuildError,
)
from linkgress.query import session
from linkgress.query.compiler import (
    Compound,
    SelectQuery,
    compile_predicate,
    compile_statement,
    shape_of,
)
from linkgress.query.expressions import Expr, Ordering, Param, as_expr
from linkgress.query.lambdaplan import LambdaPlan, closure_values, make_plan, plan_key
from linkgress.query.materialize import (
    PEntity,
    Projection,
    build_projection,
    build_row_reader,
    build_rows_reader,
    projection_width,
)
from linkgress.query.navigation import GroupProxy, Source

if TYPE_CHECKING:
    from linkgress.query.mutations import DeleteQuery, UpdateQuery
    from linkgress.scope import QueryContext, QueryScope

__all__ = ["CompoundQueryable", "Queryable", "orderings"]

T = TypeVar("T")
R = TypeVar("R")

_Reader = Callable[[Any], Any]
_Run = Callable[["QueryScope", str, list[Any]], Awaitable[Any]]
log = logging.getLogger("linkgress.replicas")
_CacheEntry = tuple[str, _Reader | None, Callable[[Any], Any] | None]
_CACHE_LIMIT = 4096
# From this many rows, to_list() pauses the cyclic GC while it builds the results.
_GC_PAUSE_ROWS = 64
# first() and single() bind these shared (immutable) parameters instead of making new ones.
_LIMITS = {1: Param(1, None), 2: Param(2, None)}
# The fields of a SelectQuery straight from a table (compared by identity).
_BARE = SelectQuery.__new__.__defaults__ or ()
_PLAN_LIMIT = 1024


_WHERE, _PROJECTION, _ORDERING, _LIMIT, _OFFSET, _DISTINCT, _GROUP_BY, _HAVING, _AGGREGATE = (
    SelectQuery._fields.index(name) for name in (
        "where", "projection", "ordering", "limit", "offset", "distinct", "group_by", "having",
        "aggregate"))


def _set(query: SelectQuery, index: int, value: Any) -> SelectQuery:
    """``query`` with field ``index`` replaced (NamedTuple._replace is several times slower,
    and this runs on every builder call)."""
    return tuple.__new__(SelectQuery, (*query[:index], value, *query[index + 1:]))


def orderings(value: Any, descending: bool, nulls: str | None) -> tuple[Ordering, ...]:
    """Sort keys from what an ``order_by`` lambda returned: an expression, an ``Ordering``
    (``u.name.desc()``), or a tuple of them."""
    items = value if isinstance(value, tuple) else (value,)
    if nulls not in (None, "first", "last"):
        raise QueryBuildError(f"nulls must be 'first', 'last' or None, got {nulls!r}")
    out = []
    for item in items:
        if isinstance(item, Ordering):
            out.append(item)
        elif isinstance(item, Expr):
            out.append(Ordering(item, descending, nulls))
        else:
            raise QueryBuildError(f"a sort key must be a column or an expression, got {item!r}")
    return tuple(out)


def _count(value: int, what: str) -> Param:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QueryBuildError(f"{what} must be a non-negative integer, got {value!r}")
    return Param(value, None)


class _Base(Generic[T]):
    """What plain and compound queries share: preparing and running statements."""

    _context: QueryContext
    _cache: dict[Any, Any]
    #: Set by :meth:`on_primary`: reads go to the primary even when the client has replicas.
    _primary = False

    def on_primary(self) -> Self:
        """This query, read from the primary server even when the client has ``replicas``
        (outside a transaction block reads go to a replica; inside one they always run on
        the primary). Queries built from the result keep it."""
        new = copy.copy(self)
        new._primary = True
        return new

    def _read(self, run: _Run, sql: str, params: list[Any]) -> Awaitable[Any]:
        """``run(scope, sql, params)`` on the scope reads go to (no extra coroutine when the
        client has no replicas: a primary-key lookup is about 120 µs, and this is on it)."""
        scope = self._context.query_scope
        if scope.replicas is None:
            return run(scope, sql, params)
        return self._read_routed(scope, run, sql, params)

    async def _read_routed(self, scope: QueryScope, run: _Run, sql: str, params: list[Any]
                           ) -> Any:
        """A read with replicas. When the replica cannot answer — its connection failed (it
        is then skipped for a while), or replay cancelled the read (a recovery conflict,
        SQLSTATE 40001) — the read runs again on the primary."""
        target = await scope.for_read(self._primary)
        if target is scope:
            return await run(scope, sql, params)
        try:
            return await run(target, sql, params)
        except DatabaseError as exc:
            lost = isinstance(exc, DatabaseConnectionError) or exc.sqlstate is None
            if not lost and exc.sqlstate != "40001":
                raise  # PostgreSQL rejected the statement: the primary would too
            log.warning("read replica %s failed (%s); reading from the primary", target.server,
                        exc)
            if lost:
                scope.replica_failed(target)
            return await run(scope, sql, params)

    def _statement(self) -> SelectQuery | Compound:
        raise NotImplementedError

    def _projection(self) -> Projection:
        raise NotImplementedError

    def _entry(self, kind: str, query: SelectQuery | Compound | None
               ) -> tuple[_CacheEntry, list[Any]]:
        entry, params, _ = self._entry_numbered(kind, query)
        return entry, params

    def _entry_numbered(self, kind: str, query: SelectQuery | Compound | None
                        ) -> tuple[_CacheEntry, list[Any], dict[int, int]]:
        """The cache entry of ``query`` (default: this query) as ``kind``, its parameter
        values, and the parameter numbers by ``id(Param)``."""
        query = self._statement() if query is None else query
        key, params, numbers = shape_of(query, kind)
        entry: _CacheEntry | None = self._cache.get(key)
        if entry is None:
            sql = compile_statement(query, numbers, kind)
            if kind == "rows":
                projection = self._projection()
                entry = (sql, build_row_reader(projection), build_rows_reader(projection))
            else:
                entry = (sql, None, None)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # shapes are few in real programs; this bounds a leak
            self._cache[key] = entry
        return entry, params, numbers

    def _prepare(self, kind: str, query: SelectQuery | Compound | None = None
                 ) -> tuple[str, _Reader | None, list[Any]]:
        entry, params = self._entry(kind, query)
        return entry[0], entry[1], params

    def sql(self) -> tuple[str, list[Any]]:
        """The SQL text and bind parameters ``to_list()`` would run (for logs and tests)."""
        text, _, params = self._prepare("rows")
        return text, params

    async def to_list(self) -> list[T]:
        """Run the query; every row, as entities (no ``select``) or projections."""
        (sql, _, read_all), params = self._entry("rows", None)
        assert read_all is not None
        rows = await self._read(session.fetch, sql, params)
        if len(rows) < _GC_PAUSE_ROWS or not gc.isenabled():
            return read_all(rows)  # type: ignore[no-any-return]
        # Building many objects triggers the cyclic GC every few hundred allocations, and its
        # older generations scan the whole heap: pause it while the (acyclic) entities and
        # dicts are made; what they leave to collect is collected once afterwards. Nothing
        # else runs meanwhile (no await in between).
        gc.disable()
        try:
            return read_all(rows)  # type: ignore[no-any-return]
        finally:
            gc.enable()

    async def count(self) -> int:
        """The number of rows the query returns."""
        sql, _, params = self._prepare("count")
        return int(await self._read(session.fetchval, sql, params))

    async def exists(self) -> bool:
        """True when the query returns at least one row."""
        sql, _, params = self._prepare("exists")
        return bool(await self._read(session.fetchval, sql, params))

    async def stream(self, *, prefetch: int = session.DEFAULT_PREFETCH) -> AsyncIterator[T]:
        """Iterate over the rows through a server-side cursor, ``prefetch`` rows per round
        trip. Outside a transaction, a connection is dedicated to the iteration (in a
        transaction of its own) until it ends or the loop is left."""
        sql, reader, params = self._prepare("rows")
        assert reader is not None
        scope = await self._context.query_scope.for_read(self._primary)
        rows = cast(AsyncGenerator[Any, None],
                    session.cursor(scope, sql, params, prefetch=prefetch))
        try:
            async for row in rows:
                yield reader(row)
        finally:
            await rows.aclose()  # give the cursor's connection back when the loop is left


class Queryable(_Base[T]):
    """An immutable query over one table; every builder method returns a new queryable.

    Lambdas receive column proxies of the table's entity (``lambda u: u.username``), and after
    ``group_by`` a group (``lambda g: g.key``, ``g.count()``, ``g.sum(lambda x: x.views)``).
    ``where``/``order_by`` lambdas see the entity even after ``select``.
    """

    #: True for a query straight from a table: ``where`` may replay a lambda plan on it.
    _bare = False

    def __init__(self, context: QueryContext, query: SelectQuery,
                 group: GroupProxy | None = None, cache: dict[Any, Any] | None = None) -> None:
        self._context = context
        self._query = query
        self._group = group
        self._cache = context.query_scope.cache if cache is None else cache
        if group is None and all(a is b for a, b in zip(query[1:], _BARE, strict=True)):
            self._bare = True
            self._plans: dict[Any, LambdaPlan] = {}

    def _with(self, query: SelectQuery, group: GroupProxy | None = None) -> Queryable[Any]:
        new = object.__new__(Queryable)
        new._context = self._context
        new._query = query
        new._group = self._group if group is None else group
        new._cache = self._cache
        if self._primary:
            new._primary = True
        return new

    def _arg(self) -> Any:
        return self._group if self._group is not None else self._query.source.proxy()

    def _statement(self) -> SelectQuery:
        if self._group is not None and self._query.projection is None:
            raise QueryBuildError("a grouped query needs a select(lambda g: {...}) "
                                  "(the key and aggregates to return)")
        return self._query

    def _projection(self) -> Projection:
        projection = self._query.projection
        return PEntity(self._query.source) if projection is None else projection

    # -- builders ---------------------------------------------------------------------------

    def where(self, predicate: Callable[[Any], Any]) -> Queryable[T]:
        """Keep rows matching ``predicate``; several ``where`` calls are ANDed."""
        values = closure_values(predicate) if self._bare else None
        if values is not None:
            key = plan_key(predicate, values)
            plan = self._plans.get(key)
            if plan is not None:
                return _planned()(self, plan, values)
        if self._group is not None:
            raise QueryBuildError("after group_by, filter groups with having(...)")
        condition = as_expr(predicate(self._query.source.proxy()))
        if condition.category not in ("bool", "any"):
            raise QueryBuildError(f"where() needs a condition, got {condition.describe()}")
        if values is not None:
            plan = make_plan(predicate, values, condition)
            if plan is not None:
                if len(self._plans) >= _PLAN_LIMIT:
                    self._plans.clear()
                self._plans[key] = plan
        current = self._query.where
        return self._with(_set(self._query, _WHERE, condition if current is None
                                  else current & condition))

    def select(self, projection: Callable[[Any], R]) -> Queryable[R]:
        """Project each row: a dict (nested dicts allowed), a tuple, a dataclass or
        NamedTuple built from proxies, a single column, an entity (``p.user``) or a nested
        list (``u.posts.select(...).to_list()``)."""
        shape = build_projection(projection(self._arg()))
        return self._with(_set(self._query, _PROJECTION, shape))

    def order_by(self, key: Callable[[Any], Any], *, descending: bool = False,
                 nulls: str | None = None) -> Queryable[T]:
        """Sort by ``key`` (replacing earlier sorting). ``key`` may return a tuple for several
        keys, or ``u.col.desc()`` / ``.asc(nulls="last")`` per key; ``nulls`` is ``"first"``
        or ``"last"``."""
        keys = orderings(key(self._arg()), descending, nulls)
        return self._with(_set(self._query, _ORDERING, keys))

    def order_by_descending(self, key: Callable[[Any], Any], *,
                            nulls: str | None = None) -> Queryable[T]:
        """``order_by(key, descending=True)``."""
        return self.order_by(key, descending=True, nulls=nulls)

    def then_by(self, key: Callable[[Any], Any], *, descending: bool = False,
                nulls: str | None = None) -> Queryable[T]:
        """Add sort keys after the current ones."""
        extra = orderings(key(self._arg()), descending, nulls)
        return self._with(_set(self._query, _ORDERING, self._query.ordering + extra))

    def then_by_descending(self, key: Callable[[Any], Any], *,
                           nulls: str | None = None) -> Queryable[T]:
        """``then_by(key, descending=True)``."""
        return self.then_by(key, descending=True, nulls=nulls)

    def limit(self, count: int) -> Queryable[T]:
        """Return at most ``count`` rows."""
        return self._with(_set(self._query, _LIMIT, _count(count, "limit")))

    def offset(self, count: int) -> Queryable[T]:
        """Skip the first ``count`` rows."""
        return self._with(_set(self._query, _OFFSET, _count(count, "offset")))

    def distinct(self) -> Queryable[T]:
        """Drop duplicate rows (``SELECT DISTINCT``)."""
        return self._with(_set(self._query, _DISTINCT, True))

    def group_by(self, key: Callable[[Any], Any]) -> Queryable[Any]:
        """Group rows by ``key`` (an expression, or a tuple / dict of expressions). Later
        lambdas receive the group: ``g.key`` (same shape as ``key`` returned), ``g.count()``,
        ``g.sum(lambda x: ...)``, ``g.min``, ``g.max``, ``g.avg``. End with ``select``."""
        if self._group is not None:
            raise QueryBuildError("group_by() was already called on this query")
        value = key(self._query.source.proxy())
        items = (tuple(value.values()) if isinstance(value, dict)
                 else value if isinstance(value, tuple) else (value,))
        exprs = tuple(as_expr(v) for v in items)
        group = GroupProxy(self._query.source, value)
        return self._with(_set(_set(self._query, _ORDERING, ()), _GROUP_BY, exprs), group)

    def having(self, predicate: Callable[[Any], Any]) -> Queryable[T]:
        """Keep groups matching ``predicate`` (after ``group_by``)."""
        if self._group is None:
            raise QueryBuildError("having() needs group_by() first")
        condition = as_expr(predicate(self._group))
        current = self._query.having
        return self._with(_set(self._query, _HAVING, condition if current is None
                                  else current & condition))

    def union(self, other: Queryable[T]) -> CompoundQueryable[T]:
        """Rows of either query, without duplicates (``UNION``)."""
        return CompoundQueryable(self, ((None, self), ("UNION", other)))

    def union_all(self, other: Queryable[T]) -> CompoundQueryable[T]:
        """Rows of both queries, duplicates kept (``UNION ALL``)."""
        return CompoundQueryable(self, ((None, self), ("UNION ALL", other)))

    # -- results ----------------------------------------------------------------------------

    def _prepare_limited(self, most: int) -> tuple[str, _Reader | None, list[Any]]:
        """``_prepare("rows")`` of this query limited to ``most`` rows."""
        return self._prepare("rows", self._limited(most))

    def _limited(self, most: int) -> SelectQuery:
        query = self._statement()
        limit = query.limit
        if limit is None:
            return _set(query, _LIMIT, _LIMITS[most])
        return _set(query, _LIMIT, Param(min(limit.value, most), None))

    async def first(self) -> T:
        """The first row; raises :class:`~linkgress.errors.NoResultError` when there is
        none."""
        sql, reader, params = self._prepare_limited(1)
        row = await self._read(session.fetchrow, sql, params)
        if row is None:
            raise NoResultError(f"first(): no {self._query.source.meta.name} row matched")
        assert reader is not None
        return reader(row)  # type: ignore[no-any-return]

    async def first_or_none(self) -> T | None:
        """The first row, or None when there is none."""
        sql, reader, params = self._prepare_limited(1)
        row = await self._read(session.fetchrow, sql, params)
        assert reader is not None
        return None if row is None else reader(row)

    async def _single(self) -> list[T]:
        sql, reader, params = self._prepare_limited(2)
        rows = await self._read(session.fetch, sql, params)
        if len(rows) > 1:
            raise MultipleResultsError(
                f"single(): more than one {self._query.source.meta.name} row matched")
        assert reader is not None
        return [reader(row) for row in rows]

    async def single(self) -> T:
        """The only row; raises :class:`~linkgress.errors.NoResultError` when there is none
        and :class:`~linkgress.errors.MultipleResultsError` when there are several."""
        rows = await self._single()
        if not rows:
            raise NoResultError(f"single(): no {self._query.source.meta.name} row matched")
        return rows[0]

    async def single_or_none(self) -> T | None:
        """The only row or None; raises MultipleResultsError when there are several."""
        rows = await self._single()
        return rows[0] if rows else None

    async def _aggregate(self, kind: str, selector: Callable[[Any], Any]) -> Any:
        if self._group is not None:
            raise QueryBuildError(f"{kind}() on a grouped query: use g.{kind}() in select")
        value = as_expr(selector(self._query.source.proxy()))
        sql, _, params = self._prepare(kind, _set(self._statement(), _AGGREGATE, value))
        return await self._read(session.fetchval, sql, params)

    async def sum(self, selector: Callable[[Any], Any]) -> Any:
        """``sum(selector)`` over the rows (None when there are none; PostgreSQL's types:
        ``bigint`` for integer columns, ``numeric`` -> ``Decimal`` for bigint/numeric)."""
        return await self._aggregate("sum", selector)

    async def min(self, selector: Callable[[Any], Any]) -> Any:
        """The smallest ``selector`` value (None when there are no rows)."""
        return await self._aggregate("min", selector)

    async def max(self, selector: Callable[[Any], Any]) -> Any:
        """The largest ``selector`` value (None when there are no rows)."""
        return await self._aggregate("max", selector)

    async def avg(self, selector: Callable[[Any], Any]) -> Any:
        """The average of ``selector`` (a ``Decimal`` for integer/numeric columns; None when
        there are no rows)."""
        return await self._aggregate("avg", selector)

    # -- mutations (see linkgress.query.mutations) -------------------------------------------------

    def update(self, values: Any) -> UpdateQuery[T]:
        """Update the matching rows: ``values`` is a dict of new values, or a lambda returning
        one with expressions (``lambda u: {"score": u.score + 1}``), or an entity (its set
        fields, by primary key). Await the result for the affected row count, or call
        ``.returning(...)``."""
        from linkgress.query.mutations import UpdateQuery

        return UpdateQuery(self, values)

    def delete(self, entity: T | None = None) -> DeleteQuery[T]:
        """Delete the matching rows — or, given an entity, its row by primary key (within
        this query's filter). Await the result for the count, or ``.returning(...)``."""
        from linkgress.query.mutations import DeleteQuery

        return DeleteQuery(self, entity)

    # -- for mutations: the filter as SQL -------------------------------------------------------

    @property
    def _source(self) -> Source:
        """The root source (its proxy is what mutation lambdas receive)."""
        return self._query.source

    def _where_sql(self, param_offset: int = 0) -> tuple[str, list[Any]]:
        """This query's filter as a predicate over the root table aliased ``t0``
        (:data:`~linkgress.query.compiler.ROOT_ALIAS`), for ``UPDATE ... AS t0 ... WHERE`` and
        ``DELETE FROM ... AS t0 WHERE``.

        Returns ``(predicate_sql, params)``; parameters are numbered from
        ``$param_offset + 1``; the predicate is ``""`` when the query has no filter. A query
        that needs joins (a navigation in ``where``), ordering, limit, offset or distinct is
        rendered as ``(t0.pk...) IN (SELECT pk... FROM ...)``. Compiled once per shape.
        """
        query = self._statement()
        key, params, numbers = shape_of(query, "where")
        cache_key = (key, param_offset)
        sql: str | None = self._cache.get(cache_key)
        if sql is None:
            shifted = {k: v + param_offset for k, v in numbers.items()}
            sql = self._cache[cache_key] = compile_predicate(query, shifted)
        return sql, params


class CompoundQueryable(_Base[T]):
    """``q1.union(q2)`` / ``union_all``: rows of several queries with the same projection
    shape, in the first query's projection. Supports ``to_list``, ``first_or_none``,
    ``count``, ``exists``, ``stream`` and further ``union``/``union_all``."""

    def __init__(self, first: Queryable[T],
                 parts: tuple[tuple[str | None, Queryable[T]], ...]) -> None:
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

    def union(self, other: Queryable[T]) -> CompoundQueryable[T]:
        """Add another query with ``UNION``."""
        return CompoundQueryable(self._first, (*self._parts, ("UNION", other)))

    def union_all(self, other: Queryable[T]) -> CompoundQueryable[T]:
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


_PLANNED: list[Callable[[Queryable[Any], LambdaPlan, tuple[Any, ...]], Queryable[Any]]] = []


def _planned() -> Callable[[Queryable[Any], LambdaPlan, tuple[Any, ...]], Queryable[Any]]:
    """:class:`~linkgress.query.planned.PlannedQueryable` (imported on first use: it
    subclasses :class:`Queryable`)."""
    if not _PLANNED:
        from linkgress.query.planned import PlannedQueryable

        _PLANNED.append(PlannedQueryable)
    return _PLANNED[0]
