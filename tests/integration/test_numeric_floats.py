"""A Python ``float`` meets a ``numeric`` column as the number it prints as: ``price > 0.99``
does not match a price of 0.99, and an unconstrained ``numeric`` stores ``0.3``, not the float's
52-digit binary value (asyncpg's own conversion) — in filters, ``in_``, inserts and updates."""

from __future__ import annotations

from decimal import Decimal

from linkgress import DbContext, Entity, column, numeric
from tests.integration.migrate_support import opened, rows


class Price(Entity):
    id: int
    label: str
    amount: Decimal = column(numeric(10, 2))
    exact: Decimal | None = column(numeric())
    history: list[Decimal] | None = column(nullable=True)


class Shop(DbContext):
    prices = DbContext.table(Price)


async def test_floats_compare_and_store_as_they_print(linkgress_database: str) -> None:
    async with opened(Shop, linkgress_database) as db:
        await db.get_schema_manager(quiet=True).ensure_created()
        await db.prices.insert_many([
            Price(label="cheap", amount=Decimal("0.99"), exact=0.3, history=[0.1, 0.2]),
            Price(label="dear", amount=Decimal("1.99"), exact=Decimal("1.5"), history=None)])
        await db.prices.insert(Price(label="one", amount=0.99, exact=0.1 + 0.2, history=[]))
        assert await db.prices.where(lambda p: p.amount > 0.99).count() == 1
        assert await db.prices.where(lambda p: p.amount == 0.99).count() == 2
        assert await db.prices.where(lambda p: p.exact == 0.3).count() == 1
        assert await db.prices.where(lambda p: p.amount.in_([0.99, 5.0])).count() == 2
        await db.prices.where(lambda p: p.label == "dear").update({"exact": 2.675})
        stored = await rows(linkgress_database,
                            "SELECT label, exact::text, history::text FROM prices ORDER BY id")
    assert stored == [("cheap", "0.3", "{0.1,0.2}"), ("dear", "2.675", None),
                      ("one", "0.30000000000000004", "{}")]
