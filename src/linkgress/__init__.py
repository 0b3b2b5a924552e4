"""linkgress: an async-first ORM for PostgreSQL whose model is the source of truth.

Importing ``linkgress`` loads the client, the entity declarations (``Entity``, ``column``, the
column types) and ``DbContext``; the model builder (with ``DbModelConfig``) loads when a context
first builds its model, and the schema manager, the migrations package and the query helpers
(``func``, ``sql``) on first use of their names (PEP 562 ``__getattr__``), so that an
application pays for them only if it uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from linkgress.client import ConnectionClient, DatabaseClient, PgClient
from linkgress.context import DbContext
from linkgress.errors import (
    CheckViolation,
    ClientClosedError,
    ConcurrencyError,
    DatabaseConnectionError,
    DatabaseError,
    ForeignKeyViolation,
    IntegrityError,
    IrreversibleMigration,
    IrreversibleOperation,
    LinkgressError,
    LockNotAvailable,
    MigrationAborted,
    MigrationError,
    MigrationFileError,
    MigrationLockTimeout,
    ModelError,
    MultipleResultsError,
    NoChangesError,
    NoResultError,
    NotNullViolation,
    QueryBuildError,
    QueryError,
    SchemaAheadError,
    SerializationFailure,
    TransactionError,
    UniqueViolation,
)
from linkgress.model.entity import Entity, column
from linkgress.model.types import (
    ColumnType,
    array,
    bigint,
    bigserial,
    boolean,
    bytea,
    char,
    date,
    double_precision,
    inet,
    integer,
    interval,
    json,
    jsonb,
    numeric,
    pg_type,
    real,
    serial,
    smallint,
    smallserial,
    text,
    time,
    timestamp,
    timestamptz,
    uuid,
    varchar,
)

if TYPE_CHECKING:
    from linkgress.migrations import (
        Migration,
        MigrationRunner,
        MigrationScaffold,
        SchemaBuilder,
    )
    from linkgress.model.fluent import DbModelConfig
    from linkgress.query import cte, exists, func, recursive_cte, sql
    from linkgress.schema.manager import DbSchemaManager
    from linkgress.schema.operations import Operation

# Public names imported on first access: name -> module that defines it.
_LAZY = {
    "DbModelConfig": "linkgress.model.fluent",
    "DbSchemaManager": "linkgress.schema.manager",
    "Migration": "linkgress.migrations",
    "MigrationRunner": "linkgress.migrations",
    "MigrationScaffold": "linkgress.migrations",
    "Operation": "linkgress.schema.operations",
    "SchemaBuilder": "linkgress.migrations",
    "cte": "linkgress.query",
    "exists": "linkgress.query",
    "func": "linkgress.query",
    "recursive_cte": "linkgress.query",
    "sql": "linkgress.query",
}

__version__ = "0.1.0"

__all__ = [
    "CheckViolation",
    "ClientClosedError",
    "ColumnType",
    "ConcurrencyError",
    "ConnectionClient",
    "DatabaseClient",
    "DatabaseConnectionError",
    "DatabaseError",
    "DbContext",
    "DbModelConfig",
    "DbSchemaManager",
    "Entity",
    "ForeignKeyViolation",
    "IntegrityError",
    "IrreversibleMigration",
    "IrreversibleOperation",
    "LinkgressError",
    "LockNotAvailable",
    "Migration",
    "MigrationAborted",
    "MigrationError",
    "MigrationFileError",
    "MigrationLockTimeout",
    "MigrationRunner",
    "MigrationScaffold",
    "ModelError",
    "MultipleResultsError",
    "NoChangesError",
    "NoResultError",
    "NotNullViolation",
    "Operation",
    "PgClient",
    "QueryBuildError",
    "QueryError",
    "SchemaAheadError",
    "SchemaBuilder",
    "SerializationFailure",
    "TransactionError",
    "UniqueViolation",
    "__version__",
    "array",
    "bigint",
    "bigserial",
    "boolean",
    "bytea",
    "char",
    "column",
    "cte",
    "date",
    "double_precision",
    "exists",
    "func",
    "inet",
    "integer",
    "interval",
    "json",
    "jsonb",
    "numeric",
    "pg_type",
    "real",
    "recursive_cte",
    "serial",
    "smallint",
    "smallserial",
    "sql",
    "text",
    "time",
    "timestamp",
    "timestamptz",
    "uuid",
    "varchar",
]


def __getattr__(name: str) -> Any:
    """Import a lazily exported name on first access (and keep it in the module)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'linkgress' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
