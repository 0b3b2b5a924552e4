"""The no-op ``migrate()`` every service start pays: what it may reuse from earlier calls in the
process (the decoded recorded state, the model's schema) and what it must still notice."""

from __future__ import annotations

import json
from typing import ClassVar

from linkgress import DatabaseClient, DbContext, Entity, column, varchar
from linkgress.schema.operations import AddColumn
from tests.integration.migrate_support import execute, opened, rows


class Item(Entity):
    id: int
    title: str = column(varchar(100))
    note: str | None


class Items(DbContext):
    items = DbContext.table(Item)


STATE = "public.__linkgress_schema_state"


async def test_a_column_dropped_by_hand_is_noticed_after_no_op_runs(
        linkgress_database: str) -> None:
    async with opened(Items, linkgress_database) as db:
        sm = db.get_schema_manager(quiet=True)
        await sm.migrate()
        assert await sm.migrate() == [] and await sm.analyze() == []
        await execute(linkgress_database, "ALTER TABLE items DROP COLUMN note")
        pending = await sm.analyze()
        assert [type(op) for op in pending] == [AddColumn]
        assert "note" in pending[0].describe()
        applied = await sm.migrate()
        assert [type(op) for op in applied] == [AddColumn]
    assert await rows(linkgress_database,
                      "SELECT attname FROM pg_attribute WHERE attrelid = 'items'::regclass "
                      "AND attnum > 0 AND NOT attisdropped ORDER BY attnum") == [
        ("id",), ("title",), ("note",)]


async def test_the_recorded_state_is_decoded_once_and_reread_when_it_changes(
        linkgress_database: str) -> None:
    async with opened(Items, linkgress_database) as db:
        sm = db.get_schema_manager(quiet=True)
        await sm.migrate()
        async with db.client.acquire() as conn:
            first = await sm.executor.read_state(conn)
            assert first is not None and first.table("public", "items") is not None
            assert await sm.executor.read_state(conn) is first  # not decoded again
        # Someone rewrites the row (here: forgets the table): the new content is read.
        (raw,), = await rows(linkgress_database, f"SELECT snapshot::text FROM {STATE}")
        data = json.loads(raw)
        data["tables"] = []
        await execute(linkgress_database, f"UPDATE {STATE} SET snapshot = $1::jsonb",
                      json.dumps(data))
        async with db.client.acquire() as conn:
            edited = await sm.executor.read_state(conn)
        assert edited is not None and edited.tables == ()
        # The same content written again by another transaction is read again too.
        await execute(linkgress_database, f"UPDATE {STATE} SET snapshot = snapshot")
        async with db.client.acquire() as conn:
            again = await sm.executor.read_state(conn)
        assert again == edited and again is not edited


async def test_a_deleted_state_row_is_not_served_from_memory(linkgress_database: str) -> None:
    async with opened(Items, linkgress_database) as db:
        sm = db.get_schema_manager(quiet=True)
        await sm.migrate()
        await execute(linkgress_database, f"DELETE FROM {STATE}")
        async with db.client.acquire() as conn:
            assert await sm.executor.read_state(conn) is None
        assert await sm.migrate() == []  # the table exists: nothing to create, state rewritten
        async with db.client.acquire() as conn:
            assert await sm.executor.read_state(conn) is not None


async def test_a_second_context_of_the_same_class_reuses_the_model_schema(
        linkgress_database: str) -> None:
    async with opened(Items, linkgress_database) as a, opened(Items, linkgress_database) as b:
        assert a.get_schema_manager().target_schema() is b.get_schema_manager().target_schema()
        await a.get_schema_manager(quiet=True).migrate()
        assert await b.get_schema_manager(quiet=True).migrate() == []


class TimedItems(Items):
    seen: ClassVar[list[str]] = []

    async def on_migration_complete(self, client: DatabaseClient) -> None:
        self.seen.append(await client.fetchval("SELECT current_setting('lock_timeout')"))


async def test_ddl_runs_under_lock_timeout_after_the_lock_is_taken(
        linkgress_database: str) -> None:
    async with opened(TimedItems, linkgress_database) as db:
        await db.get_schema_manager(quiet=True, lock_timeout=1.5,
                                    lock_wait_timeout=30).migrate()
    assert TimedItems.seen == ["1500ms"]


async def test_introspection_leaves_the_plan_cache_mode_as_it_was(
        linkgress_database: str) -> None:
    from linkgress.schema.introspect import introspect

    async with opened(Items, linkgress_database) as db:
        await db.get_schema_manager(quiet=True).migrate()
        async with db.client.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            schema = await introspect(db.client, ["public"], connection=conn)
            assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
        assert schema.table("public", "items") is not None
