"""Database clients: the configured connection pool and the interface hooks receive.

- :class:`DatabaseClient` is what user code (hooks, migrations) talks to: ``execute``,
  ``fetch``, ``fetchrow``, ``fetchval``, ``executemany``.
- :class:`PgClient` owns the configuration and an asyncpg pool, created lazily on first use.
- :class:`ConnectionClient` wraps one asyncpg connection, e.g. the migration transaction's.

Constructing a client never does I/O. Statements are logged to ``linkgress.sql`` at INFO when
``log_queries=True`` — the SQL text and the number of arguments, never their values.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Generator, Iterable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import asyncpg

from linkgress.connection import (
    ConnectionClient,
    DatabaseClient,
    Records,
)
from linkgress.databases import create_database, drop_database
from linkgress.dsn import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    build_dsn,
    database_from_env,
    dsn_with_database,
    mask_dsn,
    parse_flag,
    pop_option,
)
from linkgress.dsn import DsnTarget as _Target
from linkgress.dsn import parse_dsn as _parse_dsn
from linkgress.errors import ClientClosedError, LinkgressError, mapped_errors
from linkgress.park import ConnectionPark
from linkgress.pgbouncer import ENV_VARIABLE as _PGBOUNCER_ENV
from linkgress.pgbouncer import cache_size as _cache_size
from linkgress.pgbouncer import check_server_settings as _check_server_settings
from linkgress.replicas import ReplicaSet

if TYPE_CHECKING:
    from linkgress.connection import PooledConnection
    from linkgress.connection import RawConnection as RawConnection

__all__ = [
    "ConnectionClient",
    "DatabaseClient",
    "IsolationLevel",
    "PgClient",
    "PoolAcquire",
    "build_dsn",
    "create_database",
    "drop_database",
    "dsn_with_database",
    "mask_dsn",
]

IsolationLevel = Literal["read_committed", "read_uncommitted", "repeatable_read", "serializable"]
# --- the pooled client ----------------------------------------------------------------------


def _overridden(base: _Target, **parts: Any) -> _Target:
    """``base`` with every part passed explicitly (not None) replacing its own, defaults
    filled in."""
    return replace(base, **{k: v for k, v in parts.items() if v is not None}).with_defaults()


def _check_sizes(min_size: int, max_size: int) -> None:
    if max_size < 1 or not 0 <= min_size <= max_size:
        raise ValueError(
            f"expected 0 <= min_size <= max_size and max_size >= 1, "
            f"got min_size={min_size!r}, max_size={max_size!r}"
        )


def _base_target(dsn: str | None, pgbouncer: bool | None,
                 server_settings: Mapping[str, str] | None) -> tuple[_Target, bool]:
    """The DSN's parts (without its ``pgbouncer=`` option) and whether PgBouncer is in front:
    ``pgbouncer`` when given, else the DSN's option; checks the server settings it allows."""
    base, in_dsn = pop_option(_parse_dsn(dsn) if dsn is not None else _Target(), "pgbouncer")
    if pgbouncer is None:
        pgbouncer = in_dsn is not None and parse_flag(in_dsn, "the DSN's pgbouncer=")
    if pgbouncer:
        _check_server_settings(server_settings)
    return base, pgbouncer


class PgClient(DatabaseClient):
    """A configured PostgreSQL client owning an asyncpg pool.

    ``PgClient(host=..., port=..., database=..., user=..., password=...)`` or
    ``PgClient(dsn="postgresql://...")``; with both, the DSN is the base and each explicitly
    passed parameter overrides its part. Missing parts default to ``localhost:5432``, user
    ``postgres``, database ``postgres`` (the defaults of :meth:`from_env`).

    Constructing never does I/O: the pool is created on first use, inside the running event
    loop, and the client then belongs to that loop.

    ``pgbouncer=True`` (or ``?pgbouncer=true`` in the DSN, or ``LINKGRESS_PGBOUNCER=1`` with
    :meth:`from_env`) is for PgBouncer in transaction pooling mode: no named prepared
    statements (asyncpg's ``statement_cache_size=0``; linkgress's compiled-SQL cache stays) and
    no session state. It costs a second round trip per statement (asyncpg describes each one
    before running it): point lookups take about twice as long. See ``docs/pgbouncer.md``.

    ``replicas=[dsn, ...]``: ORM reads outside a transaction go to these streaming replicas in
    turn, skipping one that failed (for a while) or, with ``max_lag_seconds``, one that lags
    further behind; everything else stays on this (primary) server. See
    :mod:`linkgress.replicas` and ``docs/replicas.md``.
    After :meth:`close`, every use raises :class:`~linkgress.errors.ClientClosedError`.
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        user: str | None = None,
        password: str | None = None,
        *,
        dsn: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        statement_cache_size: int | None = None,
        command_timeout: float | None = None,
        log_queries: bool = False,
        server_settings: Mapping[str, str] | None = None,
        pgbouncer: bool | None = None,
        replicas: Sequence[str] | None = None,
        max_lag_seconds: float | None = None,
    ) -> None:
        _check_sizes(min_size, max_size)
        base, pgbouncer = _base_target(dsn, pgbouncer, server_settings)
        self._pgbouncer = pgbouncer
        self._target = _overridden(base, host=host, port=port, database=database, user=user,
                                   password=password)
        self._min_size = min_size
        self._max_size = max_size
        self._statement_cache_size = _cache_size(pgbouncer, statement_cache_size)
        self._command_timeout = command_timeout
        self._log_queries = log_queries
        self._server_settings = dict(server_settings) if server_settings else None
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._closing_pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._pool_lock = asyncio.Lock()  # binds to a loop on first contended use, not here
        self._closed = False
        # Every checkout goes through the park (linkgress.park): fair order, idle ORM
        # connections, dead connections dropped.
        self._park = ConnectionPark(self._get_pool, self._return, max_size=max_size,
                                    server=self.address)
        self._replicas = self._replica_set(replicas, max_lag_seconds)

    def _replica_set(self, dsns: Sequence[str] | None, max_lag_seconds: float | None
                     ) -> ReplicaSet | None:
        if isinstance(dsns, str):
            raise TypeError("replicas must be a list of DSNs, not one string")
        if not dsns:
            if max_lag_seconds is not None:
                raise ValueError("max_lag_seconds needs replicas=[...]")
            return None
        return ReplicaSet([
            PgClient(dsn=dsn, min_size=min(self._min_size, 1), max_size=self._max_size,
                     statement_cache_size=self._statement_cache_size,
                     command_timeout=self._command_timeout, log_queries=self._log_queries,
                     server_settings=self._server_settings, pgbouncer=self._pgbouncer)
            for dsn in dsns], max_lag_seconds)

    @property
    def replicas(self) -> ReplicaSet | None:
        """The read replicas (``replicas=[...]``) and their state, or None; see
        :mod:`linkgress.replicas`."""
        return self._replicas

    @classmethod
    def from_env(cls, *, environ: Mapping[str, str] | None = None, **options: Any) -> PgClient:
        """Build a client from the environment, by the rule the ``linkgress`` command follows
        (:func:`linkgress.dsn.database_from_env`):

        - ``DATABASE_URL`` set: that URL;
        - else ``DB_HOST``/``DB_PORT``/``DB_NAME``/``DB_USER``/``DB_PASSWORD`` (any of them set;
          defaults: localhost, 5432, postgres, postgres, none);
        - else nothing set: with ``LINKGRESS_ENV``/``APP_ENV=production`` or ``CI`` set, an
          error; otherwise the embedded PostgreSQL in ``./.linkgress`` (the ``embedded``
          extra), started on the client's first connection and released by :meth:`close`,
          with one warning on the ``linkgress.embedded`` logger saying so.

        Never does I/O itself. ``LINKGRESS_PGBOUNCER=1`` sets ``pgbouncer=True`` (unless
        ``pgbouncer=`` is passed). ``options`` are passed on (``max_size=``,
        ``log_queries=``, ...). Raises :class:`~linkgress.errors.LinkgressError` naming the
        variable when one is empty or malformed (``DATABASE_URL=""``, ``DB_PORT=abc``), when
        nothing is set in production or CI, or when the embedded extra is missing.
        """
        env = os.environ if environ is None else environ
        flag = env.get(_PGBOUNCER_ENV, "")
        if "pgbouncer" not in options and parse_flag(flag, _PGBOUNCER_ENV):
            options["pgbouncer"] = True
        dsn = database_from_env(env)
        if dsn is not None:
            return cls(dsn=dsn, **options)
        from pathlib import Path

        from linkgress.embedded import DATA_DIRNAME
        from linkgress.embedded_client import EmbeddedPgClient

        return EmbeddedPgClient(Path.cwd() / DATA_DIRNAME, **options)

    @property
    def dsn(self) -> str:
        """The full connection URI, password included (with ``pgbouncer=true`` when set)."""
        return self._dsn_with_flag(self._target.to_dsn())

    def _dsn_with_flag(self, dsn: str) -> str:
        if not self._pgbouncer:
            return dsn
        return dsn + ("&" if "?" in dsn else "?") + "pgbouncer=true"

    @property
    def pgbouncer(self) -> bool:
        """True when the client is set up for PgBouncer in transaction pooling mode."""
        return self._pgbouncer

    @property
    def database(self) -> str:
        """The database name."""
        assert self._target.database is not None
        return self._target.database

    @property
    def address(self) -> str:
        """``host:port`` of the server (what connection errors name)."""
        host = self._target.host or DEFAULT_HOST
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # IPv6
        return f"{host}:{self._target.port or DEFAULT_PORT}"

    @property
    def park(self) -> ConnectionPark:
        """The pool's checkout point, which keeps idle connections for the ORM (internal:
        see :mod:`linkgress.park`)."""
        return self._park

    @property
    def max_size(self) -> int:
        """The pool's maximum number of connections."""
        return self._max_size

    @property
    def log_queries(self) -> bool:
        """Whether every statement is logged to the ``linkgress.sql`` logger."""
        return self._log_queries

    @log_queries.setter
    def log_queries(self, value: bool) -> None:
        self._log_queries = value
        for replica in self._replicas.clients if self._replicas else ():
            replica.log_queries = value

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def with_database(self, name: str) -> PgClient:
        """Return a new, unconnected client with the same settings on database ``name``."""
        return PgClient(
            dsn=self._target.to_dsn(),
            database=name,
            min_size=self._min_size,
            max_size=self._max_size,
            statement_cache_size=self._statement_cache_size,
            command_timeout=self._command_timeout,
            log_queries=self._log_queries,
            server_settings=self._server_settings,
            pgbouncer=self._pgbouncer,
            replicas=[dsn_with_database(replica.dsn, name)
                      for replica in (self._replicas.clients if self._replicas else ())],
            max_lag_seconds=self._replicas.max_lag_seconds if self._replicas else None,
        )

    def __repr__(self) -> str:
        return (
            f"PgClient(dsn={self._dsn_with_flag(self._target.to_dsn(mask_password=True))!r}, "
            f"min_size={self._min_size}, max_size={self._max_size}"
            f"{', closed' if self._closed else ''})"
        )

    # --- pool lifecycle ---

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise ClientClosedError(
                f"this PgClient ({self._target.to_dsn(mask_password=True)}) is closed; "
                "create a new client to run more statements"
            )

    async def _get_pool(self) -> asyncpg.Pool[asyncpg.Record]:
        self._raise_if_closed()
        pool = self._pool
        if pool is None:
            async with self._pool_lock:  # concurrent first uses must create one pool
                self._raise_if_closed()
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._target.to_dsn(),
                        min_size=self._min_size,
                        max_size=self._max_size,
                        statement_cache_size=self._statement_cache_size,
                        command_timeout=self._command_timeout,
                        server_settings=self._server_settings,
                    )
                    self._pool_loop = asyncio.get_running_loop()
                pool = self._pool
        elif self._pool_loop is not asyncio.get_running_loop():
            raise LinkgressError(
                "this PgClient's pool belongs to another event loop; create one client per "
                "event loop (asyncpg connections cannot move between loops)"
            )
        return pool

    async def close(self) -> None:
        """Close the pool, waiting for acquired connections to be released. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._replicas is not None:
            await self._replicas.close()
        # Give back the ORM's parked connections first, or pool.close() would wait for them.
        await self._park.close(same_loop=self._pool_loop is asyncio.get_running_loop())
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._pool_loop is not asyncio.get_running_loop():
            # Typically pytest-asyncio closing a fixture's client on a loop other than the
            # test's (whose loop may already be closed): asyncpg cannot close it from here.
            raise LinkgressError(
                "this PgClient's pool was created on another event loop and cannot be closed "
                "from this one; close it on the loop that used it (with pytest-asyncio, give "
                "async fixtures and tests the same loop scope)"
            )
        # Connections still borrowed are released into this pool while it closes.
        self._closing_pool = pool
        await pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def acquire(self, *, timeout: float | None = None) -> PoolAcquire:
        """Borrow a pooled connection: ``async with client.acquire() as conn:`` (released on
        exit), or ``conn = await client.acquire()`` paired with :meth:`release`."""
        return PoolAcquire(self, timeout)

    async def release(self, connection: PooledConnection) -> None:
        """Give back a connection obtained with ``await client.acquire()``."""
        await self._park.release_connection(connection)

    async def _return(self, connection: PooledConnection) -> None:
        pool = self._pool or self._closing_pool
        if pool is None:
            return
        # Shielded: if the releasing task is cancelled midway, the connection would be neither
        # reset nor returned, and the pool would shrink by one for good (and close() would
        # wait on it forever). asyncpg shields its own release too; we do not rely on that.
        await asyncio.shield(pool.release(connection))

    @contextlib.asynccontextmanager
    async def transaction(
        self, isolation: IsolationLevel | None = None, readonly: bool = False
    ) -> AsyncIterator[ConnectionClient]:
        """Run a block in one transaction on one pooled connection.

        Yields a :class:`ConnectionClient`; commits when the block exits normally, rolls back
        when it raises (and re-raises).
        """
        with mapped_errors("BEGIN/COMMIT", server=self.address):
            async with (
                self.acquire() as connection,
                connection.transaction(isolation=isolation, readonly=readonly),
            ):
                yield self._on(connection)

    # --- statements ---

    def _on(self, connection: PooledConnection) -> ConnectionClient:
        return ConnectionClient(connection, log_queries=self._log_queries, server=self.address)

    async def execute(self, sql: str, *args: object, timeout: float | None = None) -> str:
        async with self.acquire() as connection:
            return await self._on(connection).execute(sql, *args, timeout=timeout)

    async def fetch(
        self, sql: str, *args: object, timeout: float | None = None
    ) -> list[asyncpg.Record]:
        async with self.acquire() as connection:
            return await self._on(connection).fetch(sql, *args, timeout=timeout)

    async def fetchrow(
        self, sql: str, *args: object, timeout: float | None = None
    ) -> asyncpg.Record | None:
        async with self.acquire() as connection:
            return await self._on(connection).fetchrow(sql, *args, timeout=timeout)

    async def fetchval(
        self, sql: str, *args: object, column: int = 0, timeout: float | None = None
    ) -> Any:
        async with self.acquire() as connection:
            return await self._on(connection).fetchval(sql, *args, column=column,
                                                       timeout=timeout)

    async def executemany(
        self, sql: str, args_iterable: Iterable[Sequence[object]], timeout: float | None = None
    ) -> None:
        async with self.acquire() as connection:
            await self._on(connection).executemany(sql, args_iterable, timeout=timeout)

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
        async with self.acquire() as connection:
            return await self._on(connection).copy_records_to_table(
                table, records=records, columns=columns, schema_name=schema_name, timeout=timeout
            )


class PoolAcquire:
    """Returned by :meth:`PgClient.acquire`: usable with ``async with`` and with ``await``."""

    def __init__(self, client: PgClient, timeout: float | None) -> None:
        self._client = client
        self._timeout = timeout
        self._connection: PooledConnection | None = None

    async def _acquire(self) -> PooledConnection:
        return await self._client.park.checkout(self._timeout)

    def __await__(self) -> Generator[Any, None, PooledConnection]:
        return self._acquire().__await__()

    async def __aenter__(self) -> PooledConnection:
        if self._connection is not None:
            raise RuntimeError("this acquire() context is already in use")
        self._connection = await self._acquire()
        return self._connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._client.release(connection)
