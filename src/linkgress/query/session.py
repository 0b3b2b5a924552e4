"""The ORM's execution edge: every ORM statement runs through the functions of this module.

They take the context's :class:`~linkgress.scope.QueryScope`, pick the connection — the
current transaction's (see :mod:`linkgress.query.transaction`) or one leased from the client's
:class:`~linkgress.park.ConnectionPark` — log the statement when the client has
``log_queries`` on, and translate driver errors with :func:`linkgress.errors.translate_error`
(the one translator), chaining the original.

Outside a transaction, each statement borrows a connection for just that statement (a list pop
and append, instead of asyncpg's acquire/release and its ``RESET ALL`` round trip). The four
statement functions have an inlined fast path for that case — an idle parked connection, no
logging — because a primary-key lookup is only about 120 µs end to end and every microsecond
here shows. After a failure the connection goes back to the park only when the server rejected
the statement (the session is intact); a lost or cancelled one goes back to the pool, which
replaces a closed connection.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, NoReturn

import asyncpg

from linkgress.connection import log_statement
from linkgress.errors import DatabaseError, is_connection_error, is_driver_error, translate_error
from linkgress.schema.quoting import quote_ident

if TYPE_CHECKING:
    from linkgress.connection import RawConnection
    from linkgress.park import ConnectionPark, Lease
    from linkgress.query.transaction import TransactionState
    from linkgress.scope import QueryScope

__all__ = [
    "DEFAULT_PREFETCH",
    "affected_rows",
    "copy_records",
    "cursor",
    "execute",
    "fetch",
    "fetchrow",
    "fetchval",
]

#: Rows fetched per round trip by :func:`cursor` unless the caller says otherwise.
DEFAULT_PREFETCH = 1000


def affected_rows(status: str) -> int:
    """The row count of a command status tag (``"UPDATE 3"`` -> 3, ``"INSERT 0 5"`` -> 5)."""
    tail = status.rpartition(" ")[2]
    return int(tail) if tail.isdigit() else 0


async def _run(scope: QueryScope, sql: str, params: Sequence[Any], call: _Call) -> Any:
    """The general path: logging, the current transaction, or a leased connection."""
    if scope.client.log_queries:
        log_statement(sql, len(params))
    state = scope.transaction.get()
    if state is not None:
        # What ``async with state.use()`` does, without its two coroutines per statement.
        if state.closed:
            raise state.ended()
        lock = state.lock
        await lock.acquire()
        try:
            return await call(state.connection, sql, params)
        except Exception as exc:
            if not is_driver_error(exc):
                raise
            raise state.record(translate_error(exc, sql, server=scope.server)) from exc
        finally:
            lock.release()
    park = scope.park
    lease = await park.lease()
    try:
        result = await call(lease[0], sql, params)
    except BaseException as exc:
        await _failed(park, lease, exc, sql)
    await park.give_back(lease)
    return result


async def _failed(park: ConnectionPark, lease: Lease, exc: BaseException, sql: str) -> NoReturn:
    """Give back the connection of a failed statement and raise the translated error."""
    if isinstance(exc, asyncpg.PostgresError) and not is_connection_error(exc):
        # The server rejected the statement; the connection is idle and reusable.
        await park.give_back(lease)
        raise translate_error(exc, sql, server=park.server) from exc
    # Cancelled, lost, or a client-side failure: asyncpg's full reset decides what is left
    # (a closed connection is replaced on the next checkout).
    await park.release(lease)
    if isinstance(exc, Exception) and is_driver_error(exc):
        raise translate_error(exc, sql, server=park.server) from exc
    raise exc


_Call = Callable[["RawConnection", str, Sequence[Any]], Awaitable[Any]]


def _fetch(connection: RawConnection, sql: str, params: Sequence[Any]) -> Awaitable[Any]:
    return connection.fetch(sql, *params)


def _fetchrow(connection: RawConnection, sql: str, params: Sequence[Any]) -> Awaitable[Any]:
    return connection.fetchrow(sql, *params)


def _fetchval(connection: RawConnection, sql: str, params: Sequence[Any]) -> Awaitable[Any]:
    return connection.fetchval(sql, *params)


def _execute(connection: RawConnection, sql: str, params: Sequence[Any]) -> Awaitable[Any]:
    return connection.execute(sql, *params)


async def fetch(scope: QueryScope, sql: str, params: Sequence[Any]) -> list[asyncpg.Record]:
    """Run query ``sql`` with bind parameters ``params``; return all rows.

    Runs on the context's current transaction if there is one (waiting for the transaction's
    connection while another task of the transaction uses it), else on a pooled connection.
    Raises a :class:`~linkgress.errors.DatabaseError` subclass when PostgreSQL rejects it.
    """
    park = scope.park
    if scope.transaction.get() is None and not scope.client.log_queries:
        lease = park.take()
        if lease is not None:
            try:
                result: list[asyncpg.Record] = await lease[0].fetch(sql, *params)
            except BaseException as exc:
                await _failed(park, lease, exc, sql)
            if not park.put(lease):
                await park.release(lease)
            return result
    return await _run(scope, sql, params, _fetch)  # type: ignore[no-any-return]


async def fetchrow(scope: QueryScope, sql: str, params: Sequence[Any]) -> asyncpg.Record | None:
    """Like :func:`fetch`, returning the first row or None."""
    park = scope.park
    if scope.transaction.get() is None and not scope.client.log_queries:
        lease = park.take()
        if lease is not None:
            try:
                result: asyncpg.Record | None = await lease[0].fetchrow(sql, *params)
            except BaseException as exc:
                await _failed(park, lease, exc, sql)
            if not park.put(lease):
                await park.release(lease)
            return result
    return await _run(scope, sql, params, _fetchrow)  # type: ignore[no-any-return]


async def fetchval(scope: QueryScope, sql: str, params: Sequence[Any]) -> Any:
    """Like :func:`fetch`, returning the first column of the first row (None without rows)."""
    park = scope.park
    if scope.transaction.get() is None and not scope.client.log_queries:
        lease = park.take()
        if lease is not None:
            try:
                result = await lease[0].fetchval(sql, *params)
            except BaseException as exc:
                await _failed(park, lease, exc, sql)
            if not park.put(lease):
                await park.release(lease)
            return result
    return await _run(scope, sql, params, _fetchval)


async def execute(scope: QueryScope, sql: str, params: Sequence[Any]) -> str:
    """Run statement ``sql``; return its status tag (``"UPDATE 3"``). See :func:`fetch`."""
    park = scope.park
    if scope.transaction.get() is None and not scope.client.log_queries:
        lease = park.take()
        if lease is not None:
            try:
                result: str = await lease[0].execute(sql, *params)
            except BaseException as exc:
                await _failed(park, lease, exc, sql)
            if not park.put(lease):
                await park.release(lease)
            return result
    return await _run(scope, sql, params, _execute)  # type: ignore[no-any-return]


async def copy_records(
    scope: QueryScope,
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

    status = await _run(scope, label, (), copy)
    return affected_rows(status)


async def cursor(
    scope: QueryScope, sql: str, params: Sequence[Any], *, prefetch: int = DEFAULT_PREFETCH
) -> AsyncIterator[asyncpg.Record]:
    """Iterate over the rows of ``sql`` through a server-side cursor, ``prefetch`` at a time.

    Inside a transaction the cursor lives on the transaction's connection, which is held only
    while a batch is fetched (so the loop body may run other queries of the transaction).
    Outside one, a pooled connection is dedicated to the iteration, in a transaction of its
    own, and given back when the iteration ends — also when the consumer breaks out early
    (once the generator is closed: ``aclose()``, or the event loop's async-generator
    finaliser) or is cancelled. A connection lost mid-iteration raises
    :class:`~linkgress.errors.DatabaseConnectionError`.
    """
    if prefetch < 1:
        raise ValueError(f"prefetch must be at least 1, got {prefetch!r}")
    if scope.client.log_queries:
        log_statement(sql, len(params))
    state = scope.transaction.get()
    if state is not None:
        async for row in _cursor_in_transaction(scope, state, sql, params, prefetch):
            yield row
        return
    park = scope.park
    lease = await park.lease()
    try:
        async with contextlib.aclosing(_cursor_on(scope, lease[0], sql, params, prefetch)) as it:
            async for row in it:
                yield row
    finally:
        if not park.put(lease):
            await park.release(lease)


async def _cursor_on(scope: QueryScope, connection: Any, sql: str, params: Sequence[Any],
                     prefetch: int) -> AsyncGenerator[asyncpg.Record, None]:
    """The rows of ``sql`` through a cursor in a read-only transaction of its own."""
    transaction = connection.transaction()
    await _guarded(scope, sql, transaction.start)
    try:
        if scope.client.pgbouncer:
            rows_of = _declared(scope, lambda: contextlib.nullcontext(connection), sql, params,
                                prefetch)
        else:
            rows_of = _prepared(scope, connection, sql, params, prefetch)
        async with contextlib.aclosing(rows_of) as it:
            async for row in it:
                yield row
    finally:
        # Read-only work: a rollback ends it as well as a commit would, and also works after
        # an error aborted the transaction. Never on a closed connection; cancelled mid-fetch,
        # the connection is busy: the rollback fails and the pool's reset cleans up instead.
        if not connection.is_closed():
            with contextlib.suppress(asyncpg.InterfaceError, asyncpg.PostgresError, OSError):
                await transaction.rollback()


async def _prepared(scope: QueryScope, connection: Any, sql: str, params: Sequence[Any],
                    prefetch: int) -> AsyncGenerator[asyncpg.Record, None]:
    """The rows of ``sql`` through asyncpg's cursor (a named prepared statement)."""
    cur = await _guarded(scope, sql, connection.cursor, sql, *params)
    while True:
        rows = await _guarded(scope, sql, cur.fetch, prefetch)
        for row in rows:
            yield row
        if len(rows) < prefetch:
            return


_CURSOR_IDS = itertools.count(1)


async def _declared(scope: QueryScope, use: Callable[[], AbstractAsyncContextManager[Any]],
                    sql: str, params: Sequence[Any], prefetch: int
                    ) -> AsyncGenerator[asyncpg.Record, None]:
    """The rows of ``sql`` through a SQL-level cursor (``DECLARE`` / ``FETCH``), which leaves
    no named prepared statement behind on the server: the PgBouncer path. Needs a transaction
    (the cursor ends with it); ``use()`` yields the connection for one statement."""
    name = quote_ident(f"__linkgress_cursor_{next(_CURSOR_IDS)}")
    async with use() as connection:
        await _guarded(scope, sql, connection.execute,
                       f"DECLARE {name} NO SCROLL CURSOR FOR {sql}", *params)
    fetch = f"FETCH FORWARD {int(prefetch)} FROM {name}"
    while True:
        async with use() as connection:
            rows = await _guarded(scope, sql, connection.fetch, fetch)
        for row in rows:
            yield row
        if len(rows) < prefetch:
            return


async def _cursor_in_transaction(
    scope: QueryScope, state: TransactionState, sql: str, params: Sequence[Any], prefetch: int
) -> AsyncIterator[asyncpg.Record]:
    try:
        if scope.client.pgbouncer:
            async with contextlib.aclosing(
                    _declared(scope, state.use, sql, params, prefetch)) as rows_of:
                async for row in rows_of:
                    yield row
            return
        async with state.use() as connection:
            cur = await _guarded(scope, sql, connection.cursor, sql, *params)
        while True:
            async with state.use():
                rows = await _guarded(scope, sql, cur.fetch, prefetch)
            for row in rows:
                yield row
            if len(rows) < prefetch:
                return
    except DatabaseError as exc:
        state.record(exc)
        raise


async def _guarded(scope: QueryScope, sql: str, method: Callable[..., Any], *args: Any) -> Any:
    """``await method(*args)`` with driver errors translated (asyncpg checks a closed
    connection when the method is called, before there is anything to await)."""
    try:
        return await method(*args)
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        raise translate_error(exc, sql, server=scope.server) from exc
