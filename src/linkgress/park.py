"""The connection park: a client's pool, with idle connections kept for the ORM's statements.

asyncpg's ``pool.fetchrow()`` costs more than the query it runs when the query is a primary-key
lookup: ``acquire`` and ``release`` go through a queue, a shielded task and a timer, and the
release sends ``RESET ALL; UNLISTEN *; CLOSE ALL; ...`` — a second round trip. Measured on this
project's benchmark, 2.7x the cost of the same lookup on a held connection.

So every connection of a :class:`~linkgress.PgClient` is checked out through its park, and the
ORM borrows through it: :meth:`ConnectionPark.take` pops an idle parked connection (no await),
:meth:`ConnectionPark.put` pushes it back. Parked connections only ever ran ORM statements
outside transactions (or committed/rolled back ORM transactions), so there is no session state
to reset. The rules that keep this correct under load and faults:

- **First come, first served.** Every checkout of the pool, the ORM's and everyone else's,
  passes one FIFO gate with as many tickets as the pool has connections: a task that finds
  none free queues, and a ticket given back goes to the longest waiter (asyncpg's own queue
  lets a task that releases and re-acquires at once overtake the tasks already waiting; the
  gate does not). While anyone queues, a returned connection is never parked: it goes back to
  the pool and its ticket to the next waiter, and :meth:`take` finds nothing. A task that
  finds the pool exhausted while the park holds idle connections makes the park give them
  back first.
- **Never a dead connection.** A parked connection that was closed (a server restart, a
  terminated backend, a network failure) is dropped when it is found, together with every other
  closed one; the pool then opens a new connection on the next checkout.
- At most ``max_size - 1`` are parked, so the pool always keeps one connection for other users
  (a one-connection pool parks nothing); when the park saw no use for
  :data:`PARK_IDLE_SECONDS`, its connections go back to the pool; :meth:`close` (called by
  ``PgClient.close()``) gives them all back.

Statements run on the underlying ``asyncpg.Connection`` rather than the pool's proxy object,
which would add a wrapper call to every method; the proxy is what goes back to the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from linkgress.errors import LinkgressError, is_driver_error, translate_error

if TYPE_CHECKING:
    import asyncpg

    from linkgress.connection import PooledConnection

__all__ = ["PARK_IDLE_SECONDS", "ConnectionPark", "Lease"]

#: Seconds without any use after which parked connections return to the pool.
PARK_IDLE_SECONDS = 0.5

#: ``(connection, proxy)``: run statements on the first, release the second.
Lease = tuple[Any, "PooledConnection"]

PoolSource = Callable[[], Awaitable["asyncpg.Pool[asyncpg.Record]"]]
Release = Callable[["PooledConnection"], Awaitable[None]]


def _unwrap(proxy: PooledConnection) -> Any:
    # The pool's proxy keeps the real connection in ``_con`` (asyncpg >= 0.18); without it,
    # statements simply go through the proxy.
    return getattr(proxy, "_con", None) or proxy


class FifoGate:
    """``size`` tickets handed out strictly in arrival order (see the module docstring).

    A waiter that accepts a lease (the ORM's) may be handed a clean connection directly instead
    of a ticket (:meth:`hand`); the connection keeps the ticket it holds. ``orphan`` receives
    what was handed to a waiter that was cancelled before it could use it (None: a ticket).
    """

    def __init__(self, size: int, orphan: Callable[[Lease | None], None]) -> None:
        self._free = size
        self._orphan = orphan
        self._waiters: deque[tuple[asyncio.Future[Lease | None], bool]] = deque()

    @property
    def free(self) -> int:
        """Tickets nobody holds."""
        return self._free

    @property
    def queued(self) -> int:
        """Tasks waiting (a cancelled one may count until it is passed over)."""
        return len(self._waiters)

    async def enter(self, *, accepts_lease: bool = False) -> Lease | None:
        """Take a ticket (None), or a lease handed over, waiting behind everyone before."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return None
        waiter: asyncio.Future[Lease | None] = asyncio.get_running_loop().create_future()
        entry = (waiter, accepts_lease)
        self._waiters.append(entry)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._orphan(waiter.result())  # handed over, then cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(entry)
            raise

    def _first(self) -> tuple[asyncio.Future[Lease | None], bool] | None:
        while self._waiters and self._waiters[0][0].done():
            self._waiters.popleft()  # cancelled while queued
        return self._waiters[0] if self._waiters else None

    def hand(self, lease: Lease) -> bool:
        """Give ``lease`` to the first waiter if it accepts one; False otherwise."""
        first = self._first()
        if first is None or not first[1]:
            return False
        self._waiters.popleft()
        first[0].set_result(lease)
        return True

    def leave(self) -> None:
        """Give a ticket back: to the longest waiter, else to the free count."""
        first = self._first()
        if first is None:
            self._free += 1
            return
        self._waiters.popleft()
        first[0].set_result(None)


class ConnectionPark:
    """The checkout point of one client's pool (see the module docstring).

    ``pool`` returns the client's pool (creating it on first use, raising its clear errors);
    ``release`` gives a connection back to it; ``server`` (``host:port``) names the server in
    connection errors.
    """

    def __init__(self, pool: PoolSource, release: Release, *, max_size: int,
                 server: str) -> None:
        self._pool = pool
        self._release = release
        self.server = server
        self._idle: list[Lease] = []
        self._limit = max_size - 1
        self._gate = FifoGate(max_size, self._orphaned)
        self._out: set[int] = set()  # ids of the proxies checked out through the gate
        self._leases = 0
        self._leases_at_sweep = -1
        self._timer: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def idle(self) -> int:
        """How many connections are parked now."""
        return len(self._idle)

    # --- the ORM's side ---

    def take(self) -> Lease | None:
        """An idle parked connection, or None (then :meth:`lease` checks one out)."""
        if self._idle:
            lease = self._idle.pop()
            if lease[0].is_closed():
                self._drop_closed(lease)
                return None
            self._leases += 1
            return lease
        return None

    async def lease(self) -> Lease:
        """A connection for one statement or transaction; pair with :meth:`put` /
        :meth:`give_back` or :meth:`release`. Raises
        :class:`~linkgress.errors.DatabaseConnectionError` when the server cannot be reached."""
        lease = self.take()
        if lease is None:
            handed = await self._enter(None, accepts_lease=True)
            lease = handed or await self._checked_out(None)
        self._leases += 1
        return lease

    def put(self, lease: Lease) -> bool:
        """Park ``lease`` again; False when it must be released instead (someone waits for the
        pool, the park is full or closed, the connection is closed or inside a transaction) —
        the caller then awaits :meth:`release`."""
        connection = lease[0]
        if connection.is_closed() or connection.is_in_transaction():
            return False
        if self._gate.queued:
            # Someone waits: an ORM task gets this clean connection as it is; anyone else
            # gets it through the pool (and its reset), in turn.
            return self._gate.hand(lease)
        if len(self._idle) >= self._limit or self._closed:
            return False
        self._idle.append(lease)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(PARK_IDLE_SECONDS, self._sweep)
        return True

    async def release(self, lease: Lease) -> None:
        """Give ``lease`` back to the pool (asyncpg resets it: rollback, ``RESET ALL``, ...;
        a closed connection is replaced on the next checkout)."""
        await self.release_connection(lease[1])

    async def give_back(self, lease: Lease) -> None:
        """:meth:`put`, else :meth:`release`."""
        if not self.put(lease):
            await self.release(lease)

    # --- everyone's side ---

    async def checkout(self, timeout: float | None = None) -> PooledConnection:
        """A connection from the pool, in arrival order (see the module docstring).

        When the pool has nothing free but the park holds idle connections, they go back to
        the pool first, so no caller waits on connections the ORM is not using.
        """
        await self._enter(timeout)
        return (await self._checked_out(timeout))[1]

    async def _enter(self, timeout: float | None, *, accepts_lease: bool = False
                     ) -> Lease | None:
        """Wait for a ticket (None) or, with ``accepts_lease``, a connection handed over."""
        await self._pool()  # a closed client or another event loop fails here, not in a wait
        if self._idle and self._gate.free == 0:
            idle, self._idle = self._idle, []
            await self._release_all(idle)
        async with asyncio.timeout(timeout):
            return await self._gate.enter(accepts_lease=accepts_lease)

    async def _checked_out(self, timeout: float | None) -> Lease:
        """With a ticket held: a connection from the pool (the ticket goes back on failure)."""
        try:
            pool = await self._pool()
            proxy = await pool.acquire(timeout=timeout)
        except BaseException as exc:
            self._gate.leave()
            if isinstance(exc, LinkgressError) or not isinstance(exc, Exception) \
                    or not is_driver_error(exc):
                raise
            raise translate_error(exc, "connect", server=self.server) from exc
        self._out.add(id(proxy))
        return _unwrap(proxy), proxy

    async def release_connection(self, proxy: PooledConnection) -> None:
        """Give ``proxy`` (from :meth:`checkout`) back to the pool, and its ticket to the next
        in line. Releasing twice gives back one ticket."""
        try:
            await self._release(proxy)
        finally:
            if id(proxy) in self._out:
                self._out.discard(id(proxy))
                self._gate.leave()

    # --- housekeeping ---

    def _orphaned(self, handed: Lease | None) -> None:
        """A waiter was cancelled after being handed ``handed``: pass it on."""
        if handed is None:
            self._gate.leave()
        elif not self.put(handed):
            self._in_background(self.release(handed))

    def _drop_closed(self, lease: Lease) -> None:
        """``lease`` was found closed: the server went away, so drop every closed one."""
        dead = [lease, *(item for item in self._idle if item[0].is_closed())]
        self._idle = [item for item in self._idle if not item[0].is_closed()]
        self._in_background(self._release_all(dead))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)  # keep a reference until it finishes
        task.add_done_callback(self._background.discard)

    def _sweep(self) -> None:
        self._timer = None
        if not self._idle:
            return
        if self._leases == self._leases_at_sweep:  # unused for a whole period
            idle, self._idle = self._idle, []
            self._in_background(self._release_all(idle))
            return
        self._leases_at_sweep = self._leases
        self._timer = asyncio.get_running_loop().call_later(PARK_IDLE_SECONDS, self._sweep)

    async def _release_all(self, leases: list[Lease]) -> None:
        for lease in leases:
            await self.release(lease)

    async def close(self, *, same_loop: bool = True) -> None:
        """Release every parked connection (the pool cannot close while they are out).

        ``same_loop=False`` (closing from another event loop): nothing can be released from
        there, and ``PgClient.close()`` raises its own clear error next.
        """
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        idle, self._idle = self._idle, []
        if not same_loop:
            return
        await self._release_all(idle)
        for task in list(self._background):
            await task
