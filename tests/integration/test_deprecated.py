"""``column(deprecated=True)`` on the real server: the column stays (made nullable), the ORM
never selects or writes it, old code keeps using it, and the three-step deploy (add ->
deprecate -> remove + contract) ends with the drop applied by ``contract()``."""

from __future__ import annotations

import pytest

from linkgress import DbContext, Entity, QueryBuildError, column, text, varchar
from tests.integration.catalog import dump
from tests.integration.migrate_support import execute, opened, rows


class CustomerV1(Entity):
    id: int
    name: str = column(varchar(100))


class ShopV1(DbContext):
    customers = DbContext.table(CustomerV1)


class CustomerV2(Entity):  # add: display_name, written next to name
    id: int
    name: str = column(varchar(100))
    display_name: str | None = column(text())


class ShopV2(DbContext):
    customers = DbContext.table(CustomerV2)


class CustomerV3(Entity):  # deprecate: name stays in the table, the ORM forgets it
    id: int
    name: str = column(varchar(100), deprecated=True)
    display_name: str | None = column(text())


class ShopV3(DbContext):
    customers = DbContext.table(CustomerV3)


class CustomerV4(Entity):  # remove
    id: int
    display_name: str | None = column(text())


class ShopV4(DbContext):
    customers = DbContext.table(CustomerV4)


async def columns(dsn: str) -> list[tuple[str, bool]]:
    return [(c["column"], c["not_null"]) for c in (await dump(dsn))["columns"]
            if c["table"] == "customers"]


async def test_three_step_deploy(linkgress_database: str) -> None:
    dsn = linkgress_database
    async with opened(ShopV1, dsn) as v1:
        await v1.get_schema_manager().migrate()
        await v1.customers.insert(CustomerV1(name="ann"))
    async with opened(ShopV2, dsn) as v2:
        await v2.get_schema_manager().migrate()
        await v2.customers.insert(CustomerV2(name="bob", display_name="Bob"))
    async with opened(ShopV3, dsn) as v3:
        sm = v3.get_schema_manager()
        [relax] = await sm.analyze()
        assert relax.describe() == "Alter column 'customers.name' (drop NOT NULL)"
        assert await sm.migrate() == [relax]
        assert await columns(dsn) == [("id", True), ("name", False), ("display_name", False)]
        # Inserts and loads never name the deprecated column.
        cid = (await v3.customers.insert(CustomerV3(display_name="Cid"))).id
        loaded = await v3.customers.where(lambda c: c.id == cid).single()
        assert loaded.display_name == "Cid" and loaded.name is None
        bob = await v3.customers.where(lambda c: c.display_name == "Bob").single()
        assert bob.name is None  # not selected, although the row holds "bob"
        bob.name = "robert"  # not written back either
        bob.display_name = "Robert"
        assert await v3.customers.update(bob) == 1
        with pytest.raises(QueryBuildError, match="name"):
            v3.customers.update({"name": "x"})
        with pytest.raises(QueryBuildError, match="no column or navigation 'name'"):
            v3.customers.where(lambda c: c.name == "bob")
        # Many rows go by COPY, naming the columns: the deprecated one is left out too.
        many = [CustomerV3(display_name=f"m{i}") for i in range(120)]
        assert await v3.customers.insert_many(many) == 120
        await v3.customers.where(lambda c: c.display_name.startswith("m")).delete()
        # Set on an entity anyway, it is still left out.
        named = [CustomerV3(display_name=f"n{i}", name=f"n{i}") for i in range(120)]
        assert await v3.customers.insert_many(named) == 120
        assert await rows(
            dsn, "SELECT count(name) FROM customers WHERE display_name LIKE 'n%'") == [(0,)]
        await v3.customers.where(lambda c: c.display_name.startswith("n")).delete()
        assert await sm.analyze() == []  # never dropped while deprecated
    # Release N+2's pods still run during the rollout: they read and write name.
    async with opened(ShopV2, dsn) as v2:
        await v2.customers.insert(CustomerV2(name="dee", display_name="Dee"))
    assert await rows(dsn, "SELECT name, display_name FROM customers ORDER BY id") == [
        ("ann", None), ("bob", "Robert"), (None, "Cid"), ("dee", "Dee")]
    async with opened(ShopV4, dsn) as v4:
        sm = v4.get_schema_manager()
        assert await sm.migrate(defer_destructive=True) == []
        assert [op.describe() for op in await sm.analyze()] == ["Drop column 'customers.name'"]
        dropped = await sm.contract(allow_destructive=True)
        assert [op.describe() for op in dropped] == ["Drop column 'customers.name'"]
        assert await sm.analyze() == []
    assert await columns(dsn) == [("id", True), ("display_name", False)]


async def test_a_new_deprecated_column_is_created(linkgress_database: str) -> None:
    async with opened(ShopV3, linkgress_database) as db:
        await db.get_schema_manager().migrate()
        await execute(linkgress_database, "INSERT INTO customers (display_name) VALUES ('a')")
        assert [c.display_name for c in await db.customers.to_list()] == ["a"]
    assert await columns(linkgress_database) == [  # a new table lists deprecated ones last
        ("id", True), ("display_name", False), ("name", False)]
