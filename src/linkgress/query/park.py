"""The ORM's connection park: pooled connections kept checked out while idle, for cheap
per-statement borrowing.

asyncpg's ``pool.fetchrow()`` costs more than the query it runs when the query is a primary-key
lookup: ``acquire`` and ``release`` go through a queue, a shielded task and a timer, and the
release sends ``RESET ALL; UNLISTEN *; CLOSE ALL; ...`` — a second round trip. Measured on this
project's benchmark, 2.7x the cost of the same lookup on a held connection.

So the ORM borrows through a park: :meth:`ConnectionPark.take` pops an idle connection (no
await), :meth:`ConnectionPark.put` pushes it back. Parked connections only ever ran ORM
statements outside transactions (or committed/rolled back ORM transactions), so there is no
session state to reset. A connection is never parked when it is closed or inside a transaction;
at most ``max_size - 1`` are parked, so the pool always keeps one connection for other users
(a one-connection pool parks nothing); when the park saw no use for :data:`PARK_IDLE_SECONDS`,
its connections go back to the pool; :meth:`ConnectionPark.close` (called by
``PgClient.close()``) gives them all back.

Statements run on the underlying ``asyncpg.Connection`` rather than the pool's proxy object,
which would add a wrapper call to every method; the proxy is what goes back to the pool.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linkgress.client import PgClient, PooledConnection

__all__ = ["PARK_IDLE_SECONDS", "ConnectionPark", "Lease", "connection_park"]

#: Seconds without any use after which parked connections return to the pool.
PARK_IDLE_SECONDS = 0.5

#: ``(connection, proxy)``: run statements on the first, release the second.
Lease = tuple[Any, "PooledConnection"]


def _unwrap(proxy: PooledConnection) -> Any:
    # The pool's proxy keeps the real connection in ``_con`` (asyncpg >= 0.18); without it,
    # statements simply go through the proxy.
    return getattr(proxy, "_con", None) or proxy


class ConnectionPark:
    """Idle connections of one client's pool, held by the ORM (see the module docstring)."""

    def __init__(self, client: PgClient) -> None:
        self._client = client
        self._idle: list[Lease] = []
        self._limit = client._max_size - 1
        self._leases = 0
        self._leases_at_sweep = -1
        self._timer: asyncio.TimerHandle | None = None
        self._sweeping: set[asyncio.Task[None]] = set()
        self._closed = False

    def take(self) -> Lease | None:
        """An idle parked connection, or None (then :meth:`lease` acquires one)."""
        if self._idle:
            self._leases += 1
            return self._idle.pop()
        return None

    async def lease(self) -> Lease:
        """A connection for one statement or transaction; pair with :meth:`put` or
        :meth:`release`."""
        lease = self.take()
        if lease is not None:
            return lease
        client = self._client
        pool = client._pool
        if pool is None or client._pool_loop is not asyncio.get_running_loop():
            pool = await client._get_pool()  # creates it, or raises a clear error
        proxy = await pool.acquire()
        self._leases += 1
        return _unwrap(proxy), proxy

    def put(self, lease: Lease) -> bool:
        """Park ``lease`` again; False when it must be released instead (park full or closed,
        connection closed or inside a transaction) — the caller then awaits :meth:`release`."""
        connection = lease[0]
        if (len(self._idle) < self._limit and not self._closed
                and not connection.is_closed() and not connection.is_in_transaction()):
            self._idle.append(lease)
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(
                    PARK_IDLE_SECONDS, self._sweep)
            return True
        return False

    async def release(self, lease: Lease) -> None:
        """Give ``lease`` back to the pool (asyncpg resets it: rollback, ``RESET ALL``, ...)."""
        await self._client.release(lease[1])

    async def give_back(self, lease: Lease) -> None:
        """:meth:`put`, else :meth:`release`."""
        if not self.put(lease):
            await self.release(lease)

    def _sweep(self) -> None:
        self._timer = None
        if not self._idle:
            return
        if self._leases == self._leases_at_sweep:  # unused for a whole period
            idle, self._idle = self._idle, []
            task = asyncio.get_running_loop().create_task(self._release_all(idle))
            self._sweeping.add(task)  # keep a reference until it finishes
            task.add_done_callback(self._sweeping.discard)
            return
        self._leases_at_sweep = self._leases
        self._timer = asyncio.get_running_loop().call_later(PARK_IDLE_SECONDS, self._sweep)

    async def _release_all(self, leases: list[Lease]) -> None:
        for lease in leases:
            await self.release(lease)

    async def close(self) -> None:
        """Release every parked connection (the pool cannot close while they are out)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        idle, self._idle = self._idle, []
        if self._client._pool_loop is not asyncio.get_running_loop():
            # Closing from another event loop: nothing can be released from here, and
            # PgClient.close() raises its own clear error next.
            return
        await self._release_all(idle)
        for task in list(self._sweeping):
            await task


def connection_park(client: PgClient) -> ConnectionPark:
    """The client's :class:`ConnectionPark`, created on first use."""
    park: ConnectionPark | None = getattr(client, "_orm_park", None)
    if park is None:
        park = ConnectionPark(client)
        client._orm_park = park  # PgClient.close() closes it before the pool
    return park
