"""linkgress: an async-first ORM for PostgreSQL whose model is the source of truth."""

from linkgress.client import ConnectionClient, DatabaseClient, PgClient
from linkgress.context import DbContext
from linkgress.errors import (
    ClientClosedError,
    LinkgressError,
    MigrationAborted,
    MigrationError,
    MigrationLockTimeout,
    ModelError,
    MultipleResultsError,
    NoResultError,
    QueryBuildError,
)
from linkgress.migrations import (
    IrreversibleMigration,
    Migration,
    MigrationRunner,
    MigrationScaffold,
    SchemaBuilder,
)
from linkgress.model.entity import Entity, column
from linkgress.model.fluent import DbModelConfig
from linkgress.model.types import (
    ColumnType,
    array,
    bigint,
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
    real,
    smallint,
    text,
    time,
    timestamp,
    timestamptz,
    uuid,
    varchar,
)
from linkgress.query import func, sql
from linkgress.schema.manager import DbSchemaManager
from linkgress.schema.operations import Operation

__version__ = "0.1.0"

__all__ = [
    "ClientClosedError",
    "ColumnType",
    "ConnectionClient",
    "DatabaseClient",
    "DbContext",
    "DbModelConfig",
    "DbSchemaManager",
    "Entity",
    "IrreversibleMigration",
    "LinkgressError",
    "Migration",
    "MigrationAborted",
    "MigrationError",
    "MigrationLockTimeout",
    "MigrationRunner",
    "MigrationScaffold",
    "ModelError",
    "MultipleResultsError",
    "NoResultError",
    "Operation",
    "PgClient",
    "QueryBuildError",
    "SchemaBuilder",
    "__version__",
    "array",
    "bigint",
    "boolean",
    "bytea",
    "char",
    "column",
    "date",
    "double_precision",
    "func",
    "inet",
    "integer",
    "interval",
    "json",
    "jsonb",
    "numeric",
    "real",
    "smallint",
    "sql",
    "text",
    "time",
    "timestamp",
    "timestamptz",
    "uuid",
    "varchar",
]
