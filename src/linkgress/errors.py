"""The linkgress error hierarchy.

Every error linkgress raises derives from :class:`LinkgressError`::

    LinkgressError
    ├── ModelError (ValueError)            invalid model; raised before any database access
    ├── ClientClosedError (RuntimeError)   the PgClient was closed
    ├── MigrationError                     an operation or hook failed; nothing stays applied
    │   └── MigrationLockTimeout (TimeoutError)  another migrator held the lock too long
    ├── MigrationAborted                   destructive operations were declined / not confirmed
    ├── MigrationFileError (ValueError)    a journaled migration file is malformed
    ├── IrreversibleMigration              a migration's down() cannot undo its up()
    │                                      (defined in linkgress.migrations)
    ├── NoChangesError                     scaffold() found no difference to write
    │                                      (defined in linkgress.migrations)
    └── QueryError                         a query failed to build or to run
        ├── QueryBuildError (ValueError)   unknown attribute, missing navigation, bad comparison
        ├── NoResultError (LookupError)    first() / single() found nothing
        ├── MultipleResultsError           single() found more than one row
        ├── TransactionError (RuntimeError) a transaction block was misused (see transaction())
        └── DatabaseError                  PostgreSQL rejected the statement (carries .sql)
            ├── IntegrityError
            │   ├── UniqueViolation
            │   ├── ForeignKeyViolation
            │   ├── NotNullViolation
            │   └── CheckViolation
            └── SerializationFailure
"""

from __future__ import annotations

from typing import Any


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


class MigrationFileError(LinkgressError, ValueError):
    """A journaled migration file is malformed. Names the file."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


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
