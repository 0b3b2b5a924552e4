"""What plain and compound queries share: compiling a statement once per shape, and running
it through the I/O edge (:mod:`linkgress.query.session`).

Compiled-query cache: running a query walks its tree once for a *shape key* and its parameter
values (:func:`~linkgress.query.shape.shape_of`); the SQL text and the row reader are compiled
on the first run of a shape and reused afterwards (per context class). Reusing the same SQL
text lets asyncpg reuse its prepared statement on each connection.
"""

from __future__ import annotations

import copy
import gc
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast

from linkgress.errors import DatabaseConnectionError, DatabaseError
from linkgress.query import session
from linkgress.query.awaitables import QueryCall
from linkgress.query.compiler import compile_statement
from linkgress.query.locks import require_transaction
from linkgress.query.projection import Projection
from linkgress.query.readers import build_row_reader, build_rows_reader
from linkgress.query.shape import shape_of
from linkgress.query.statements import Compound, SelectQuery

if TYPE_CHECKING:
    from linkgress.scope import QueryContext, QueryScope

__all__ = ["CacheEntry", "Reader", "RunnableQuery"]

T = TypeVar("T")

#: A row reader: ``record -> value``.
Reader = Callable[[Any], Any]
#: A compiled statement: its SQL, its row reader and its all-rows reader (None but for rows).
CacheEntry = tuple[str, Reader | None, Callable[[Any], Any] | None]
_Run = Callable[["QueryScope", str, list[Any]], Awaitable[Any]]
log = logging.getLogger("linkgress.replicas")
_CACHE_LIMIT = 4096
# From this many rows, to_list() pauses the cyclic GC while it builds the results.
_GC_PAUSE_ROWS = 64


class RunnableQuery(Generic[T]):
    """What plain and compound queries share: preparing and running statements."""

    _context: QueryContext
    _cache: dict[Any, Any]
    #: Set by :meth:`on_primary`: reads go to the primary even when the client has replicas.
    _primary = False
    #: The strength of the query's row lock (``"UPDATE"``, ``"SHARE"``), or None.
    _locked: str | None = None

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
        if self._locked is not None:
            require_transaction(scope, self._locked)
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
               ) -> tuple[CacheEntry, list[Any]]:
        entry, params, _ = self._entry_numbered(kind, query)
        return entry, params

    def _entry_numbered(self, kind: str, query: SelectQuery | Compound | None
                        ) -> tuple[CacheEntry, list[Any], dict[int, int]]:
        """The cache entry of ``query`` (default: this query) as ``kind``, its parameter
        values, and the parameter numbers by ``id(Param)``."""
        query = self._statement() if query is None else query
        key, params, numbers = shape_of(query, kind)
        entry: CacheEntry | None = self._cache.get(key)
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
                 ) -> tuple[str, Reader | None, list[Any]]:
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

    def count(self) -> QueryCall[int]:
        """The number of rows the query returns (``await q.count()``). Unawaited inside
        another query's lambda, a scalar subquery (its lambdas may read the outer row) that
        compares and computes like a column: ``where(lambda u: posts_of(u).count() > 1)``."""
        return QueryCall(self, "count", self._run_count())

    async def _run_count(self) -> int:
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
        if self._locked is not None:
            require_transaction(self._context.query_scope, self._locked)
        scope = await self._context.query_scope.for_read(self._primary)
        rows = cast(AsyncGenerator[Any, None],
                    session.cursor(scope, sql, params, prefetch=prefetch))
        try:
            async for row in rows:
                yield reader(row)
        finally:
            await rows.aclose()  # give the cursor's connection back when the loop is left

