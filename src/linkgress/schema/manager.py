"""``DbSchemaManager``: brings a database to the model.

Obtain it with ``db.get_schema_manager()``. Every method that changes the schema runs in one
transaction under the migration lock (see :mod:`linkgress.schema.executor`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import asyncpg

from linkgress.errors import MigrationError
from linkgress.schema.executor import MigrationExecutor, MigrationSettings
from linkgress.schema.existing import read_existing
from linkgress.schema.from_model import schema_from_model
from linkgress.schema.operations import Operation
from linkgress.schema.plan import merge_schemas, plan_create, plan_drop
from linkgress.schema.quoting import quote_ident
from linkgress.schema.snapshot import Schema

if TYPE_CHECKING:
    from linkgress.context import DbContext

log = logging.getLogger("linkgress.migrate")

if TYPE_CHECKING:
    from linkgress.client import RawConnection


class DbSchemaManager:
    """Schema operations for one context: ``ensure_created``, ``ensure_deleted``, and (with the
    automatic-migration layer) ``analyze`` and ``migrate``."""

    def __init__(self, context: DbContext, *, lock_timeout: float = 5.0,
                 lock_wait_timeout: float = 60.0, state_schema: str = "public",
                 state_table: str = "__linkgress_schema_state",
                 quiet: bool = False) -> None:
        self.context = context
        self.client = context.client
        self.quiet = quiet
        self.settings = MigrationSettings(
            lock_timeout=lock_timeout, lock_wait_timeout=lock_wait_timeout,
            state_schema=state_schema, state_table=state_table,
            state_name=context.state_name)
        self.executor = MigrationExecutor(self.client, self.settings)

    def target_schema(self) -> Schema:
        """The schema the model declares."""
        return schema_from_model(self.context.model)

    async def run_start_hook(self) -> None:
        """Await ``on_migration_start`` outside any transaction; wrap its failure."""
        try:
            await self.context.on_migration_start(self.client)
        except Exception as exc:
            raise MigrationError(f"on_migration_start hook failed: {exc!r}; "
                                 "no schema change was made") from exc

    async def ensure_created(self) -> list[Operation]:
        """Create every object of the model that does not exist yet, in the seed's order
        (schemas, enums, sequences, tables, foreign keys, indexes), then await
        ``on_migration_complete`` — all in one transaction.

        Idempotent: on a created database it creates nothing (the hook still runs, so keep it
        idempotent). Returns the operations applied. Raises :class:`MigrationError` and leaves
        the database unchanged if any statement or the hook fails.
        """
        await self.run_start_hook()
        target = self.target_schema()
        async with self.executor.locked_transaction() as conn:
            existing = await read_existing(conn, list(target.schemas))
            operations = plan_create(target, existing)
            await self.executor.apply(conn, operations)
            await self.executor.run_hook(conn, self.context.on_migration_complete,
                                         "on_migration_complete")
            await self.executor.write_state(conn, target)
        if operations and not self.quiet:
            log.info("ensure_created: applied %d operation(s)", len(operations))
        return operations

    async def ensure_deleted(self) -> list[Operation]:
        """Drop the objects linkgress manages — the model's plus the recorded ones — and the
        state record, nothing else. A non-public schema is dropped only when it is empty
        afterwards. Returns the operations applied; raises :class:`MigrationError` (and drops
        nothing) when PostgreSQL refuses, e.g. because an unrelated view depends on a table.
        """
        async with self.executor.locked_transaction() as conn:
            recorded = await self.executor.read_state(conn)
            owned = merge_schemas(self.target_schema(), recorded or Schema())
            existing = await read_existing(conn, list(owned.schemas))
            operations = plan_drop(owned, existing)
            await self.executor.apply(conn, operations)
            for name in owned.schemas:
                if name != "public" and name in existing.schemas:
                    await self._drop_schema_if_empty(conn, name)
            await self.executor.clear_state(conn)
        return operations

    async def _drop_schema_if_empty(self, conn: RawConnection, name: str) -> None:
        # RESTRICT (the default) refuses when anything else lives there; that is the point.
        if name == self.settings.state_schema:
            return
        try:
            async with conn.transaction():
                await conn.execute(f"DROP SCHEMA {quote_ident(name)}")
        except asyncpg.DependentObjectsStillExistError:
            log.info("kept schema %r: it holds objects linkgress does not manage", name)
