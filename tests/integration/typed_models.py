"""A context for the typed-operator tests (JSONB, arrays, flags, window functions, full-text
search), and the rows it is seeded with."""

from __future__ import annotations

import enum
from typing import Any

from linkgress import DbContext, Entity, PgClient, column, pg_type, text, varchar

HOSTILE = "'; DROP TABLE products; --"


class Perm(enum.IntFlag):
    READ = 1
    WRITE = 2
    ADMIN = 4


class Product(Entity):
    id: int
    name: str = column(varchar(100))
    category: str = column(varchar(20))
    price: int
    description: str = column(text())
    attrs: dict[str, Any] | None
    reviews: list[dict[str, Any]] = column(default=[])
    tags: list[str]
    perms: Perm = column(default=Perm.READ)
    search: str | None = column(pg_type("tsvector"), generated=(
        "to_tsvector('english'::regconfig, name || ' ' || description)"))


class Shop(DbContext):
    products = DbContext.table(Product)


ROWS = [
    Product(name="Python ORM guide", category="books", price=30,
            description="an async orm for python developers",
            attrs={"color": "red", "size": {"w": 10, "h": 20}, "stock": 5, "new": True,
                   HOSTILE: "hostile"},
            reviews=[{"stars": 5, "by": "ann"}, {"stars": 3, "by": "bo"}],
            tags=["python", "orm"], perms=Perm.READ | Perm.WRITE),
    Product(name="Rust book", category="books", price=45,
            description="systems programming in rust",
            attrs={"color": "blue", "stock": 0, "new": False},
            reviews=[{"stars": 2, "by": "cy"}], tags=["rust"], perms=Perm.READ),
    Product(name="Coffee mug", category="kitchen", price=12,
            description="a mug for coffee and tea", attrs=None, tags=[],
            perms=Perm.ADMIN | Perm.READ),
    Product(name="Teapot", category="kitchen", price=25, description="a pot for tea",
            attrs={"color": "red", "stock": 12}, tags=["tea", "kitchen"], perms=Perm(0)),
]


async def open_shop(dsn: str) -> Shop:
    """A context on ``dsn`` with the schema created and :data:`ROWS` inserted."""
    db = Shop(PgClient(dsn=dsn))
    await db.get_schema_manager().ensure_created()
    await db.products.insert_many(ROWS)
    return db
