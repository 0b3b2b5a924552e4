"""Journaled migrations: migration files with ``up``/``down``, the history table, the runner
and the scaffolder (see ``docs/journaled-migrations.md``)."""

from linkgress.migrations.base import IrreversibleMigration, Migration, NoChangesError
from linkgress.migrations.builder import SchemaBuilder
from linkgress.migrations.files import MigrationFile, load_migrations
from linkgress.migrations.runner import MigrationResult, MigrationRunner, MigrationStatus
from linkgress.migrations.scaffold import MigrationScaffold
from linkgress.migrations.table_builder import ColumnBuilder, TableBuilder

__all__ = [
    "ColumnBuilder",
    "IrreversibleMigration",
    "Migration",
    "MigrationFile",
    "MigrationResult",
    "MigrationRunner",
    "MigrationScaffold",
    "MigrationStatus",
    "NoChangesError",
    "SchemaBuilder",
    "TableBuilder",
    "load_migrations",
]
