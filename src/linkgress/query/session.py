"""The ORM's execution edge: every ORM statement runs through the functions of this module.

They pick the connection — the context's current transaction (see
:mod:`linkgress.query.transaction`) or a pooled one — log the statement when the client has
``log_queries`` on, and translate asyncpg errors into :mod:`linkgress.errors` at one point
(:func:`translate_error`), chaining the original.

Outside a transaction, each statement borrows a connection for just that statement from the
client's :class:`ConnectionPark`: a few pooled connections kept checked out of the asyncpg pool
while idle, so that a statement costs a list pop and append instead of asyncpg's acquire/release
(a task, a timer and a ``RESET ALL`` round trip per release — 2.8x the cost of the query itself
for a primary-key lookup). Parked connections only ever ran ORM statements (no session state to
reset), go back to the pool after :data:`PARK_IDLE_SECONDS` unused, are never parked when that
would leave the pool without a free connection for other users, and are released when the
client closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import asyncpg

from linkgress.client import _log_statement
from linkgress.errors import (
    CheckViolation,
    DatabaseError,
    ForeignKeyViolation,
    NotNullViolation,
    SerializationFailure,
    UniqueViolation,
)
from linkgress.schema.quoting import quote_ident

if TYPE_CHECKING:
    from linkgress.client import PgClient, PooledConnection, RawConnection
    from linkgress.context import DbContext
    from linkgress.query.transaction import TransactionState

__all__ = [
    "DEFAULT_PREFETCH",
    "affected_rows",
    "copy_records",
    "cursor",
    "execute",
    "fetch",
    "fetchrow",
    "fetchval",
    "translate_error",
]

#: Seconds an idle parked connection stays out of the pool (see :class:`ConnectionPark`).
PARK_IDLE_SECONDS = 0.5

#: Rows fetched per round trip by :func:`cursor` unless the caller says otherwise.
DEFAULT_PREFETCH = 1000

_ERRORS_BY_SQLSTATE: dict[str, type[DatabaseError]] = {
    "23505": UniqueViolation,
    "23503": ForeignKeyViolation,
    "23502": NotNullViolation,
    "23514": CheckViolation,
    "40001": SerializationFailure,
}


def translate_error(exc: Exception, sql: str) -> DatabaseError:
    """The linkgress error for asyncpg error ``exc`` raised by statement ``sql``.

    The caller raises it ``from exc``. Unique, foreign-key, not-null and check violations and
    serialization failures get their own classes; every other error is a
    :class:`~linkgress.errors.DatabaseError`. ``sqlstate``, ``constraint``, ``table``,
    ``column`` and ``detail`` are copied when PostgreSQL reported them (``sqlstate`` is None
    for an error asyncpg raised before the statement reached the server).
    """
    # asyncpg raises some errors itself (a DataError for an argument it cannot encode) with a
    # class-level SQLSTATE, though the server never saw the statement: they have no severity.
    from_server = isinstance(exc, asyncpg.PostgresError) and exc.severity is not None
    sqlstate: str | None = getattr(exc, "sqlstate", None) if from_server else None
    cls = _ERRORS_BY_SQLSTATE.get(sqlstate or "", DatabaseError)
    detail = getattr(exc, "detail", None)
    message = str(exc) or type(exc).__name__
    if detail:
        message = f"{message}\nDETAIL: {detail}"
    return cls(
        message,
        sql=sql,
        sqlstate=sqlstate,
        constraint=getattr(exc, "constraint_name", None),
        table=getattr(exc, "table_name", None),
        column=getattr(exc, "column_name", None),
        detail=detail,
    )


def affected_rows(status: str) -> int:
    """The row count of a command status tag (``"UPDATE 3"`` -> 3, ``"INSERT 0 5"`` -> 5)."""
    tail = status.rpartition(" ")[2]
    return int(tail) if tail.isdigit() else 0


def _state(context: DbContext) -> TransactionState | None:
    return context._transaction_var.get()


async def _pool(client: PgClient) -> asyncpg.Pool[asyncpg.Record]:
    pool = client._pool
    if pool is None or client._pool_loop is not asyncio.get_running_loop():
        pool = await client._get_pool()  # creates it, or raises a clear error
    return pool


class ConnectionPark:
    """Idle pooled connections kept by the ORM for cheap per-statement borrowing.

    ``lease()`` pops a parked connection or acquires one from the pool; ``give_back()`` parks it
    again (when it is clean and the pool keeps a free connection for others) or releases it.
    A timer returns connections parked for longer than :data:`PARK_IDLE_SECONDS` to the pool.
    """

    def __init__(self, client: PgClient) -> None:
        self._client = client
        self._idle: list[tuple[PooledConnection, float]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sweeping: set[asyncio.Task[None]] = set()
        self._closed = False

    async def lease(self) -> PooledConnection:
        """A connection for one statement or transaction; pair with :meth:`give_back`."""
        if self._idle:
            return self._idle.pop()[0]
        pool = await _pool(self._client)
        return await pool.acquire()

    def try_park(self, connection: PooledConnection) -> bool:
        """Park ``connection`` (idle, having run only ORM statements) for the next lease.

        Returns False when it should go back to the pool instead (the caller then releases
        it): the park is closed, the connection is closed or inside a transaction, or the pool
        has no free connection left for other users.
        """
        pool = self._client._pool
        if (
            not self._closed
            and pool is not None
            and not connection.is_closed()
            and not connection.is_in_transaction()
            and pool.get_idle_size() + pool.get_max_size() - pool.get_size() > 0
        ):
            loop = asyncio.get_running_loop()
            self._idle.append((connection, loop.time()))
            if self._timer is None:
                self._timer = loop.call_later(PARK_IDLE_SECONDS, self._sweep)
            return True
        return False

    def _sweep(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        cutoff = loop.time() - PARK_IDLE_SECONDS
        stale = [c for c, parked_at in self._idle if parked_at <= cutoff]
        self._idle = [(c, t) for c, t in self._idle if t > cutoff]
        if stale:
            task = loop.create_task(self._release_all(stale))
            self._sweeping.add(task)  # keep a reference until it finishes
            task.add_done_callback(self._sweeping.discard)
        if self._idle:
            self._timer = loop.call_later(PARK_IDLE_SECONDS, self._sweep)

    async def _release_all(self, connections: list[PooledConnection]) -> None:
        for connection in connections:
            await self._client.release(connection)

    async def close(self) -> None:
        """Release every parked connection (the pool cannot close while they are out)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        idle, self._idle = self._idle, []
        await self._release_all([c for c, _ in idle])
        for task in list(self._sweeping):
            await task


def connection_park(client: PgClient) -> ConnectionPark:
    """The client's :class:`ConnectionPark`, created on first use."""
    park = getattr(client, "_orm_park", None)
    if park is None:
        park = ConnectionPark(client)
        client._orm_park = park  # PgClient.close() closes it before the pool
    return park


async def _run(context: DbContext, sql: str, params: Sequence[Any], call: _Call) -> Any:
    client = context.client
    if client._log_queries:
        _log_statement(sql, len(params))
    state = context._transaction_var.get()
    if state is not None:
        try:
            async with state.use() as connection:
                return await call(connection, sql, params)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise state.record(translate_error(exc, sql)) from exc
    park = connection_park(client)
    connection = await park.lease()
    try:
        result = await call(connection, sql, params)
    except asyncpg.PostgresError as exc:
        # The statement failed on the server; the connection is idle and reusable.
        if not park.try_park(connection):
            await client.release(connection)
        raise translate_error(exc, sql) from exc
    except BaseException as exc:
        # Cancelled, or a client-side failure: asyncpg's full reset decides what is left.
        await client.release(connection)
        if isinstance(exc, asyncpg.InterfaceError):
            raise translate_error(exc, sql) from exc
        raise
    if not park.try_park(connection):
        await client.release(connection)
    return result


_Call = Callable[["RawConnection", str, Sequence[Any]], Awaitable[Any]]


def _fetch(connection: RawConnection, sql: str, params: Sequence[Any]) -> Awaitable[Any]:
    return connection.fetch(sql, *params)


def _fetchrow(connection: RawConnection, sql: str, params: Sequence[Any]) -> Awaitable[Any]:
    return connection.fetchrow(sql, *params)


def _fetchval(connection: RawConnection, sql: str, params: Sequence[Any]) -> Awaitable[Any]:
    return connection.fetchval(sql, *params)


def _execute(connection: RawConnection, sql: str, params: Sequence[Any]) -> Awaitable[Any]:
    return connection.execute(sql, *params)


async def fetch(context: DbContext, sql: str, params: Sequence[Any]) -> list[asyncpg.Record]:
    """Run query ``sql`` with bind parameters ``params``; return all rows.

    Runs on the context's current transaction if there is one (waiting for the transaction's
    connection while another task of the transaction uses it), else on a pooled connection.
    Raises a :class:`~linkgress.errors.DatabaseError` subclass when PostgreSQL rejects it.
    """
    return await _run(context, sql, params, _fetch)  # type: ignore[no-any-return]


async def fetchrow(context: DbContext, sql: str, params: Sequence[Any]) -> asyncpg.Record | None:
    """Like :func:`fetch`, returning the first row or None."""
    return await _run(context, sql, params, _fetchrow)  # type: ignore[no-any-return]


async def fetchval(context: DbContext, sql: str, params: Sequence[Any]) -> Any:
    """Like :func:`fetch`, returning the first column of the first row (None without rows)."""
    return await _run(context, sql, params, _fetchval)


async def execute(context: DbContext, sql: str, params: Sequence[Any]) -> str:
    """Run statement ``sql``; return its status tag (``"UPDATE 3"``). See :func:`fetch`."""
    return await _run(context, sql, params, _execute)  # type: ignore[no-any-return]


async def copy_records(
    context: DbContext,
    table: str,
    schema: str,
    columns: Sequence[str],
    records: Iterable[Sequence[Any]],
) -> int:
    """Bulk-insert ``records`` into ``schema.table`` (``columns`` in order) with ``COPY``.

    Returns the number of rows copied. Runs on the current transaction's connection if any.
    """
    label = f"COPY {quote_ident(schema)}.{quote_ident(table)} FROM STDIN"

    async def copy(connection: RawConnection, sql: str, params: Sequence[Any]) -> str:
        return await connection.copy_records_to_table(
            table, records=records, columns=list(columns), schema_name=schema)

    status = await _run(context, label, (), copy)
    return affected_rows(status)


async def cursor(
    context: DbContext, sql: str, params: Sequence[Any], *, prefetch: int = DEFAULT_PREFETCH
) -> AsyncIterator[asyncpg.Record]:
    """Iterate over the rows of ``sql`` through a server-side cursor, ``prefetch`` at a time.

    Inside a transaction the cursor lives on the transaction's connection, which is held only
    while a batch is fetched (so the loop body may run other queries of the transaction).
    Outside one, a pooled connection is dedicated to the iteration, in a transaction of its
    own, and given back when the iteration ends — also when the consumer breaks out early
    (once the generator is closed: ``aclose()``, or the event loop's async-generator
    finaliser) or is cancelled.
    """
    if prefetch < 1:
        raise ValueError(f"prefetch must be at least 1, got {prefetch!r}")
    client = context.client
    if client._log_queries:
        _log_statement(sql, len(params))
    state = context._transaction_var.get()
    if state is not None:
        async for row in _cursor_in_transaction(state, sql, params, prefetch):
            yield row
        return
    park = connection_park(client)
    connection = await park.lease()
    clean = False
    try:
        transaction = connection.transaction(readonly=False)
        await _guarded(transaction.start(), sql)
        try:
            cur = await _guarded(connection.cursor(sql, *params), sql)
            while True:
                rows = await _guarded(cur.fetch(prefetch), sql)
                for row in rows:
                    yield row
                if len(rows) < prefetch:
                    break
        finally:
            # Read-only work: a rollback ends it as well as a commit would, and also works
            # after an error aborted the transaction.
            if not connection.is_closed():
                await transaction.rollback()
        clean = True
    finally:
        if not (clean and park.try_park(connection)):
            await client.release(connection)


async def _cursor_in_transaction(
    state: TransactionState, sql: str, params: Sequence[Any], prefetch: int
) -> AsyncIterator[asyncpg.Record]:
    try:
        async with state.use() as connection:
            cur = await _guarded(connection.cursor(sql, *params), sql)
        while True:
            async with state.use():
                rows = await _guarded(cur.fetch(prefetch), sql)
            for row in rows:
                yield row
            if len(rows) < prefetch:
                return
    except DatabaseError as exc:
        state.record(exc)
        raise


async def _guarded(awaitable: Any, sql: str) -> Any:
    try:
        return await awaitable
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise translate_error(exc, sql) from exc


def raw_connection(connection: RawConnection) -> Any:
    """The underlying asyncpg connection of a pool proxy (for identity comparisons)."""
    return getattr(connection, "_con", connection)
