"""Three versions of one service's model, for the rolling-deploy tests (imported by the test
and by the worker processes of :mod:`tests.integration.rolling_worker`).

V1 -> V2 is an expand (a column and a table added; V1's ``migrate(allow_destructive=True)``
would drop both if it were allowed to migrate). V2 -> V3 drops ``customers.name``, which V1 and
V2 need.
"""

from __future__ import annotations

from linkgress import DbContext, Entity, column, text, varchar


class Customer(Entity):
    id: int
    name: str = column(varchar(100))


class CustomerV2(Entity):
    id: int
    name: str = column(varchar(100))
    phone: str | None = column(varchar(30))


class Review(Entity):
    id: int
    customer_id: int = column(references=CustomerV2)
    body: str = column(text())


class CustomerV2B(Entity):
    id: int
    name: str = column(varchar(100))
    phone: str | None = column(varchar(30))
    nickname: str | None


class ReviewV2B(Entity):
    id: int
    customer_id: int = column(references=CustomerV2B)
    body: str = column(text())


class CustomerV3(Entity):
    id: int
    phone: str | None = column(varchar(30))


class ReviewV3(Entity):
    id: int
    customer_id: int = column(references=CustomerV3)
    body: str = column(text())


class ShopV1(DbContext):
    customers = DbContext.table(Customer)


class ShopV2(DbContext):
    customers = DbContext.table(CustomerV2)
    reviews = DbContext.table(Review)


class ShopV2B(DbContext):
    """V2 plus ``customers.nickname``: another new model, racing V3."""

    customers = DbContext.table(CustomerV2B)
    reviews = DbContext.table(ReviewV2B)


class ShopV3(DbContext):
    customers = DbContext.table(CustomerV3)
    reviews = DbContext.table(ReviewV3)


MODELS: dict[str, type[DbContext]] = {"V1": ShopV1, "V2": ShopV2, "V2B": ShopV2B,
                                      "V3": ShopV3}
