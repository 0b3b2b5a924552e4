"""Entities shared by the unit tests (module level so their annotations resolve)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid

from linkgress import DbContext, DbModelConfig, Entity, column, text, timestamptz, varchar


class OrderStatus(enum.Enum):
    PENDING = "pending"
    DONE = "done"
    QUOTED = "it's"


class User(Entity):
    id: int
    username: str = column(varchar(100))
    email: str = column(text(), unique=True)
    phone_number: str | None = column(varchar(20))
    created_at: dt.datetime = column(timestamptz(), default_sql="now()")


class Order(Entity):
    id: int
    user_id: int = column(references=User, on_delete="cascade", index=True)
    status: OrderStatus = column(default=OrderStatus.PENDING)
    total: decimal.Decimal = column(default=decimal.Decimal("0"))
    tags: list[str] = column(default=[])
    token: uuid.UUID | None
    data: dict[str, object] | None


class AppDatabase(DbContext):
    users = DbContext.table(User)
    orders = DbContext.table(Order)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Order).to_table("orders", schema="shop").has_index(
            "ix_orders_status", "status"
        )
        model.entity(User).has_many("orders", Order).with_foreign_key("user_id")
