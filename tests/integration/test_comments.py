"""Comments on tables and columns: created, compared, altered and adopted (issue 10) — on a
real server."""

from __future__ import annotations

from linkgress import DbContext, DbModelConfig, Entity, column, integer, text
from tests.integration.migrate_support import execute, opened, rows

ODD = "it's \"quoted\", on two\nlines — ünïcode"


def shop(table_comment: str | None, name_comment: str | None) -> type[DbContext]:
    class Item(Entity):
        id: int = column(integer(), primary_key=True)
        name: str = column(text(), comment=name_comment)

    def setup_model(self: DbContext, model: DbModelConfig) -> None:
        entity = model.entity(Item).to_table("item")
        if table_comment is not None:
            entity.has_comment(table_comment)

    return type("Shop", (DbContext,), {"items": DbContext.table(Item),
                                       "setup_model": setup_model})


async def comments(dsn: str) -> list[tuple[object, ...]]:
    return await rows(dsn, "SELECT obj_description('item'::regclass, 'pg_class'), "
                           "col_description('item'::regclass, 2)")


async def test_comments_are_created_then_compare_equal(linkgress_database: str) -> None:
    async with opened(shop(ODD, "what it is called"), linkgress_database) as db:
        sm = db.get_schema_manager()
        await sm.ensure_created()
        assert await sm.analyze() == []
    assert await comments(linkgress_database) == [(ODD, "what it is called")]


async def test_changed_and_removed_comments_are_altered(linkgress_database: str) -> None:
    async with opened(shop("old", "old name"), linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
    await execute(linkgress_database, "INSERT INTO item VALUES (1, 'pen')")
    async with opened(shop("new", None), linkgress_database) as db:
        sm = db.get_schema_manager()
        assert [op.describe() for op in await sm.analyze()] == [
            "Alter column 'item.name' (comment)", "Set comment on table 'item'"]
        await sm.migrate()
        assert await sm.analyze() == []
    assert await comments(linkgress_database) == [("new", None)]
    assert await rows(linkgress_database, "SELECT id, name FROM item") == [(1, "pen")]


async def test_comments_written_by_hand_are_adopted(linkgress_database: str) -> None:
    # As pg_dump writes them.
    await execute(linkgress_database, """
        CREATE TABLE public.item (id integer NOT NULL, name text NOT NULL);
        ALTER TABLE ONLY public.item ADD CONSTRAINT item_pkey PRIMARY KEY (id);
        COMMENT ON TABLE public.item IS 'it''s "quoted", on two
lines — ünïcode';
        COMMENT ON COLUMN public.item.name IS 'what it is called';""")
    async with opened(shop(ODD, "what it is called"), linkgress_database) as db:
        sm = db.get_schema_manager()
        assert await sm.analyze() == []
        assert await sm.migrate() == []


async def test_a_comment_nobody_declared_is_kept(linkgress_database: str) -> None:
    await execute(linkgress_database, """
        CREATE TABLE item (id integer PRIMARY KEY, name text NOT NULL);
        COMMENT ON TABLE item IS 'the DBA''s';
        COMMENT ON COLUMN item.name IS 'also the DBA''s'""")
    async with opened(shop(None, None), linkgress_database) as db:
        sm = db.get_schema_manager()
        assert await sm.analyze() == []
    assert await comments(linkgress_database) == [("the DBA's", "also the DBA's")]
