"""Fault injection: whichever operation of a migration fails, or the hook, the catalog is
exactly as before (compared through a full, independent catalog dump)."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest

import linkgress.schema.ddl
import linkgress.schema.executor
from linkgress import DatabaseClient, DbContext, DbModelConfig, Entity, MigrationError, column
from linkgress import varchar as varchar_type
from linkgress.schema.operations import Operation
from tests.integration.catalog import dump
from tests.integration.migrate_support import execute, opened, rows, state_rows


class Product(Entity):
    id: int
    name: str = column(varchar_type(50))
    price: int = column(default=0)
    legacy: str | None


class ShopV1(DbContext):
    products = DbContext.table(Product)


class ProductV2(Entity):
    id: int
    name: str = column(varchar_type(120))
    price: int = column(default=1, check="price >= 0")
    sku: str | None = column(unique=True)


class Review(Entity):
    id: int
    product_id: int = column(references=ProductV2, on_delete="cascade", index=True)
    stars: int


class ShopV2(DbContext):
    """V1 -> V2 touches every kind of object: alter, drop and add columns, a check, a unique
    constraint, an index, a new table and its foreign key, and a table comment."""

    products = DbContext.table(ProductV2)
    reviews = DbContext.table(Review)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(ProductV2).has_index("ix_products_name", "name").has_comment("catalog")


class ShopV2BadHook(ShopV2):
    async def on_migration_complete(self, client: DatabaseClient) -> None:
        await client.execute("INSERT INTO reviews (product_id, stars) VALUES (1, 5)")
        raise RuntimeError("hook broke")


def _fail_at(k: int) -> Callable[[Operation], list[str]]:
    real = linkgress.schema.ddl.render
    seen: list[Operation] = []

    def render(op: Operation) -> list[str]:
        seen.append(op)
        # Op k's own SQL runs first, then PostgreSQL rejects the next statement: proves that
        # the partly applied operation is rolled back too.
        return [*real(op), "SELECT 1/0"] if len(seen) == k + 1 else real(op)

    return render


async def test_any_failing_operation_or_hook_leaves_the_catalog_unchanged(
        linkgress_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with opened(ShopV1, linkgress_database) as db:
        await db.get_schema_manager().migrate()
    await execute(linkgress_database,
                  "INSERT INTO products (name, price, legacy) VALUES ('a', 1, 'x'), ('b', 2, NULL)")
    before, state = await dump(linkgress_database), await state_rows(linkgress_database)
    async with opened(ShopV2, linkgress_database) as db:
        plan = await db.get_schema_manager().analyze()
    assert len(plan) >= 8, [op.describe() for op in plan]
    for k, expected in enumerate(plan):
        with monkeypatch.context() as patch:
            patch.setattr(linkgress.schema.executor, "render", _fail_at(k))
            async with opened(ShopV2, linkgress_database) as db:
                with pytest.raises(MigrationError) as info:
                    await db.get_schema_manager().migrate(allow_destructive=True)
        assert info.value.operation == expected
        assert info.value.sql == "SELECT 1/0"
        assert isinstance(info.value.__cause__, asyncpg.DivisionByZeroError)
        assert expected.describe() in str(info.value)
        assert await dump(linkgress_database) == before, f"operation {k} left changes"
        assert await state_rows(linkgress_database) == state
    async with opened(ShopV2BadHook, linkgress_database) as db:
        with pytest.raises(MigrationError, match="hook failed") as info:
            await db.get_schema_manager().migrate(allow_destructive=True)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert await dump(linkgress_database) == before
    assert await rows(linkgress_database, "SELECT id, name FROM products ORDER BY id") == [
        (1, "a"), (2, "b")]


class ProductStrict(Entity):
    id: int
    name: str = column(varchar_type(50))
    price: int = column(default=0, check="price > 1")
    legacy: str | None


class ShopStrict(DbContext):
    products = DbContext.table(ProductStrict)


async def test_constraint_that_existing_rows_violate(linkgress_database: str) -> None:
    async with opened(ShopV1, linkgress_database) as db:
        await db.get_schema_manager().migrate()
    await execute(linkgress_database, "INSERT INTO products (name, price) VALUES ('a', 1)")
    before = await dump(linkgress_database)
    async with opened(ShopStrict, linkgress_database) as db:
        with pytest.raises(MigrationError, match="products_price_check") as info:
            await db.get_schema_manager().migrate()
    assert info.value.operation is not None
    assert info.value.operation.type == "create_check_constraint"
    # The rows are pre-checked before any DDL: the message counts them and names their keys.
    assert "1 row(s) violate CHECK ((price > 1)) (keys: id=1)" in str(info.value)
    assert info.value.__cause__ is None
    assert await dump(linkgress_database) == before
