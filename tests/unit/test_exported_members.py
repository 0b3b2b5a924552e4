"""The public names of ``linkgress`` (as httpx pins its own): exactly these, all importable,
and a plain ``import linkgress`` stays light (heavy subpackages load on first use)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import linkgress

EXPORTED = [
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

HEAVY = ("linkgress.migrations", "linkgress.schema.introspect", "linkgress.schema.manager",
         "linkgress.cli")


def test_all_is_pinned_and_sorted() -> None:
    assert linkgress.__all__ == EXPORTED
    assert linkgress.__all__ == sorted(linkgress.__all__)


def test_every_exported_name_resolves_to_its_defining_module() -> None:
    from linkgress.migrations import Migration
    from linkgress.schema.manager import DbSchemaManager

    for name in EXPORTED:
        assert getattr(linkgress, name) is not None, name
    assert linkgress.DbSchemaManager is DbSchemaManager
    assert linkgress.Migration is Migration
    assert set(EXPORTED) <= set(dir(linkgress))


def test_star_import_gives_every_name() -> None:
    namespace: dict[str, object] = {}
    exec("from linkgress import *", namespace)
    assert set(EXPORTED) <= set(namespace)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(linkgress, "no_such_name")  # noqa: B009 - the dynamic lookup under test


def test_plain_import_does_not_load_heavy_subpackages() -> None:
    code = ("import sys, linkgress\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_using_a_lazy_name_loads_its_module() -> None:
    code = ("import sys, linkgress\n"
            "linkgress.DbSchemaManager\n"
            "print('linkgress.schema.manager' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "True"
