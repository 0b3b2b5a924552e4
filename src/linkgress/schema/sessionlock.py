"""The migration lock held by a whole session, for work that cannot run in one transaction:
journaled ``atomic = False`` migrations and the post-commit steps of ``migrate(online=True)``.

:func:`locked_session` polls the lock as ``migrate()`` waits for it (``lock_wait_timeout``),
names the session ``linkgress migrate``, sets the migration's ``lock_timeout`` and, where the
server has it (PostgreSQL 14+), has the server check every :data:`CONNECTION_CHECK_MS` ms that
the client is still there, so that a killed migrator's session — and its lock — ends within
about a second, not when a long statement finishes. All of it is reset on exit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import asyncpg

from linkgress.errors import MigrationError
from linkgress.schema.deferred import session_lock, session_usable
from linkgress.schema.executor import (
    APPLICATION_NAME,
    CONNECTION_CHECK_MS,
    MIGRATION_LOCK_KEY,
    milliseconds,
)

if TYPE_CHECKING:
    from linkgress.connection import RawConnection
    from linkgress.schema.executor import MigrationExecutor

__all__ = ["SESSION_SETTINGS", "locked_session", "watch_client"]

SESSION_SETTINGS = ("SELECT set_config('application_name', $1, false), "
                    "set_config('lock_timeout', $2, false)")


@asynccontextmanager
async def locked_session(executor: MigrationExecutor, *,
                         why: str) -> AsyncIterator[RawConnection]:
    """A connection outside any transaction holding the migration lock at session level (see
    the module docstring). ``why`` names the work, for the refusal through PgBouncer (whose
    transaction pooling cannot hold a session-level lock)."""
    client, settings = executor.client, executor.settings
    if client.pgbouncer:
        raise MigrationError(
            f"{why} under a session-level lock, which PgBouncer in transaction pooling mode "
            "(pgbouncer=True) cannot hold: run it on a direct connection to PostgreSQL")
    wait = executor.lock_wait()
    async with client.acquire() as conn:
        while True:
            async with session_lock(conn, MIGRATION_LOCK_KEY) as got:
                if got:
                    await conn.execute(SESSION_SETTINGS, APPLICATION_NAME,
                                       milliseconds(settings.lock_timeout))
                    reset = "RESET application_name; RESET lock_timeout"
                    if await watch_client(conn):
                        reset += "; RESET client_connection_check_interval"
                    try:
                        yield conn
                    finally:
                        if session_usable(conn):
                            with anyio.CancelScope(shield=True):
                                await conn.execute(reset)
                    return
            await wait.pause()


async def watch_client(conn: RawConnection) -> bool:
    """Set ``client_connection_check_interval`` for the session (PostgreSQL 14+); whether it
    was set (a platform without it refuses the setting)."""
    if conn.get_server_version().major < 14:
        return False
    try:
        await conn.execute(f"SET client_connection_check_interval = {CONNECTION_CHECK_MS}")
    except asyncpg.InvalidParameterValueError:
        return False
    return True
