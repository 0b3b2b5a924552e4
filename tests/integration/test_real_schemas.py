"""Databases other tools made (issue 10): notes reach the user, serial keys, deferrable foreign
keys, ensure_deleted's cascade report and indexes on partitioned tables — on a real server."""

from __future__ import annotations

import logging

import pytest

from linkgress import DbContext, DbModelConfig, Entity, column, integer, text
from tests.integration.migrate_support import execute, opened, rows


class Item(Entity):
    id: int
    code: str = column(text())
    qty: int = column(integer())


class Items(DbContext):
    items = DbContext.table(Item)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Item).has_index("ix_items_code", "code")


# -- bug 3: notes reach analyze_full(), the migrate log and the CLI ------------------------------


async def _items_with_options(dsn: str) -> None:
    async with opened(Items, dsn) as db:
        await db.get_schema_manager().ensure_created()
    await execute(dsn, "CREATE INDEX ix_items_code_desc ON items (code DESC) INCLUDE (qty)")


async def test_introspection_notes_reach_analyze_full(linkgress_database: str) -> None:
    await _items_with_options(linkgress_database)
    async with opened(Items, linkgress_database) as db:
        result = await db.get_schema_manager().analyze_full()
    assert result.operations == []
    assert any("ix_items_code_desc" in n and "INCLUDE" in n for n in result.notes)


async def test_introspection_notes_reach_the_migrate_log(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    await _items_with_options(linkgress_database)
    caplog.set_level(logging.INFO, logger="linkgress.migrate")
    async with opened(Items, linkgress_database) as db:
        assert await db.get_schema_manager().migrate() == []
    notes = [r.getMessage() for r in caplog.records if r.name == "linkgress.migrate"]
    assert any(m.startswith("note: ") and "ix_items_code_desc" in m for m in notes)
