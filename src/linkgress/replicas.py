"""Read replicas: which server an ORM read outside a transaction goes to.

``PgClient(dsn=primary, replicas=[dsn, ...], max_lag_seconds=None)`` keeps one client (one pool)
per replica in a :class:`ReplicaSet`. ORM reads outside a transaction block (``to_list``,
``first``, ``count``, ``exists``, ``stream``, ...) go to the replicas in turn (round robin);
everything else goes to the primary: writes, every statement inside ``db.transaction()``
(so a transaction reads its own writes), the client's own ``execute``/``fetch``, and all schema
management. ``queryable.on_primary()`` sends one read to the primary.

- **A replica that fails** (cannot be reached, or the connection breaks) is skipped for
  :data:`RETRY_SECONDS` and then tried again; the read that met the failure is run again on the
  primary (a read can be repeated), so callers do not see it. A ``stream()`` that already
  yielded rows cannot be repeated: its error is raised.
- **Lag**: with ``max_lag_seconds``, a replica whose replay is further behind than that is
  skipped (the read goes to the next replica, else to the primary). The lag is read from
  ``pg_last_xact_replay_timestamp()`` at most every :data:`LAG_CHECK_SECONDS` per replica, by
  one query at a time: reads that arrive while it runs wait for its answer, so 50 concurrent
  readers cost one lag query, not 50. A replica that
  has replayed everything it received counts as lag 0 (an idle primary writes no
  transactions, and its replicas are not behind).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from linkgress.errors import DatabaseConnectionError, DatabaseError

if TYPE_CHECKING:
    from linkgress.client import PgClient

__all__ = ["LAG_CHECK_SECONDS", "LAG_SQL", "RETRY_SECONDS", "ReplicaSet"]

#: Seconds a failed replica is skipped before it is tried again.
RETRY_SECONDS = 5.0

#: Seconds a replica's measured lag is trusted before it is measured again.
LAG_CHECK_SECONDS = 0.25

#: The replica's replay lag in seconds (0 when it has replayed all it received).
LAG_SQL = """
SELECT CASE WHEN NOT pg_catalog.pg_is_in_recovery()
              OR pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn()
            THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM pg_catalog.now()
                                  - pg_catalog.pg_last_xact_replay_timestamp()), 0)
       END::float8
"""


class ReplicaSet:
    """The replicas of one client and their state (see the module docstring)."""

    def __init__(self, clients: Sequence[PgClient], max_lag_seconds: float | None) -> None:
        if max_lag_seconds is not None and max_lag_seconds < 0:
            raise ValueError(f"max_lag_seconds must be >= 0 or None, got {max_lag_seconds!r}")
        self.clients = list(clients)
        self.max_lag_seconds = max_lag_seconds
        self._next = 0
        self._down_until = [0.0] * len(self.clients)
        self._lag: list[tuple[float, float]] = [(0.0, -1.0)] * len(self.clients)
        self._measuring: list[asyncio.Task[float] | None] = [None] * len(self.clients)

    async def pick(self) -> PgClient | None:
        """The replica for the next read, or None (read on the primary)."""
        count = len(self.clients)
        now = time.monotonic()
        for _ in range(count):
            index = self._next
            self._next = (index + 1) % count
            if self._down_until[index] > now:
                continue
            if self.max_lag_seconds is not None and not await self._fresh(index, now):
                continue
            return self.clients[index]
        return None

    def failed(self, client: PgClient) -> None:
        """``client`` (one of the replicas) failed: skip it for :data:`RETRY_SECONDS`."""
        for index, candidate in enumerate(self.clients):
            if candidate is client:
                self._down_until[index] = time.monotonic() + RETRY_SECONDS

    async def _fresh(self, index: int, now: float) -> bool:
        lag, measured_at = self._lag[index]
        if measured_at < 0 or now - measured_at > LAG_CHECK_SECONDS:
            measuring = self._measuring[index]
            if measuring is None:
                measuring = asyncio.ensure_future(self._measure(index))
                self._measuring[index] = measuring
            lag = await asyncio.shield(measuring)
        assert self.max_lag_seconds is not None
        return lag <= self.max_lag_seconds

    async def _measure(self, index: int) -> float:
        """Measure replica ``index``'s lag and remember it; infinite when it cannot be told
        (the replica is then not trusted until the next measurement)."""
        lag = math.inf
        try:
            lag = float(await self.clients[index].fetchval(LAG_SQL))
        except DatabaseConnectionError:
            self.failed(self.clients[index])
        except DatabaseError:
            pass  # cannot tell how far behind it is: do not trust it
        finally:
            self._measuring[index] = None
            self._lag[index] = (lag, time.monotonic())
        return lag

    async def close(self) -> None:
        """Close every replica's pool (a lag measurement on its way is cancelled)."""
        for measuring in self._measuring:
            if measuring is not None:
                measuring.cancel()
        for client in self.clients:
            await client.close()
