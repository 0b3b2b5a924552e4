"""A typo in the model's raw SQL (an index predicate, a default, a check) met by ``migrate()``
or ``analyze()``: a MigrationError with PostgreSQL's own error, naming the object at fault,
the PostgreSQL error chained, and nothing applied."""

from __future__ import annotations

import asyncpg
import pytest

from linkgress import DbContext, DbModelConfig, Entity, MigrationError, PgClient, column
from linkgress.errors import ModelError
from linkgress.schema.from_model import schema_from_model
from linkgress.schema.introspect import normalize_target
from tests.integration.catalog import dump
from tests.integration.migrate_support import execute, opened, state_rows


class Product(Entity):
    id: int
    name: str
    price: int = column(default=0)


class ShopV1(DbContext):
    products = DbContext.table(Product)


class ProductWithBadPredicate(Entity):
    id: int
    name: str
    price: int = column(default=0)
    note: str | None


class BadPredicate(DbContext):
    products = DbContext.table(ProductWithBadPredicate)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(ProductWithBadPredicate).has_index(
            "ix_products_cheap", "name", where="price < 10 ANDD name <> ''")


class ProductWithBadDefault(Entity):
    id: int
    name: str = column(default_sql="'unnamed'")
    price: int = column(default_sql="(1 +) * 2")


class BadDefault(DbContext):
    products = DbContext.table(ProductWithBadDefault)


class ProductWithBadCheck(Entity):
    id: int
    name: str
    price: int = column(default=0, check="prise >= 0")


class BadCheck(DbContext):
    products = DbContext.table(ProductWithBadCheck)


CASES = [
    (BadPredicate, "index 'ix_products_cheap' on table 'products'",
     'syntax error at or near "ANDD"', asyncpg.PostgresSyntaxError),
    (BadDefault, "default of column 'products.price'", 'syntax error at or near ")"',
     asyncpg.PostgresSyntaxError),
    (BadCheck, "check 'products_price_check' on table 'products'",
     'column "prise" does not exist', asyncpg.UndefinedColumnError),
]


@pytest.mark.parametrize(("context", "names", "error", "cause"), CASES,
                         ids=["index-where", "default-sql", "check"])
async def test_migrate_and_analyze_name_the_object_and_keep_the_first_error(
        linkgress_database: str, context: type[DbContext], names: str, error: str,
        cause: type[Exception]) -> None:
    async with opened(ShopV1, linkgress_database) as db:
        await db.get_schema_manager().migrate()
    await execute(linkgress_database, "INSERT INTO products (name, price) VALUES ('a', 1)")
    before, state = await dump(linkgress_database), await state_rows(linkgress_database)
    async with opened(context, linkgress_database) as db:
        manager = db.get_schema_manager()
        for attempt in (manager.migrate(allow_destructive=True), manager.analyze()):
            with pytest.raises(MigrationError) as info:
                await attempt
            message = str(info.value)
            assert names in message and error in message
            assert "current transaction is aborted" not in message
            assert isinstance(info.value.__cause__, cause)
    assert await dump(linkgress_database) == before
    assert await state_rows(linkgress_database) == state


async def test_a_fresh_database_stays_empty(linkgress_database: str) -> None:
    before = await dump(linkgress_database)
    async with opened(BadPredicate, linkgress_database) as db:
        with pytest.raises(MigrationError, match=r"ix_products_cheap.*ANDD"):
            await db.get_schema_manager().migrate()
    assert await dump(linkgress_database) == before
    assert await state_rows(linkgress_database) == []


class Order(Entity):
    id: int
    total: int = column(default_sql="0")
    placed: str = column(default_sql="'now'")
    code: str = column(default_sql="upper('x')")


class Line(Entity):
    id: int
    qty: int = column(default_sql="1")
    total: int = column(default_sql="0")
    code: str = column(default_sql="upper('x'")  # the typo, among valid expressions


class Batched(DbContext):
    orders = DbContext.table(Order)
    lines = DbContext.table(Line)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Order).has_index("ix_orders_code", "code", where="total > 0")
        model.entity(Line).has_index("ix_lines_code", "code", where="qty > 0")


async def test_the_culprit_is_found_among_batched_expressions(linkgress_database: str) -> None:
    async with opened(Batched, linkgress_database) as db:
        with pytest.raises(MigrationError) as info:
            await db.get_schema_manager().migrate()
    message = str(info.value)
    assert "default of column 'lines.code'" in message
    assert "syntax error" in message
    assert isinstance(info.value.__cause__, asyncpg.PostgresSyntaxError)


async def test_a_syntax_error_leaves_the_callers_transaction_usable(
        linkgress_client: PgClient) -> None:
    target = schema_from_model(BadPredicate(linkgress_client).model)
    async with linkgress_client.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMPORARY TABLE kept (id int)")
        with pytest.raises(ModelError, match="ANDD") as info:
            await normalize_target(conn, target)
        assert "ix_products_cheap" in str(info.value)
        assert await conn.fetchval("SELECT count(*) FROM kept") == 0  # still usable
