"""Riding out live traffic: a migration whose DDL met ``lock_timeout`` is tried again.

A DDL statement waits at most ``lock_timeout`` for the table lock it needs (so that queries
queued behind it are not stalled long). When a long reader holds the table, that wait fails
with SQLSTATE 55P03; the whole transaction was rolled back, so it is simply run again after an
exponential backoff with jitter, a bounded number of times (``lock_retries``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from linkgress.errors import MigrationError, MigrationLockTimeout

log = logging.getLogger("linkgress.migrate")

T = TypeVar("T")

#: The first backoff (seconds); each retry doubles it, up to :data:`MAX_BACKOFF`.
FIRST_BACKOFF = 0.2
MAX_BACKOFF = 5.0


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a DDL statement's ``lock_timeout`` (55P03), not the migration lock."""
    if isinstance(exc, MigrationLockTimeout) or not isinstance(exc, MigrationError):
        return False
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, asyncpg.LockNotAvailableError):
            return True
        cause = cause.__cause__
    return False


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): exponential, with full jitter
    between half and all of it."""
    step = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** attempt)
    return float(step * random.uniform(0.5, 1.0))


async def with_lock_retries(run: Callable[[], Awaitable[T]], retries: int, *,
                            level: int = logging.INFO) -> T:
    """``await run()``; on a ``lock_timeout`` failure wait and run it again, at most
    ``retries`` more times (then the last failure is raised, naming the retries)."""
    attempt = 0
    while True:
        try:
            return await run()
        except MigrationError as exc:
            if not is_lock_timeout(exc):
                raise
            if attempt >= retries:
                if retries:
                    exc.args = (f"{exc.args[0]}\n  (gave up after {retries} retries)",)
                raise
            wait = backoff(attempt)
            attempt += 1
            log.log(level, "a table lock was not granted within lock_timeout; retrying the "
                    "migration in %.2fs (retry %d of %d)", wait, attempt, retries)
            await asyncio.sleep(wait)
