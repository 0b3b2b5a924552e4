"""The linkgress error hierarchy.

Every error linkgress raises derives from :class:`LinkgressError`::

    LinkgressError
    ├── ModelError (ValueError)            invalid model; raised before any database access
    ├── ClientClosedError (RuntimeError)   the PgClient was closed
    ├── MigrationError                     an operation or hook failed; nothing stays applied
    │   ├── MigrationLockTimeout (TimeoutError)  another migrator held the lock too long
    │   └── SchemaAheadError               a superseded model's needs are gone from the database
    ├── MigrationAborted                   destructive operations were declined / not confirmed
    ├── MigrationFileError (ValueError)    a journaled migration file is malformed
    ├── IrreversibleOperation              an operation's reverse() would lose information
    ├── IrreversibleMigration              a migration's down() cannot undo its up()
    ├── NoChangesError                     scaffold() found no difference to write
    └── QueryError                         a query failed to build or to run
        ├── QueryBuildError (ValueError)   unknown attribute, missing navigation, bad comparison
        ├── NoResultError (LookupError)    first() / single() found nothing
        ├── MultipleResultsError           single() found more than one row
        ├── TransactionError (RuntimeError) a transaction block was misused (see transaction())
        ├── ConcurrencyError               update(entity) / delete(entity) found its row changed
        │                                  (concurrency token) or gone
        └── DatabaseError                  PostgreSQL rejected the statement (carries .sql)
            ├── DatabaseConnectionError    the server could not be reached or the connection
            │                              was lost (names host:port and the cause)
            ├── IntegrityError
            │   ├── UniqueViolation
            │   ├── ForeignKeyViolation
            │   ├── NotNullViolation
            │   └── CheckViolation
            ├── SerializationFailure
            └── LockNotAvailable           for_update(nowait=True) met a locked row
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg


class LinkgressError(Exception):
    """Base class of every error raised by linkgress."""


class ModelError(LinkgressError, ValueError):
    """The model is invalid. Names the entity and, where it applies, the field."""

    def __init__(self, message: str, *, entity: str | None = None, field: str | None = None):
        where = entity if field is None else f"{entity}.{field}"
        super().__init__(f"{where}: {message}" if where else message)
        self.entity = entity
        self.field = field


class ClientClosedError(LinkgressError, RuntimeError):
    """The client (or the context owning it) has been closed."""


class MigrationError(LinkgressError):
    """A migration failed and was rolled back; carries the failing operation and its SQL."""

    def __init__(self, message: str, *, operation: Any = None, sql: str | None = None):
        super().__init__(message)
        self.operation = operation
        self.sql = sql


class MigrationAborted(LinkgressError):
    """Destructive operations were declined, or could not be confirmed (non-TTY)."""

    def __init__(self, message: str, *, operations: Any = ()):
        super().__init__(message)
        self.operations = list(operations)


class MigrationLockTimeout(MigrationError, TimeoutError):
    """Waiting for the migration advisory lock took longer than the configured timeout."""


class SchemaAheadError(MigrationError):
    """The database was migrated by a newer model and no longer has what this (older,
    superseded) model needs; the message names what is missing. Nothing was changed."""


class MigrationFileError(LinkgressError, ValueError):
    """A journaled migration file is malformed. Names the file."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class IrreversibleOperation(LinkgressError):
    """Raised by ``Operation.reverse()`` when an operation cannot be undone without losing
    information."""


class IrreversibleMigration(LinkgressError):
    """Raised from a migration's ``down()`` that cannot be undone.

    The scaffolder writes ``raise IrreversibleMigration(...)`` where an operation has no reverse
    (an enum label cannot be removed again); the user must resolve it by hand before the
    migration can be reverted. Raising it rolls back that migration's transaction.
    """


class NoChangesError(LinkgressError):
    """``MigrationScaffold.scaffold()`` found no difference between the database and the model,
    so there is nothing to write (use ``scaffold_empty()`` for a hand-written migration)."""


class QueryError(LinkgressError):
    """A query could not be built or run."""


class QueryBuildError(QueryError, ValueError):
    """The query is invalid: unknown attribute, missing navigation, incompatible comparison."""


class TransactionError(QueryError, RuntimeError):
    """A transaction block was misused: a savepoint opened from a task that did not open the
    enclosing block, or a statement run after the block this task inherited had ended."""


class NoResultError(QueryError, LookupError):
    """``first()`` or ``single()`` found no row."""


class MultipleResultsError(QueryError):
    """``single()`` found more than one row."""


class ConcurrencyError(QueryError):
    """``update(entity)`` / ``delete(entity)`` of an entity with a concurrency token matched
    no row: another writer changed the row since it was read (its token moved on), or
    deleted it. ``entity`` is the entity class's name, ``key`` the primary key values by
    attribute, ``token`` the token value the statement expected. Nothing was written: read
    the row again and redo the change (or give up)."""

    def __init__(self, message: str, *, entity: str, key: dict[str, Any], token: Any):
        super().__init__(message)
        self.entity = entity
        self.key = key
        self.token = token


class DatabaseError(QueryError):
    """PostgreSQL rejected a statement. ``sql`` holds the statement; ``__cause__`` the original."""

    def __init__(self, message: str, *, sql: str | None = None, sqlstate: str | None = None,
                 constraint: str | None = None, table: str | None = None,
                 column: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.sql = sql
        self.sqlstate = sqlstate
        self.constraint = constraint  # constraint name, when PostgreSQL reported one
        self.table = table
        self.column = column
        self.detail = detail


class DatabaseConnectionError(DatabaseError):
    """The server could not be reached, or the connection was lost while a statement ran.

    ``server`` is ``host:port``; the message says what happened (refused, reset, the server
    shutting down, ...). A statement that was running when the connection broke may or may not
    have completed; a transaction that was open is rolled back by the server.
    """

    def __init__(self, message: str, *, server: str | None = None, sql: str | None = None,
                 sqlstate: str | None = None):
        super().__init__(message, sql=sql, sqlstate=sqlstate)
        self.server = server


class IntegrityError(DatabaseError):
    """A constraint was violated."""


class UniqueViolation(IntegrityError):
    """A unique constraint or unique index was violated (SQLSTATE 23505)."""


class ForeignKeyViolation(IntegrityError):
    """A foreign key was violated (SQLSTATE 23503)."""


class NotNullViolation(IntegrityError):
    """A NOT NULL column received NULL (SQLSTATE 23502)."""


class CheckViolation(IntegrityError):
    """A check constraint was violated (SQLSTATE 23514)."""


class SerializationFailure(DatabaseError):
    """A serializable or repeatable-read transaction must be retried (SQLSTATE 40001)."""


class LockNotAvailable(DatabaseError):
    """A row lock could not be taken at once: ``for_update(nowait=True)`` met a row another
    transaction holds (SQLSTATE 55P03)."""


# --- translating asyncpg's errors: the one place ----------------------------------------------

_ERRORS_BY_SQLSTATE: dict[str, type[DatabaseError]] = {
    "23505": UniqueViolation,
    "23503": ForeignKeyViolation,
    "23502": NotNullViolation,
    "23514": CheckViolation,
    "40001": SerializationFailure,
    "55P03": LockNotAvailable,
}

#: SQLSTATEs that mean the session is gone or cannot start: class 08 (connection exception)
#: and the server shutting down or starting up.
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")

#: Exceptions raised while connecting or when the socket breaks (besides asyncpg's own):
#: OSError covers socket.gaierror, ConnectionRefusedError and TimeoutError.
_SOCKET_ERRORS: tuple[type[BaseException], ...] = (OSError,)

#: Everything :func:`translate_error` translates.
_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, *_SOCKET_ERRORS)


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` (from asyncpg or the socket) means the connection is unusable."""
    if isinstance(exc, DatabaseConnectionError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = getattr(exc, "sqlstate", None) or ""
        return sqlstate.startswith(_CONNECTION_SQLSTATES)
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return "connection is closed" in str(exc) or "underlying connection is closed" in str(exc)
    return isinstance(exc, _SOCKET_ERRORS)


def is_driver_error(exc: BaseException) -> bool:
    """True for an exception this module translates (asyncpg's, or a socket failure)."""
    return isinstance(exc, _DRIVER_ERRORS)


def connection_error(exc: BaseException, *, server: str | None, sql: str | None = None
                     ) -> DatabaseConnectionError:
    """The :class:`DatabaseConnectionError` for ``exc``, naming ``server`` and the cause."""
    cause = str(exc).strip() or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        cause = "connection refused (is the server running and accepting TCP connections?)"
    elif isinstance(exc, TimeoutError):
        cause = f"timed out ({cause})" if str(exc) else "timed out"
    where = f"PostgreSQL at {server}" if server else "PostgreSQL"
    sqlstate = getattr(exc, "sqlstate", None) if isinstance(exc, asyncpg.PostgresError) else None
    return DatabaseConnectionError(f"cannot use the connection to {where}: {cause}",
                                   server=server, sql=sql, sqlstate=sqlstate)


#: What asyncpg names its prepared statements; the server reports them back when a connection
#: pooler in transaction mode sent a statement to a server session that does not have it (or
#: has another one of that name, prepared by a client of another process).
_ASYNCPG_STATEMENT = 'prepared statement "__asyncpg_'
_UNNAMED_STATEMENT = "unnamed prepared statement does not exist"


def is_pooler_error(exc: BaseException) -> bool:
    """True when ``exc`` is the typical failure of named prepared statements behind PgBouncer
    in transaction pooling mode (``prepared statement "__asyncpg_stmt_1__" does not exist``,
    ``... already exists``, a bind message not matching the statement of that name)."""
    if not isinstance(exc, asyncpg.PostgresError):
        return False
    text = str(exc)
    return _ASYNCPG_STATEMENT in text or _UNNAMED_STATEMENT in text


def pooler_error(exc: BaseException, *, sql: str | None = None, server: str | None = None
                 ) -> DatabaseError:
    """The :class:`DatabaseError` for a prepared-statement failure behind a pooler."""
    where = f" (server {server})" if server else ""
    return DatabaseError(
        f"{str(exc).splitlines()[0]}{where} — named prepared statements do not survive "
        "PgBouncer in transaction pooling mode, which may run each transaction on another "
        "server connection. Create the client with PgClient(..., pgbouncer=True), add "
        "?pgbouncer=true to the DSN, or set LINKGRESS_PGBOUNCER=1 (see docs/pgbouncer.md)",
        sql=sql, sqlstate=getattr(exc, "sqlstate", None))


def translate_error(exc: BaseException, sql: str | None = None, *, server: str | None = None
                    ) -> DatabaseError:
    """The linkgress error for the driver error ``exc`` raised by statement ``sql``.

    The caller raises it ``from exc``. A lost or refused connection becomes a
    :class:`DatabaseConnectionError` naming ``server`` (``host:port``); unique, foreign-key,
    not-null and check violations and serialization failures get their own classes; every
    other error is a :class:`DatabaseError`. ``sqlstate``, ``constraint``, ``table``,
    ``column`` and ``detail`` are copied when PostgreSQL reported them (``sqlstate`` is None
    for an error asyncpg raised before the statement reached the server).
    """
    if is_pooler_error(exc):
        return pooler_error(exc, sql=sql, server=server)
    if is_connection_error(exc):
        return connection_error(exc, server=server, sql=sql)
    # asyncpg raises some errors itself (a DataError for an argument it cannot encode) with a
    # class-level SQLSTATE, though the server never saw the statement: they have no severity.
    from_server = isinstance(exc, asyncpg.PostgresError) and exc.severity is not None
    sqlstate: str | None = getattr(exc, "sqlstate", None) if from_server else None
    cls = _ERRORS_BY_SQLSTATE.get(sqlstate or "", DatabaseError)
    message = str(exc) or type(exc).__name__  # asyncpg's text includes DETAIL and HINT
    return cls(
        message,
        sql=sql,
        sqlstate=sqlstate,
        constraint=getattr(exc, "constraint_name", None),
        table=getattr(exc, "table_name", None),
        column=getattr(exc, "column_name", None),
        detail=getattr(exc, "detail", None),
    )


@contextmanager
def mapped_errors(sql: str | None = None, *, server: str | None = None) -> Iterator[None]:
    """``with mapped_errors(sql, server=...):`` — driver errors inside become linkgress errors
    (:func:`translate_error`), chained to the original; everything else passes through."""
    try:
        yield
    except LinkgressError:
        raise
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        raise translate_error(exc, sql, server=server) from exc
