"""The ORM's execution edge: every ORM statement runs through the functions of this module.

They pick the connection — the context's current transaction (see
:mod:`linkgress.query.transaction`) or a pooled one — log the statement when the client has
``log_queries`` on, and translate asyncpg errors into :mod:`linkgress.errors` at one point
(:func:`translate_error`), chaining the original.

Outside a transaction, each statement borrows a connection for just that statement from the
client's :class:`~linkgress.query.park.ConnectionPark` (a list pop and append, instead of
asyncpg's acquire/release and its ``RESET ALL`` round trip). The four statement functions have
an inlined fast path for that case — an idle parked connection, no logging — because a
primary-key lookup is only about 120 µs end to end and every microsecond here shows.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

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
from linkgress.query.park import ConnectionPark, Lease, connection_park
from linkgress.schema.quoting import quote_ident

if TYPE_CHECKING:
    from linkgress.client import RawConnection
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
    message = str(exc) or type(exc).__name__  # asyncpg's text includes DETAIL and HINT
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


async def _run(context: DbContext, sql: str, params: Sequence[Any], call: _Call) -> Any:
    """The general path: logging, the current transaction, or a leased connection."""
    client = context.client
    if client._log_queries:
        _log_statement(sql, len(params))
    state = context._transaction_var.get()
    if state is not None:
        # What ``async with state.use()`` does, without its two coroutines per statement.
        if state.closed:
            raise state.ended()
        lock = state.lock
        await lock.acquire()
        try:
            return await call(state.connection, sql, params)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise state.record(translate_error(exc, sql)) from exc
        finally:
            lock.release()
    park = connection_park(client)
    lease = await park.lease()
    try:
        result = await call(lease[0], sql, params)
    except BaseException as exc:
        await _failed(park, lease, exc, sql)
    await park.give_back(lease)
    return result


async def _failed(park: ConnectionPark, lease: Lease, exc: BaseException, sql: str) -> NoReturn:
    """Give back the connection of a failed statement and raise the translated error."""
    if isinstance(exc, asyncpg.PostgresError):
        # The server rejected the statement; the connection is idle and reusable.
        await park.give_back(lease)
        raise translate_error(exc, sql) from exc
    # Cancelled, or a client-side failure: asyncpg's full reset decides what is left.
    await park.release(lease)
    if isinstance(exc, asyncpg.InterfaceError):
        raise translate_error(exc, sql) from exc
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


async def fetch(context: DbContext, sql: str, params: Sequence[Any]) -> list[asyncpg.Record]:
    """Run query ``sql`` with bind parameters ``params``; return all rows.

    Runs on the context's current transaction if there is one (waiting for the transaction's
    connection while another task of the transaction uses it), else on a pooled connection.
    Raises a :class:`~linkgress.errors.DatabaseError` subclass when PostgreSQL rejects it.
    """
    client = context.client
    park: ConnectionPark | None = client._orm_park
    if park is not None and not client._log_queries and context._transaction_var.get() is None:
        lease = park.take()
        if lease is not None:
            try:
                result: list[asyncpg.Record] = await lease[0].fetch(sql, *params)
            except BaseException as exc:
                await _failed(park, lease, exc, sql)
            if not park.put(lease):
                await park.release(lease)
            return result
    return await _run(context, sql, params, _fetch)  # type: ignore[no-any-return]


async def fetchrow(context: DbContext, sql: str, params: Sequence[Any]) -> asyncpg.Record | None:
    """Like :func:`fetch`, returning the first row or None."""
    client = context.client
    park: ConnectionPark | None = client._orm_park
    if park is not None and not client._log_queries and context._transaction_var.get() is None:
        lease = park.take()
        if lease is not None:
            try:
                result: asyncpg.Record | None = await lease[0].fetchrow(sql, *params)
            except BaseException as exc:
                await _failed(park, lease, exc, sql)
            if not park.put(lease):
                await park.release(lease)
            return result
    return await _run(context, sql, params, _fetchrow)  # type: ignore[no-any-return]


async def fetchval(context: DbContext, sql: str, params: Sequence[Any]) -> Any:
    """Like :func:`fetch`, returning the first column of the first row (None without rows)."""
    client = context.client
    park: ConnectionPark | None = client._orm_park
    if park is not None and not client._log_queries and context._transaction_var.get() is None:
        lease = park.take()
        if lease is not None:
            try:
                result = await lease[0].fetchval(sql, *params)
            except BaseException as exc:
                await _failed(park, lease, exc, sql)
            if not park.put(lease):
                await park.release(lease)
            return result
    return await _run(context, sql, params, _fetchval)


async def execute(context: DbContext, sql: str, params: Sequence[Any]) -> str:
    """Run statement ``sql``; return its status tag (``"UPDATE 3"``). See :func:`fetch`."""
    client = context.client
    park: ConnectionPark | None = client._orm_park
    if park is not None and not client._log_queries and context._transaction_var.get() is None:
        lease = park.take()
        if lease is not None:
            try:
                result: str = await lease[0].execute(sql, *params)
            except BaseException as exc:
                await _failed(park, lease, exc, sql)
            if not park.put(lease):
                await park.release(lease)
            return result
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
    lease = await park.lease()
    connection = lease[0]
    clean = False
    try:
        transaction = connection.transaction()
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
            # after an error aborted the transaction. (Cancelled mid-fetch, the connection
            # is busy: the rollback fails and the pool's reset cleans up instead.)
            if not connection.is_closed():
                with contextlib.suppress(asyncpg.InterfaceError):
                    await transaction.rollback()
        clean = not connection.is_in_transaction()
    finally:
        if not (clean and park.put(lease)):
            await park.release(lease)


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
