"""``SchemaBuilder``: what a migration's ``up``/``down`` receives.

Builder methods construct the same operations the automatic path uses and render them with the
same DDL renderer (:func:`linkgress.schema.ddl.render`), so quoting and SQL shapes are shared.
Every statement runs on the migration's connection and is recorded in
:attr:`SchemaBuilder.statements` (the dry run prints those). Without a client the builder only
records — that is how the scaffolder's output is unit-tested.

Statements the builder renders (``create_table``, ``create_index``, ``add_check``, ...) may
carry raw SQL (defaults, checks, index expressions and predicates), so each is sent alone
through the extended protocol and PostgreSQL refuses a second statement smuggled into one.
:meth:`SchemaBuilder.execute` is the migration author's own SQL, written in the file: without
bind arguments it uses the simple protocol and may hold several statements (``"UPDATE ...;
UPDATE ..."``), exactly as written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg

from linkgress.connection import ConnectionClient, DatabaseClient, sql_logger
from linkgress.model.types import ColumnType
from linkgress.schema import operations as ops
from linkgress.schema.ddl import render
from linkgress.schema.quoting import quote_qualified
from linkgress.schema.rawsql import execute_one
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    PrimaryKey,
    Table,
    UniqueConstraint,
)
from linkgress.schema.snapshot import Sequence as SequenceDef

from .table_builder import TableBuilder, fk_action

# Placeholders for parts of an operation the renderer never prints (a dropped column's type);
# they let the builder reuse the operations without knowing the database's current state.
_ANY_TYPE = ColumnType("(unchanged)")
_PREVIOUS = "(previous)"
# The default of an option that was not passed (None is a value some options take).
_UNSET: Any = object()


def _names(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


class SchemaBuilder:
    """Builds and runs DDL inside one migration's transaction.

    ``client`` is the migration connection (None: record only, nothing runs). Statements run
    immediately, in order; :attr:`statements` lists every one run so far.
    """

    def __init__(self, client: DatabaseClient | None = None) -> None:
        self._client = client
        self.statements: list[str] = []
        #: The operation whose statement PostgreSQL refused (None until one is).
        self.failed_operation: ops.Operation | None = None

    @property
    def client(self) -> DatabaseClient:
        """The migration connection, for queries (``fetch``/``fetchval``) in data migrations."""
        if self._client is None:
            raise RuntimeError("this SchemaBuilder only records statements; it has no client")
        return self._client

    async def execute(self, sql: str, *args: object) -> str:
        """Run ``sql`` (bind ``args`` as ``$1``, ``$2``, ...); returns the status tag.

        This is raw SQL, taken as written: without ``args`` it may hold several statements.
        """
        self.failed_operation = None
        self.statements.append(sql)
        if self._client is None:
            return ""
        return await self._client.execute(sql, *args)

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        """Run a query on the migration connection and return its rows."""
        return await self.client.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: object) -> Any:
        """Run a query on the migration connection and return the first value."""
        return await self.client.fetchval(sql, *args)

    async def apply(self, operation: ops.Operation) -> None:
        """Render ``operation`` with the shared DDL renderer and run its statements, each
        alone, so that PostgreSQL refuses a second statement inside a raw SQL option."""
        self.failed_operation = None
        for sql in render(operation):
            self.statements.append(sql)
            if self._client is None:
                continue
            try:
                await self._execute_one(sql)
            except asyncpg.PostgresError:
                self.failed_operation = operation
                raise

    async def _execute_one(self, sql: str) -> None:
        client = self.client
        if isinstance(client, ConnectionClient):
            if client.log_queries:
                sql_logger.info("%s [0 args]", sql)
            await execute_one(client.connection, sql)
        else:
            await client.fetch(sql)  # the extended protocol as well

    # -- schemas, enums, sequences --------------------------------------------------------------

    async def create_schema(self, name: str) -> None:
        """``CREATE SCHEMA IF NOT EXISTS``."""
        await self.apply(ops.CreateSchema(schema_name=name))

    async def drop_schema(self, name: str) -> None:
        """``DROP SCHEMA`` (fails unless empty)."""
        await self.apply(ops.DropSchema(schema_name=name))

    async def create_enum(self, name: str, values: Sequence[str], *,
                          schema: str = "public") -> None:
        """``CREATE TYPE ... AS ENUM (values)``."""
        await self.apply(ops.CreateEnum(schema=schema, enum_name=name, values=tuple(values)))

    async def drop_enum(self, name: str, *, schema: str = "public") -> None:
        """``DROP TYPE``."""
        await self.apply(ops.DropEnum(schema=schema, enum_name=name))

    async def add_enum_value(self, name: str, value: str, *, before: str | None = None,
                             after: str | None = None, schema: str = "public") -> None:
        """``ALTER TYPE ... ADD VALUE IF NOT EXISTS`` (cannot be removed again)."""
        await self.apply(ops.AddEnumValue(schema=schema, enum_name=name, value=value,
                                          before=before, after=after))

    async def create_sequence(self, name: str, *, schema: str = "public",
                              data_type: str = "bigint", start: int = 1, increment: int = 1,
                              min_value: int | None = None, max_value: int | None = None,
                              cache: int = 1, cycle: bool = False) -> None:
        """``CREATE SEQUENCE``."""
        await self.apply(ops.CreateSequence(sequence=SequenceDef(
            schema=schema, name=name, data_type=data_type, start=start, increment=increment,
            min_value=min_value, max_value=max_value, cache=cache, cycle=cycle)))

    async def drop_sequence(self, name: str, *, schema: str = "public") -> None:
        """``DROP SEQUENCE``."""
        await self.apply(ops.DropSequence(sequence=SequenceDef(schema=schema, name=name)))

    # -- tables ---------------------------------------------------------------------------------

    async def create_table(self, name: str, build: Callable[[TableBuilder], object], *,
                           schema: str = "public", comment: str | None = None) -> None:
        """``CREATE TABLE``, then its foreign keys and indexes.

        ``build`` receives a :class:`TableBuilder`; its return value is ignored, so both a
        ``def`` and ``lambda t: [t.integer("id").primary_key(), ...]`` work.
        """
        builder = TableBuilder(name, schema)
        build(builder)
        table = builder.build(comment)
        await self.apply(ops.CreateTable(table=replace(table, indexes=(), foreign_keys=())))
        for fk in table.foreign_keys:
            await self.apply(ops.CreateForeignKey(schema=schema, table_name=name, foreign_key=fk))
        for ix in table.indexes:
            await self.apply(ops.CreateIndex(schema=schema, table_name=name, index=ix))

    async def drop_table(self, name: str, *, schema: str = "public") -> None:
        """``DROP TABLE`` (its rows go with it)."""
        await self.apply(ops.DropTable(table=Table(schema=schema, name=name, columns=())))

    async def rename_table(self, name: str, new_name: str, *, schema: str = "public") -> None:
        """``ALTER TABLE ... RENAME TO``."""
        await self.apply(ops.RenameTable(schema=schema, table_name=name, new_name=new_name))

    # -- columns --------------------------------------------------------------------------------

    async def add_column(self, table: str, name: str, type: ColumnType, *,
                         nullable: bool = True, default: Any = _UNSET,
                         default_sql: str | None = None, identity: str | None = None,
                         comment: str | None = None, schema: str = "public") -> None:
        """``ALTER TABLE ... ADD COLUMN``; ``default`` is a Python value, ``default_sql`` an
        expression (``"now()"``); ``identity`` is ``"by default"`` or ``"always"``."""
        from linkgress.model.literals import sql_literal

        expr = sql_literal(default, type) if default is not _UNSET else default_sql
        column = Column(name=name, type=type, nullable=nullable and identity is None,
                        default=None if identity else expr, identity=identity, comment=comment)
        await self.apply(ops.AddColumn(schema=schema, table_name=table, column=column))

    async def drop_column(self, table: str, name: str, *, schema: str = "public") -> None:
        """``ALTER TABLE ... DROP COLUMN`` (its data goes with it)."""
        await self.apply(ops.DropColumn(schema=schema, table_name=table,
                                        column=Column(name=name, type=_ANY_TYPE)))

    async def rename_column(self, table: str, name: str, new_name: str, *,
                            schema: str = "public") -> None:
        """``ALTER TABLE ... RENAME COLUMN``."""
        await self.apply(ops.RenameColumn(schema=schema, table_name=table, column_name=name,
                                          new_name=new_name))

    async def alter_column(self, table: str, name: str, *, type: ColumnType | None = None,
                           using: str | None = None, nullable: bool | None = None,
                           default: Any = _UNSET, default_sql: str | None = None,
                           drop_default: bool = False, identity: Any = _UNSET,
                           comment: Any = _UNSET, schema: str = "public") -> None:
        """Change only what is given: ``type`` (cast with ``using``, default
        ``"col"::new_type``), ``nullable``, the default (``default=`` value, ``default_sql=``
        expression, or ``drop_default=True``), ``identity`` (``"by default"``, ``"always"`` or
        None to drop it; the column's current kind is read, so adding, switching and dropping
        all work, and an added identity's sequence continues after the existing values) and
        ``comment`` (None removes it). One ``ALTER TABLE`` statement.
        """
        old = new = Column(name=name, type=_ANY_TYPE)
        if type is not None:
            new = replace(new, type=type)
        if nullable is not None:
            old, new = replace(old, nullable=not nullable), replace(new, nullable=nullable)
        if default is not _UNSET or default_sql is not None or drop_default:
            from linkgress.model.literals import sql_literal

            expr = sql_literal(default, type or _ANY_TYPE) if default is not _UNSET \
                else default_sql
            # With a type change, DROP DEFAULT first (a no-op without one) so the old default
            # is never cast; likewise before dropping it.
            before = _PREVIOUS if type is not None or expr is None else None
            old, new = replace(old, default=before), replace(new, default=expr)
        if identity is not _UNSET:
            # The current kind decides between ADD, SET GENERATED (a switch keeps the sequence)
            # and DROP; a record-only builder assumes the column has none.
            current = await self._current_identity(schema, table, name)
            old, new = replace(old, identity=current), replace(new, identity=identity)
        if comment is not _UNSET:
            old, new = replace(old, comment=_PREVIOUS), replace(new, comment=comment)
        await self.apply(ops.AlterColumn(schema=schema, table_name=table, old=old, new=new,
                                         using=using))

    async def _current_identity(self, schema: str, table: str, column: str) -> str | None:
        if self._client is None:
            return None
        kind = await self._client.fetchval(
            "SELECT attidentity::text FROM pg_attribute WHERE attrelid = $1::regclass "
            "AND attname = $2 AND NOT attisdropped", quote_qualified(schema, table), column)
        return {"a": "always", "d": "by default"}.get(kind or "")

    # -- keys, constraints, indexes -------------------------------------------------------------

    async def add_primary_key(self, table: str, columns: str | Sequence[str], *,
                              name: str | None = None, schema: str = "public") -> None:
        """``ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY`` (default name ``<table>_pkey``)."""
        pk = PrimaryKey(name=name or f"{table}_pkey", columns=_names(columns))
        await self.apply(ops.AddPrimaryKey(schema=schema, table_name=table, primary_key=pk))

    async def add_unique_constraint(self, table: str, name: str, columns: str | Sequence[str],
                                    *, nulls_not_distinct: bool = False,
                                    schema: str = "public") -> None:
        """``ALTER TABLE ... ADD CONSTRAINT ... UNIQUE``."""
        unique = UniqueConstraint(name=name, columns=_names(columns),
                                  nulls_not_distinct=nulls_not_distinct)
        await self.apply(ops.CreateUniqueConstraint(schema=schema, table_name=table,
                                                    unique=unique))

    async def add_check_constraint(self, table: str, name: str, expression: str, *,
                                   schema: str = "public") -> None:
        """``ALTER TABLE ... ADD CONSTRAINT ... CHECK (expression)``."""
        check = CheckConstraint(name=name, expression=expression)
        await self.apply(ops.CreateCheckConstraint(schema=schema, table_name=table, check=check))

    async def drop_constraint(self, table: str, name: str, *, schema: str = "public") -> None:
        """``ALTER TABLE ... DROP CONSTRAINT`` (primary key, unique or check)."""
        check = CheckConstraint(name=name, expression="")
        await self.apply(ops.DropCheckConstraint(schema=schema, table_name=table, check=check))

    async def create_index(self, table: str, name: str, *columns: str, unique: bool = False,
                           method: str = "btree", where: str | None = None,
                           nulls_not_distinct: bool = False, schema: str = "public") -> None:
        """``CREATE [UNIQUE] INDEX name ON table USING method (columns) [WHERE ...]``; an
        element in parentheses is an expression (``"(lower(email))"``)."""
        index = Index(name=name, columns=columns, unique=unique, method=method, where=where,
                      nulls_not_distinct=nulls_not_distinct)
        await self.apply(ops.CreateIndex(schema=schema, table_name=table, index=index))

    async def drop_index(self, table: str, name: str, *, schema: str = "public") -> None:
        """``DROP INDEX`` (``table`` documents the migration; the index name is what counts)."""
        index = Index(name=name, columns=())
        await self.apply(ops.DropIndex(schema=schema, table_name=table, index=index))

    async def create_foreign_key(self, table: str, name: str, columns: str | Sequence[str],
                                 ref_table: str, ref_columns: str | Sequence[str] = "id", *,
                                 ref_schema: str | None = None, on_delete: str | None = None,
                                 on_update: str | None = None, deferrable: bool = False,
                                 initially_deferred: bool = False, match: str = "simple",
                                 schema: str = "public") -> None:
        """``ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ... REFERENCES`` (``match`` is
        ``"simple"`` or ``"full"``; ``initially_deferred=True`` implies ``DEFERRABLE``)."""
        fk = ForeignKey(name=name, columns=_names(columns), ref_schema=ref_schema or schema,
                        ref_table=ref_table, ref_columns=_names(ref_columns),
                        on_delete=fk_action(on_delete), on_update=fk_action(on_update),
                        deferrable=deferrable or initially_deferred,
                        initially_deferred=initially_deferred, match=match.upper())
        await self.apply(ops.CreateForeignKey(schema=schema, table_name=table, foreign_key=fk))

    async def drop_foreign_key(self, table: str, name: str, *, schema: str = "public") -> None:
        """``ALTER TABLE ... DROP CONSTRAINT`` of a foreign key."""
        fk = ForeignKey(name=name, columns=(), ref_schema=schema, ref_table="", ref_columns=())
        await self.apply(ops.DropForeignKey(schema=schema, table_name=table, foreign_key=fk))
