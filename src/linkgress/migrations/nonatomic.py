"""Running a migration file that declares ``atomic = False``, outside any transaction.

``CREATE INDEX CONCURRENTLY``, ``DROP INDEX CONCURRENTLY``, ``REINDEX ... CONCURRENTLY`` and a
few others refuse to run in a transaction block. A migration class setting ``atomic = False``
runs its statements one by one, each committed on its own, on a session that holds the
migration lock at session level (:func:`linkgress.schema.deferred.session_lock`, the approach
of the post-commit index builds; the same key as ``migrate()``'s transaction-scoped lock, so
the two exclude each other). The journal row and the managed-state record are written in a
short transaction after every statement succeeded. On a failure, the statements before the
failing one stay applied, and the error names them; no journal row is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from linkgress.errors import MigrationError
from linkgress.schema.sessionlock import locked_session as session_locked

if TYPE_CHECKING:
    from linkgress.connection import RawConnection
    from linkgress.schema.executor import MigrationExecutor

    from .builder import SchemaBuilder

def is_atomic(migration_class: type) -> bool:
    """The class's ``atomic`` flag (True unless it sets ``atomic = False``)."""
    return bool(getattr(migration_class, "atomic", True))


@asynccontextmanager
async def locked_session(executor: MigrationExecutor) -> AsyncIterator[RawConnection]:
    """A connection outside any transaction holding the migration lock at session level
    (:func:`linkgress.schema.sessionlock.locked_session`)."""
    async with session_locked(executor, why="a migration with atomic = False runs outside a "
                                            "transaction") as conn:
        yield conn


def nonatomic_failure(name: str, direction: str, error: MigrationError,
                      builder: SchemaBuilder, *, failed_in_sql: bool) -> MigrationError:
    """``error`` (from the atomic path's message) restated for a migration that ran outside a
    transaction: which statements stay applied, and that the journal was not changed."""
    done = builder.statements[:-1] if failed_in_sql else builder.statements
    message = str(error).removesuffix("\n  it was rolled back")
    if done:
        listed = "\n".join(f"    {i}. {sql}" for i, sql in enumerate(done, 1))
        message += (f"\n  it is not atomic (atomic = False): these {len(done)} statement(s) "
                    f"before the failure stay applied:\n{listed}")
    else:
        message += ("\n  it is not atomic (atomic = False), but nothing before the failure "
                    "had run")
    journal = ("the journal row was not written (the migration is still pending)"
               if direction == "up" else
               "the journal row was kept (the migration still counts as applied)")
    message += (f"\n  {journal}: undo or complete those statements by hand, or make "
                f"{direction}() safe to run again (IF NOT EXISTS / IF EXISTS), then retry")
    return MigrationError(message, operation=error.operation, sql=error.sql)
