"""Data pre-checks on the real server: each data-dependent operation on rows that break it
raises ``MigrationError`` before any DDL — the catalog is unchanged, the rows are intact, no
lock is held — naming the table, the column(s), the number of offending rows and sample keys;
and the same migration goes through once the rows are fixed."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from linkgress import (
    DbContext,
    DbModelConfig,
    MigrationError,
    column,
    date,
    integer,
    text,
    varchar,
)
from tests.integration.catalog import dump
from tests.integration.migrate_support import context, entity, execute, opened, rows

SEED = ("INSERT INTO items (id, name, code, qty) VALUES (1, 'one', '1', 1), "
        "(2, NULL, 'x2', 0), (3, NULL, '30', -4), (4, 'a name far too long', 'abc', 5), "
        "(5, 'one', '5', 2)")
ITEMS = "SELECT id, name, code, qty FROM items ORDER BY id"


def items(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": int, "name": (str | None, column(varchar(50))),
                              "code": (str, column(text())), "qty": (int, column(default=0))}
    fields.update(changes)
    return fields


def ctx(fields: dict[str, Any], setup: Callable[[DbModelConfig, Any], None] | None = None,
        children: bool = False, fk: bool = False) -> type[DbContext]:
    item = entity("Item", fields)
    tables: dict[str, Any] = {"items": item}
    if children:
        ref = (int | None, column(references=item)) if fk else int | None
        tables["children"] = entity("Child", {"id": int, "item_id": ref})
    return context(tables, None if setup is None else lambda m: setup(m, item))


@dataclass
class Case:
    id: str
    after: Callable[[], type[DbContext]]
    message: tuple[str, ...]  # fragments of the error
    fix: str  # SQL that makes the rows fit; the migration then goes through
    children: bool = False


CASES = [
    Case("set_not_null", lambda: ctx(items(name=(str, column(varchar(50))))),
         ("table 'public.items', column(s) name: 2 row(s) hold NULL, so SET NOT NULL would "
          "fail (keys: id=2, id=3)",),
         "UPDATE items SET name = 'n' || id WHERE name IS NULL"),
    Case("not_null_column_without_default",
         lambda: ctx(items(sku=(str, column(text())))),
         ("table 'public.items', column(s) sku: 5 row(s) exist, and the column is added NOT "
          "NULL without a default (keys: id=1, id=2, id=3, id=4, id=5)",),
         "DELETE FROM items"),
    Case("unique_constraint",
         lambda: ctx(items(name=(str | None, column(varchar(50), unique=True)))),
         ("column(s) name: 2 row(s) share their value with another row (keys: id=",),
         "UPDATE items SET name = 'five' WHERE id = 5"),
    Case("unique_index", lambda: ctx(items(), lambda m, item: m.entity(item).has_index(
        "ux_items_name", "name", unique=True)),
         ("Create index 'ux_items_name'", "2 row(s) share their value with another row"),
         "UPDATE items SET name = 'five' WHERE id = 5"),
    Case("foreign_key", lambda: ctx(items(), children=True, fk=True),
         ("table 'public.children', column(s) item_id: 2 row(s) reference no row of "
          "'public.items' (keys: id=11, id=12)",),
         "DELETE FROM children WHERE item_id > 5", children=True),
    Case("check", lambda: ctx(items(qty=(int, column(default=0, check="qty >= 0")))),
         ("table 'public.items': 1 row(s) violate CHECK", "(keys: id=3)"),
         "UPDATE items SET qty = 0 WHERE qty < 0"),
    Case("narrowing_varchar", lambda: ctx(items(name=(str | None, column(varchar(10))))),
         ("column(s) name: 1 row(s) do not fit VARCHAR(10) (keys: id=4)",),
         "UPDATE items SET name = 'short' WHERE id = 4"),
    Case("text_to_integer", lambda: ctx(items(code=(int, column(integer())))),
         ("column(s) code: 2 row(s) do not fit INTEGER (keys: id=2, id=4)",),
         "UPDATE items SET code = id::text"),
]


async def advisory_locks(dsn: str) -> int:
    return (await rows(dsn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                            "database = (SELECT oid FROM pg_database "
                            "WHERE datname = current_database())"))[0][0]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_failing_precheck_changes_nothing(case: Case, linkgress_database: str) -> None:
    async with opened(ctx(items(), children=case.children), linkgress_database) as db:
        await db.get_schema_manager().migrate()
    await execute(linkgress_database, SEED)
    if case.children:
        await execute(linkgress_database,
                      "INSERT INTO children VALUES (10, 1), (11, 7), (12, 9), (13, NULL)")
    before, data = await dump(linkgress_database), await rows(linkgress_database, ITEMS)
    async with opened(case.after(), linkgress_database) as db:
        with pytest.raises(MigrationError) as caught:
            await db.get_schema_manager().migrate(allow_destructive=True)
        message = str(caught.value)
        assert message.startswith("data pre-check failed, nothing was changed:\n  - ")
        for fragment in case.message:
            assert fragment in message
        assert caught.value.__cause__ is None  # no DDL ran: PostgreSQL refused nothing
        assert await dump(linkgress_database) == before
        assert await rows(linkgress_database, ITEMS) == data
        assert await advisory_locks(linkgress_database) == 0
        await execute(linkgress_database, case.fix)
        assert await db.get_schema_manager().migrate(allow_destructive=True) != []
        assert await db.get_schema_manager().analyze() == []


async def test_a_cast_without_a_counting_query_is_tried(linkgress_database: str) -> None:
    async with opened(ctx(items(due=(str, column(text())))), linkgress_database) as db:
        await db.get_schema_manager().migrate()
    await execute(linkgress_database, "INSERT INTO items (id, name, code, due) "
                                      "VALUES (1, 'a', '1', '2026-01-02'), (2, 'b', '2', 'soon')")
    before = await dump(linkgress_database)
    async with opened(ctx(items(due=(datetime.date, column(date())))), linkgress_database) as db:
        with pytest.raises(MigrationError, match=r"table 'public.items', column\(s\) due: "
                                                 r"some rows cannot be converted to DATE"):
            await db.get_schema_manager().migrate(allow_destructive=True)
    assert await dump(linkgress_database) == before
    assert await rows(linkgress_database, "SELECT due FROM items ORDER BY id") == [
        ("2026-01-02",), ("soon",)]
