"""``analyze()`` on the real server: every operation carries hazards derived with the server's
version and the plan, and ``migrate()`` logs them."""

from __future__ import annotations

import logging

import pytest

from linkgress import DbContext, DbModelConfig, column, text
from tests.integration.migrate_support import context, entity, execute, opened


def shop(extra: dict[str, object] | None = None, index: bool = False) -> type[DbContext]:
    item = entity("Item", {"id": int, "name": (str, column(text())), **(extra or {})})
    order = entity("Order", {"id": int, "item_id": (int, column(references=item))})

    def setup(m: DbModelConfig) -> None:
        if index:
            m.entity(item).has_index("ix_items_name", "name")

    return context({"items": item, "orders": order}, setup)


async def test_analyze_carries_hazards_from_the_server(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    async with opened(shop(), linkgress_database) as db:
        created = await db.get_schema_manager().analyze()
        # A new table's index and foreign key: nobody uses the table yet.
        assert [op.hazards for op in created] == [()] * len(created)
        await db.get_schema_manager().migrate()
    await execute(linkgress_database, "INSERT INTO items VALUES (1, 'a')")
    later = shop({"note": (str, column(text(), default="x")),
                  "token": (str, column(text(), default_sql="gen_random_uuid()::text"))},
                 index=True)
    async with opened(later, linkgress_database) as db:
        plan = await db.get_schema_manager().analyze()
        version = plan[0].hazard_context.server_version
        assert version >= 11
        hazards = {op.describe(): op.hazards for op in plan}
        assert hazards == {
            "Add column 'items.note' (TEXT)": ("blocks_reads", "blocks_writes"),
            "Add column 'items.token' (TEXT)": ("rewrites_table", "blocks_reads",
                                               "blocks_writes"),
            "Create index 'ix_items_name'": ("scans_table", "blocks_writes"),
        }
        caplog.set_level(logging.INFO, logger="linkgress.migrate")
        await db.get_schema_manager().migrate()
    logged = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Hazards"))
    assert "Create index 'ix_items_name': scans_table, blocks_writes" in logged
