"""The interface hooks and migrations receive (:class:`DatabaseClient`), and
:class:`ConnectionClient`, which runs it on one asyncpg connection (e.g. the migration
transaction's). Statements are logged to ``linkgress.sql`` at INFO when ``log_queries`` is on —
the SQL text and the number of arguments, never their values; driver errors become
:mod:`linkgress.errors` classes.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import AsyncIterable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from linkgress.errors import mapped_errors
from linkgress.schema.quoting import quote_qualified

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    RawConnection: TypeAlias = (
        asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    )
    PooledConnection: TypeAlias = PoolConnectionProxy[asyncpg.Record]

__all__ = ["ConnectionClient", "DatabaseClient", "Records", "log_statement", "sql_logger"]

Records: TypeAlias = Iterable[Sequence[object]] | AsyncIterable[Sequence[object]]

sql_logger = logging.getLogger("linkgress.sql")



def log_statement(sql: str, arg_count: int) -> None:
    """Log ``sql`` (never its values) to ``linkgress.sql`` at INFO."""
    sql_logger.info("%s [%d args]", sql, arg_count)


class DatabaseClient(abc.ABC):
    """What hooks and migrations receive: run SQL on a pool or on one connection.

    Arguments are always bind parameters (``$1``, ``$2``, ...); values are never pasted.
    """

    @abc.abstractmethod
    async def execute(self, sql: str, *args: object, timeout: float | None = None) -> str:
        """Run a statement and return its status tag, e.g. ``"INSERT 0 1"``."""

    @abc.abstractmethod
    async def fetch(
        self, sql: str, *args: object, timeout: float | None = None
    ) -> list[asyncpg.Record]:
        """Run a query and return all its rows."""

    @abc.abstractmethod
    async def fetchrow(
        self, sql: str, *args: object, timeout: float | None = None
    ) -> asyncpg.Record | None:
        """Run a query and return its first row, or None when it returns none."""

    @abc.abstractmethod
    async def fetchval(
        self, sql: str, *args: object, column: int = 0, timeout: float | None = None
    ) -> Any:
        """Run a query and return one value of its first row (None when there is no row)."""

    @abc.abstractmethod
    async def executemany(
        self, sql: str, args_iterable: Iterable[Sequence[object]], timeout: float | None = None
    ) -> None:
        """Run a statement once per argument tuple (one round trip per batch, not per row)."""


class ConnectionClient(DatabaseClient):
    """A :class:`DatabaseClient` over one asyncpg connection, which it does not own.

    Used for the migration transaction and :meth:`PgClient.transaction`: everything runs on that
    connection, so it sees (and is part of) its transaction. Never closes the connection.
    """

    def __init__(self, connection: RawConnection, *, log_queries: bool = False,
                 server: str | None = None) -> None:
        self._connection = connection
        self._log_queries = log_queries
        self._server = server  # host:port, named by connection errors

    @property
    def connection(self) -> RawConnection:
        """The wrapped asyncpg connection."""
        return self._connection

    @property
    def log_queries(self) -> bool:
        """Whether statements are logged to ``linkgress.sql``."""
        return self._log_queries

    async def execute(self, sql: str, *args: object, timeout: float | None = None) -> str:
        if self._log_queries:
            log_statement(sql, len(args))
        with mapped_errors(sql, server=self._server):
            return await self._connection.execute(sql, *args, timeout=timeout)

    async def fetch(
        self, sql: str, *args: object, timeout: float | None = None
    ) -> list[asyncpg.Record]:
        if self._log_queries:
            log_statement(sql, len(args))
        with mapped_errors(sql, server=self._server):
            return await self._connection.fetch(sql, *args, timeout=timeout)

    async def fetchrow(
        self, sql: str, *args: object, timeout: float | None = None
    ) -> asyncpg.Record | None:
        if self._log_queries:
            log_statement(sql, len(args))
        with mapped_errors(sql, server=self._server):
            return await self._connection.fetchrow(sql, *args, timeout=timeout)

    async def fetchval(
        self, sql: str, *args: object, column: int = 0, timeout: float | None = None
    ) -> Any:
        if self._log_queries:
            log_statement(sql, len(args))
        with mapped_errors(sql, server=self._server):
            return await self._connection.fetchval(sql, *args, column=column, timeout=timeout)

    async def executemany(
        self, sql: str, args_iterable: Iterable[Sequence[object]], timeout: float | None = None
    ) -> None:
        rows = list(args_iterable)
        if self._log_queries:
            sql_logger.info("%s [executemany: %d rows]", sql, len(rows))
        with mapped_errors(sql, server=self._server):
            await self._connection.executemany(sql, rows, timeout=timeout)

    async def copy_records_to_table(
        self,
        table: str,
        *,
        records: Records,
        columns: Iterable[str] | None = None,
        schema_name: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Bulk-insert ``records`` with COPY; returns the status tag, e.g. ``"COPY 100"``."""
        if self._log_queries:
            sql_logger.info("COPY %s [records]", quote_qualified(schema_name, table))
        with mapped_errors(f"COPY {quote_qualified(schema_name, table)} FROM STDIN",
                           server=self._server):
            return await self._connection.copy_records_to_table(
                table, records=records, columns=columns, schema_name=schema_name,
                timeout=timeout)

    def __repr__(self) -> str:
        return f"ConnectionClient({self._connection!r})"
