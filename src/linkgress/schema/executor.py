"""``MigrationExecutor``: the only place that writes DDL.

Everything runs on one connection in one transaction under a transaction-scoped advisory lock:
operations one by one, then the ``on_migration_complete`` hook, then the managed-state record,
then COMMIT. Any failure rolls all of it back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg

from linkgress.client import ConnectionClient, DatabaseClient, PgClient
from linkgress.errors import (
    MigrationError,
    MigrationLockTimeout,
    is_connection_error,
    is_driver_error,
)
from linkgress.schema.ddl import render
from linkgress.schema.operations import Operation
from linkgress.schema.quoting import quote_qualified
from linkgress.schema.rawsql import execute_one, failure_reason
from linkgress.schema.snapshot import Schema, from_json_text, to_json

log = logging.getLogger("linkgress.migrate")

# One key for every linkgress migrator of a database ("linkgres" in ASCII). Advisory locks are
# per database, so two databases on one server never wait for each other.
MIGRATION_LOCK_KEY = 0x6C696E6B67726573

LOCK_SQL = ("SELECT set_config('application_name', $3, true), "
            "CASE WHEN $4 <> '0' THEN set_config('client_connection_check_interval', $4, true) "
            "END, set_config('lock_timeout', $2, true), pg_try_advisory_xact_lock($1) AS got")

#: What ``pg_stat_activity.application_name`` shows for a migrating session.
APPLICATION_NAME = "linkgress migrate"

#: ``client_connection_check_interval`` of migration sessions (PostgreSQL 14+): how often a
#: running statement checks that the client is still connected.
CONNECTION_CHECK_MS = 500

# Servers (host:port) that refused client_connection_check_interval (platforms without it).
_NO_CONNECTION_CHECK: set[str] = set()


def _is_closed(conn: RawConnection) -> bool:
    """Whether ``conn`` is unusable (a pool proxy whose connection died was already given
    back to the pool, and asyncpg then refuses even ``is_closed()``)."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


def _connection_check(conn: RawConnection, server: str) -> str:
    """The ``client_connection_check_interval`` to set, or ``"0"`` where it is unavailable."""
    if server in _NO_CONNECTION_CHECK or conn.get_server_version().major < 14:
        return "0"
    return f"{CONNECTION_CHECK_MS}ms"

LOCK_HOLDER = """
SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, a.state,
       now() - a.xact_start AS running_for, left(a.query, 200) AS query
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted
   AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""

Hook = Callable[[DatabaseClient], Awaitable[None]]

# What identifies one version of a state row: the id of the transaction that wrote it, when,
# and how large it is. Any UPDATE (even by hand) gives the row a new xmin.
STATE_TOKEN = ("current_database() || ':' || s.xmin::text || ':' || s.applied_at::text || ':' "
               "|| pg_column_size(s.snapshot)::text")

# Decoded recorded snapshots by (state table, state name): (token, snapshot). Small: a process
# normally manages one or two databases.
_STATE_CACHE: dict[tuple[str, str], tuple[str, Schema]] = {}
_STATE_CACHE_SIZE = 16


def _remember(key: tuple[str, str], token: str, schema: Schema) -> None:
    _STATE_CACHE.pop(key, None)
    while len(_STATE_CACHE) >= _STATE_CACHE_SIZE:
        del _STATE_CACHE[next(iter(_STATE_CACHE))]
    _STATE_CACHE[key] = (token, schema)

if TYPE_CHECKING:
    from linkgress.connection import RawConnection


@dataclass(frozen=True)
class MigrationSettings:
    """Tunables shared by ``migrate()``, ``ensure_created()`` and the journal runner.

    ``lock_wait_timeout`` bounds the wait for another migrator's lock; ``lock_timeout`` bounds
    each DDL statement's wait for table locks held by live traffic.
    """

    lock_timeout: float = 5.0
    lock_wait_timeout: float = 60.0
    state_schema: str = "public"
    state_table: str = "__linkgress_schema_state"
    state_name: str = "default"

    @property
    def qualified_state_table(self) -> str:
        """The state table as quoted SQL."""
        return quote_qualified(self.state_schema, self.state_table)


def milliseconds(seconds: float) -> str:
    """A PostgreSQL duration setting (``"1500ms"``, at least 1 ms) for ``seconds``."""
    return f"{max(1, round(seconds * 1000))}ms"


class LockWait:
    """Pauses between tries of the migration lock: backing off from 20 ms to 500 ms with
    jitter; past ``lock_wait_timeout`` a pause raises :class:`MigrationLockTimeout` naming the
    session that holds the lock."""

    def __init__(self, executor: MigrationExecutor) -> None:
        self._executor = executor
        self._deadline = time.monotonic() + executor.settings.lock_wait_timeout
        self._delay = 0.02

    async def pause(self) -> None:
        """Sleep before the next try, or raise when the wait is over."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            holder = await self._executor.describe_lock_holder()
            raise MigrationLockTimeout(
                f"timed out after {self._executor.settings.lock_wait_timeout}s waiting for "
                f"the migration lock; held by {holder}")
        await asyncio.sleep(min(left, self._delay * random.uniform(0.5, 1.0)))
        self._delay = min(self._delay * 2, 0.5)


class MigrationExecutor:
    """Applies operations atomically and records what linkgress now manages."""

    def __init__(self, client: PgClient, settings: MigrationSettings | None = None) -> None:
        self.client = client
        self.settings = settings or MigrationSettings()

    @asynccontextmanager
    async def locked_transaction(self) -> AsyncIterator[RawConnection]:
        """A connection in a transaction that holds the migration lock; commits on success.

        Waiting for the lock is bounded by ``lock_wait_timeout``; a timeout raises
        :class:`MigrationLockTimeout` naming the session that holds it. The session is named
        ``linkgress migrate`` (``application_name``) and, on PostgreSQL 14 and later, checks
        every :data:`CONNECTION_CHECK_MS` ms while a statement runs that its client is still
        there — so a killed migrator's lock goes within about a second even when it was
        running a long statement. A lost connection raises :class:`MigrationError` (the server
        rolled the transaction back) and no rollback is attempted on it.
        """
        async with self.client.acquire() as conn:
            tr = await self._begin_locked(conn)
            try:
                yield conn
            except BaseException as exc:
                await self._abandon(conn, tr, exc)
                raise
            await self._commit(conn, tr)

    async def _begin_locked(self, conn: RawConnection) -> Any:
        """BEGIN and take the lock; the transaction object.

        The lock is polled with ``pg_try_advisory_xact_lock`` in short transactions (backing
        off from 20 ms to 500 ms, with jitter) rather than waited for inside one, so a waiting
        migrator holds no transaction open; ``lock_wait_timeout`` bounds the whole wait."""
        wait = self.lock_wait()
        while True:
            tr = await self._try_lock(conn)
            if tr is not None:
                return tr
            await wait.pause()

    def lock_wait(self) -> LockWait:
        """The backoff between two tries of the migration lock, bounded by
        ``lock_wait_timeout`` (shared by every way of taking the lock)."""
        return LockWait(self)

    async def _try_lock(self, conn: RawConnection) -> Any:
        """One short transaction trying the lock: the transaction holding it, or None."""
        check = _connection_check(conn, self.client.address)
        tr = conn.transaction()
        try:
            await tr.start()
        except Exception as exc:
            if not is_driver_error(exc):
                raise
            raise self._failed("starting the migration transaction", exc) from exc
        try:
            # The target list is evaluated left to right: the session is named and told to
            # watch its client, the DDL's lock_timeout is set, then the lock is tried.
            row = await conn.fetchrow(LOCK_SQL, MIGRATION_LOCK_KEY,
                                      milliseconds(self.settings.lock_timeout),
                                      APPLICATION_NAME, check)
            got = row is not None and row["got"]
        except BaseException as exc:
            await self._abandon(conn, tr, exc)
            if not isinstance(exc, Exception):
                raise
            if isinstance(exc, asyncpg.InvalidParameterValueError) and check != "0":
                _NO_CONNECTION_CHECK.add(self.client.address)  # a platform without it
                return await self._try_lock(conn)
            raise self._failed("starting the migration transaction", exc) from exc
        if got:
            return tr
        await tr.rollback()
        return None

    async def _abandon(self, conn: RawConnection, tr: Any, exc: BaseException) -> None:
        """Roll back after ``exc`` — unless the connection is gone (the server has rolled
        back already, and asyncpg would raise about the closed connection instead)."""
        if _is_closed(conn):
            if isinstance(exc, Exception) and not isinstance(exc, MigrationError):
                raise self._failed("the migration", exc) from exc
            return
        try:
            await tr.rollback()
        except Exception as rollback_error:
            if not is_driver_error(rollback_error):
                raise
            if isinstance(exc, Exception) and not isinstance(exc, MigrationError):
                raise self._failed("the migration", exc) from exc

    async def _commit(self, conn: RawConnection, tr: Any) -> None:
        try:
            await tr.commit()
        except Exception as exc:
            if not is_driver_error(exc):
                raise
            if is_connection_error(exc):
                raise MigrationError(
                    f"the connection to PostgreSQL at {self.client.address} was lost during "
                    f"COMMIT ({exc}); the migration may or may not have been applied: run "
                    "analyze() to see where the database stands", sql="COMMIT") from exc
            raise MigrationError(f"COMMIT of the migration failed: {exc}; nothing was applied",
                                 sql="COMMIT") from exc

    def _failed(self, what: str, exc: BaseException) -> MigrationError:
        """The :class:`MigrationError` for a driver error met outside an operation."""
        if is_connection_error(exc):
            return MigrationError(
                f"lost the connection to PostgreSQL at {self.client.address} during {what} "
                f"({exc}); nothing was applied: the server rolled the transaction back")
        return MigrationError(f"{what} failed: {exc}; nothing was applied")

    async def describe_lock_holder(self) -> str:
        """Who holds the migration lock (pid, application_name, state, age, query), best
        effort."""
        try:
            row = await self.client.fetchrow(LOCK_HOLDER, MIGRATION_LOCK_KEY)
        except Exception:  # the description is best effort; the timeout is the real error
            return "another session"
        if row is None:
            return "another session (it has released the lock since)"
        return (f"pid {row['pid']} ({row['application_name'] or 'no application_name'}, "
                f"{row['client_addr'] or 'local'}, {row['state']}, transaction running for "
                f"{row['running_for']}): {row['query']!r}")

    async def apply(self, conn: RawConnection, operations: list[Operation],
                    on_applied: Callable[[Operation], None] | None = None) -> None:
        """Run each operation's SQL in order; a failure raises :class:`MigrationError`.

        Each statement is sent alone through the extended protocol, so PostgreSQL refuses a
        raw SQL option that carries a second statement (see :mod:`linkgress.schema.rawsql`).
        """
        for op in operations:
            for sql in render(op):
                try:
                    await execute_one(conn, sql)
                except Exception as exc:
                    if not is_driver_error(exc):
                        raise
                    raise MigrationError(
                        f"migration failed at '{op.describe()}': {failure_reason(op, exc)}\n"
                        f"  SQL: {sql}\n"
                        "  nothing was applied (the transaction was rolled back)",
                        operation=op, sql=sql) from exc
            log.debug("applied: %s", op.describe())
            if on_applied is not None:
                on_applied(op)

    async def run_hook(self, conn: RawConnection, hook: Hook, name: str) -> None:
        """Await a context hook on the migration connection; wrap failures."""
        try:
            await hook(ConnectionClient(conn, log_queries=self.client.log_queries,
                                        server=self.client.address))
        except Exception as exc:
            raise MigrationError(f"{name} hook failed: {exc!r}; nothing was applied",
                                 sql=getattr(exc, "query", None)) from exc

    async def _ensure_state_table(self, conn: RawConnection) -> None:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.settings.qualified_state_table} ("
            "state_name text PRIMARY KEY, snapshot jsonb NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())")

    async def read_state(self, conn: RawConnection) -> Schema | None:
        """The recorded managed snapshot, or None if nothing was ever recorded.

        Decoding a snapshot costs milliseconds per 50 tables, and every service start reads the
        same one: the decoded value is kept in-process under the row's version token (the
        writing transaction's id, ``applied_at`` and the stored size), and the JSON is only
        sent when that token is not the cached one.
        """
        table = self.settings.qualified_state_table
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
            return None
        key = (table, self.settings.state_name)
        cached = _STATE_CACHE.get(key)
        row = await conn.fetchrow(
            f"SELECT {STATE_TOKEN} AS token, CASE WHEN {STATE_TOKEN} IS DISTINCT FROM $2 "
            f"THEN s.snapshot::text END AS raw FROM {table} AS s WHERE s.state_name = $1",
            self.settings.state_name, cached[0] if cached else None)
        if row is None:
            return None
        if row["raw"] is None and cached is not None:
            return cached[1]
        value: Any = from_json_text(row["raw"])
        if not isinstance(value, Schema):
            return None
        _remember(key, row["token"], value)
        return value

    async def write_state(self, conn: RawConnection, schema: Schema) -> None:
        """Record ``schema`` as what linkgress manages (in the caller's transaction)."""
        await self._ensure_state_table(conn)
        table = self.settings.qualified_state_table
        token = await conn.fetchval(
            f"INSERT INTO {table} AS s "
            "(state_name, snapshot, applied_at) VALUES ($1, $2::jsonb, now()) "
            "ON CONFLICT (state_name) DO UPDATE SET snapshot = EXCLUDED.snapshot, "
            f"applied_at = now() RETURNING {STATE_TOKEN}",
            self.settings.state_name, json.dumps(to_json(schema)))
        # Should the transaction roll back, the row keeps its old token and this entry is
        # simply never matched.
        _remember((table, self.settings.state_name), token, schema)

    async def clear_state(self, conn: RawConnection) -> None:
        """Forget the state row; drop the state table when no other state remains."""
        table = self.settings.qualified_state_table
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
            return
        await conn.execute(f"DELETE FROM {table} WHERE state_name = $1", self.settings.state_name)
        if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            await conn.execute(f"DROP TABLE {table}")
