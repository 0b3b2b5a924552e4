"""Views and materialized views as managed objects, and views in the way of a migration
(issue 10: views, bug 5) — on a real server."""

from __future__ import annotations

import enum
import json
from decimal import Decimal
from typing import Any

import pytest

from linkgress import DbContext, DbModelConfig, Entity, MigrationError, column, integer, numeric
from linkgress import text as text_type
from tests.integration.migrate_support import execute, opened, rows, state_rows

CHEAP = "SELECT id, name FROM item WHERE price < 10"
CHEAP_AGAIN = "select id, name from item where price < 10;"  # the same view, written otherwise
TOTAL = "SELECT count(*) AS n, sum(price) AS total FROM item"


class Item(Entity):
    id: int = column(integer(), primary_key=True)
    name: str = column(text_type())
    price: Decimal = column(numeric(4, 2))


class WideItem(Entity):
    id: int = column(integer(), primary_key=True)
    name: str = column(text_type())
    price: Decimal = column(numeric(6, 2))


def shop(*views: tuple[str, str, dict[str, Any]], wide: bool = False) -> type[DbContext]:
    """A context of one table ``item`` and the given views ``(name, sql, options)``."""
    def setup_model(self: DbContext, model: DbModelConfig) -> None:
        model.entity(WideItem if wide else Item).to_table("item")
        for name, sql, options in views:
            model.has_view(name, sql, **options)

    return type("Shop", (DbContext,), {
        "items": DbContext.table(WideItem if wide else Item), "setup_model": setup_model})


async def relkinds(dsn: str) -> dict[str, str]:
    found = await rows(dsn, "SELECT relname, relkind::text FROM pg_class "
                            "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('v', 'm')")
    return dict(found)  # type: ignore[arg-type]


async def test_created_views_compare_equal(linkgress_database: str) -> None:
    context = shop(("cheap", CHEAP, {}), ("totals", TOTAL, {"materialized": True}),
                   ("cheap_names", "SELECT name FROM cheap", {"depends_on": ["cheap"]}))
    async with opened(context, linkgress_database) as db:
        sm = db.get_schema_manager()
        created = await sm.ensure_created()
        assert [op.type for op in created][-3:] == ["create_view"] * 3
        assert await sm.analyze() == []
        assert await sm.migrate() == []
    assert await relkinds(linkgress_database) == {
        "cheap": "v", "totals": "m", "cheap_names": "v"}


async def test_migrate_creates_views_and_then_nothing(linkgress_database: str) -> None:
    async with opened(shop(("cheap", CHEAP_AGAIN, {})), linkgress_database) as db:
        sm = db.get_schema_manager()
        assert [op.describe() for op in await sm.migrate()][-1] == "Create view 'cheap'"
        assert await sm.analyze() == []
    # The state records the view as PostgreSQL prints it, so that the next migrate() of the
    # same model (in a new process too) compares without printing anything.
    ((printed,),) = await rows(linkgress_database, "SELECT pg_get_viewdef('cheap')")
    ((_, snapshot),) = await state_rows(linkgress_database)
    view = next(v for v in json.loads(snapshot)["views"] if v["name"] == "cheap")
    assert view["definition"] == printed.strip().rstrip(";")


async def test_changed_query_replaces_and_removed_view_is_dropped(
        linkgress_database: str) -> None:
    async with opened(shop(("cheap", CHEAP, {}), ("totals", TOTAL, {"materialized": True})),
                      linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
    await execute(linkgress_database, "INSERT INTO item VALUES (1, 'pen', 2), (2, 'ink', 20)")
    wider = "SELECT id, name, price FROM item WHERE price < 30"
    async with opened(shop(("cheap", wider, {})), linkgress_database) as db:
        sm = db.get_schema_manager()
        assert [op.describe() for op in await sm.analyze()] == [
            "Drop materialized view 'totals'", "Replace view 'cheap'"]
        await sm.migrate()
        assert await sm.analyze() == []
    assert await rows(linkgress_database, "SELECT id, price FROM cheap ORDER BY id") == [
        (1, Decimal("2.00")), (2, Decimal("20.00"))]
    assert await relkinds(linkgress_database) == {"cheap": "v"}


async def test_incompatible_change_drops_and_creates(linkgress_database: str) -> None:
    async with opened(shop(("cheap", CHEAP, {})), linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
    async with opened(shop(("cheap", "SELECT name FROM item", {})), linkgress_database) as db:
        sm = db.get_schema_manager()
        assert [op.describe() for op in await sm.analyze()] == [
            "Drop view 'cheap'", "Create view 'cheap'"]
        await sm.migrate()
        assert await sm.analyze() == []


async def test_unmanaged_view_is_left_alone_and_noted(linkgress_database: str) -> None:
    async with opened(shop(), linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
    await execute(linkgress_database, f"CREATE VIEW dba_view AS {CHEAP}")
    async with opened(shop(), linkgress_database) as db:
        sm = db.get_schema_manager()
        result = await sm.analyze_full()
        assert result.operations == []
        assert "unmanaged view 'public.dba_view' left alone" in result.notes
        assert await sm.migrate() == []
    assert await relkinds(linkgress_database) == {"dba_view": "v"}


async def test_type_change_under_a_managed_view_keeps_rows(linkgress_database: str) -> None:
    views = (("cheap", CHEAP, {}), ("totals", TOTAL, {"materialized": True}))
    async with opened(shop(*views), linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
    await execute(linkgress_database, "INSERT INTO item VALUES (1, 'pen', 2.5), (2, 'ink', 20)")
    async with opened(shop(*views, wide=True), linkgress_database) as db:
        sm = db.get_schema_manager()
        assert [op.describe() for op in await sm.analyze()] == [
            "Drop view 'cheap'", "Drop materialized view 'totals'",
            "Alter column 'item.price' (type NUMERIC(4,2) -> NUMERIC(6,2))", "Create view 'cheap'",
            "Create materialized view 'totals'"]
        await sm.migrate()
        assert await sm.analyze() == []
    await execute(linkgress_database, "INSERT INTO item VALUES (3, 'desk', 1234.5)")
    assert await rows(linkgress_database, "SELECT id, price FROM item ORDER BY id") == [
        (1, Decimal("2.50")), (2, Decimal("20.00")), (3, Decimal("1234.50"))]
    assert await rows(linkgress_database, "SELECT n, total FROM totals") == [
        (2, Decimal("22.50"))]


async def test_type_change_under_an_unmanaged_view_is_refused_first(
        linkgress_database: str) -> None:
    async with opened(shop(), linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
    await execute(linkgress_database,
                  "CREATE SCHEMA reports; CREATE VIEW reports.cheap AS "
                  "SELECT id, name FROM public.item WHERE price < 10; "
                  "CREATE VIEW reports.cheaper AS SELECT id FROM reports.cheap")
    async with opened(shop(wide=True), linkgress_database) as db:
        sm = db.get_schema_manager()
        result = await sm.analyze_full()
        assert [op.type for op in result.operations] == ["alter_column"]
        (note,) = [n for n in result.notes if "reports.cheap'" in n]
        assert "the type of column 'public.item.price', which changes" in note
        assert any("reports.cheaper" in n for n in result.blocked)
        with pytest.raises(MigrationError, match=r"reports\.cheap") as caught:
            await sm.migrate()
        assert caught.value.__cause__ is None  # refused before any DDL ran
    assert await rows(linkgress_database, "SELECT format_type(atttypid, atttypmod) "
                                          "FROM pg_attribute WHERE attrelid = 'item'::regclass "
                                          "AND attname = 'price'") == [("numeric(4,2)",)]


async def test_views_written_by_hand_are_adopted(linkgress_database: str) -> None:
    # As pg_dump writes them: qualified names, its own layout, a materialized view WITH DATA.
    await execute(linkgress_database, """
        CREATE TABLE public.item (id integer NOT NULL, name text NOT NULL,
                                  price numeric(4,2) NOT NULL);
        ALTER TABLE ONLY public.item ADD CONSTRAINT item_pkey PRIMARY KEY (id);
        CREATE VIEW public.cheap AS
         SELECT item.id,
            item.name
           FROM public.item
          WHERE (item.price < (10)::numeric);
        CREATE MATERIALIZED VIEW public.totals AS
         SELECT count(*) AS n,
            sum(item.price) AS total
           FROM public.item
          WITH NO DATA;
        INSERT INTO public.item VALUES (1, 'pen', 2)""")
    context = shop(("cheap", CHEAP, {}), ("totals", TOTAL, {"materialized": True}))
    async with opened(context, linkgress_database) as db:
        sm = db.get_schema_manager()
        assert await sm.analyze() == []
        assert await sm.migrate() == []
        assert await sm.analyze() == []
    assert await rows(linkgress_database, "SELECT id FROM cheap") == [(1,)]


async def test_ensure_deleted_drops_managed_views_quietly(linkgress_database: str) -> None:
    async with opened(shop(("cheap", CHEAP, {})), linkgress_database) as db:
        sm = db.get_schema_manager()
        await sm.ensure_created()
        deleted = await sm.ensure_deleted(cascade=False)
        assert deleted.cascaded == []
    assert await relkinds(linkgress_database) == {}


async def test_a_view_query_holding_a_second_statement_is_refused(
        linkgress_database: str) -> None:
    context = shop(("cheap", "SELECT 1 AS one; DROP TABLE item", {}))
    async with opened(context, linkgress_database) as db:
        with pytest.raises(MigrationError, match="query of view 'cheap'"):
            await db.get_schema_manager().ensure_created()
    assert await rows(linkgress_database, "SELECT to_regclass('item') IS NULL") == [(True,)]


class Mood3(enum.Enum):
    GOOD = "good"
    BAD = "bad"
    MEH = "meh"


class Mood2(enum.Enum):
    GOOD = "good"
    BAD = "bad"


def moods(mood: type[enum.Enum]) -> type[DbContext]:
    entity = type("Feeling", (Entity,), {
        "__annotations__": {"id": int, "mood": mood}, "__module__": __name__,
        "id": column(integer(), primary_key=True)})

    def setup_model(self: DbContext, model: DbModelConfig) -> None:
        model.has_enum(mood, name="mood")
        model.entity(entity).to_table("feeling")
        model.has_view("good_ones", "SELECT id FROM feeling WHERE mood = 'good'")

    return type("Moods", (DbContext,), {"feelings": DbContext.table(entity),
                                        "setup_model": setup_model})


async def test_recreated_enum_under_a_managed_view(linkgress_database: str) -> None:
    async with opened(moods(Mood3), linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
    await execute(linkgress_database, "INSERT INTO feeling VALUES (1, 'good'), (2, 'bad')")
    async with opened(moods(Mood2), linkgress_database) as db:
        sm = db.get_schema_manager()
        assert [op.type for op in await sm.analyze()] == [
            "drop_view", "recreate_enum", "create_view"]
        await sm.migrate(allow_destructive=True)
        assert await sm.analyze() == []
    assert await rows(linkgress_database, "SELECT id FROM good_ones") == [(1,)]


async def test_contract_takes_the_views_around_a_deferred_narrowing(
        linkgress_database: str) -> None:
    async with opened(shop(("cheap", CHEAP, {}), wide=True), linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
    await execute(linkgress_database, "INSERT INTO item VALUES (1, 'pen', 2.5)")
    async with opened(shop(("cheap", CHEAP, {})), linkgress_database) as db:
        sm = db.get_schema_manager()
        await sm.migrate(defer_destructive=True)  # the narrowing waits for contract()
        contracted = await sm.contract(allow_destructive=True)
        assert [op.type for op in contracted] == ["drop_view", "alter_column", "create_view"]
        assert await sm.analyze() == []
    assert await rows(linkgress_database, "SELECT id, name FROM cheap") == [(1, "pen")]
